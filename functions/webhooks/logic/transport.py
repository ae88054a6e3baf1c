"""One HTTP POST to addresses already checked, speaking to the host by its name.

The destination check and the connection must be about the same address: an HTTP client that
resolves the name again (on connect, on each retry) can be answered with 127.0.0.1 after the
check saw a public address. So the connection is made to the checked IP itself (a urllib3 pool
whose host is that IP), while the request keeps the URL's name where the server and TLS see
it: the ``Host`` header, the TLS server name (SNI, ``server_hostname``) and the certificate's
hostname verification (the standard ``ssl`` check against ``server_hostname``).

One pool per attempt and address, closed after it: no connection outlives the check it was
made under, and a redirect is an answer (never followed).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.response import BaseHTTPResponse


def _host_header(host: str, port: int | None, scheme: str) -> str:
    name = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    default = 443 if scheme == "https" else 80
    return name if port in (None, default) else f"{name}:{port}"


def post_pinned(
    url: str,
    addresses: Sequence[str],
    *,
    body: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    tls: ssl.SSLContext | None,
) -> BaseHTTPResponse:
    """POST ``body`` to ``url`` over a connection to one of ``addresses`` (tried in order while
    connecting fails; together they share one connect timeout), with ``url``'s host as Host and
    TLS name. The response is closed: its status and headers are what a delivery needs.

    ``tls``: the context that verifies the server (None: urllib3's default, the system's trust
    store). Raises urllib3's errors (``NewConnectionError``, ``SSLError``, ``ReadTimeoutError``
    ...) for the caller's retry policy.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_headers = {**headers, "Host": _host_header(host, parts.port, parts.scheme)}
    deadline = time.monotonic() + timeout_s
    error: Exception | None = None
    for address in addresses:
        connect_s = deadline - time.monotonic()
        if connect_s <= 0:
            break
        timeout = Timeout(connect=connect_s, read=timeout_s)
        pool: HTTPConnectionPool
        if parts.scheme == "https":
            pool = HTTPSConnectionPool(
                address,
                port,
                timeout=timeout,
                maxsize=1,
                retries=False,
                ssl_context=tls,
                cert_reqs="CERT_REQUIRED",
                server_hostname=host,  # SNI, and the name the certificate must carry
            )
        else:
            pool = HTTPConnectionPool(address, port, timeout=timeout, maxsize=1, retries=False)
        try:
            response = pool.urlopen(
                "POST",
                target,
                body=body,
                headers=request_headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,  # the answer's body is not needed: do not download it
            )
        except (NewConnectionError, ConnectTimeoutError) as exc:
            error = exc  # nothing was sent: the next address may answer
            pool.close()
            continue
        except BaseException:
            pool.close()
            raise
        response.close()
        pool.close()
        return response
    raise error or ConnectTimeoutError(f"no time left to connect to {host}")
