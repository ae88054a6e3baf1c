"""Where webhooks may point: public HTTPS endpoints only (server-side request forgery guard).

Checked twice: at registration on the URL as written (scheme, credentials, literal addresses and
internal names), and on every delivery attempt on the addresses the host resolves to then, so a
public name that later resolves to 169.254.169.254, 127.0.0.1 (the Lambda runtime API) or a
private network is refused too. ``checked_addresses`` resolves once per attempt and returns what
it checked: the delivery connects to exactly those addresses (``transport``), so a name cannot
answer the check with a public address and the HTTP client with an internal one (DNS rebinding).

An IPv6 address that carries an IPv4 one (IPv4-mapped, -compatible and -translated, NAT64, 6to4,
Teredo) is judged by the IPv4 address it leads to: ``64:ff9b::7f00:1`` is 127.0.0.1 behind a
NAT64 gateway. ``allow_http`` / ``allow_internal`` (the embedded mode, where receivers run on
localhost) lifts the address checks, explicitly; deliveries are still pinned.
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

# Refused whatever ``is_global`` says (it differs between Python releases, and 3.11 calls
# several of these global): special-purpose ranges from the IANA registries, plus cloud
# metadata addresses outside the link-local range.
_NEVER_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT (and Alibaba's metadata, 100.100.100.200)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local: EC2/GCP/Azure metadata, ECS credentials
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments (Oracle's metadata, 192.0.0.192)
        "192.0.2.0/24",
        "192.88.99.0/24",  # the 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",  # reserved, and 255.255.255.255
        "::/128",
        "::1/128",
        "100::/64",  # discard-only
        "2001:db8::/32",
        "fc00::/7",  # unique local (EC2's IPv6 metadata, fd00:ec2::254)
        "fe80::/10",
        "fec0::/10",  # site-local (deprecated, still routed inside some networks)
        "ff00::/8",
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
# RFC 8215's local-use prefix: where the IPv4 address sits depends on the operator's prefix
# length (/48 to /96), so which host it leads to cannot be told: refused.
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated, but still routed by some stacks
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT (RFC 2765)


class DestinationRefused(Exception):
    """The webhook's host resolves, now, to an address a delivery must not reach."""


class Unresolvable(OSError):
    """The host has no address now: a connection error like any other, retried."""


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


def _carried(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address leads to (None: it carries none)."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64 or address in _IPV4_TRANSLATED:
        return [low]
    if address in _IPV4_COMPATIBLE and address not in (
        ipaddress.IPv6Address("::"),
        ipaddress.IPv6Address("::1"),
    ):
        return [low]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        server, client = address.teredo
        return [server, client]
    return None


def _is_public_ip(address: IpAddress) -> bool:
    if any(address.version == net.version and address in net for net in _NEVER_PUBLIC):
        return False
    return address.is_global and not address.is_multicast


def is_public(address: IpAddress) -> bool:
    """Whether a webhook may connect to ``address``: a public unicast address, judging an IPv6
    address that carries an IPv4 one by the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            return False  # a zone names a local link
        if address in _NAT64_LOCAL:
            return False
        carried = _carried(address)
        if carried is not None:
            return all(_is_public_ip(v4) for v4 in carried)
    return _is_public_ip(address)


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
    # Looked up through the module at call time: tests script the answers
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def checked_addresses(
    url: str, *, allow_internal: bool, resolve: Resolver = _system_resolver
) -> tuple[str, ...]:
    """The addresses ``url``'s host resolves to now, every one of them checked, in the resolver's
    order: connect to these and to nothing else. ``DestinationRefused`` when any is not public
    (unless ``allow_internal``); ``Unresolvable`` when the name has no address now."""
    host, port = _endpoint(url)
    literal = _literal_address(host)
    if literal is not None:
        texts: list[str] = [str(literal)]  # nothing to resolve, and no legacy spelling to re-parse
    else:
        try:
            texts = list(dict.fromkeys(resolve(host, port)))
        except OSError as exc:
            raise Unresolvable(f"{host} does not resolve: {exc}") from exc
        if not texts:
            raise Unresolvable(f"{host} does not resolve")
    for text in texts:
        try:
            address = ipaddress.ip_address(text)  # an IPv6 zone id stays (and is refused below)
        except ValueError as exc:
            raise DestinationRefused(f"{host} resolves to an unusable address") from exc
        if not allow_internal and not is_public(address):
            raise DestinationRefused(f"{host} resolves to a non-public address")
    return tuple(texts)
