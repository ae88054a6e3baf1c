"""Covers on the embedded stack: presigned POST form -> S3 notification -> covers queue ->
covers-renderer -> WebP renditions in the media bucket, served unsigned by the local edge."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
import requests
from PIL import ExifTags, Image

from infra.local.emulator import EmbeddedStack
from tests.e2e.conftest import Client

pytestmark = pytest.mark.e2e


def phone_photo() -> bytes:
    """A 2000x1500 JPEG with a GPS position and an orientation tag (rotate 90 degrees clockwise)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 30.0)
    out = io.BytesIO()
    Image.new("RGB", (2000, 1500), (30, 120, 200)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def create_title(client: Client) -> str:
    resp = requests.post(
        f"{client.api}/v1/titles",
        json={"kind": "movie", "title": "Covered"},
        headers=client.headers,
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def upload(client: Client, title_id: str, data: bytes, *, kind: str, content_type: str) -> str:
    """Ask for the upload target, then POST the form to S3 as a browser would; returns the upload id."""
    resp = requests.post(
        f"{client.api}/v1/titles/{title_id}/cover",
        json={"kind": kind, "content_type": content_type, "size": len(data)},
        headers=client.headers,
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    target = resp.json()
    form = target["upload"]
    posted = requests.post(form["url"], data=form["fields"], files={"file": ("upload", data)}, timeout=30)
    assert posted.status_code in (200, 201, 204), posted.text
    return str(target["upload_id"])


def wait_for_slot(
    client: Client, title_id: str, kind: str, upload_id: str, timeout: float = 60
) -> dict[str, Any]:
    """Poll the title until its slot reports this upload (ready or rejected)."""
    deadline = time.monotonic() + timeout
    while True:
        resp = requests.get(f"{client.api}/v1/titles/{title_id}", headers=client.headers, timeout=30)
        assert resp.status_code == 200, resp.text
        slot: dict[str, Any] = resp.json()["images"].get(kind) or {}
        if slot.get("upload_id") == upload_id:
            return slot
        if time.monotonic() > deadline:
            raise AssertionError(f"images.{kind} of {title_id} never showed upload {upload_id}: {slot}")
        time.sleep(0.25)


def test_an_uploaded_jpeg_is_served_as_webp_through_the_edge(stack: EmbeddedStack, client: Client) -> None:
    # Given a title of this uploader
    title_id = create_title(client)

    # When a phone photo is uploaded as its cover through the presigned form
    upload_id = upload(client, title_id, phone_photo(), kind="cover", content_type="image/jpeg")

    # Then the title soon shows a ready cover: upright (1500 wide), at 320, 640 and 1280
    cover = wait_for_slot(client, title_id, "cover", upload_id)
    assert cover["status"] == "ready", cover
    assert [(r["width"], r["height"]) for r in cover["renditions"]] == [(320, 427), (640, 853), (1280, 1707)]
    assert stack.edge is not None
    for rendition in cover["renditions"]:
        assert rendition["url"].startswith(f"{stack.edge.url}/images/titles/{title_id}/cover/{upload_id}/")

    # And the edge serves each rendition without a signature, as WebP with no EXIF
    for rendition in cover["renditions"]:
        got = requests.get(rendition["url"], timeout=30)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "image/webp"
        assert got.content[:4] == b"RIFF" and got.content[8:12] == b"WEBP"
        image = Image.open(io.BytesIO(got.content))
        assert image.format == "WEBP" and image.size == (rendition["width"], rendition["height"])
        assert len(image.getexif()) == 0 and b"EXIF" not in got.content

    # And the unsigned exemption is the images prefix only: video paths still need a signature
    assert requests.get(f"{stack.edge.url}/videos/{'0' * 32}/hls/master.m3u8", timeout=30).status_code == 403


def test_a_text_file_uploaded_as_backdrop_is_rejected_with_its_reason(
    stack: EmbeddedStack, client: Client
) -> None:
    title_id = create_title(client)

    upload_id = upload(client, title_id, b"not a picture\n" * 100, kind="backdrop", content_type="image/png")

    backdrop = wait_for_slot(client, title_id, "backdrop", upload_id)
    assert (backdrop["status"], backdrop["reason"]) == ("rejected", "not_an_image")
    assert "url" not in backdrop
