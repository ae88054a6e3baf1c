"""The HTTP server under the local front and the local edge: one thread per connection, a listen
backlog a burst of players fits in, and a bound on how long one connection may keep its thread.

http.server's defaults are a backlog of 5 (a burst of 200 clients saw 18-25 connections turned
away) and no read timeout (a client that announced a body and never sent it, or stopped halfway
through its headers, held a thread until it hung up). API Gateway and CloudFront answer such
clients with an error after a few seconds; the local servers do the same.

Both read a request body by the same rules (``read_body``): one decimal Content-Length or chunked
encoding; anything else is ``BadFraming`` (a 400), a body beyond the limit ``BodyTooLarge`` (413),
and a body that stops arriving raises the socket's ``TimeoutError`` (the caller answers 408).
"""

from __future__ import annotations

from http.server import ThreadingHTTPServer
from typing import Any

# Connections the kernel queues while the accept loop is busy: a page of thumbnails and a few
# players' segment requests arrive together. Linux caps it at net.core.somaxconn (4096 here).
LISTEN_BACKLOG = 256
# Seconds a connection may be silent (mid-headers, mid-body, or idle between keep-alive requests)
# before the server closes it and frees its thread. Generous for a laptop, short for a stalled peer.
READ_TIMEOUT_S = 10.0


# The largest piece of a response written in one call: the read timeout also bounds each send, and
# sendall's timeout covers the whole call (Python 3.5+), so writing a large object in one call would
# cut off a slow but live reader; per piece, only a reader that stops reading is cut off.
WRITE_CHUNK_BYTES = 256 * 1024


def write_body(wfile: Any, body: bytes) -> None:
    """Send ``body`` in pieces, each with the whole timeout to go out."""
    view = memoryview(body)
    for start in range(0, len(view), WRITE_CHUNK_BYTES):
        wfile.write(view[start : start + WRITE_CHUNK_BYTES])


class BadFraming(Exception):
    """The request's framing is unreadable (Content-Length, chunked encoding): a 400."""


class BodyTooLarge(Exception):
    """The request body exceeds the server's payload limit: a 413."""


class LocalHTTPServer(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True  # a stalled connection never keeps the process alive at exit


def _read_chunked(rfile: Any, limit: int) -> bytes:
    body = bytearray()
    while True:
        line = rfile.readline(1024)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadFraming("invalid chunk size") from None
        if size < 0:
            raise BadFraming("invalid chunk size")
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return bytes(body)
        if len(body) + size > limit:
            raise BodyTooLarge
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise BadFraming("the chunked body ended early")
        body += chunk
        rfile.readline(1024)  # the CRLF after the chunk


def read_body(
    headers: dict[str, str], rfile: Any, limit: int, *, content_lengths: list[str] | None = None
) -> bytes:
    """The request body, framed by Content-Length or chunked transfer encoding.

    ``content_lengths`` are every Content-Length field the request carried (``headers`` keeps one):
    fields that disagree frame no body at all (RFC 9112 6.3), so they are a 400 like a bad value.
    """
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _read_chunked(rfile, limit)
    if content_lengths and len({value.strip() for value in content_lengths}) > 1:
        raise BadFraming("conflicting Content-Length headers")
    raw_length = headers.get("content-length", "").strip()
    if not raw_length:
        return b""
    if not (raw_length.isascii() and raw_length.isdigit()):
        raise BadFraming(f"invalid Content-Length {raw_length[:40]!r}")
    if len(raw_length.lstrip("0")) > len(str(limit)):  # before int(), which refuses 4,300+ digits
        raise BodyTooLarge
    length = int(raw_length)
    if length > limit:
        raise BodyTooLarge
    body: bytes = rfile.read(length) if length else b""
    if len(body) < length:
        raise BadFraming("the body is shorter than its Content-Length")
    return body
