"""Issue 12, points 1 and 8: the file that was checked is the file that is published, and the
declared size is the size S3 takes. Through the public API and the embedded stack's S3 (moto with
infra/local/moto_patches.py's presigned-signature check, as S3 checks it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

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
    short = make_clip(tmp_path / "short.mp4", seconds=0.5)
    other = make_clip(tmp_path / "other.mp4", seconds=12)
    created = client.create("forbiddenword clip", size_bytes=short.stat().st_size)
    video_id, upload = created["id"], created["upload"]
    assert _put(upload, short.read_bytes()).status_code == 200
    assert client.wait(video_id, {"READY", "FAILED", "REJECTED"})["status"] == "REJECTED"
    # When the same presigned URL is used again: another file, the same bytes, without the
    # signed If-None-Match header
    assert _put(upload, other.read_bytes()).status_code == 403
    assert _put(upload, short.read_bytes()).status_code == 412  # If-None-Match: * at S3
    without = {k: v for k, v in upload["headers"].items() if k != "If-None-Match"}
    assert _put(upload, short.read_bytes(), without).status_code == 403
    # Then an admin's approval publishes the file that was checked, not another
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
    short = make_clip(tmp_path / "short.mp4", seconds=0.5)
    other = make_clip(tmp_path / "other.mp4", seconds=12)
    created = client.create("forbiddenword pinned", size_bytes=short.stat().st_size)
    video_id = created["id"]
    assert _put(created["upload"], short.read_bytes()).status_code == 200
    rejected = client.wait(video_id, {"READY", "FAILED", "REJECTED"})
    assert rejected["status"] == "REJECTED"
    assert rejected["ignored_uploads"] == []
    # When something with write access to the upload bucket (not the upload URL, which S3 now
    # refuses) puts another file on the video's key
    s3 = stack.client("s3")
    bucket = stack.resources.upload_bucket
    key = next(
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []) if video_id in o["Key"]
    )
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
    resp = requests.post(
        f"{admin.api}/v1/videos/{video_id}/moderation",
        json={"decision": "approve"},
        headers=admin.headers,
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    ready = client.wait(video_id, {"READY", "FAILED", "REJECTED"}, timeout=180)
    assert ready["status"] == "READY"
    assert ready["duration_seconds"] < 2


def test_every_step_reads_the_version_fixed_at_ingest(
    stack: EmbeddedStack, client: Client, admin: Client, tmp_path: Path
) -> None:
    # Given a REJECTED video whose key then holds another file as its current version (written
    # while the starter's cleanup was not there to remove it: the starter is bypassed here)
    short = make_clip(tmp_path / "short.mp4", seconds=0.5)
    other = make_clip(tmp_path / "other.mp4", seconds=12)
    created = client.create("forbiddenword current", size_bytes=short.stat().st_size)
    video_id = created["id"]
    assert _put(created["upload"], short.read_bytes()).status_code == 200
    assert client.wait(video_id, {"READY", "FAILED", "REJECTED"})["status"] == "REJECTED"
    s3 = stack.client("s3")
    bucket = stack.resources.upload_bucket
    key = next(
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []) if video_id in o["Key"]
    )
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    config.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=other.read_bytes())
    finally:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == other.stat().st_size
    # When an admin approves it
    resp = requests.post(
        f"{admin.api}/v1/videos/{video_id}/moderation",
        json={"decision": "approve"},
        headers=admin.headers,
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    # Then probe, moderation, transcode and thumbnails read the fixed version, not the key's
    ready = client.wait(video_id, {"READY", "FAILED", "REJECTED"}, timeout=180)
    assert ready["status"] == "READY"
    assert ready["duration_seconds"] < 2
    assert ready["ignored_uploads"] == []
