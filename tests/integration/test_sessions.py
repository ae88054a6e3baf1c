"""Playback sessions against moto: the playback response, heartbeats (both ways of carrying the
token, the beacon's text/plain), every refusal and its code, expiry, takedown, the stream limit,
and the one DynamoDB call a heartbeat makes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from functions.sessions.logic import recorder as recorder_logic
from functions.sessions.logic import sessions as session_logic
from infra import spec
from infra.local.lambda_runtime import invoke
from tests.integration.conftest import Account, ApiCall, sqs_event
from tests.integration.sessions_helpers import (
    beat,
    counting_dynamodb_calls,
    play,
    put_ready_video,
    recorder,
    started,
    stored_session,
)


@pytest.fixture
def ended_events(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def put_event(detail_type: str, detail: dict[str, Any]) -> None:
        assert detail_type == "session.ended"
        seen.append(json.loads(json.dumps(detail, default=str)))

    monkeypatch.setattr(recorder_logic, "put_event", put_event)
    return seen


class Clock:
    """The sessions logic's clock, moved by the test (milliseconds)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, start_ms: int = 1_800_000_000_000):
        self.ms = start_ms
        monkeypatch.setattr(session_logic, "_now_ms", lambda: self.ms)

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


def test_a_playback_opens_a_session_with_its_token_and_heartbeat_interval(
    api: ApiCall, account: Account
) -> None:
    # Given a READY public video
    video_id = put_ready_video(account)
    # When a viewer asks to play it
    body = started(api, video_id)
    # Then the signed URL comes with a session
    assert body["hls_url"].startswith("https://cdn.example.test/") and body["expires_at"]
    assert re.fullmatch(r"ses_[A-Za-z0-9_-]{22,}", body["session_id"])
    assert len(body["session_token"]) >= 40
    assert body["resume_position_seconds"] == 0
    assert body["heartbeat_interval_seconds"] == 10
    # And the table holds the token's hash only
    item = stored_session(account, body["session_id"])
    assert body["session_token"] not in json.dumps(item)
    assert item["state"] == "idle" and item["video_id"] == video_id and item["expires_ttl"] > 0


def test_a_heartbeat_authenticates_by_bearer_header_or_by_the_body_token_of_a_text_plain_beacon(
    api: ApiCall, account: Account
) -> None:
    session = started(api, put_ready_video(account))
    # When the player heartbeats with the token in the Authorization header
    by_header = beat(api, session, state="playing", position=12.5, sequence=1)
    assert by_header.status == 200, by_header.body
    assert by_header.body["sequence"] == 1 and by_header.body["heartbeat_interval_seconds"] == 10
    # And the page's last beacon: text/plain, no header, the token in the body
    beacon = beat(
        api,
        session,
        state="paused",
        position=20,
        sequence=2,
        in_body=True,
        content_type="text/plain;charset=UTF-8",
    )
    assert beacon.status == 200, beacon.body
    item = stored_session(account, session["session_id"])
    assert (item["state"], item["position_seconds"], item["seq"]) == ("paused", 20, 2)


def test_without_a_sequence_the_server_counts(api: ApiCall, account: Account) -> None:
    session = started(api, put_ready_video(account))
    assert beat(api, session, position=1).body["sequence"] == 1
    assert beat(api, session, position=2).body["sequence"] == 2


def test_other_content_types_are_still_refused_on_the_heartbeat(api: ApiCall, account: Account) -> None:
    session = started(api, put_ready_video(account))
    resp = beat(api, session, content_type="application/x-www-form-urlencoded")
    assert resp.status == 415


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"state": "playing", "position_seconds": -1}, "invalid_position"),
        ({"state": "dancing", "position_seconds": 1}, "unknown_state"),
        ({"state": "playing"}, "invalid_position"),
        ({"state": "playing", "position_seconds": 1, "cmcd": {"bl": [1, 2]}}, "invalid_heartbeat"),
        ({"state": "playing", "position_seconds": 1, "surprise": 1}, "invalid_heartbeat"),
    ],
)
def test_a_bad_heartbeat_is_a_400_naming_it_and_changes_nothing(
    api: ApiCall, account: Account, body: dict[str, Any], code: str
) -> None:
    session = started(api, put_ready_video(account))
    before = stored_session(account, session["session_id"])
    resp = api(
        "POST",
        f"/v1/sessions/{session['session_id']}/heartbeat",
        raw_body=json.dumps(body),
        role=None,
        headers={"authorization": f"Bearer {session['session_token']}"},
    )
    assert resp.status == 400, resp.body
    assert resp.body["error"]["code"] == code
    assert stored_session(account, session["session_id"]) == before


