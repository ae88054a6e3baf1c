"""Resume, continue-watching and history per user and profile against moto: across two devices,
paging while new entries arrive, the pause switch, DELETE, and the DynamoDB calls of a page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from functions.sessions.logic import sessions as session_logic
from tests.integration.conftest import Account, ApiCall
from tests.integration.sessions_helpers import (
    beat,
    counting_dynamodb_calls,
    put_ready_video,
    recorder,
    started,
)


@pytest.fixture(autouse=True)
def _many_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    # These tests leave their sessions paused (open): the stream limit is tested elsewhere.
    monkeypatch.setenv("MAX_CONCURRENT_STREAMS", "50")


def watch(
    api: ApiCall, account: Account, video_id: str, position: float, *, sub: str = "viewer-1", **kw: Any
) -> dict[str, Any]:
    """Play ``video_id`` on a device and stop at ``position`` (heartbeats, then the stream recorded)."""
    session = started(api, video_id, sub=sub, **kw)
    assert beat(api, session, state="playing", position=position / 2, sequence=1).status == 200
    assert beat(api, session, state="paused", position=position, sequence=2).status == 200
    recorder(account).drain()
    return session


def history(api: ApiCall, *, sub: str = "viewer-1", path: str = "/v1/me/history", **query: Any) -> Any:
    resp = api("GET", path, role="viewer", sub=sub, query=urlencode(query))
    assert resp.status == 200, resp.body
    return resp.body


def test_resume_across_two_devices_of_the_same_user(api: ApiCall, account: Account) -> None:
    video_id = put_ready_video(account, duration=600)
    # Given the phone stopped at 5:00
    watch(api, account, video_id, 300)
    # When the TV (another session of the same user) plays the same video
    tv = started(api, video_id, headers={"user-agent": "tv"})
    # Then it resumes there
    assert tv["resume_position_seconds"] == 300
    # And after the TV went on to 7:00, the phone resumes at 7:00
    assert beat(api, tv, state="playing", position=420, sequence=1).status == 200
    recorder(account).drain()
    assert started(api, video_id)["resume_position_seconds"] == 420
    # Another user starts from the beginning
    assert started(api, video_id, sub="viewer-2")["resume_position_seconds"] == 0


def test_an_ended_or_nearly_finished_video_resumes_at_zero(api: ApiCall, account: Account) -> None:
    ended, nearly = put_ready_video(account, duration=600), put_ready_video(account, duration=600)
    session = started(api, ended)
    beat(api, session, state="playing", position=200, sequence=1)
    beat(api, session, state="ended", position=200, sequence=2)
    watch(api, account, nearly, 590)
    recorder(account).drain()
    assert started(api, ended)["resume_position_seconds"] == 0
    assert started(api, nearly)["resume_position_seconds"] == 0


def test_resume_and_history_are_per_profile(api: ApiCall, account: Account) -> None:
    kids = api("POST", "/v1/profiles", body={"name": "Kid"}, role="viewer", sub="viewer-1").body["id"]
    video_id = put_ready_video(account, duration=600)
    watch(api, account, video_id, 300)
    as_kid = {"x-profile-id": kids}
    assert started(api, video_id, headers=as_kid)["resume_position_seconds"] == 0
    assert [e["video_id"] for e in history(api)["items"]] == [video_id]
    resp = api("GET", "/v1/me/history", role="viewer", sub="viewer-1", headers=as_kid)
    assert resp.body["items"] == []


def test_continue_watching_lists_videos_between_5_and_95_percent_newest_first_with_their_title(
    api: ApiCall, account: Account
) -> None:
    barely, middle, later, done = (put_ready_video(account, duration=1000) for _ in range(4))
    watch(api, account, barely, 20)  # 2 %
    watch(api, account, middle, 500)
    watch(api, account, done, 990)  # 99 %
    watch(api, account, later, 100)
    page = history(api, path="/v1/me/continue-watching")
    assert [e["video_id"] for e in page["items"]] == [later, middle]
    first = page["items"][0]
    assert (
        first["position_seconds"] == 100 and first["duration_seconds"] == 1000 and first["percentage"] == 10
    )
    assert first["video_title"] == "A clip" and first["watched_at"]
    # The full history has them all, newest first
    assert [e["video_id"] for e in history(api)["items"]] == [later, done, middle, barely]


def test_an_episode_in_continue_watching_names_its_series_season_and_episode(
    api: ApiCall, account: Account
) -> None:
    owner = "creator-1"
    video_id = put_ready_video(account, owner=owner, duration=1000)

    def as_owner(method: str, path: str, **kw: Any) -> Any:
        resp = api(method, path, role="uploader", sub=owner, **kw)
        assert resp.status < 300, resp.body
        return resp

    title = as_owner(
        "POST", "/v1/titles", body={"kind": "series", "title": "The Show", "content_rating": "G"}
    )
    season = as_owner(
        "POST",
        f"/v1/titles/{title.body['id']}/seasons",
        body={"number": 1},
        headers={"if-match": f'"{title.body["version"]}"'},
    )
    as_owner(
        "POST",
        f"/v1/titles/{title.body['id']}/seasons/1/episodes",
        body={"number": 2, "title": "Second", "video_id": video_id},
        headers={"if-match": season.headers["etag"]},
    )
    watch(api, account, video_id, 300, sub=owner, role="uploader")
    (entry,) = history(api, sub=owner, path="/v1/me/continue-watching")["items"]
    assert entry["title"] == {
        "title_id": title.body["id"],
        "name": "The Show",
        "kind": "series",
        "season": 1,
        "episode": 2,
    }


def test_history_pages_stay_stable_while_new_entries_arrive(api: ApiCall, account: Account) -> None:
    videos = [put_ready_video(account) for _ in range(5)]
    for video_id in videos:
        watch(api, account, video_id, 100)
    seen: list[str] = []
    page = history(api, limit=2)
    arrivals = []
    while True:
        seen += [e["video_id"] for e in page["items"]]
        if not page["next_cursor"]:
            break
        # Between pages, the viewer watches something new
        fresh = put_ready_video(account)
        watch(api, account, fresh, 50)
        arrivals.append(fresh)
        page = history(api, limit=2, cursor=page["next_cursor"])
    # Then every entry that existed is seen once, newest first, and nothing new slipped in
    assert seen == list(reversed(videos))
    # The new ones are at the top of a fresh listing
    assert [e["video_id"] for e in history(api, limit=len(arrivals))["items"]] == list(reversed(arrivals))


def test_a_cursor_of_another_listing_is_refused(api: ApiCall, account: Account) -> None:
    for _ in range(3):
        watch(api, account, put_ready_video(account), 100)
    cursor = history(api, limit=1)["next_cursor"]
    other = api("GET", "/v1/me/history", role="viewer", sub="viewer-2", query=urlencode({"cursor": cursor}))
    assert (other.status, other.body["error"]["code"]) == (400, "invalid_cursor")
    garbage = api("GET", "/v1/me/history", role="viewer", sub="viewer-1", query="cursor=%21%21")
    assert garbage.status == 400


def test_the_pause_switch_stops_recording_for_that_profile(api: ApiCall, account: Account) -> None:
    kept, unrecorded = put_ready_video(account), put_ready_video(account)
    watch(api, account, kept, 100)
    assert api("GET", "/v1/me/settings", role="viewer", sub="viewer-1").body == {"history_paused": False}
    paused = api("PATCH", "/v1/me/settings", body={"history_paused": True}, role="viewer", sub="viewer-1")
    assert (paused.status, paused.body) == (200, {"history_paused": True})
    watch(api, account, unrecorded, 100)
    assert [e["video_id"] for e in history(api)["items"]] == [kept]
    assert started(api, unrecorded)["resume_position_seconds"] == 0
    # Resumed recording: recorded again
    api("PATCH", "/v1/me/settings", body={"history_paused": False}, role="viewer", sub="viewer-1")
    watch(api, account, unrecorded, 100)
    assert [e["video_id"] for e in history(api)["items"]] == [unrecorded, kept]
    bad = api("PATCH", "/v1/me/settings", body={"history_paused": "maybe"}, role="viewer", sub="viewer-1")
    assert bad.status == 422


def test_delete_one_entry_and_the_whole_history(api: ApiCall, account: Account) -> None:
    videos = [put_ready_video(account) for _ in range(3)]
    for video_id in videos:
        watch(api, account, video_id, 100)
    gone = api("DELETE", f"/v1/me/history/{videos[1]}", role="viewer", sub="viewer-1")
    assert gone.status == 204
    assert [e["video_id"] for e in history(api)["items"]] == [videos[2], videos[0]]
    assert started(api, videos[1])["resume_position_seconds"] == 0  # its resume point went with it
    assert api("DELETE", f"/v1/me/history/{videos[1]}", role="viewer", sub="viewer-1").status == 204
    other = put_ready_video(account)
    watch(api, account, other, 100, sub="viewer-2")
    assert api("DELETE", "/v1/me/history", role="viewer", sub="viewer-1").status == 204
    assert history(api)["items"] == []
    assert history(api, path="/v1/me/continue-watching")["items"] == []
    assert [e["video_id"] for e in history(api, sub="viewer-2")["items"]] == [other]


@pytest.mark.parametrize("path", ["/v1/me/history", "/v1/me/continue-watching"])
def test_a_page_is_at_most_two_dynamodb_calls(api: ApiCall, account: Account, path: str) -> None:
    kids = api("POST", "/v1/profiles", body={"name": "Kid"}, role="viewer", sub="viewer-1").body["id"]
    for _ in range(5):
        watch(api, account, put_ready_video(account), 100, headers={"x-profile-id": kids})
    with counting_dynamodb_calls() as count:
        # with a profile (identity reads it: one GetItem) and a cursor
        first = api(
            "GET", path, role="viewer", sub="viewer-1", query="limit=2", headers={"x-profile-id": kids}
        )
        assert len(first.body["items"]) == 2
        assert count.total <= 2, count.calls
        count.reset()
        second = api(
            "GET",
            path,
            role="viewer",
            sub="viewer-1",
            query=urlencode({"limit": 2, "cursor": first.body["next_cursor"]}),
            headers={"x-profile-id": kids},
        )
        assert len(second.body["items"]) == 2
        assert count.total <= 2, count.calls
        count.reset()
        history(api, path=path)  # no profile
        assert count.calls == ["Query"]


def test_the_silence_setting_is_typed_and_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.shared.settings import Settings

    assert Settings().session_silence_seconds == 120
    assert Settings().max_concurrent_streams == 4
    assert Settings().heartbeat_interval_seconds == 10
    assert session_logic.RESUME_MAX_FRACTION == 0.95
