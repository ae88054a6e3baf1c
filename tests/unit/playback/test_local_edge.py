"""The local edge plays CloudFront: verify the signature, then *.m3u8 from the playlist-origin
function (a Function URL event) and everything else from the media bucket."""

from __future__ import annotations

import base64
import socket
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
from tests.unit.raw_http import answers, connect_all, exchange, read_all

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


# Issue 12, point 7: odd requests get a clear 4xx at once, over a real socket.
@pytest.fixture
def served(edge: Edge) -> Iterator[Edge]:
    """The edge listening, with a read timeout short enough for a test to wait it out."""
    local = LocalEdge(s3=edge.local.s3, bucket=BUCKET, verifier=edge.local.verifier, read_timeout_s=0.5)
    local.start()
    try:
        yield Edge(local, edge.keys)
    finally:
        local.stop()


def _raw_get(target: str, *headers: str) -> bytes:
    return "\r\n".join([f"GET {target} HTTP/1.1", "Host: x", *headers, "", ""]).encode()


def _forged_policy(document: str) -> str:
    return base64.b64encode(document.encode()).decode().replace("+", "-").replace("=", "_").replace("/", "~")


SEGMENT_PATH = f"/{HLS}360p/seg_00000.ts"


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("range-5000-digits", 416),
        ("range-unparseable", 416),
        ("expires-not-a-number", 403),
        ("expires-5000-digits", 403),
        ("policy-nested-5000-deep", 403),
        ("policy-5000-digit-number", 403),
        ("content-length-negative", 400),
        ("content-length-not-a-number", 400),
        ("content-length-conflicting", 400),
        ("content-length-5000-digits", 413),
        ("body-over-limit", 413),
    ],
)
def test_odd_requests_get_their_4xx_at_once(served: Edge, case: str, status: int) -> None:
    signed = _signed_path(served, SEGMENT_PATH.lstrip("/"))
    canned = f"{SEGMENT_PATH}?Signature=AAAA&Key-Pair-Id={served.keys.key_pair_id}&Expires="
    policy = f"{SEGMENT_PATH}?Signature=AAAA&Key-Pair-Id={served.keys.key_pair_id}&Policy="
    data = {
        "range-5000-digits": _raw_get(signed, "Range: bytes=0-" + "9" * 5000),
        "range-unparseable": _raw_get(signed, "Range: bytes=abc"),
        "expires-not-a-number": _raw_get(canned + "abc"),
        "expires-5000-digits": _raw_get(canned + "9" * 5000),
        "policy-nested-5000-deep": _raw_get(policy + _forged_policy("[" * 5000 + "]" * 5000)),
        "policy-5000-digit-number": _raw_get(policy + _forged_policy('{"Statement": ' + "9" * 5000 + "}")),
        "content-length-negative": _raw_get(signed, "Content-Length: -1"),
        "content-length-not-a-number": _raw_get(signed, "Content-Length: abc"),
        "content-length-conflicting": _raw_get(signed, "Content-Length: 1", "Content-Length: 2") + b"ab",
        "content-length-5000-digits": _raw_get(signed, "Content-Length: " + "9" * 5000),
        "body-over-limit": _raw_get(signed, f"Content-Length: {1024 * 1024}"),
    }[case]
    got, headers, _ = exchange(served.url, data)
    assert got == status
    if status == 416:
        assert headers["content-range"] == f"bytes */{len(SEGMENT)}"


def test_two_hundred_clients_at_once_are_all_answered(edge: Edge) -> None:
    # Given an edge whose accept loop is not running yet (as when a burst finds it busy)
    local = LocalEdge(s3=edge.local.s3, bucket=BUCKET, verifier=edge.local.verifier)
    socks: list[socket.socket] = []
    try:
        # When 200 players connect at once: the kernel queues every one (the listen backlog)
        socks, not_accepted = connect_all(local.url, 200, within_s=1.0)
        assert not_accepted == 0, f"{not_accepted} of 200 connections were not accepted"

        # Then, once the loop runs, every one of them is answered
        local.start()
        assert answers(socks, SEGMENT_PATH) == [403] * 200  # unsigned: the edge's own answer
    finally:
        for sock in socks:
            sock.close()
        if local._thread.is_alive():
            local.stop()
        else:  # never started: shutdown() would wait for a loop that never ran
            local.server.server_close()


def test_a_stalled_client_is_cut_off_after_the_read_timeout_without_blocking_others(served: Edge) -> None:
    port = int(served.url.rsplit(":", 1)[1])
    signed = _signed_path(served, SEGMENT_PATH.lstrip("/"))
    # Given one client that sent its headers and part of a body, and one stalled mid-headers
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as body_staller,
        socket.create_connection(("127.0.0.1", port), timeout=10) as header_staller,
    ):
        body_staller.sendall(_raw_get(signed, "Content-Length: 10") + b"ab")
        header_staller.sendall(f"GET {signed} HTTP/1.1\r\nHost: x\r\nRan".encode())
        started = time.monotonic()

        # When another player asks meanwhile, it is answered at once
        status, _, body = exchange(served.url, _raw_get(signed, "Connection: close"))
        assert (status, body) == (200, SEGMENT) and time.monotonic() - started < 0.5

        # Then the stalled body gets a 408 and the stalled headers a closed connection, after the timeout
        answer = read_all(body_staller)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"connection: close" in answer.lower()
        assert header_staller.recv(65536) == b""
        assert 0.4 < time.monotonic() - started < 5


