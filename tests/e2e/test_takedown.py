"""Takedown through the embedded stack (issue 13): a READY video bound to a published movie, and a
video still PROCESSING bound to an episode, each taken down by its owner. Afterwards nothing is
left under its prefixes (every object version), the execution is stopped, the signed URL issued
before is refused at the local edge, the titles are consistent, and ``video.deleted`` went out."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import m3u8
import pytest
import requests

from functions.shared import keys
from infra.local.emulator import EmbeddedStack
from tests.conftest import make_clip
from tests.e2e.conftest import Client

pytestmark = pytest.mark.e2e

OWNER = "takedown-owner"


def _call(client: Client, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(
        method,
        f"{client.api}{path}",
        headers={**client.headers, **kwargs.pop("headers", {})},
        timeout=30,
        **kwargs,
    )


def _event_queue(stack: EmbeddedStack) -> str:
    """A downstream consumer's queue on the platform bus, hearing video.deleted."""
    assert stack.resources is not None
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=f"takedown-observer-{time.monotonic_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = stack.client("events")
    name = f"observe-deleted-{time.monotonic_ns()}"
    events.put_rule(
        Name=name,
        EventBusName=stack.resources.event_bus_name,
        EventPattern=json.dumps({"source": ["vod.videos"], "detail-type": ["video.deleted"]}),
    )
    events.put_targets(
        Rule=name, EventBusName=stack.resources.event_bus_name, Targets=[{"Id": "q", "Arn": arn}]
    )
    return str(url)


def _deleted_events(stack: EmbeddedStack, url: str, video_id: str, *, wait_s: float) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            event = json.loads(message["Body"])
            if event["detail"].get("video_id") == video_id:
                found.append(event)
    return found


def _versions_left(stack: EmbeddedStack, video_id: str) -> dict[str, list[str]]:
    assert stack.resources is not None
    s3 = stack.client("s3")
    left: dict[str, list[str]] = {}
    for bucket, prefix in (
        (stack.resources.upload_bucket, f"uploads/{video_id}/"),
        (stack.resources.media_bucket, keys.output_prefix(video_id)),
    ):
        page = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
        left[bucket] = [v["Key"] for v in (*page.get("Versions", []), *page.get("DeleteMarkers", []))]
        uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
        left[bucket] += [f"multipart:{u['Key']}" for u in uploads]
    return left