def test_a_body_that_is_not_json_is_a_400(api: ApiCall, account: Account) -> None:
    session = started(api, put_ready_video(account))
    resp = api(
        "POST",
        f"/v1/sessions/{session['session_id']}/heartbeat",
        raw_body="{not json",
        role=None,
        headers={"authorization": f"Bearer {session['session_token']}", "content-type": "text/plain"},
    )
    assert (resp.status, resp.body["error"]["code"]) == (400, "invalid_json")


def test_a_position_past_the_duration_beyond_the_slack_is_a_400_and_changes_nothing(
    api: ApiCall, account: Account
) -> None:
    session = started(api, put_ready_video(account, duration=100))
    assert beat(api, session, position=104, sequence=1).status == 200  # within the 5 s slack
    before = stored_session(account, session["session_id"])
    resp = beat(api, session, position=106, sequence=2)
    assert (resp.status, resp.body["error"]["code"]) == (400, "position_out_of_range")
    assert stored_session(account, session["session_id"]) == before


def test_no_token_is_401_and_a_wrong_token_or_another_users_session_is_404(
    api: ApiCall, account: Account
) -> None:
    video_id = put_ready_video(account)
    mine = started(api, video_id, sub="viewer-1")
    theirs = started(api, video_id, sub="viewer-2")
    no_token = api(
        "POST",
        f"/v1/sessions/{mine['session_id']}/heartbeat",
        body={"state": "playing", "position_seconds": 1},
        role=None,
    )
    assert (no_token.status, no_token.body["error"]["code"]) == (401, "unauthorized")
    wrong = beat(api, mine, token="x" * 43)
    assert (wrong.status, wrong.body["error"]["code"]) == (404, "session_not_found")
    # my token on their session: no hint that it exists
    crossed = beat(api, {"session_id": theirs["session_id"], "session_token": mine["session_token"]})
    assert (crossed.status, crossed.body["error"]["code"]) == (404, "session_not_found")
    unknown = beat(api, {"session_id": "ses_" + "A" * 22, "session_token": mine["session_token"]})
    assert unknown.status == 404
    assert stored_session(account, theirs["session_id"])["state"] == "idle"


def test_a_late_heartbeat_never_moves_the_position_back(api: ApiCall, account: Account) -> None:
    session = started(api, put_ready_video(account))
    assert beat(api, session, position=50, sequence=5).status == 200
    late = beat(api, session, position=40, sequence=4)
    assert (late.status, late.body["error"]["code"]) == (409, "stale_heartbeat")
    repeat = beat(api, session, position=45, sequence=5)
    assert (repeat.status, repeat.body["error"]["code"]) == (409, "stale_heartbeat")
    assert stored_session(account, session["session_id"])["position_seconds"] == 50


def test_a_transition_the_table_refuses_is_409_and_changes_nothing(api: ApiCall, account: Account) -> None:
    session = started(api, put_ready_video(account))
    assert beat(api, session, state="playing", position=5, sequence=1).status == 200
    back_to_idle = beat(api, session, state="idle", position=6, sequence=2)
    assert (back_to_idle.status, back_to_idle.body["error"]["code"]) == (409, "invalid_transition")
    assert stored_session(account, session["session_id"])["state"] == "playing"
    # the sequence number was not used up by the refusal
    assert beat(api, session, state="paused", position=6, sequence=2).status == 200


