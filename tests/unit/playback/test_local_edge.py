"""The local edge plays CloudFront: verify the signature, then *.m3u8 from the playlist-origin
function (a Function URL event) and everything else from the media bucket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from moto import mock_aws

from functions.playback.signing import Verifier, sign_url
from infra import spec
from infra.local import lambda_runtime
from infra.local.edge import LocalEdge, function_url_event
from infra.local.keys import CloudFrontKeys

BUCKET = "test-media"
VIDEO_ID = "0123456789abcdef0123456789abcdef"
HLS = f"videos/{VIDEO_ID}/hls/"
MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360p/index.m3u8\n"
MEDIA = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nseg_00000.ts\n#EXT-X-ENDLIST\n"
SEGMENT = bytes(range(256)) * 4
CLIENT_IP = "203.0.113.9"


@dataclass(frozen=True)
class Edge:
    local: LocalEdge
    keys: CloudFrontKeys

    @property
    def url(self) -> str:
        return self.local.url


@pytest.fixture
def edge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_function_caches: None) -> Iterator[Edge]:
    monkeypatch.setenv("MEDIA_BUCKET", BUCKET)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    keys = CloudFrontKeys(tmp_path)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=f"{HLS}master.m3u8", Body=MASTER.encode())
        s3.put_object(Bucket=BUCKET, Key=f"{HLS}360p/index.m3u8", Body=MEDIA.encode())
        s3.put_object(Bucket=BUCKET, Key=f"{HLS}360p/seg_00000.ts", Body=SEGMENT)
        local = LocalEdge(s3=s3, bucket=BUCKET, verifier=Verifier(keys.key_pair_id, keys.public_pem))
        try:
            yield Edge(local, keys)
        finally:
            local.server.server_close()  # never started: nothing to shut down


def _signed_path(edge: Edge, key: str) -> str:
    url = sign_url(
        url=f"{edge.url}/{key}",
        resource=f"{edge.url}/{HLS}*",
        key_pair_id=edge.keys.key_pair_id,
        private_pem=edge.keys.private_pem,
        expires_at=int(time.time()) + 600,
        source_ip=None,
    )
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _get(edge: Edge, path: str, range_header: str | None = None) -> tuple[int, dict[str, str], bytes]:
    host = urlsplit(edge.url).netloc
    return edge.local.handle(path=path, host=host, client_ip=CLIENT_IP, range_header=range_header)


def test_playlists_come_from_the_playlist_origin_function_and_chain_to_segments(edge: Edge) -> None:
    calls = lambda_runtime.LOG.count(spec.PLAYLIST_ORIGIN)

    # When a player fetches the signed master, then the variant and segment by relative URIs
    status, headers, body = _get(edge, _signed_path(edge, f"{HLS}master.m3u8"))
    assert status == 200, body
    assert headers["content-type"] == "application/vnd.apple.mpegurl"
    assert headers["cache-control"] == "max-age=2"
    [variant] = [line for line in body.decode().splitlines() if not line.startswith("#")]
    assert variant.startswith("360p/index.m3u8?Policy=")
    status, _, body = _get(edge, f"/{HLS}{variant}")
    assert status == 200, body
    [segment] = [line for line in body.decode().splitlines() if not line.startswith("#")]
    status, headers, body = _get(edge, f"/{HLS}360p/{segment}")

    # Then the segment comes from the bucket, and both playlists from the function
    assert (status, body) == (200, SEGMENT)
    assert headers["content-type"] == "video/mp2t"
    assert lambda_runtime.LOG.count(spec.PLAYLIST_ORIGIN) == calls + 2


def test_unsigned_or_tampered_requests_never_reach_an_origin(edge: Edge) -> None:
    calls = lambda_runtime.LOG.count(spec.PLAYLIST_ORIGIN)
    assert _get(edge, f"/{HLS}master.m3u8")[0] == 403
    tampered = _signed_path(edge, f"{HLS}master.m3u8").replace("Signature=", "Signature=A")
    assert _get(edge, tampered)[0] == 403
    assert _get(edge, f"/{HLS}360p/seg_00000.ts")[0] == 403
    assert lambda_runtime.LOG.count(spec.PLAYLIST_ORIGIN) == calls


def test_missing_playlist_is_404_from_the_function_and_ranges_still_work(edge: Edge) -> None:
    assert _get(edge, _signed_path(edge, f"{HLS}720p/index.m3u8"))[0] == 404
    status, headers, body = _get(edge, _signed_path(edge, f"{HLS}360p/seg_00000.ts"), "bytes=0-99")
    assert (status, body) == (206, SEGMENT[:100])
    assert headers["content-range"] == f"bytes 0-99/{len(SEGMENT)}"


def test_origin_event_carries_only_the_signed_query() -> None:
    event = function_url_event(
        method="GET",
        path=f"/{HLS}master.m3u8",
        query="Policy=p&utm_source=x&Signature=s&Key-Pair-Id=K",
        host="cdn.example.test",
        client_ip=CLIENT_IP,
    )
    assert event["version"] == "2.0" and event["isBase64Encoded"] is False
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == f"/{HLS}master.m3u8"
    assert event["rawQueryString"] == "Policy=p&Signature=s&Key-Pair-Id=K"
    assert event["queryStringParameters"] == {"Policy": "p", "Signature": "s", "Key-Pair-Id": "K"}
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["sourceIp"] == CLIENT_IP
    unsigned = function_url_event(method="GET", path="/x.m3u8", query="", host="h", client_ip=CLIENT_IP)
    assert unsigned["rawQueryString"] == "" and "queryStringParameters" not in unsigned


OTHER = "videos/" + "b" * 32 + "/hls/"


@pytest.mark.parametrize(
    "host",
    [
        # The attack: a Host that carries the signed video's path, so that Host + path would read
        # as a URL under the signed resource while the path served is another video's.
        "{netloc}/" + HLS + "x",
        "{netloc}/" + HLS,
        "evil.example",
        "",
        "{netloc}@evil.example",
    ],
)
def test_the_edge_checks_its_own_origin_never_the_host_header(edge: Edge, host: str) -> None:
    # Given another video's playlist, and a signature for the caller's own video only
    edge.local.s3.put_object(Bucket=BUCKET, Key=f"{OTHER}master.m3u8", Body=MASTER.encode())
    own = _signed_path(edge, f"{HLS}master.m3u8")
    query = own.split("?", 1)[1]
    netloc = urlsplit(edge.url).netloc

    # When the other video's path is asked for with the own signature and a hostile Host
    status, _, _ = edge.local.handle(
        path=f"/{OTHER}master.m3u8?{query}",
        host=host.format(netloc=netloc),
        client_ip=CLIENT_IP,
        range_header=None,
    )

    # Then it is refused, while the own video still plays whatever the Host says
    assert status == 403
    status, _, _ = edge.local.handle(
        path=own, host=host.format(netloc=netloc), client_ip=CLIENT_IP, range_header=None
    )
    assert status == 200


@pytest.mark.parametrize("target", ["http://evil.example/" + HLS + "master.m3u8", "//evil.example/x", "*"])
def test_a_request_target_that_is_not_a_path_is_a_400(edge: Edge, target: str) -> None:
    assert edge.local.handle(path=target, host="", client_ip=CLIENT_IP, range_header=None)[0] == 400
