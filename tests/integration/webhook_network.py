"""A pretend Internet for webhook deliveries, all of it on 127.0.0.1.

``FakeNetwork`` scripts what a public name resolves to, lookup by lookup (``socket.getaddrinfo``
patched), and records every address a socket really connects to (``socket.socket.connect``
patched), sending the "public" ones to a local server. So a test sees the address the client
actually connected to, and nothing leaves the machine. ``TlsReceiver`` is an HTTPS subscriber
with a certificate from a test CA (trustme) that records the SNI name and Host header it got.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme

HOST = "hooks.example.com"
PUBLIC_A = "93.184.216.34"  # example.com's address: public, never actually reached
PUBLIC_B = "93.184.215.14"
LOOPBACK = "127.0.0.1"

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect


@dataclass
class FakeNetwork:
    """``answers``: one list of addresses per lookup of ``HOST``, the last one repeating;
    ``routes``: where a public (address, port) really is; ``connects``: every (address, port)
    connected to, in order, as the client asked for it (before routing)."""

    answers: list[list[str]] = field(default_factory=list)
    routes: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    connects: list[tuple[str, int]] = field(default_factory=list)
    lookups: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".").lower() != HOST:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        with self.lock:
            answer = self.answers[min(self.lookups, len(self.answers) - 1)]
            self.lookups += 1
        if not answer:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        number = int(port or 0)
        infos: list[Any] = []
        for address in answer:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, number, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, number)))
        return infos

    def connect(self, sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and len(address) >= 2:
            target = (str(address[0]), int(address[1]))
            with self.lock:
                self.connects.append(target)
            if target in self.routes:
                address = self.routes[target]
        _real_connect(sock, address)

    def connected_to(self, port: int) -> list[str]:
        """The addresses connected to on ``port`` (the subscriber URL's port)."""
        return [address for address, p in self.connects if p == port]


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> FakeNetwork:
    net = FakeNetwork()
    monkeypatch.setattr(socket, "getaddrinfo", net.getaddrinfo)

    def connect(sock: socket.socket, address: Any) -> None:
        net.connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return net


@dataclass
class Seen:
    sni: str | None
    host: str | None
    path: str
    body: bytes


@dataclass
class TlsReceiver:
    """An HTTPS endpoint on 127.0.0.1 answering scripted statuses, then 200."""

    port: int = 0
    requests: list[Seen] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self) -> int:
        with self.lock:
            return self.script.pop(0) if self.script else 200


@pytest.fixture(scope="session")
def webhook_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def client_trust(webhook_ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts the test CA (and nothing else)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    webhook_ca.configure_trust(context)
    return context


@contextmanager
def tls_receiver(ca: trustme.CA, *names: str) -> Iterator[TlsReceiver]:
    """A receiver whose certificate is issued by ``ca`` for ``names``."""
    receiver = TlsReceiver()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)

    def on_sni(sslobj: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        with receiver.lock:
            receiver.sni.append(name)

    context.sni_callback = on_sni  # type: ignore[assignment]

    class Handler(BaseHTTPRequestHandler):
        timeout = 10

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            sni = receiver.sni[-1] if receiver.sni else None
            with receiver.lock:
                receiver.requests.append(Seen(sni, self.headers.get("Host"), self.path, body))
            self.send_response(receiver.status())
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self) -> tuple[Any, Any]:
            conn, address = self.socket.accept()
            # The handshake runs in the request's thread: a client that refuses the certificate
            # must not stall the accept loop.
            return context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False), address

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a refused handshake is what some tests expect

    server = Server((LOOPBACK, 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
