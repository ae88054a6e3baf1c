"""What a restart of the embedded stack settles (infra/local/emulator.py ``_recover``): executions
do not survive a restart, so every video the last run left in flight ends FAILED through the
safety net, with its pipeline slot and its per-user place given back and a retry that works; an
upload whose S3 event was lost gets it again; settled and waiting videos are left alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from functions.pipeline.logic import slots
from functions.shared.events import VideoDeletedDetail
from functions.shared.keys import upload_key
from functions.videos.dal import in_flight
from functions.videos.logic import ingest, lifecycle, records
from infra.local import lambda_runtime
from infra.local.emulator import EmbeddedStack
from infra.local.persist import Restored
from tests import scan_guard
from tests.integration.conftest import Account, ApiCall

RENDITION = {"name": "360p", "width": 640, "height": 360, "bitrate": 800_000, "playlist_key": "k/360p.m3u8"}


class Announcements:
    """Stands in for the persister's redelivery of S3 events."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def announce_created(self, bucket: str, key: str) -> None:
        self.sent.append((bucket, key))


def _video(api: ApiCall, status: str) -> str:
    """A video driven to ``status`` by the lifecycle's own moves, with the slot its run would hold."""
    video_id = str(api("POST", "/v1/videos", body={"title": status.lower()}).body["id"])
    if status == "AWAITING_UPLOAD":
        return video_id
    name = ingest.execution_name(video_id, "etag1", 1)
    lifecycle.mark_uploaded(video_id, upload_version="etag1", execution_name=name, attempt=1, size_bytes=10)
    if status == "UPLOADED":
        return video_id
    slots.acquire(priority_class=None, execution=name)
    lifecycle.start_processing(video_id)
    if status == "VIEWABLE":
        lifecycle.mark_viewable(video_id, renditions=[RENDITION], pending=["720p"])
    elif status == "IN_REVIEW":
        slots.release_for_review(priority_class=None, execution=name)
        lifecycle.hold_for_review(video_id, token="task-token-of-a-dead-execution")
    elif status == "READY":
        lifecycle.mark_ready(video_id, renditions=[RENDITION], poster_key="p", storyboard_key="s")
        slots.release(name, records.get_record(video_id))
    return video_id


def _snapshot(account: Account) -> list[dict[str, Any]]:
    with scan_guard.allow_scan():
        items: list[dict[str, Any]] = account.client("dynamodb").scan(
            TableName=account.resources.videos_table
        )["Items"]
    return items


@pytest.mark.parametrize("status", ["UPLOADED", "PROCESSING", "VIEWABLE", "IN_REVIEW"])
def test_a_video_left_in_flight_ends_failed_with_a_retry_that_works(
    account: Account, api: ApiCall, tmp_path: Path, status: str
) -> None:
    # Given the last run left a video in flight, its slot and per-user place still held
    video_id = _video(api, status)
    assert in_flight.holders("user-1") == {video_id: 0}
    stack = EmbeddedStack(directory=tmp_path / "state")
    stack.state_machines = account.state_machines
    stack.restored = Restored(items={account.resources.videos_table: _snapshot(account)})
    # When the restarted stack settles what the last run left
    assert stack._recover(account.resources) == [video_id]
    # Then the video is FAILED with a retryable reason, and nothing of its run is held any more
    record = records.get_record(video_id)
    assert (record.status, record.reason) == ("FAILED", "execution_aborted")
    assert slots.release(record.execution_name, record) is False  # nothing left to give back
    assert in_flight.holders("user-1") == {}
    # ... and the retry API re-runs it from the stored upload
    retried = api("POST", f"/v1/videos/{video_id}/retry")
    assert retried.status == 200, retried.body
    assert retried.body["status"] == "UPLOADED"
    assert retried.body["attempt"] == 2


def test_settled_and_waiting_videos_are_left_alone_and_a_lost_upload_event_is_sent_again(
    account: Account, api: ApiCall, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready = _video(api, "READY")
    waiting = _video(api, "AWAITING_UPLOAD")
    landed = _video(api, "AWAITING_UPLOAD")  # its upload arrived, its S3 event died with the run
    before = {video_id: records.get_record(video_id).status for video_id in (ready, waiting, landed)}
    stack = EmbeddedStack(directory=tmp_path / "state")
    stack.state_machines = account.state_machines
    stack.restored = Restored(
        items={account.resources.videos_table: _snapshot(account)},
        keys={account.resources.upload_bucket: {upload_key(landed)}},
    )
    announcements = Announcements()
    stack.persister = announcements  # type: ignore[assignment]
    invoked: list[Any] = []
    monkeypatch.setattr(lambda_runtime, "invoke", lambda *args: invoked.append(args))
    assert stack._recover(account.resources) == []
    assert invoked == []  # no safety net for anything
    assert {video_id: records.get_record(video_id).status for video_id in before} == before
    assert announcements.sent == [(account.resources.upload_bucket, upload_key(landed))]


class EventsRecorder:
    """Stands in for the embedded bus: what ``_recover`` puts on it."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in Entries]}


def test_a_takedown_left_unpurged_is_announced_again_and_a_purged_one_is_not(
    account: Account, api: ApiCall, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two videos taken down, one purged by the worker and one whose queued
    # video.deleted died with the last run
    unpurged, purged = _video(api, "READY"), _video(api, "PROCESSING")
    for video_id in (unpurged, purged):
        assert api("DELETE", f"/v1/videos/{video_id}").status == 200
    lifecycle.record_purged(purged)
    stack = EmbeddedStack(directory=tmp_path / "state")
    stack.state_machines = account.state_machines
    stack.restored = Restored(items={account.resources.videos_table: _snapshot(account)})
    bus = EventsRecorder()
    monkeypatch.setattr(stack, "client", lambda service: bus)
    invoked: list[Any] = []
    monkeypatch.setattr(lambda_runtime, "invoke", lambda *args: invoked.append(args))
    # When the restarted stack settles what the last run left
    assert stack._recover(account.resources) == []
    # Then only the unpurged takedown is announced again, with the event's contract
    assert invoked == []
    assert [(e["DetailType"], e["EventBusName"]) for e in bus.entries] == [
        ("video.deleted", account.resources.event_bus_name)
    ]
    detail = VideoDeletedDetail.model_validate_json(bus.entries[0]["Detail"])
    assert (detail.video_id, detail.deleted_by, detail.previous_status) == (unpurged, "user-1", "READY")
    assert detail.owner == "user-1"
