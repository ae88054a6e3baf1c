"""Clients that speak HTTP over raw sockets, for the local front's and edge's hardening tests:
a burst of connections opened at once, and the status each then gets."""

from __future__ import annotations

import select
import socket
import time


def connect_all(url: str, count: int, within_s: float) -> tuple[list[socket.socket], int]:
    """``count`` connections opened at once; those the kernel did not accept within ``within_s``."""
    port = int(url.rsplit(":", 1)[1])
    pending = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        pending.append(sock)
    poller = select.poll()
    for sock in pending:
        poller.register(sock, select.POLLOUT)
    waiting = {sock.fileno() for sock in pending}
    deadline = time.monotonic() + within_s
    while waiting and (left := deadline - time.monotonic()) > 0:
        for fd, _ in poller.poll(left * 1000):
            poller.unregister(fd)
            waiting.discard(fd)
    failed = [s for s in pending if s.fileno() in waiting or s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)]
    return pending, len(failed)


def answers(socks: list[socket.socket], target: str) -> list[int]:
    """Each connection asks for ``target`` once; the status each gets."""
    for sock in socks:
        sock.setblocking(True)
        sock.settimeout(30)
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    return [int(read_all(sock).split(b" ", 2)[1]) for sock in socks]


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def exchange(url: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as is, close the sending side, and parse the one answer."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body
