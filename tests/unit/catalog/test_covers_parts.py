"""Covers: key layout, upload ids, and the API side staying free of Pillow."""

from __future__ import annotations

import subprocess
import sys

from functions.catalog.logic.covers import new_upload_id
from functions.shared.keys import (
    COVERS_PREFIX,
    UPLOAD_PREFIX,
    cover_upload_key,
    image_rendition_key,
    parse_cover_upload_key,
)
from infra import spec


def test_a_cover_key_names_its_title_kind_and_upload() -> None:
    upload_id = new_upload_id()
    key = cover_upload_key("abc123", "backdrop", upload_id)
    assert key == f"covers/abc123/backdrop/{upload_id}"
    assert parse_cover_upload_key(key) == ("abc123", "backdrop", upload_id)


def test_other_keys_are_not_cover_uploads() -> None:
    upload_id = new_upload_id()
    for key in (
        f"uploads/{'a' * 32}/source",
        f"covers/abc/cover/{upload_id}/extra",
        "covers/abc/cover/not-an-upload-id",
        f"covers//cover/{upload_id}",
    ):
        assert parse_cover_upload_key(key) is None, key


def test_renditions_live_under_the_public_images_prefix() -> None:
    key = image_rendition_key("abc", "cover", "f" * 32, 640)
    assert key == f"images/titles/abc/cover/{'f' * 32}/w640.webp"
    assert spec.PUBLIC_IMAGES_PATH_PATTERN == "images/*"


def test_cover_uploads_do_not_reach_the_video_ingest_queue() -> None:
    # The two notifications on the upload bucket must not overlap (S3 refuses overlapping ones)
    prefixes = {n.prefix: n.queue for n in spec.BUCKET_NOTIFICATIONS if n.bucket == "upload_bucket"}
    assert prefixes[COVERS_PREFIX] == "covers" and prefixes[UPLOAD_PREFIX] == "ingest"
    assert not any(
        p != COVERS_PREFIX and (p.startswith(COVERS_PREFIX) or COVERS_PREFIX.startswith(p)) for p in prefixes
    )


def test_upload_ids_are_32_hex_characters_that_sort_in_issue_order() -> None:
    ids = [new_upload_id() for _ in range(200)]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_the_api_side_of_covers_does_not_import_pillow() -> None:
    # The videos-api function has no images layer: Pillow must stay in the renderer
    code = (
        "import sys; import functions.api.handle_api; "
        "import functions.catalog.handlers.routes.covers; "
        "print('PIL' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
    renderer = spec.FUNCTIONS_BY_NAME["covers-renderer"]
    assert renderer.layers == ("images",)
    assert "images" not in spec.FUNCTIONS_BY_NAME["videos-api"].layers