def test_a_slow_but_live_reader_gets_the_whole_object(served: Edge) -> None:
    # Given an object that takes the reader longer than the read timeout (0.5 s) to take in
    big = bytes(range(256)) * (32 * 1024)  # 8 MiB: more than the kernel's send buffer holds
    served.local.s3.put_object(Bucket=BUCKET, Key=f"{HLS}360p/big.ts", Body=big)
    signed = _signed_path(served, f"{HLS}360p/big.ts")
    port = int(served.url.rsplit(":", 1)[1])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.settimeout(10)
    started = time.monotonic()
    try:
        sock.connect(("127.0.0.1", port))
        sock.sendall(_raw_get(signed, "Connection: close"))
        # When it reads steadily but slowly (a small window, a pause after each read)
        answer = b""
        while chunk := sock.recv(256 * 1024):
            answer += chunk
            time.sleep(0.002)
    finally:
        sock.close()
    # Then nothing is cut off: only a reader that stops reading loses its connection
    assert time.monotonic() - started > 0.5
    assert answer.partition(b"\r\n\r\n")[2] == big


# -- CMCD (CTA-5004) in query-argument mode: hls.js appends CMCD=... to every request it makes ----
SID = "ses_AbCdEfGhIjKlMnOpQrStUv"


def _with_cmcd(path: str, payload: str) -> str:
    from urllib.parse import quote

    return f"{path}&CMCD={quote(payload, safe='')}"


def test_the_cmcd_argument_does_not_break_the_signed_url_check(edge: Edge) -> None:
    # Given a signed master with CMCD appended after the signature, as hls.js appends it
    records: list[tuple[str, str]] = []
    edge.local.realtime_log_sink = lambda stream, line: records.append((stream, line))
    master = _with_cmcd(_signed_path(edge, f"{HLS}master.m3u8"), f'cid="{VIDEO_ID}",ot=m,sf=h,sid="{SID}",su')

    # When the player follows the playlists with CMCD on each request
    status, _, body = _get(edge, master)
    assert status == 200, body
    [variant] = [line for line in body.decode().splitlines() if not line.startswith("#")]
    # Then the playlist origin copied the signature into child URIs, but never the CMCD
    assert "Signature=" in variant and "CMCD" not in variant
    status, _, body = _get(edge, _with_cmcd(f"/{HLS}{variant}", f'ot=m,sid="{SID}"'))
    assert status == 200, body
    [segment] = [line for line in body.decode().splitlines() if not line.startswith("#")]
    assert "CMCD" not in segment
    segment_path = _with_cmcd(
        f"/{HLS}360p/{segment}", f'bl=4000,br=800,cid="{VIDEO_ID}",ot=av,sid="{SID}",su,tb=800'
    )
    status, _, body = _get(edge, segment_path)
    assert (status, body) == (200, SEGMENT)

    # And a tampered signature is still refused with CMCD present
    tampered = segment_path.replace("Signature=", "Signature=A")
    assert _get(edge, tampered)[0] == 403


def test_the_origin_event_never_carries_cmcd() -> None:
    event = function_url_event(
        method="GET",
        path="/x.m3u8",
        query="Policy=p&Signature=s&Key-Pair-Id=k&CMCD=ot%3Dm",
        host="h",
        client_ip="1.2.3.4",
    )
    assert "CMCD" not in event["rawQueryString"] and "CMCD" not in event["queryStringParameters"]


def test_each_media_request_leaves_a_realtime_log_record_with_its_cmcd(edge: Edge) -> None:
    from functions.qoe.contract import parse_line

    records: list[tuple[str, str]] = []
    edge.local.realtime_log_sink = lambda stream, line: records.append((stream, line))
    signed = _with_cmcd(
        _signed_path(edge, f"{HLS}360p/seg_00000.ts"), f'br=800,bs,cid="{VIDEO_ID}",ot=av,sid="{SID}"'
    )
    # handle() answers; the HTTP handler logs (as CloudFront logs after answering)
    status, _, body = _get(edge, signed)
    edge.local.log_request(method="GET", target=signed, headers={}, status=status, size=len(body))
    edge.local.log_request(method="GET", target="/images/x.webp", headers={}, status=200, size=1)  # no config
    ((stream, line),) = records
    assert stream == "cmcd-logs"
    fields = parse_line(line)
    assert fields is not None
    assert fields["cmcd-session-id"] == SID and fields["cmcd-content-id"] == VIDEO_ID
    assert fields["cmcd-encoded-bitrate"] == "800" and fields["cmcd-buffer-starvation"] == "true"
    assert fields["cs-uri-stem"] == f"/{HLS}360p/seg_00000.ts" and fields["sc-status"] == "200"
    assert "Signature" not in line  # the query is not logged
