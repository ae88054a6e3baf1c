"""Covers against moto: POST /v1/titles/{id}/cover, and the covers-renderer behind the S3 notification.

The renderer is fed what S3 really sends: the bucket notification configuration from infra/spec
is installed, the upload is put under covers/, and the message moto delivers to the covers queue
is handed to the function as its event source mapping would.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from PIL import ExifTags, Image

from functions.catalog.dal import titles
from functions.catalog.logic.covers import new_upload_id
from functions.shared.keys import cover_upload_key
from infra import spec
from infra.local import provision
from infra.local.lambda_runtime import invoke
from tests.integration.conftest import Account, ApiCall, sqs_event

OWNER = "owner-1"


def jpeg_with_gps(size: tuple[int, int] = (1600, 900)) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 30.0)
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def title_id(account: Account) -> str:
    title_id = titles.new_title_id()
    titles.create_title(title_id, owner=OWNER, kind="movie", title="Cover story", state="draft")
    return title_id


def cover_request(**overrides: Any) -> dict[str, Any]:
    return {"kind": "cover", "content_type": "image/jpeg", "size": 50_000, **overrides}


# --- POST /v1/titles/{id}/cover ------------------------------------------------------------------


def test_the_owner_gets_a_presigned_post_bound_to_key_type_and_size(
    api: ApiCall, account: Account, title_id: str
) -> None:
    # When the title's owner asks for a cover upload of 50,000 bytes
    resp = api("POST", f"/v1/titles/{title_id}/cover", body=cover_request(), sub=OWNER)

    # Then it is a 201 with a POST form for the upload bucket, under covers/<title>/cover/<upload id>
    assert resp.status == 201, resp.body
    body = resp.body
    assert (body["title_id"], body["kind"]) == (title_id, "cover")
    upload = body["upload"]
    assert upload["method"] == "POST" and upload["max_bytes"] == 50_000
    assert account.resources.upload_bucket in upload["url"]
    fields = upload["fields"]
    assert fields["key"] == cover_upload_key(title_id, "cover", body["upload_id"])
    assert fields["Content-Type"] == "image/jpeg"
    assert {"policy", "x-amz-signature", "x-amz-credential", "x-amz-algorithm", "x-amz-date"} <= set(fields)
    # And the signed policy is what S3 enforces: this key, this type, 1..declared size bytes
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 50_000] in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert {"key": fields["key"]} in conditions
    assert {"bucket": account.resources.upload_bucket} in conditions
    # And the form really uploads there
    posted = requests.post(upload["url"], data=fields, files={"file": ("c.jpg", b"\xff\xd8 jpeg bytes")})
    assert posted.status_code == 204
    stored = account.client("s3").get_object(Bucket=account.resources.upload_bucket, Key=fields["key"])
    assert stored["Body"].read() == b"\xff\xd8 jpeg bytes"


def test_upload_ids_sort_in_the_order_they_were_issued(api: ApiCall, title_id: str) -> None:
    ids = [
        api("POST", f"/v1/titles/{title_id}/cover", body=cover_request(), sub=OWNER).body["upload_id"]
        for _ in range(3)
    ]
    assert len(set(ids)) == 3 and ids == sorted(ids)


def test_an_admin_may_upload_a_cover_for_any_title(api: ApiCall, title_id: str) -> None:
    resp = api("POST", f"/v1/titles/{title_id}/cover", body=cover_request(kind="backdrop"), role="admin")
    assert resp.status == 201, resp.body
    assert resp.body["kind"] == "backdrop"
    assert resp.body["upload"]["fields"]["key"].startswith(f"covers/{title_id}/backdrop/")


def test_without_a_token_it_is_401(api: ApiCall, title_id: str) -> None:
    resp = api("POST", f"/v1/titles/{title_id}/cover", body=cover_request(), role=None)
    assert resp.status == 401 and resp.body["error"]["code"] == "unauthorized"


def test_an_uploader_who_does_not_own_the_title_gets_403(api: ApiCall, title_id: str) -> None:
    resp = api("POST", f"/v1/titles/{title_id}/cover", body=cover_request(), sub="someone-else")
    assert resp.status == 403 and resp.body["error"]["code"] == "forbidden"


def test_a_viewer_gets_403_even_for_an_unknown_title(api: ApiCall) -> None:
    resp = api("POST", f"/v1/titles/{'0' * 32}/cover", body=cover_request(), role="viewer")
    assert resp.status == 403


def test_an_unknown_title_is_404(api: ApiCall, account: Account) -> None:
    resp = api("POST", f"/v1/titles/{'0' * 32}/cover", body=cover_request(), sub=OWNER)
    assert resp.status == 404 and resp.body["error"]["code"] == "title_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (cover_request(kind="banner"), "kind"),
        (cover_request(content_type="text/plain"), "content_type"),
        (cover_request(content_type="image/svg+xml"), "content_type"),
        (cover_request(size=0), "size"),
        ({"kind": "cover", "content_type": "image/jpeg"}, "size"),
        (cover_request(extra="x"), "extra"),
    ],
)
def test_an_invalid_request_is_422(api: ApiCall, title_id: str, body: dict[str, Any], field: str) -> None:
    resp = api("POST", f"/v1/titles/{title_id}/cover", body=body, sub=OWNER)
    assert resp.status == 422, resp.body
    assert resp.body["error"]["code"] == "validation_failed"
    assert field in {d["field"] for d in resp.body["error"]["details"]}


def test_a_declared_size_above_the_limit_is_413(api: ApiCall, title_id: str) -> None:
    resp = api("POST", f"/v1/titles/{title_id}/cover", body=cover_request(size=21 * 1024 * 1024), sub=OWNER)
    assert resp.status == 413 and resp.body["error"]["code"] == "cover_too_large"


def test_asking_for_an_upload_writes_nothing_to_the_title(api: ApiCall, title_id: str) -> None:
    before = titles.find_title(title_id)
    assert before is not None
    api("POST", f"/v1/titles/{title_id}/cover", body=cover_request(), sub=OWNER)
    after = titles.find_title(title_id)
    assert after is not None and int(after.version) == int(before.version) and not after.images.as_dict()


# --- the covers-renderer behind the bucket notification ---------------------------------------

Upload = Callable[..., dict[str, Any]]


@pytest.fixture
def upload_and_render(account: Account) -> Upload:
    """Put an upload under covers/ as the presigned POST would, then run the renderer on the
    notification S3 sent to the covers queue. Returns the batch response."""
    s3 = account.client("s3")
    sqs = account.client("sqs")
    provision.create_notifications(s3, account.resources, account.queues)
    queue_url = account.queues["covers"].url
    sqs.purge_queue(QueueUrl=queue_url)  # the s3:TestEvent of the configuration

    def upload(
        title_id: str, data: bytes, *, kind: str = "cover", upload_id: str | None = None
    ) -> dict[str, Any]:
        key = cover_upload_key(title_id, kind, upload_id or new_upload_id())
        s3.put_object(Bucket=account.resources.upload_bucket, Key=key, Body=data, ContentType="image/jpeg")
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        assert len(messages) == 1, messages
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
        result, errored = invoke(
            spec.FUNCTIONS_BY_NAME["covers-renderer"], sqs_event(messages[0]["Body"], queue="vod-covers")
        )
        assert not errored, result
        assert result == {"batchItemFailures": []}
        return {"key": key, "body": messages[0]["Body"]}

    return upload


def media_keys(account: Account, prefix: str = "images/") -> list[str]:
    resp = account.client("s3").list_objects_v2(Bucket=account.resources.media_bucket, Prefix=prefix)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def slot(title_id: str, kind: str = "cover") -> dict[str, Any]:
    title = titles.find_title(title_id)
    assert title is not None
    value: dict[str, Any] = title.images.as_dict()[kind]
    return value


def test_an_uploaded_jpeg_becomes_webp_renditions_recorded_on_the_title(
    account: Account, title_id: str, upload_and_render: Upload
) -> None:
    # Given a 1600x900 JPEG with EXIF and GPS uploaded as the title's cover
    version_before = int(titles.find_title(title_id).version)  # type: ignore[union-attr]
    upload_id = new_upload_id()
    sent = upload_and_render(title_id, jpeg_with_gps(), upload_id=upload_id)

    # Then the title's cover is ready, with three WebP renditions on the CDN
    cover = slot(title_id)
    assert (cover["status"], cover["upload_id"]) == ("ready", upload_id)
    assert [(r["width"], r["height"]) for r in cover["renditions"]] == [(320, 180), (640, 360), (1280, 720)]
    assert (cover["url"], cover["width"], cover["height"]) == (cover["renditions"][-1]["url"], 1280, 720)
    prefix = f"images/titles/{title_id}/cover/{upload_id}/"
    for rendition in cover["renditions"]:
        assert rendition["url"] == f"https://cdn.example.test/{rendition['key']}"
        assert rendition["key"].startswith(prefix)
    # And the objects are WebP without EXIF, immutable for caches
    assert media_keys(account) == sorted(r["key"] for r in cover["renditions"])
    s3 = account.client("s3")
    for rendition in cover["renditions"]:
        obj = s3.get_object(Bucket=account.resources.media_bucket, Key=rendition["key"])
        assert obj["ContentType"] == "image/webp"
        assert obj["CacheControl"] == "public, max-age=31536000, immutable"
        image = Image.open(io.BytesIO(obj["Body"].read()))
        assert image.format == "WEBP" and image.width == rendition["width"]
        assert len(image.getexif()) == 0 and "exif" not in image.info
    # And the title's version moved (ETags and projections see the change)
    assert int(titles.find_title(title_id).version) == version_before + 1  # type: ignore[union-attr]
    # And the original upload (with its GPS) is gone
    listed = s3.list_objects_v2(Bucket=account.resources.upload_bucket, Prefix="covers/")
    assert listed.get("KeyCount", 0) == 0, sent


def test_a_text_file_is_recorded_as_rejected_and_the_previous_cover_stays(
    account: Account, title_id: str, upload_and_render: Upload
) -> None:
    # Given a title with a ready cover
    upload_and_render(title_id, jpeg_with_gps())
    shown = slot(title_id)

    # When a text file is uploaded as its next cover
    refused_id = new_upload_id()
    upload_and_render(title_id, b"just some words, no pixels\n" * 10, upload_id=refused_id)

    # Then the slot says this upload was rejected, and why ...
    cover = slot(title_id)
    assert (cover["status"], cover["upload_id"], cover["reason"]) == ("rejected", refused_id, "not_an_image")
    assert cover["message"]
    # ... while the image on show is still the previous one, whose files are still there
    assert cover["url"] == shown["url"] and cover["renditions"] == shown["renditions"]
    assert media_keys(account) == sorted(r["key"] for r in shown["renditions"])


def test_a_decompression_bomb_is_recorded_as_rejected(
    account: Account, title_id: str, upload_and_render: Upload
) -> None:
    from tests.unit.catalog.test_covers_image import png_declaring

    upload_and_render(title_id, png_declaring(30000, 30000), kind="backdrop")

    backdrop = slot(title_id, "backdrop")
    assert (backdrop["status"], backdrop["reason"]) == ("rejected", "decompression_bomb")
    assert "url" not in backdrop and media_keys(account) == []


def test_a_new_cover_replaces_the_old_one_and_its_files(
    account: Account, title_id: str, upload_and_render: Upload
) -> None:
    upload_and_render(title_id, jpeg_with_gps())
    old = slot(title_id)

    upload_and_render(title_id, jpeg_with_gps((800, 450)))

    new = slot(title_id)
    assert new["upload_id"] > old["upload_id"] and new["status"] == "ready"
    assert [r["width"] for r in new["renditions"]] == [320, 640, 800]
    assert media_keys(account) == sorted(r["key"] for r in new["renditions"])


def test_an_older_upload_finishing_late_does_not_replace_a_newer_cover(
    account: Account, title_id: str, upload_and_render: Upload
) -> None:
    # Given two uploads requested in this order, processed in the opposite one
    older, newer = new_upload_id(), new_upload_id()
    upload_and_render(title_id, jpeg_with_gps(), upload_id=newer)

    # When the older one finishes
    upload_and_render(title_id, jpeg_with_gps((800, 450)), upload_id=older)

    # Then the newer one stays, and the older one's renditions were removed again
    cover = slot(title_id)
    assert cover["upload_id"] == newer
    assert media_keys(account) == sorted(r["key"] for r in cover["renditions"])
    assert not media_keys(account, f"images/titles/{title_id}/cover/{older}/")


def test_a_repeated_notification_changes_nothing(
    account: Account, title_id: str, upload_and_render: Upload
) -> None:
    # Given a processed upload
    sent = upload_and_render(title_id, jpeg_with_gps())
    before = titles.find_title(title_id)
    assert before is not None

    # When S3's notification is delivered a second time
    result, errored = invoke(
        spec.FUNCTIONS_BY_NAME["covers-renderer"], sqs_event(sent["body"], queue="vod-covers")
    )

    # Then it succeeds without touching the title or the files
    assert not errored and result == {"batchItemFailures": []}
    after = titles.find_title(title_id)
    assert after is not None and int(after.version) == int(before.version)
    assert after.images.as_dict() == before.images.as_dict()
    assert media_keys(account) == sorted(r["key"] for r in slot(title_id)["renditions"])


def test_an_image_for_a_deleted_title_leaves_no_files(
    account: Account, title_id: str, upload_and_render: Upload
) -> None:
    aggregate = titles.load(title_id)
    titles.delete_title(aggregate, int(aggregate.title.version))

    upload_and_render(title_id, jpeg_with_gps())

    assert media_keys(account) == []
    assert titles.find_title(title_id) is None


def test_the_configuration_test_event_and_other_keys_are_ignored(account: Account) -> None:
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "vod-uploads"})
    foreign_key = json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": "vod-uploads"},
                        "object": {"key": "covers/x/poster/nope", "size": 3},
                    },
                }
            ]
        }
    )
    result, errored = invoke(
        spec.FUNCTIONS_BY_NAME["covers-renderer"], sqs_event(test_event, foreign_key, queue="vod-covers")
    )
    assert not errored and result == {"batchItemFailures": []}
    assert media_keys(account) == []
