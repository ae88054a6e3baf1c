"""Playback sessions and history through the embedded stack's HTTP API: play, heartbeat, the
page's last beacon as text/plain, resume on a second playback, history and continue-watching
(projected by the table's stream poller), the sweeper's schedule."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.emulator import EmbeddedStack
from tests.e2e.conftest import Client

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ready_video(stack: EmbeddedStack, small_clip: Path) -> str:
    uploader = Client(stack, sub="sessions-uploader")
    video_id = uploader.upload(small_clip, "sessions clip", visibility="public")
    uploader.wait(video_id, {"READY"})
    return video_id


def _heartbeat(
    stack: EmbeddedStack, session: dict[str, Any], body: dict[str, Any], **kwargs: Any
) -> requests.Response:
    assert stack.api is not None
    return requests.post(
        f"{stack.api.url}/v1/sessions/{session['session_id']}/heartbeat",
        timeout=30,
        **{"json": body, **kwargs},
    )


def _until(check: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("not reached in time")
        time.sleep(0.2)


def test_play_heartbeat_beacon_resume_and_history(stack: EmbeddedStack, ready_video: str) -> None:
    viewer = Client(stack, sub="sessions-viewer", role="viewer")
    # When the viewer plays the video
    resp = viewer.playback(ready_video)
    assert resp.status_code == 200, resp.text
    first = resp.json()
    assert first["resume_position_seconds"] == 0 and first["heartbeat_interval_seconds"] == 10
    assert first["session_id"].startswith("ses_")
    # The signed URL plays through the edge
    assert requests.get(first["hls_url"], timeout=10).status_code == 200
    # And heartbeats with its session token (no JWT)
    auth = {"Authorization": f"Bearer {first['session_token']}"}
    ok = _heartbeat(stack, first, {"state": "playing", "position_seconds": 0.5, "sequence": 1}, headers=auth)
    assert ok.status_code == 200, ok.text
    # And the page's last beacon: text/plain, the token in the body, no header (navigator.sendBeacon)
    beacon = requests.post(
        f"{stack.api.url}/v1/sessions/{first['session_id']}/heartbeat",  # type: ignore[union-attr]
        data=json.dumps(
            {"state": "paused", "position_seconds": 1.2, "sequence": 2, "token": first["session_token"]}
        ),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
        timeout=30,
    )
    assert beacon.status_code == 200, beacon.text
    # A late heartbeat is refused and a bad one is a 400
    late = _heartbeat(
        stack, first, {"state": "playing", "position_seconds": 0.1, "sequence": 1}, headers=auth
    )
    assert (late.status_code, late.json()["error"]["code"]) == (409, "stale_heartbeat")
    bad = _heartbeat(stack, first, {"state": "playing", "position_seconds": -3}, headers=auth)
    assert bad.status_code == 400
    # Then the history shows it (the table's stream is projected by the recorder)
    history = _until(
        lambda: requests.get(f"{viewer.api}/v1/me/history", headers=viewer.headers, timeout=10).json()[
            "items"
        ]
    )
    assert history[0]["video_id"] == ready_video and history[0]["position_seconds"] == 1.2
    assert history[0]["video_title"] == "sessions clip"
    # And a second playback (another device) resumes where the beacon left it
    second = viewer.playback(ready_video).json()
    assert second["resume_position_seconds"] == 1.2
    assert second["session_id"] != first["session_id"]
    # The clip is ~2 s: 1.2 s is part-way, so it is in continue-watching
    cw = requests.get(f"{viewer.api}/v1/me/continue-watching", headers=viewer.headers, timeout=10).json()
    assert [e["video_id"] for e in cw["items"]] == [ready_video]
    # When it ends, it leaves continue-watching and resumes at 0
    end = _heartbeat(
        stack,
        second,
        {"state": "ended", "position_seconds": 2.0, "token": second["session_token"]},
    )
    assert end.status_code == 200, end.text
    _until(
        lambda: (
            requests.get(f"{viewer.api}/v1/me/continue-watching", headers=viewer.headers, timeout=10).json()[
                "items"
            ]
            == []
        )
    )
    assert viewer.playback(ready_video).json()["resume_position_seconds"] == 0
    gone = _heartbeat(
        stack, second, {"state": "playing", "position_seconds": 1, "token": second["session_token"]}
    )
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "session_ended")


def test_a_wrong_token_is_404_and_no_token_401(stack: EmbeddedStack, ready_video: str) -> None:
    viewer = Client(stack, sub="sessions-stranger", role="viewer")
    session = viewer.playback(ready_video).json()
    wrong = _heartbeat(stack, session, {"state": "playing", "position_seconds": 1, "token": "nope" * 10})
    assert wrong.status_code == 404
    none = _heartbeat(stack, session, {"state": "playing", "position_seconds": 1})
    assert none.status_code == 401


def test_the_sweeper_runs_on_its_schedule(stack: EmbeddedStack, ready_video: str) -> None:
    # A session that just heartbeated is not silent: a run leaves it open. (The stack is shared
    # with other modules, whose sessions may have gone silent meanwhile: those it may end.)
    viewer = Client(stack, sub="sessions-sweep-viewer", role="viewer")
    session = viewer.playback(ready_video).json()
    body = {"state": "playing", "position_seconds": 1, "sequence": 1, "token": session["session_token"]}
    assert _heartbeat(stack, session, body).status_code == 200
    swept = stack.run_schedule("sessions-sweep")
    assert set(swept) == {"expired"} and isinstance(swept["expired"], int)
    body = {**body, "position_seconds": 2, "sequence": 2}
    assert _heartbeat(stack, session, body).status_code == 200  # still open after the sweep
    assert [t.name for t in stack._schedule_threads] == ["schedule-sessions-sweep"]
    assert all(t.is_alive() for t in stack._schedule_threads)
