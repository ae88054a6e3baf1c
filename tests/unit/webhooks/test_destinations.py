"""Webhook URLs: public https endpoints only, checked as written and again as resolved."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import pytest

from functions.shared.errors import ValidationFailed
from functions.webhooks.logic.destinations import (
    DestinationRefused,
    Resolver,
    Unresolvable,
    check_url,
    checked_addresses,
    is_public,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/vod",
        "https://hooks.example.com:8443/vod?token=abc",
        "https://93.184.216.34/hook",
        "https://[2606:4700::1111]/hook",
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_url(url, allow_http=False) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/vod", "https"),
        ("ftp://hooks.example.com/vod", "https"),
        ("hooks.example.com/vod", "https"),
        ("https:///vod", "no host"),
        ("https://user:pass@hooks.example.com/", "credentials"),
        ("https://hooks.example.com/#frag", "fragment"),
        ("https://hooks.example.com:99999/", "not valid"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://127.0.0.1:9001/2018-06-01/runtime/invocation/next", "loopback"),
        ("https://10.0.0.5/", "private"),
        ("https://192.168.1.1/", "private"),
        ("https://[::1]/", "private"),
        ("https://[::ffff:169.254.169.254]/", "private"),
        ("https://[fd00::1]/", "private"),
        ("https://0.0.0.0/", "private"),
        ("https://2852039166/", "private"),  # 169.254.169.254 as one decimal number
        ("https://0xa9.0xfe.0xa9.0xfe/", "private"),
        ("https://localhost/", "public host"),
        ("https://LOCALHOST./", "public host"),
        ("https://metadata.google.internal/", "public host"),
        ("https://printer.local/", "public host"),
        ("https://intranet/", "public host"),
        ("https://hooks.example.com/" + "a" * 2048, "longer"),
        ("https://hooks.example.com/a b", "spaces"),
        ("https://hooks.example.com/\r\nX-Injected: 1", "control"),
    ],
)
def test_unsafe_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        check_url(url, allow_http=False)
    assert reason in info.value.message
    assert info.value.status == 422
    assert info.value.details == {"field": "url"}


def test_allow_http_admits_local_receivers_but_still_needs_a_web_url() -> None:
    assert check_url("http://127.0.0.1:8080/hook", allow_http=True) == "http://127.0.0.1:8080/hook"
    with pytest.raises(ValidationFailed):
        check_url("file:///etc/passwd", allow_http=True)


def _resolver(*addresses: str) -> Resolver:
    def resolve(host: str, port: int) -> Iterable[str]:
        return addresses

    return resolve


def test_delivery_is_refused_when_a_public_name_resolves_to_a_private_address() -> None:
    # Given a name that passed registration but now resolves to the metadata address
    with pytest.raises(DestinationRefused) as info:
        checked_addresses(
            "https://hooks.example.com/",
            allow_internal=False,
            resolve=_resolver("93.184.216.34", "169.254.169.254"),
        )
    # Then the delivery is refused with the reason
    assert str(info.value) == "hooks.example.com resolves to a non-public address"


def test_resolution_failure_is_a_connection_error_to_retry() -> None:
    def failing(host: str, port: int) -> Iterable[str]:
        raise OSError("no such host")

    with pytest.raises(Unresolvable) as info:
        checked_addresses("https://h.example.com/", allow_internal=False, resolve=failing)
    assert isinstance(info.value, OSError)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 (RFC 6052) of 127.0.0.1
        "64:ff9b::a00:5",  # ... of 10.0.0.5
        "64:ff9b::a9fe:a9fe",  # ... of 169.254.169.254
        "64:ff9b:1::7f00:1",  # local-use NAT64 (RFC 8215): refused whatever it carries
        "64:ff9b:1:5db8:d8:2200::",  # ... even a public IPv4 in the /48 layout
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
        "2002:6440:1::1",  # 6to4 of 100.64.0.1 (CGNAT)
        "2001:0:5db8:d822:0:0:80ff:fffe",  # Teredo: public server, client 127.0.0.1
        "2001:0:a00:1:0:0:a2a4:27dd",  # Teredo: server 10.0.0.1, public client
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
        "::ffff:7f00:1",  # IPv4-mapped 127.0.0.1
        "::ffff:0:a00:1",  # IPv4-translated (SIIT) 10.0.0.1
        "fec0::1",  # site-local (deprecated, not global)
        "fd00:ec2::254",  # the EC2 metadata service over IPv6
        "100.100.100.200",  # CGNAT (Alibaba's metadata address)
        "192.0.0.192",  # IETF protocol assignments (Oracle's metadata address)
        "198.18.0.1",  # benchmarking
        "224.0.0.1",  # multicast
        "ff02::1",
        "255.255.255.255",
        "::",
    ],
)
def test_internal_addresses_in_any_spelling_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    with pytest.raises(ValidationFailed):
        check_url(f"https://{_host(address)}/hook", allow_http=False)


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "2606:4700::1111",
        "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34: a public IPv4 through DNS64
        "2002:5db8:d822::1",  # 6to4 of 93.184.216.34
        "::ffff:93.184.216.34",
    ],
)
def test_translated_forms_of_public_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.mark.parametrize("answer", ["64:ff9b::7f00:1", "2002:a00:5::1", "::a9fe:a9fe", "fe80::1%eth0"])
def test_a_name_resolving_to_a_translated_internal_address_is_refused(answer: str) -> None:
    with pytest.raises(DestinationRefused) as info:
        checked_addresses("https://h.example.com/", allow_internal=False, resolve=_resolver(answer))
    assert str(info.value) == "h.example.com resolves to a non-public address"


def test_every_address_is_checked_and_the_checked_ones_are_returned_in_order() -> None:
    resolve = _resolver("93.184.216.34", "2606:4700::1111")
    assert checked_addresses("https://h.example.com:8443/", allow_internal=False, resolve=resolve) == (
        "93.184.216.34",
        "2606:4700::1111",
    )
    with pytest.raises(DestinationRefused):
        checked_addresses(
            "https://h.example.com/", allow_internal=False, resolve=_resolver("93.184.216.34", "10.1.2.3")
        )


def test_internal_addresses_are_delivered_to_only_when_the_deployment_allows_it() -> None:
    # The embedded mode's receivers listen on 127.0.0.1: WEBHOOK_ALLOW_HTTP admits them, and the
    # delivery still connects to the address resolved here
    assert checked_addresses(
        "http://localhost:8080/", allow_internal=True, resolve=_resolver("127.0.0.1")
    ) == ("127.0.0.1",)


def test_a_literal_address_is_not_looked_up() -> None:
    def no_lookup(host: str, port: int) -> Iterable[str]:
        raise AssertionError("looked up")

    assert checked_addresses("https://[2606:4700::1111]/", allow_internal=False, resolve=no_lookup) == (
        "2606:4700::1111",
    )
    with pytest.raises(DestinationRefused):
        checked_addresses("https://[64:ff9b::7f00:1]/", allow_internal=False, resolve=no_lookup)


def test_a_name_with_no_address_is_a_connection_error_to_retry() -> None:
    with pytest.raises(Unresolvable):
        checked_addresses("https://h.example.com/", allow_internal=False, resolve=_resolver())