def _until(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def _purged(client: Client, video_id: str, timeout: float = 60) -> dict[str, Any]:
    return dict(
        _until(
            lambda: (v := client.get(video_id))["status"] == "DELETED" and v.get("purged_at") and v,
            timeout=timeout,
            what=f"{video_id} purged",
        )
    )


def _title(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    resp = _call(client, "POST", "/v1/titles", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def _match(version: Any) -> dict[str, str]:
    return {"if-match": f'"{version}"'}


@pytest.fixture(scope="module")
def observer(stack: EmbeddedStack) -> str:
    return _event_queue(stack)


@pytest.fixture(scope="module")
def owner(stack: EmbeddedStack) -> Client:
    return Client(stack, sub=OWNER)


def test_a_ready_video_bound_to_a_published_movie_is_taken_down(
    stack: EmbeddedStack, owner: Client, observer: str, media_dir: Path
) -> None:
    # Given a public READY video, bound to a published movie, that a viewer plays
    clip = make_clip(media_dir / "takedown-ready.mp4", seconds=3, size="640x360")
    video_id = owner.upload(clip, "to take down", visibility="public")
    assert owner.wait(video_id, {"READY", "FAILED", "REJECTED"})["status"] == "READY"
    movie = _title(
        owner, {"kind": "movie", "title": "Gone soon", "content_rating": "G", "video_id": video_id}
    )
    published = _call(owner, "POST", f"/v1/titles/{movie['id']}/publish", headers=_match(movie["version"]))
    assert published.status_code == 200, published.text
    viewer = Client(stack, sub="takedown-viewer", role="viewer")
    play = viewer.playback(video_id)
    assert play.status_code == 200, play.text
    url = play.json()["hls_url"]
    master = requests.get(url, timeout=10)
    assert master.status_code == 200
    variant_url = urljoin(url, m3u8.loads(master.text).playlists[0].uri)
    playlist = requests.get(variant_url, timeout=10)
    assert playlist.status_code == 200
    segment_url = urljoin(variant_url, m3u8.loads(playlist.text).segments[0].uri)
    assert requests.get(segment_url, timeout=10).status_code == 200

    # When its owner takes it down
    resp = _call(owner, "DELETE", f"/v1/videos/{video_id}")

    # Then the answer is the DELETED record, at once
    assert resp.status_code == 200, resp.text
    deleted = resp.json()
    assert (deleted["status"], deleted["deleted_by"], deleted["previous_status"]) == (
        "DELETED",
        OWNER,
        "READY",
    )
    # ... playback is gone for everyone
    again = viewer.playback(video_id)
    assert (again.status_code, again.json()["error"]["code"]) == (410, "deleted")
    # ... once purged, nothing is left under its prefixes, in any version
    _purged(owner, video_id)
    assert stack.resources is not None
    assert _versions_left(stack, video_id) == {
        stack.resources.upload_bucket: [],
        stack.resources.media_bucket: [],
    }
    # ... the URLs signed before are refused by the edge (the objects are gone)
    for old in (url, variant_url, segment_url):
        assert requests.get(old, timeout=10).status_code in (403, 404), old
    # ... its CDN paths were invalidated
    cloudfront = stack.client("cloudfront")
    items = cloudfront.list_invalidations(DistributionId=stack.resources.cdn_distribution_id)[
        "InvalidationList"
    ].get("Items", [])
    paths = [
        cloudfront.get_invalidation(DistributionId=stack.resources.cdn_distribution_id, Id=i["Id"])[
            "Invalidation"
        ]["InvalidationBatch"]["Paths"]["Items"]
        for i in items
    ]
    assert [f"/videos/{video_id}/*"] in paths
    # ... the movie plays nothing any more and is unpublished (and out of the public listing)
    movie_now = _until(
        lambda: (t := _call(owner, "GET", f"/v1/titles/{movie['id']}").json()).get("video_id") is None and t,
        timeout=30,
        what="the movie unbound",
    )
    assert movie_now["state"] == "unpublished"
    # ... the viewer's playback session has ended: its next heartbeat is 410 session_ended
    session_id, token = play.json()["session_id"], play.json()["session_token"]

    def heartbeat() -> dict[str, Any] | None:  # (a 4xx Response is falsy: return its body)
        beat = requests.post(
            f"{owner.api}/v1/sessions/{session_id}/heartbeat",
            json={"state": "playing", "position_seconds": 1, "token": token},
            timeout=10,
        )
        return dict(beat.json()) if beat.status_code == 410 else None

    ended = _until(heartbeat, timeout=30, what="the session ended")
    assert ended["error"]["code"] == "session_ended"
    # ... video.deleted went out once, with the contract's fields
    [event] = _deleted_events(stack, observer, video_id, wait_s=3)
    assert event["detail"] == {
        "video_id": video_id,
        "owner": OWNER,
        "deleted_by": OWNER,
        "deleted_at": deleted["deleted_at"],
        "previous_status": "READY",
    }
    # ... and a repeat is harmless: the same record, no second event
    repeat = _call(owner, "DELETE", f"/v1/videos/{video_id}")
    assert repeat.status_code == 200 and repeat.json()["deleted_at"] == deleted["deleted_at"]
    assert _deleted_events(stack, observer, video_id, wait_s=2) == []
    # ... and it is still listed among mine, as DELETED (kept for audit)
    mine = _call(owner, "GET", "/v1/me/videos", params={"limit": "100"}).json()["items"]
    assert {v["id"]: v["status"] for v in mine}[video_id] == "DELETED"


def test_a_video_still_processing_is_stopped_and_leaves_nothing(
    stack: EmbeddedStack, owner: Client, observer: str, media_dir: Path
) -> None:
    # Given a video bound to an episode, still in the pipeline
    clip = make_clip(media_dir / "takedown-processing.mp4", seconds=20, size="854x480")
    created = owner.create("processing, then gone")
    video_id = created["id"]
    series = _title(owner, {"kind": "series", "title": "Half gone", "content_rating": "G"})
    season = _call(
        owner,
        "POST",
        f"/v1/titles/{series['id']}/seasons",
        json={"number": 1},
        headers=_match(series["version"]),
    )
    assert season.status_code == 201, season.text
    episode = _call(
        owner,
        "POST",
        f"/v1/titles/{series['id']}/seasons/1/episodes",
        json={"number": 1, "title": "Pilot", "video_id": video_id},
        headers={"if-match": season.headers["etag"]},
    )
    assert episode.status_code == 201, episode.text
    put = requests.put(
        created["upload"]["url"], data=clip.read_bytes(), headers=created["upload"]["headers"], timeout=60
    )
    assert put.status_code == 200
    processing = owner.wait(video_id, {"PROCESSING", "VIEWABLE", "READY", "FAILED", "REJECTED"})
    assert processing["status"] == "PROCESSING", processing
    [run] = _until(lambda: owner.executions_for(video_id), timeout=30, what="its execution")

    # When its owner takes it down mid-way
    resp = _call(owner, "DELETE", f"/v1/videos/{video_id}")

    # Then the record is DELETED from PROCESSING, and the execution is stopped
    assert resp.status_code == 200, resp.text
    assert (resp.json()["status"], resp.json()["previous_status"]) == ("DELETED", "PROCESSING")
    _purged(owner, video_id)
    sfn = stack.client("stepfunctions")
    # (moto's interpreter records the stop once the task it was running has returned)
    ended = _until(
        lambda: (s := sfn.describe_execution(executionArn=run["executionArn"])["status"]) != "RUNNING" and s,
        timeout=60,
        what="the execution to end",
    )
    assert ended == "ABORTED"
    # ... a step that was running when it stopped does not bring anything back: give it time to
    # finish, then nothing is under its prefixes, and the record is still DELETED
    time.sleep(8)
    assert stack.resources is not None
    assert _versions_left(stack, video_id) == {
        stack.resources.upload_bucket: [],
        stack.resources.media_bucket: [],
    }
    final = owner.get(video_id)
    assert final["status"] == "DELETED"
    assert final["renditions"] == [] and final["progress"] is None
    # ... the series lost its episode and stays
    shown = _until(
        lambda: (
            (t := _call(owner, "GET", f"/v1/titles/{series['id']}").json())["seasons"][0]["episodes"] == []
            and t
        ),
        timeout=30,
        what="the episode removed",
    )
    assert shown["title"] == "Half gone"
    # ... and video.deleted went out
    [event] = _deleted_events(stack, observer, video_id, wait_s=3)
    assert event["detail"]["previous_status"] == "PROCESSING"
