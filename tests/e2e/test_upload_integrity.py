"""Issue 12, points 1 and 8: the file that was checked is the file that is published, and the
declared size is the size S3 takes. Through the public API and the embedded stack's S3 (moto with
infra/local/moto_patches.py's presigned-signature check, as S3 checks it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from functions.shared.keys import upload_key
from infra.local.emulator import EmbeddedStack
from tests.conftest import make_clip
from tests.e2e.conftest import Client

pytestmark = pytest.mark.e2e


@pytest.fixture
def admin(stack: EmbeddedStack) -> Client:
    return Client(stack, sub="admin-1", role="admin")


def _put(upload: dict[str, Any], body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    sent = {
        k: v for k, v in (upload["headers"] if headers is None else headers).items() if k != "Content-Length"
    }
    return requests.put(upload["url"], data=body, headers=sent, timeout=60)


def _rejected_short_clip(
    client: Client, tmp_path: Path, title: str
) -> tuple[str, dict[str, Any], Path, Path]:
    """A 0.5 s clip whose title holds a listed word, uploaded and REJECTED; and a 12 s other file.
    Returns the video id, its upload target, the clip and the other file."""
    short = make_clip(tmp_path / "short.mp4", seconds=0.5)
    other = make_clip(tmp_path / "other.mp4", seconds=12)
    created = client.create(title, size_bytes=short.stat().st_size)
    assert _put(created["upload"], short.read_bytes()).status_code == 200
    assert client.wait(created["id"], {"READY", "FAILED", "REJECTED"})["status"] == "REJECTED"
    return created["id"], created["upload"], short, other


def _approve_publishes_the_short_clip(admin: Client, client: Client, video_id: str) -> dict[str, Any]:
    """An admin's approval re-runs every step; what is published is the 0.5 s clip, not another."""
    resp = requests.post(
        f"{admin.api}/v1/videos/{video_id}/moderation",
        json={"decision": "approve"},
        headers=admin.headers,
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    video = client.wait(video_id, {"READY", "FAILED", "REJECTED"}, timeout=180)
    assert video["status"] == "READY"
    assert video["duration_seconds"] < 2
    return video


def test_an_upload_larger_than_declared_is_refused_at_s3(client: Client) -> None:
    # Given a video declared at 100 bytes
    created = client.create("declared small", size_bytes=100)
    # When 4 MB are sent to its upload URL
    resp = _put(created["upload"], b"\0" * (4 * 1024 * 1024))
    # Then S3 refuses it (the URL signed the length) and nothing starts
    assert resp.status_code == 403, resp.text
    assert "SignatureDoesNotMatch" in resp.text
    assert client.get(created["id"])["status"] == "AWAITING_UPLOAD"
    # and exactly the declared bytes are taken
    assert _put(created["upload"], b"\0" * 100).status_code == 200


def test_the_swapped_source_sequence_publishes_the_checked_file(
    client: Client, admin: Client, tmp_path: Path
) -> None:
    # Given a 0.5 s clip whose title holds a listed word, uploaded and REJECTED
    video_id, upload, short, other = _rejected_short_clip(client, tmp_path, "forbiddenword clip")
    # When the same presigned URL is used again: another file, the same bytes, without the
    # signed If-None-Match header
    assert _put(upload, other.read_bytes()).status_code == 403
    assert _put(upload, short.read_bytes()).status_code == 412  # If-None-Match: * at S3
    without = {k: v for k, v in upload["headers"].items() if k != "If-None-Match"}
    assert _put(upload, short.read_bytes(), without).status_code == 403
    # Then an admin's approval publishes the file that was checked, not another
    _approve_publishes_the_short_clip(admin, client, video_id)


def _wait_for(predicate: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("timed out")


def test_a_later_write_to_the_key_is_ignored_and_the_fixed_source_is_published(
    stack: EmbeddedStack, client: Client, admin: Client, tmp_path: Path
) -> None:
    # Given a 0.5 s clip with a listed word in its title, uploaded and REJECTED
    video_id, _, short, other = _rejected_short_clip(client, tmp_path, "forbiddenword pinned")
    rejected = client.get(video_id)
    assert rejected["ignored_uploads"] == []
    # When something with write access to the upload bucket (not the upload URL, which S3 now
    # refuses) puts another file on the video's key
    s3 = stack.client("s3")
    bucket = stack.resources.upload_bucket
    key = upload_key(video_id)
    s3.put_object(Bucket=bucket, Key=key, Body=other.read_bytes())
    # Then the starter records it as ignored, starts nothing, and deletes that version only
    video = _wait_for(lambda: (v := client.get(video_id))["ignored_uploads"] and v)
    assert video["status"] == "REJECTED"
    assert video["attempt"] == rejected["attempt"]
    [ignored] = video["ignored_uploads"]
    assert ignored["reason"] == "source_already_fixed"
    assert ignored["status"] == "REJECTED"
    assert ignored["size_bytes"] == other.stat().st_size
    versions = _wait_for(
        lambda: len(v := s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]) == 1 and v
    )
    assert versions[0]["Size"] == short.stat().st_size
    # ... and an admin's approval re-runs every step on the version fixed at ingest
    _approve_publishes_the_short_clip(admin, client, video_id)


def test_every_step_reads_the_version_fixed_at_ingest(
    stack: EmbeddedStack, client: Client, admin: Client, tmp_path: Path
) -> None:
    # Given a REJECTED video whose key then holds another file as its current version (written
    # while the starter's cleanup was not there to remove it: the starter is bypassed here)
    video_id, _, _, other = _rejected_short_clip(client, tmp_path, "forbiddenword current")
    s3 = stack.client("s3")
    bucket = stack.resources.upload_bucket
    key = upload_key(video_id)
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    config.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=other.read_bytes())
    finally:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == other.stat().st_size
    # When an admin approves it, then probe, moderation, transcode and thumbnails read the fixed
    # version, not the key's
    ready = _approve_publishes_the_short_clip(admin, client, video_id)
    assert ready["ignored_uploads"] == []
