"""The local CloudFront: verifies signed URLs with the same public key, then asks the origin of the
path's behaviour, as the distribution in infra/constructs/cdn_construct.py does.

Answers like CloudFront does: 403 for a missing, expired, tampered, wrong-IP or out-of-scope
signature; Range requests -> 206; the content type by extension; CORS for browser players.
Title images (``images/*``) need no signature, as their CloudFront behaviour trusts no key group.
``*.m3u8`` goes to the ``playlist-origin`` function (invoked in-process with the Function URL
payload 2.0 event CloudFront's origin request would produce: the signed query only), which
propagates the signed query into the playlist's URIs; everything else comes from the media bucket.

Odd requests get their 4xx at once. A Range that is not one ``bytes=first-last`` range, or is
longer than any real one (a 4,300-digit number made int() raise and dropped the connection), is a
416 with ``Content-Range: bytes */size``: RFC 9110 14.2 would also let a server ignore an invalid
Range and send the whole object, but a player that asked for bytes expects bytes or a refusal.
A body is read and dropped (GET and HEAD carry none that means anything), framed as the local
front frames it: a bad or conflicting Content-Length is a 400, one beyond 64 KiB a 413, a body
that does not arrive within the read timeout a 408 (infra/local/http_server.py).
"""

from __future__ import annotations

import base64
import fnmatch
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from botocore.exceptions import ClientError

from functions.playback.signing import SIGNED_PARAMS, SignatureRejected, Verifier
from functions.qoe.contract import CMCD_FIELDS, format_line
from functions.qoe.logic.cmcd import Cmcd, parse_headers, parse_query
from infra import spec
from infra.local import lambda_runtime
from infra.local.http_server import (
    READ_TIMEOUT_S,
    BadFraming,
    BodyTooLarge,
    LocalHTTPServer,
    read_body,
    write_body,
)

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".vtt": "text/vtt",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# "bytes=" and two 20-digit positions (beyond any object's size) with room for spaces: anything
# longer is no single range a player sends.
MAX_RANGE_CHARS = 64
# A GET or HEAD has no body worth reading; one is drained so the connection stays framed.
MAX_BODY_BYTES = 64 * 1024


def content_type_for(key: str) -> str:
    for ext, ctype in CONTENT_TYPES.items():
        if key.endswith(ext):
            return ctype
    return "application/octet-stream"


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """A single byte range -> (start, end inclusive); None if unsatisfiable, malformed or absurdly long."""
    if len(header) > MAX_RANGE_CHARS:
        return None
    found = _RANGE.match(header.strip())
    if not found or (not found.group(1) and not found.group(2)):
        return None
    if not found.group(1):  # suffix range: the last N bytes
        length = int(found.group(2))
        return (max(0, size - length), size - 1) if length else None
    start = int(found.group(1))
    end = int(found.group(2)) if found.group(2) else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


# What the edge hands a real-time log sink: the config's stream name and one record (a log line).
RealtimeLogSink = Callable[[str, str], None]
_KEY_TO_FIELD = {key: name for name, key in CMCD_FIELDS.items()}


def _behaviour_of(path: str) -> str:
    """The cache behaviour a request path falls in (``*``: the default), as ``handle`` routes it."""
    if fnmatch.fnmatchcase(path.lstrip("/"), spec.PUBLIC_IMAGES_PATH_PATTERN):
        return spec.PUBLIC_IMAGES_PATH_PATTERN
    if fnmatch.fnmatchcase(path, spec.PLAYLIST_PATH_PATTERN):
        return spec.PLAYLIST_PATH_PATTERN
    return "*"


