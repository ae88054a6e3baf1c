"""The local CloudFront: verifies signed URLs with the same public key and serves the media bucket.

Answers like CloudFront does: 403 for a missing, expired, tampered, wrong-IP or out-of-scope
signature; Range requests -> 206; the content type by extension; CORS for browser players.
Playlists get the signed query propagated into their URIs (functions.playback.signing).
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import ClientError

from functions.playback.signing import SignatureRejected, Verifier, propagate_query

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


def content_type_for(key: str) -> str:
    for ext, ctype in CONTENT_TYPES.items():
        if key.endswith(ext):
            return ctype
    return "application/octet-stream"


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """A single byte range -> (start, end inclusive); None if unsatisfiable or malformed."""
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


class LocalEdge:
    def __init__(self, *, s3: Any, bucket: str, verifier: Verifier, host: str = "127.0.0.1", port: int = 0):
        self.s3 = s3
        self.bucket = bucket
        self.verifier = verifier
        edge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

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
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_OPTIONS(self) -> None:
                self._reply(204, b"", {})

            def do_GET(self) -> None:
                status, headers, body = edge.handle(
                    path=self.path,
                    host=self.headers.get("host", ""),
                    client_ip=self.client_address[0],
                    range_header=self.headers.get("range"),
                )
                self._reply(status, body, headers)

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="edge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(
        self, *, path: str, host: str, client_ip: str, range_header: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        url = f"{urlsplit(self.url).scheme}://{host or urlsplit(self.url).netloc}{path}"
        try:
            signed = self.verifier.verify(url=url, client_ip=client_ip)
        except SignatureRejected as exc:
            return 403, {"content-type": "text/plain"}, f"Forbidden: {exc}\n".encode()
        key = unquote(urlsplit(path).path).lstrip("/")
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return 404, {"content-type": "text/plain"}, b"Not Found\n"
            raise
        data: bytes = obj["Body"].read()
        headers = {"content-type": content_type_for(key), "accept-ranges": "bytes"}
        if key.endswith(".m3u8"):
            data = propagate_query(data.decode(), signed).encode()
            headers["cache-control"] = "max-age=2"
        else:
            headers["cache-control"] = "max-age=86400"
        if range_header:
            span = parse_range(range_header, len(data))
            if span is None:
                headers["content-range"] = f"bytes */{len(data)}"
                return 416, headers, b""
            start, end = span
            headers["content-range"] = f"bytes {start}-{end}/{len(data)}"
            return 206, headers, data[start : end + 1]
        return 200, headers, data
