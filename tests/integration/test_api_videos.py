"""The videos API against moto: happy paths and every error case of the foundation issue."""

from __future__ import annotations

import time

import pytest

from functions.playback.signing import SignatureRejected, Verifier
from tests.integration.conftest import Account, ApiCall


def _create(api: ApiCall, **overrides: object) -> dict:
    body = {"title": "My clip", "description": "d", "tags": ["a", "b"], **overrides}
    resp = api("POST", "/v1/videos", body=body)
    assert resp.status == 201, resp.body
    return resp.body


def test_health_needs_no_token(api: ApiCall) -> None:
    # When
    resp = api("GET", "/health", role=None)
    # Then
    assert resp.status == 200
    assert resp.body == {"status": "ok"}


def test_openapi_document_is_generated_from_the_routes(api: ApiCall) -> None:
    resp = api("GET", "/v1/openapi.json", role=None)
    assert resp.status == 200
    doc = resp.body
    assert doc["openapi"].startswith("3.")
    assert {"/v1/videos", "/v1/videos/{video_id}", "/v1/videos/{video_id}/playback", "/health"} <= set(
        doc["paths"]
    )
    assert "bearerAuth" in doc["components"]["securitySchemes"]
    assert "CreateVideoRequest" in doc["components"]["schemas"]


def test_create_returns_201_with_a_presigned_put(api: ApiCall, account: Account) -> None:
    # When
    created = _create(api)
    # Then
    assert created["status"] == "AWAITING_UPLOAD"
    assert len(created["id"]) == 32
    upload = created["upload"]
    assert upload["method"] == "PUT"
    assert f"/uploads/{created['id']}/source" in upload["url"]
    assert "X-Amz-Signature" in upload["url"]
    # The signature binds If-None-Match: * (one object per video) and, when declared, the length
    assert upload["headers"] == {"Content-Type": "video/mp4", "If-None-Match": "*"}
    assert "if-none-match" in upload["url"]
    assert upload["expires_at"]
    item = account.client("dynamodb").get_item(
        TableName=account.resources.videos_table, Key={"video_id": {"S": created["id"]}}
    )["Item"]
    assert item["status"]["S"] == "AWAITING_UPLOAD"
    assert item["owner_sub"]["S"] == "user-1"


def test_large_files_get_a_multipart_upload_with_part_checksums(api: ApiCall) -> None:
    size = 300 * 1024 * 1024
    created = _create(api, size_bytes=size)
    upload = created["upload"]
    assert upload["method"] == "MULTIPART"
    assert upload["checksum_algorithm"] == "SHA256"
    assert upload["upload_id"]
    assert len(upload["parts"]) == -(-size // upload["part_size"])
    assert [p["part_number"] for p in upload["parts"]] == list(range(1, len(upload["parts"]) + 1))
    assert "uploadId=" in upload["parts"][0]["url"]
    assert "x-amz-checksum-sha256" in upload["parts"][0]["headers"]
    lengths = [int(p["headers"]["Content-Length"]) for p in upload["parts"]]
    assert sum(lengths) == size and all("content-length" in p["url"] for p in upload["parts"])
    assert "uploadId=" in upload["complete_url"]


def test_a_declared_size_over_the_limit_is_413_and_writes_nothing(api: ApiCall, account: Account) -> None:
    resp = api("POST", "/v1/videos", body={"title": "huge", "size_bytes": 10**15})
    assert resp.status == 413
    assert resp.body["error"]["code"] == "upload_too_large"
    assert account.client("dynamodb").scan(TableName=account.resources.videos_table)["Count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "tags": [""]}, "tags"),
        ({"title": "ok", "tags": "notalist"}, "tags"),
        ({"title": "ok", "unexpected": 1}, "unexpected"),
        ({"title": "ok", "size_bytes": -1}, "size_bytes"),
    ],
)
def test_invalid_create_requests_are_422_with_the_field(api: ApiCall, body: dict, field: str) -> None:
    resp = api("POST", "/v1/videos", body=body)
    assert resp.status == 422
    assert resp.body["error"]["code"] == "validation_failed"
    assert any(d["field"].endswith(field) for d in resp.body["error"]["details"]), resp.body


def test_title_of_200_characters_is_accepted(api: ApiCall) -> None:
    assert _create(api, title="x" * 200)["title"] == "x" * 200


def test_a_body_that_is_not_json_is_400(api: ApiCall) -> None:
    resp = api("POST", "/v1/videos", raw_body="{not json")
    assert resp.status == 400
    assert resp.body["error"]["code"] == "invalid_json"


def test_no_token_claims_is_401(api: ApiCall) -> None:
    resp = api("POST", "/v1/videos", body={"title": "t"}, role=None)
    assert resp.status == 401
    assert resp.body["error"]["code"] == "unauthorized"


def test_viewers_may_not_create(api: ApiCall) -> None:
    resp = api("POST", "/v1/videos", body={"title": "t"}, role="viewer")
    assert resp.status == 403
    assert resp.body["error"]["code"] == "forbidden"