@pytest.mark.parametrize("final", ["ended", "error"])
def test_an_ended_or_error_heartbeat_ends_the_session_and_a_later_one_is_410(
    api: ApiCall, account: Account, ended_events: list[dict[str, Any]], final: str
) -> None:
    session = started(api, put_ready_video(account))
    assert beat(api, session, state="playing", position=5, sequence=1).status == 200
    extra = {"error": {"code": "MEDIA_ERR_DECODE", "message": "bad frame"}} if final == "error" else {}
    assert beat(api, session, state=final, position=9, sequence=2, **extra).status == 200
    after = beat(api, session, state="playing", position=10, sequence=3)
    assert (after.status, after.body["error"]["code"]) == (410, "session_ended")
    item = stored_session(account, session["session_id"])
    assert item["end_reason"] == final and "open_user" not in item
    # And session.ended follows from the table's stream
    recorder(account).drain()
    (event,) = ended_events
    assert event["session_id"] == session["session_id"] and event["end_reason"] == final
    assert event["final_state"] == final and event["position_seconds"] == 9
    assert event["qoe"]["errored"] is (final == "error")
    if final == "error":
        assert event["qoe"]["error_code"] == "MEDIA_ERR_DECODE"


def test_a_silent_session_expires_by_the_sweeper(
    api: ApiCall, account: Account, monkeypatch: pytest.MonkeyPatch, ended_events: list[dict[str, Any]]
) -> None:
    clock = Clock(monkeypatch)
    session = started(api, put_ready_video(account))
    assert beat(api, session, position=5, sequence=1).status == 200
    still_open = started(api, put_ready_video(account), sub="viewer-1")
    # When two minutes pass for the first session without a heartbeat (the other keeps talking)
    clock.advance(100)
    assert beat(api, still_open, position=1, sequence=1).status == 200
    clock.advance(21)
    result, errored = invoke(spec.FUNCTIONS_BY_NAME["sessions-sweeper"], {})
    # Then the sweeper ends it, and only it
    assert not errored and result == {"expired": 1}
    late = beat(api, session, position=6, sequence=2)
    assert (late.status, late.body["error"]["code"]) == (410, "session_expired")
    assert stored_session(account, session["session_id"])["end_reason"] == "expired"
    assert "end_reason" not in stored_session(account, still_open["session_id"])
    recorder(account).drain()
    assert [e["end_reason"] for e in ended_events] == ["expired"]


