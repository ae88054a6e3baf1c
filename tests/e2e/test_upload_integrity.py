"""Issue 12, points 1 and 8: the file that was checked is the file that is published, and the
declared size is the size S3 takes. Through the public API and the embedded stack's S3 (moto with
infra/local/moto_patches.py's presigned-signature check, as S3 checks it)."""

from __future__ import annotations

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
