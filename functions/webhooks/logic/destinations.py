"""Where webhooks may point: public HTTPS endpoints only (server-side request forgery guard).

Checked twice: at registration on the URL as written (scheme, credentials, literal addresses and
internal names), and at delivery on the addresses the host resolves to, so a public name that
later resolves to 169.254.169.254, 127.0.0.1 (the Lambda runtime API) or a private network is
refused too. ``allow_http`` (the embedded mode, where receivers run on localhost) lifts both.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from functions.shared.errors import ValidationFailed
from functions.webhooks.models import MAX_URL_LENGTH

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]

_INTERNAL_NAMES = ("localhost", "metadata.google.internal")
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="invalid_url", details={"field": "url"})


def _literal_address(host: str) -> IpAddress | None:
    """The address a host names literally, including the legacy IPv4 spellings that resolvers
    accept (``2852039166``, ``0xa9.0xfe.0xa9.0xfe``, ``169.254.43518``)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_url(url: str, *, allow_http: bool) -> str:
    """The URL if a webhook may point there; ``ValidationFailed`` (422) with the reason otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise _invalid("the URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        raise _invalid("the URL is not valid") from exc
    allowed_schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed_schemes:
        raise _invalid("the URL must use https")
    if not host:
        raise _invalid("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise _invalid("the URL must not carry credentials")
    if parts.fragment:
        raise _invalid("the URL must not have a fragment")
    if allow_http:
        return url
    address = _literal_address(host)
    if address is not None:
        if not is_public(address):
            raise _invalid("the URL points to a private, loopback, link-local or reserved address")
        return url
    name = host.rstrip(".").lower()
    if name in _INTERNAL_NAMES or name.endswith(_INTERNAL_SUFFIXES) or "." not in name:
        raise _invalid("the URL must name a public host")
    return url


def _system_resolver(host: str, port: int) -> Iterable[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]


def destination_refusal(url: str, *, allow_http: bool, resolve: Resolver = _system_resolver) -> str | None:
    """Why a delivery to ``url`` must not be sent now (None: go ahead). Resolution failures are
    not refusals: the HTTP client reports them as connection errors, which are retried."""
    if allow_http:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = list(resolve(host, port))
    except OSError:
        return None
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        except ValueError:
            return f"{host} resolves to an unusable address"
        if not is_public(address):
            return f"{host} resolves to a non-public address"
    return None
