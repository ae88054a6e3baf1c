"""Webhook URLs: public https endpoints only, checked as written and again as resolved."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from functions.shared.errors import ValidationFailed
from functions.webhooks.logic.destinations import Resolver, check_url, destination_refusal


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
    refusal = destination_refusal(
        "https://hooks.example.com/", allow_http=False, resolve=_resolver("93.184.216.34", "169.254.169.254")
    )
    # Then the delivery is refused with the reason
    assert refusal == "hooks.example.com resolves to a non-public address"


def test_delivery_goes_ahead_to_public_addresses_and_when_http_is_allowed() -> None:
    assert (
        destination_refusal("https://h.example.com/", allow_http=False, resolve=_resolver("93.184.216.34"))
        is None
    )
    assert destination_refusal("http://127.0.0.1:1/", allow_http=True, resolve=_resolver("127.0.0.1")) is None


def test_resolution_failure_is_left_to_the_http_client_to_report_and_retry() -> None:
    def failing(host: str, port: int) -> Iterable[str]:
        raise OSError("no such host")

    assert destination_refusal("https://h.example.com/", allow_http=False, resolve=failing) is None