def test_admins_may_create(api: ApiCall) -> None:
    assert api("POST", "/v1/videos", body={"title": "t"}, role="admin").status == 201


def test_owner_and_admin_read_an_unpublished_video_others_get_403(api: ApiCall) -> None:
    video_id = _create(api)["id"]
    owner = api("GET", f"/v1/videos/{video_id}")
    assert owner.status == 200
    assert owner.body["title"] == "My clip"
    assert owner.body["tags"] == ["a", "b"]
    assert "upload" not in owner.body
    assert api("GET", f"/v1/videos/{video_id}", role="admin", sub="someone-else").status == 200
    other = api("GET", f"/v1/videos/{video_id}", sub="user-2")
    assert other.status == 403
    assert other.body["error"]["code"] == "forbidden"


@pytest.mark.parametrize("video_id", ["0" * 32, "not-an-id", "A" * 32])
def test_unknown_or_malformed_ids_are_404(api: ApiCall, video_id: str) -> None:
    resp = api("GET", f"/v1/videos/{video_id}")
    assert resp.status == 404
    assert resp.body["error"]["code"] == "not_found"


def test_unknown_route_under_v1_videos_is_a_json_404(api: ApiCall) -> None:
    resp = api("GET", "/v1/videos/abc/def/ghi")
    assert resp.status == 404
    assert set(resp.body["error"]) >= {"code", "message"}


def _mark_ready(account: Account, video_id: str) -> None:
    account.client("dynamodb").update_item(
        TableName=account.resources.videos_table,
        Key={"video_id": {"S": video_id}},
        UpdateExpression="SET #s = :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":r": {"S": "READY"}},
    )


def test_playback_of_a_video_that_is_not_ready_is_409(api: ApiCall) -> None:
    video_id = _create(api)["id"]
    resp = api("POST", f"/v1/videos/{video_id}/playback", body={})
    assert resp.status == 409
    assert resp.body["error"]["code"] == "video_not_ready"


def test_playback_returns_a_signed_wildcard_url_any_viewer_can_use(api: ApiCall, account: Account) -> None:
    # Given a READY video anyone signed in may play
    video_id = _create(api, visibility="public")["id"]
    _mark_ready(account, video_id)
    # When a viewer (not the owner) asks for playback
    resp = api("POST", f"/v1/videos/{video_id}/playback", role="viewer", sub="viewer-9")
    # Then the URL is signed for the whole HLS folder and expires in about an hour
    assert resp.status == 200
    url = resp.body["hls_url"]
    assert url.startswith(f"https://cdn.example.test/videos/{video_id}/hls/master.m3u8?")
    verifier = Verifier(account.cloudfront.key_pair_id, account.cloudfront.public_pem)
    verifier.verify(url=url, client_ip="198.51.100.1")
    segment = url.replace("master.m3u8", "720p/seg_00001.ts")
    verifier.verify(url=segment, client_ip="198.51.100.1")
    with pytest.raises(SignatureRejected, match="expired"):
        verifier.verify(url=url, client_ip="198.51.100.1", now=time.time() + 3700)
    other_video = url.replace(video_id, "f" * 32)
    with pytest.raises(SignatureRejected):
        verifier.verify(url=other_video, client_ip="198.51.100.1")


def test_playback_can_bind_the_viewer_ip_and_shorten_the_ttl(api: ApiCall, account: Account) -> None:
    video_id = _create(api)["id"]
    _mark_ready(account, video_id)
    resp = api(
        "POST",
        f"/v1/videos/{video_id}/playback",
        body={"bind_ip": True, "ttl_seconds": 120},
        source_ip="203.0.113.9",
    )
    assert resp.status == 200
    verifier = Verifier(account.cloudfront.key_pair_id, account.cloudfront.public_pem)
    verifier.verify(url=resp.body["hls_url"], client_ip="203.0.113.9")
    with pytest.raises(SignatureRejected, match="IP"):
        verifier.verify(url=resp.body["hls_url"], client_ip="198.51.100.1")
    with pytest.raises(SignatureRejected, match="expired"):
        verifier.verify(url=resp.body["hls_url"], client_ip="203.0.113.9", now=time.time() + 130)


def test_playback_of_someone_elses_unpublished_video_is_403(api: ApiCall) -> None:
    video_id = _create(api, visibility="public")["id"]
    resp = api("POST", f"/v1/videos/{video_id}/playback", sub="intruder")
    assert resp.status == 403
    assert resp.body["error"]["code"] == "not_ready"
    # ... while its owner learns why
    owner = api("POST", f"/v1/videos/{video_id}/playback")
    assert (owner.status, owner.body["error"]["code"]) == (409, "video_not_ready")


def test_playback_rejects_an_invalid_ttl(api: ApiCall) -> None:
    video_id = _create(api)["id"]
    assert api("POST", f"/v1/videos/{video_id}/playback", body={"ttl_seconds": 5}).status == 422