def test_a_session_silent_past_its_deadline_is_410_even_before_the_sweeper_runs(
    api: ApiCall, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    session = started(api, put_ready_video(account))
    clock.advance(121)
    resp = beat(api, session, position=1, sequence=1)
    assert (resp.status, resp.body["error"]["code"]) == (410, "session_expired")


def test_the_stream_limit_refuses_the_fifth_playback_listing_the_active_sessions(
    api: ApiCall, account: Account
) -> None:
    videos = [put_ready_video(account) for _ in range(5)]
    opened = [started(api, v, sub="binge") for v in videos[:4]]
    beat(api, opened[0], position=3, sequence=1)
    # When a fifth playback starts on the same account
    resp = play(api, videos[4], sub="binge")
    # Then it is refused, naming the four
    assert resp.status == 429, resp.body
    error = resp.body["error"]
    assert error["code"] == "too_many_streams"
    listed = error["details"]["active_sessions"]
    assert {s["session_id"] for s in listed} == {s["session_id"] for s in opened}
    assert {s["video_id"] for s in listed} == set(videos[:4])
    assert all(s["started_at"] and s["last_heartbeat_at"] for s in listed)
    assert resp.headers.get("retry-after")
    # And another account is not affected
    assert play(api, videos[4], sub="someone-else").status == 200
    # And when one of them ends, the next playback is allowed
    assert beat(api, opened[1], state="ended", position=5, sequence=1).status == 200
    assert play(api, videos[4], sub="binge").status == 200


def test_video_deleted_ends_the_videos_open_sessions(
    api: ApiCall, account: Account, ended_events: list[dict[str, Any]]
) -> None:
    video_id, other = put_ready_video(account), put_ready_video(account)
    one, two = started(api, video_id, sub="a"), started(api, video_id, sub="b")
    unrelated = started(api, other, sub="a")
    event = {
        "detail-type": "video.deleted",
        "source": "vod.videos",
        "detail": {
            "video_id": video_id,
            "owner": "uploader-1",
            "deleted_by": "admin-1",
            "deleted_at": "2026-12-07T12:00:00.000Z",
            "previous_status": "READY",
        },
    }
    fn = spec.FUNCTIONS_BY_NAME["sessions-takedown"]
    result, errored = invoke(fn, sqs_event(json.dumps(event), queue="vod-sessions-takedown"))
    assert not errored and result == {"batchItemFailures": []}
    # Repeating the event is harmless
    invoke(fn, sqs_event(json.dumps(event), queue="vod-sessions-takedown"))
    for session in (one, two):
        resp = beat(api, session, position=1, sequence=1)
        assert (resp.status, resp.body["error"]["code"]) == (410, "session_ended")
        assert stored_session(account, session["session_id"])["end_reason"] == "taken_down"
    assert beat(api, unrelated, position=1, sequence=1).status == 200
    recorder(account).drain()
    assert sorted(e["session_id"] for e in ended_events) == sorted([one["session_id"], two["session_id"]])
    assert {e["end_reason"] for e in ended_events} == {"taken_down"}


def test_the_bus_rule_routes_video_deleted_to_the_takedown_queue() -> None:
    (rule,) = [r for r in spec.BUS_RULES if r.queue == "sessions-takedown"]
    assert rule.pattern == {"source": ["vod.videos"], "detail-type": ["video.deleted"]}


def test_a_heartbeat_is_one_dynamodb_call(api: ApiCall, account: Account) -> None:
    session = started(api, put_ready_video(account))
    with counting_dynamodb_calls() as count:
        for i, state in enumerate(["playing", "buffering", "playing", "paused", "playing", "ended"], start=1):
            count.reset()
            assert beat(api, session, state=state, position=i, sequence=i).status == 200
            assert count.calls == ["UpdateItem"], (state, count.calls)
        # A refused one too: its reason comes back with the failed condition, no second call
        count.reset()
        assert beat(api, session, position=9, sequence=9).status == 410
        assert count.calls == ["UpdateItem"]


def test_qoe_counters_accumulate_in_the_heartbeats_and_reach_session_ended(
    api: ApiCall, account: Account, monkeypatch: pytest.MonkeyPatch, ended_events: list[dict[str, Any]]
) -> None:
    clock = Clock(monkeypatch)
    session = started(api, put_ready_video(account))
    # idle 1 s -> buffering 2 s (startup) -> playing 10 s -> buffering 3 s (a rebuffer) -> playing 10 s
    # -> paused 5 s -> buffering 1 s (a second rebuffer) -> playing 4 s -> ended
    timeline = [
        (1, "buffering"),
        (2, "playing"),
        (10, "buffering"),
        (3, "buffering"),  # a periodic heartbeat while still buffering: not a new rebuffer
        (0, "playing"),
        (10, "paused"),
        (5, "buffering"),
        (1, "playing"),
        (4, "ended"),
    ]
    position = 0.0
    for seq, (wait, state) in enumerate(timeline, start=1):
        clock.advance(wait)
        position += 1
        assert beat(api, session, state=state, position=position, sequence=seq).status == 200, state
    recorder(account).drain()
    (event,) = ended_events
    qoe = event["qoe"]
    assert qoe["startup_time_ms"] == 3000  # started -> first playing
    assert qoe["first_playing_at"]
    assert qoe["watch_time_ms"] == (10 + 10 + 4) * 1000
    assert qoe["rebuffer_count"] == 2
    assert qoe["rebuffer_duration_ms"] == (3 + 1) * 1000
    assert qoe["errored"] is False and qoe["exited_before_start"] is False


def test_a_player_reported_startup_time_wins_and_a_session_that_never_played_exited_before_start(
    api: ApiCall, account: Account, ended_events: list[dict[str, Any]]
) -> None:
    reported = started(api, put_ready_video(account))
    beat(api, reported, state="playing", position=1, sequence=1, startup_time_ms=850)
    beat(api, reported, state="ended", position=2, sequence=2)
    never = started(api, put_ready_video(account))
    beat(api, never, state="buffering", position=0, sequence=1)
    beat(api, never, state="ended", position=0, sequence=2)
    recorder(account).drain()
    by_id = {e["session_id"]: e["qoe"] for e in ended_events}
    assert by_id[reported["session_id"]]["startup_time_ms"] == 850
    assert by_id[never["session_id"]]["exited_before_start"] is True
    assert by_id[never["session_id"]]["startup_time_ms"] is None
