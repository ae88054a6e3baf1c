"""The session's transition table, walked in full, and the pieces of the heartbeat's rules that
need no table: the sequence rule's condition, the resume point, the history entry's band."""

from __future__ import annotations

import itertools

import pytest

from functions.sessions.dal.sessions import HeartbeatWrite, heartbeat
from functions.sessions.logic import states
from functions.sessions.logic.recorder import entry_fields
from functions.sessions.logic.sessions import resume_position
from functions.sessions.models import SessionState as S

# What the product promises, written out independently of states.TRANSITIONS.
ALLOWED: set[tuple[S, S]] = {
    (S.IDLE, S.IDLE),
    (S.IDLE, S.PLAYING),
    (S.IDLE, S.PAUSED),
    (S.IDLE, S.BUFFERING),
    (S.IDLE, S.ENDED),
    (S.IDLE, S.ERROR),
    *((a, b) for a in (S.PLAYING, S.PAUSED, S.BUFFERING) for b in (S.PLAYING, S.PAUSED, S.BUFFERING)),
    *((a, b) for a in (S.PLAYING, S.PAUSED, S.BUFFERING) for b in (S.ENDED, S.ERROR)),
}
PAIRS = list(itertools.product(S, S))


@pytest.mark.parametrize(("current", "new"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_each_transition_is_allowed_or_refused_as_promised(current: S, new: S) -> None:
    assert states.allowed(current, new) is ((current, new) in ALLOWED)
    # and the heartbeat's condition (the stored states it accepts) says the same
    assert (current in states.allowed_from(new)) is ((current, new) in ALLOWED)


def test_ended_and_error_are_terminal_and_nothing_returns_to_idle() -> None:
    for terminal in states.TERMINAL:
        assert states.TRANSITIONS[terminal] == frozenset()
    assert states.allowed_from(S.IDLE) == {S.IDLE}


def test_every_state_is_in_the_table() -> None:
    assert set(states.TRANSITIONS) == set(S)


class _Recorder:
    def __init__(self) -> None:
        self.kwargs: dict[str, object] = {}

    def update_item(self, **kwargs: object) -> dict[str, object]:
        self.kwargs = kwargs
        return {"Attributes": {"seq": {"N": "7"}}}


def _write(**overrides: object) -> HeartbeatWrite:
    fields: dict[str, object] = {
        "session_id": "ses_" + "a" * 22,
        "token_hash": "h",
        "state": S.PLAYING,
        "allowed_from": states.allowed_from(S.PLAYING),
        "position_seconds": 5.0,
        "sequence": 7,
        "now_ms": 1000,
        "now_iso": "2026-01-01T00:00:01.000Z",
        "silent_at_ms": 121_000,
        "expires_ttl": 5000,
    }
    fields.update(overrides)
    return HeartbeatWrite(**fields)  # type: ignore[arg-type]


def test_the_sequence_rule_is_in_the_condition_of_the_one_update(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.sessions.dal import sessions as dal

    fake = _Recorder()
    monkeypatch.setattr(dal, "_ddb", lambda: fake)
    monkeypatch.setattr(dal, "_table", lambda: "t")
    heartbeat(_write(sequence=7))
    condition = str(fake.kwargs["ConditionExpression"])
    assert "seq < :seq" in condition
    assert fake.kwargs["ExpressionAttributeValues"][":seq"] == {"N": "7"}  # type: ignore[index]
    assert "seq = :seq" in str(fake.kwargs["UpdateExpression"])
    assert fake.kwargs["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    # the states it may come from are in the condition too
    for i, _state in enumerate(sorted(s.value for s in states.allowed_from(S.PLAYING))):
        assert f":from{i}" in condition
    # Without a sequence the server counts, and the condition has no sequence rule
    heartbeat(_write(sequence=None))
    assert "seq <" not in str(fake.kwargs["ConditionExpression"])
    assert "seq = seq + :one" in str(fake.kwargs["UpdateExpression"])


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (None, 0),
        ({"position_seconds": 300, "duration_seconds": 600}, 300),
        ({"position_seconds": 580, "duration_seconds": 600}, 0),  # past 95 %
        ({"position_seconds": 300, "duration_seconds": 600, "finished": True}, 0),  # ended
        ({"position_seconds": 12, "duration_seconds": None}, 12),
    ],
)
def test_resume_position(entry: dict[str, object] | None, expected: float) -> None:
    assert resume_position(entry) == expected


@pytest.mark.parametrize(
    ("position", "end_reason", "in_progress", "finished"),
    [
        (10, None, False, False),  # under 5 %
        (30, None, True, False),
        (300, "expired", True, False),
        (565, None, True, False),  # under 95 %
        (570, None, False, True),  # 95 %: watched
        (580, None, False, True),
        (300, "ended", False, True),
    ],
)
def test_the_history_entry_band(
    position: float, end_reason: str | None, in_progress: bool, finished: bool
) -> None:
    session = {
        "viewer": "u#-",
        "video_id": "v",
        "position_seconds": position,
        "duration_seconds": 600,
        "last_seen_ms": 1_000,
        "end_reason": end_reason,
    }
    fields = entry_fields(session)
    assert (fields["continue_viewer"] is not None) is in_progress
    assert fields["finished"] is finished
    assert fields["history_viewer"] == "u#-"