def realtime_log_values(
    *, method: str, path: str, status: int, size: int, cmcd: Cmcd | None, now: float | None = None
) -> dict[str, object]:
    """The real-time log fields of one request as CloudFront fills them: the CMCD parsed into the
    ``cmcd-*`` fields (strings without their quotes, booleans ``true``), no query, no address."""
    values: dict[str, object] = {
        "timestamp": f"{(now if now is not None else time.time()):.3f}",
        "sc-status": status,
        "cs-method": method,
        "cs-uri-stem": path,
        "sc-bytes": size,
    }
    for key, value in (cmcd.values if cmcd else {}).items():
        values[_KEY_TO_FIELD[key]] = value
    return values


def function_url_event(*, method: str, path: str, query: str, host: str, client_ip: str) -> dict[str, Any]:
    """The Lambda Function URL event (payload 2.0) of CloudFront's origin request for ``path``: the
    origin request policy forwards the signed-URL query parameters and no viewer header."""
    forwarded = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in SIGNED_PARAMS]
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(forwarded),
        "headers": {
            "host": host,
            "user-agent": "Amazon CloudFront",
            "via": "2.0 local-edge (CloudFront)",
            "x-amz-cf-id": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
            "x-forwarded-for": client_ip,
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local-playlist-origin",
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": client_ip,
                "userAgent": "Amazon CloudFront",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if forwarded:  # Lambda leaves the key out when there is no query
        event["queryStringParameters"] = dict(forwarded)
    return event


class LocalEdge:
    def __init__(
        self,
        *,
        s3: Any,
        bucket: str,
        verifier: Verifier,
        host: str = "127.0.0.1",
        port: int = 0,
        playlist_origin: spec.FunctionSpec = spec.FUNCTIONS_BY_NAME[spec.PLAYLIST_ORIGIN],
        read_timeout_s: float = READ_TIMEOUT_S,
        realtime_logs: tuple[spec.RealtimeLogSpec, ...] = spec.REALTIME_LOGS,
        realtime_log_sink: RealtimeLogSink | None = None,
    ):
        """``realtime_log_sink``: where the real-time log records of ``realtime_logs`` go (the
        embedded stack puts them into the Kinesis stream each config names); None logs nothing."""
        self.realtime_logs = realtime_logs
        self.realtime_log_sink = realtime_log_sink
        self.s3 = s3
        self.bucket = bucket
        self.verifier = verifier
        self.playlist_origin = playlist_origin
        edge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = read_timeout_s  # a stalled client loses its connection, not a thread forever

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _cors(self) -> None:
                self.send_header("access-control-allow-origin", "*")
                self.send_header("access-control-allow-methods", "GET, HEAD, OPTIONS")
                self.send_header("access-control-allow-headers", "range")
                self.send_header(
                    "access-control-expose-headers", "content-length, content-range, accept-ranges"
                )

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self._cors()
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                if self.close_connection:
                    self.send_header("connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    write_body(self.wfile, body)

            def do_OPTIONS(self) -> None:
                self._reply(204, b"", {})

            def _refuse(self, status: int, reason: str) -> None:
                self.close_connection = True  # what is left of the request is still on the wire
                self._reply(status, f"{reason}\n".encode(), {"content-type": "text/plain"})

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    read_body(
                        headers,
                        self.rfile,
                        MAX_BODY_BYTES,
                        content_lengths=self.headers.get_all("content-length"),
                    )
                except BadFraming as exc:
                    return self._refuse(400, f"Bad Request: {exc}")
                except BodyTooLarge:
                    return self._refuse(413, "Payload Too Large")
                except TimeoutError:
                    return self._refuse(408, "Request Timeout: the request body did not arrive in time")
                try:
                    status, out_headers, body = edge.handle(
                        path=self.path,
                        host=headers.get("host", ""),
                        client_ip=self.client_address[0],
                        range_header=self.headers.get("range"),
                        method=self.command,
                    )
                except Exception:  # the edge itself failed: an answer, not a dropped connection
                    edge.log_request(
                        method=self.command, target=self.path, headers=headers, status=500, size=0
                    )
                    return self._refuse(500, "Internal Server Error")
                edge.log_request(
                    method=self.command, target=self.path, headers=headers, status=status, size=len(body)
                )
                self._reply(status, body, out_headers)

            do_HEAD = do_GET

        self.server = LocalHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="edge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def log_request(
        self, *, method: str, target: str, headers: Mapping[str, str], status: int, size: int
    ) -> None:
        """The real-time log record of one request, for each config on the request's behaviour.
        A record that cannot be made or delivered is lost, as CloudFront's best effort allows."""
        if self.realtime_log_sink is None:
            return
        parts = urlsplit(target)
        behaviour = _behaviour_of(parts.path)
        configs = [c for c in self.realtime_logs if behaviour in c.path_patterns]
        if not configs:
            return
        try:
            cmcd = parse_query(parts.query) or parse_headers(headers)
            values = realtime_log_values(method=method, path=parts.path, status=status, size=size, cmcd=cmcd)
            for config in configs:
                self.realtime_log_sink(config.stream, format_line(values, config.fields))
        except Exception:  # telemetry never fails a viewer's request
            return

    def handle(
        self, *, path: str, host: str, client_ip: str, range_header: str | None, method: str = "GET"
    ) -> tuple[int, dict[str, str], bytes]:
        # The URL checked is the edge's own origin plus the request path, as CloudFront checks the
        # URL of its distribution: never one assembled from the client's Host header, which could
        # carry a path of its own and so make one video's signature cover another's objects.
        if not path.startswith("/") or path.startswith("//"):
            return 400, {"content-type": "text/plain"}, b"Bad Request: the request target must be a path\n"
        origin = urlsplit(self.url)
        url = f"{origin.scheme}://{origin.netloc}{path}"
        host = origin.netloc
        parts = urlsplit(path)
        public = fnmatch.fnmatchcase(parts.path.lstrip("/"), spec.PUBLIC_IMAGES_PATH_PATTERN)
        try:
            if not public:  # title images: the one behaviour that trusts no key group
                self.verifier.verify(url=url, client_ip=client_ip)
        except SignatureRejected as exc:
            return 403, {"content-type": "text/plain"}, f"Forbidden: {exc}\n".encode()
        if fnmatch.fnmatchcase(parts.path, spec.PLAYLIST_PATH_PATTERN):  # the *.m3u8 behaviour
            status, headers, data = self._from_playlist_origin(
                method=method, path=parts.path, query=parts.query, host=host, client_ip=client_ip
            )
        else:
            status, headers, data = self._from_bucket(unquote(parts.path).lstrip("/"))
        if status != 200:
            return status, headers, data
        headers["accept-ranges"] = "bytes"
        if range_header:
            span = parse_range(range_header, len(data))
            if span is None:
                headers["content-range"] = f"bytes */{len(data)}"
                return 416, headers, b""
            start, end = span
            headers["content-range"] = f"bytes {start}-{end}/{len(data)}"
            return 206, headers, data[start : end + 1]
        return 200, headers, data

    def _from_bucket(self, key: str) -> tuple[int, dict[str, str], bytes]:
        """The default behaviour: the media bucket through origin access control."""
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return 404, {"content-type": "text/plain"}, b"Not Found\n"
            raise
        data: bytes = obj["Body"].read()
        return 200, {"content-type": content_type_for(key), "cache-control": "max-age=86400"}, data

    def _from_playlist_origin(
        self, *, method: str, path: str, query: str, host: str, client_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        """The ``*.m3u8`` behaviour: the playlist-origin function, as its Function URL would run it."""
        event = function_url_event(method=method, path=path, query=query, host=host, client_ip=client_ip)
        result, errored = lambda_runtime.invoke(self.playlist_origin, event)
        if errored or not isinstance(result, dict) or "statusCode" not in result:
            # CloudFront answers 502 when the origin fails or returns an invalid response
            return 502, {"content-type": "text/plain"}, b"Bad Gateway: the playlist origin failed\n"
        headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        return int(result["statusCode"]), headers, data
