"""The stream recorder's choices: which records end a session (once), which project history."""

from __future__ import annotations

from typing import Any

import pytest

from functions.sessions.logic import recorder


def _image(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, bool):
            out[name] = {"BOOL": value}
        elif isinstance(value, int | float):
            out[name] = {"N": str(value)}
        else:
            out[name] = {"S": value}
    return out


SESSION = {
    "pk": "ses_" + "a" * 22,
    "sk": "session",
    "session_id": "ses_" + "a" * 22,
    "viewer": "u#-",
    "user_id": "u",
    "video_id": "v",
    "state": "playing",
    "position_seconds": 30,
    "duration_seconds": 600,
    "seq": 3,
    "last_seen_ms": 5000,
    "started_ms": 1000,
    "started_at": "2026-01-01T00:00:00.000Z",
    "record_history": True,
}


def _record(name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    change: dict[str, Any] = {}
    if old is not None:
        change["OldImage"] = _image(**old)
    if new is not None:
        change["NewImage"] = _image(**new)
    return {"eventName": name, "dynamodb": change}


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"events": [], "entries": []}
    monkeypatch.setattr(recorder, "put_event", lambda kind, detail: out["events"].append(detail))
    monkeypatch.setattr(
        recorder.store,
        "upsert_entry",
        lambda viewer, video, fields, *, watched_ms: (
            out["entries"].append((viewer, video, watched_ms)) or True
        ),
    )
    return out


def test_an_update_that_ends_an_open_session_emits_session_ended_once(seen: dict[str, list[Any]]) -> None:
    ended = {**SESSION, "end_reason": "expired", "ended_at": "2026-01-01T00:03:00.000Z"}
    recorder.record([_record("MODIFY", SESSION, ended), _record("MODIFY", ended, ended)])
    assert [e["end_reason"] for e in seen["events"]] == ["expired"]
    assert seen["entries"] == [("u#-", "v", 5000)]  # the last image of the session, once


def test_a_ttl_delete_of_a_session_never_ended_emits_expired(seen: dict[str, list[Any]]) -> None:
    recorder.record([_record("REMOVE", SESSION, None)])
    assert [(e["end_reason"], e["session_id"]) for e in seen["events"]] == [
        ("expired", SESSION["session_id"])
    ]
    recorder.record([_record("REMOVE", {**SESSION, "end_reason": "ended"}, None)])
    assert len(seen["events"]) == 1  # an ended one was announced when it ended


def test_inserts_neither_end_nor_record(seen: dict[str, list[Any]]) -> None:
    # a new session, and an ended one put back by the embedded mode's restore
    recorder.record(
        [_record("INSERT", None, SESSION), _record("INSERT", None, {**SESSION, "end_reason": "ended"})]
    )
    assert seen == {"events": [], "entries": []}


def test_a_paused_history_or_a_session_never_heartbeated_is_not_recorded(seen: dict[str, list[Any]]) -> None:
    recorder.record(
        [
            _record("MODIFY", SESSION, {**SESSION, "record_history": False}),
            _record("MODIFY", SESSION, {**SESSION, "pk": "ses_" + "b" * 22, "seq": 0}),
            _record("MODIFY", None, {"pk": "viewer#u#-", "sk": "video#v"}),  # an entry's own change
        ]
    )
    assert seen["entries"] == []


def test_while_the_state_holds_every_third_heartbeat_moves_the_entry(seen: dict[str, list[Any]]) -> None:
    playing = {**SESSION, "state": "playing"}
    for seq in (4, 5, 6, 7):
        recorder.record(
            [_record("MODIFY", {**playing, "seq": seq - 1}, {**playing, "seq": seq, "last_seen_ms": seq})]
        )
    assert [ms for _, _, ms in seen["entries"]] == [6]
    # a change of state always does
    recorder.record([_record("MODIFY", playing, {**playing, "state": "paused", "seq": 8, "last_seen_ms": 8})])
    assert [ms for _, _, ms in seen["entries"]] == [6, 8]
