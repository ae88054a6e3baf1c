"""The playlist-origin handler with Function URL events (payload 2.0), run as Lambda would run it."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import spec
from infra.local.lambda_runtime import invoke

EVENTS = Path(__file__).resolve().parents[3] / "events"
BUCKET = "test-media"
VIDEO_ID = "0123456789abcdef0123456789abcdef"
MASTER_KEY = f"videos/{VIDEO_ID}/hls/master.m3u8"
MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360p/index.m3u8\n"
FUNCTION = spec.FUNCTIONS_BY_NAME[spec.PLAYLIST_ORIGIN]


@pytest.fixture
def sample_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "function_url_playlist.json").read_text())
    return event


@pytest.fixture
def media_bucket(monkeypatch: pytest.MonkeyPatch, fresh_function_caches: None) -> Iterator[None]:
    monkeypatch.setenv("MEDIA_BUCKET", BUCKET)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=MASTER_KEY, Body=MASTER.encode())
        yield


def _call(event: dict[str, Any]) -> dict[str, Any]:
    result, errored = invoke(FUNCTION, event)
    assert not errored, result
    assert isinstance(result, dict)
    return result


def test_signed_request_gets_the_playlist_with_the_signed_query(
    media_bucket: None, sample_event: dict[str, Any]
) -> None:
    result = _call(sample_event)

    assert result["statusCode"] == 200
    assert result["headers"] == {
        "content-type": "application/vnd.apple.mpegurl",
        "cache-control": "max-age=2",
    }
    assert result["isBase64Encoded"] is False
    params = sample_event["queryStringParameters"]
    [uri] = [line for line in result["body"].splitlines() if not line.startswith("#")]
    assert uri.startswith("360p/index.m3u8?Policy=")
    assert all(f"{name}={params[name]}" in uri for name in ("Policy", "Signature", "Key-Pair-Id"))


def test_raw_query_string_wins_over_the_comma_joined_parameters(
    media_bucket: None, sample_event: dict[str, Any]
) -> None:
    # Lambda joins repeated parameters with commas in queryStringParameters; the raw query is exact
    event = copy.deepcopy(sample_event)
    event["queryStringParameters"] = {"Signature": "joined,values"}
    event["rawQueryString"] = "Signature=exact&Key-Pair-Id=K"
    result = _call(event)
    assert "360p/index.m3u8?Signature=exact&Key-Pair-Id=K" in result["body"].splitlines()


def test_unsigned_request_gets_the_stored_playlist(media_bucket: None, sample_event: dict[str, Any]) -> None:
    event = copy.deepcopy(sample_event)
    event["rawQueryString"] = ""
    event.pop("queryStringParameters")
    assert _call(event)["body"] == MASTER


@pytest.mark.parametrize(
    "path", [f"/videos/{VIDEO_ID}/hls/720p/index.m3u8", f"/videos/{VIDEO_ID}/hls/360p/seg_00000.ts"]
)
def test_missing_or_non_playlist_paths_are_404(
    media_bucket: None, sample_event: dict[str, Any], path: str
) -> None:
    event = copy.deepcopy(sample_event)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    result = _call(event)
    assert result["statusCode"] == 404
    assert result["headers"]["content-type"] == "text/plain"


def test_only_get_and_head_are_served(media_bucket: None, sample_event: dict[str, Any]) -> None:
    event = copy.deepcopy(sample_event)
    event["requestContext"]["http"]["method"] = "POST"
    result = _call(event)
    assert result["statusCode"] == 405
    event["requestContext"]["http"]["method"] = "HEAD"
    assert _call(event)["statusCode"] == 200


# Issue 12, point 7: whatever a viewer puts in the query or the path, the origin answers; never a
# function error (CloudFront would turn it into a 502).
@pytest.mark.parametrize(
    "query",
    [
        "Expires=abc&Signature=s&Key-Pair-Id=K",
        "Expires=" + "9" * 5000 + "&Signature=s&Key-Pair-Id=K",
        "Policy=" + "A" * 20000,
        "Signature=%ff%fe&Key-Pair-Id=%00",
    ],
    ids=["expires-not-a-number", "expires-5000-digits", "huge-policy", "bad-percent-encoding"],
)
def test_odd_signed_queries_are_copied_not_parsed(
    media_bucket: None, sample_event: dict[str, Any], query: str
) -> None:
    event = copy.deepcopy(sample_event)
    event["rawQueryString"] = query
    result = _call(event)
    assert result["statusCode"] == 200
    assert result["headers"]["content-type"] == "application/vnd.apple.mpegurl"


@pytest.mark.parametrize(
    "path",
    [
        f"/videos/{VIDEO_ID}/hls/%00.m3u8",
        f"/videos/{VIDEO_ID}/hls/%ff%fe.m3u8",
        f"/videos/{VIDEO_ID}/hls/" + "a" * 5000 + ".m3u8",
        f"/videos/{VIDEO_ID}/hls/%2e%2e/%2e%2e/x.m3u8",
    ],
    ids=["nul", "not-utf8", "longer-than-an-s3-key", "dot-segments"],
)
def test_odd_playlist_paths_are_404(media_bucket: None, sample_event: dict[str, Any], path: str) -> None:
    event = copy.deepcopy(sample_event)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    result = _call(event)
    assert result["statusCode"] == 404
