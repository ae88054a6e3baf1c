"""A delivery connects to the address that was checked, and checks again on every attempt.

A name can answer a public address to the destination check and 127.0.0.1 to the HTTP client
a moment later (DNS rebinding). These tests script the answers (``webhook_network``) and look at
the addresses the client really connected to; the "public" address is routed to a local TLS
server whose certificate names the webhook's host, so the pinned connection must still send
that name as SNI and Host, and verify the certificate against it.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator

import pytest
import trustme

from functions.webhooks.logic import dispatch as dispatch_logic
from functions.webhooks.logic.dispatch import DeliveryOutcome, RetryPolicy, post_signed
from tests.integration.webhook_network import (
    HOST,
    LOOPBACK,
    PUBLIC_A,
    PUBLIC_B,
    FakeNetwork,
    TlsReceiver,
    client_trust,
    network,
    tls_receiver,
    webhook_ca,
)

__all__ = ["client_trust", "network", "webhook_ca"]  # fixtures used by name

pytestmark = pytest.mark.timeout(60)

POLICY = RetryPolicy(max_attempts=3, timeout_s=2.0, backoff_factor_s=0.01, backoff_max_s=0.05)


@pytest.fixture
def trusted(monkeypatch: pytest.MonkeyPatch, client_trust: ssl.SSLContext) -> None:
    """Deliveries trust the test CA instead of the system's store."""
    monkeypatch.setattr(dispatch_logic, "TLS_CONTEXT", client_trust, raising=False)


@pytest.fixture
def receiver(webhook_ca: trustme.CA) -> Iterator[TlsReceiver]:
    with tls_receiver(webhook_ca, HOST) as rec:
        yield rec


def deliver(port: int, *, policy: RetryPolicy = POLICY) -> DeliveryOutcome:
    return post_signed(
        f"https://{HOST}:{port}/hook",
        secret="s3cret",
        body=b'{"id":"e1"}',
        headers={"X-Event-Id": "e1"},
        policy=policy,
        allow_http=False,
    )


def route_public(network: FakeNetwork, port: int, *publics: str) -> None:
    """The public addresses of ``HOST`` on ``port`` lead to the local receiver."""
    for public in publics:
        network.routes[(public, port)] = (LOOPBACK, port)


def test_a_name_that_answers_public_then_loopback_is_never_connected_on_loopback(
    network: FakeNetwork, receiver: TlsReceiver, trusted: None
) -> None:
    # Given a resolver that answers a public address first, then 127.0.0.1 for ever
    network.answers = [[PUBLIC_A], [LOOPBACK]]
    route_public(network, receiver.port, PUBLIC_A)

    # When a delivery is made
    outcome = deliver(receiver.port)

    # Then the client connected to the public address it checked, and only to it,
    assert network.connected_to(receiver.port) == [PUBLIC_A]
    assert network.lookups == 1
    # and the pinned connection still spoke to the host by its name (SNI, Host, certificate)
    assert (outcome.status, outcome.attempts, outcome.response_status) == ("delivered", 1, 200)
    [seen] = receiver.requests
    assert seen.sni == HOST
    assert seen.host == f"{HOST}:{receiver.port}"
    assert (seen.path, seen.body) == ("/hook", b'{"id":"e1"}')


def test_every_retry_resolves_and_checks_again_before_connecting(
    network: FakeNetwork, receiver: TlsReceiver, trusted: None
) -> None:
    # Given a subscriber that answers 503 once, and a name that is public on the first lookup
    # and loopback on every one after it
    receiver.script = [503]
    network.answers = [[PUBLIC_A], [LOOPBACK]]
    route_public(network, receiver.port, PUBLIC_A)

    # When a delivery is made
    outcome = deliver(receiver.port)

    # Then the retry looked the name up again, refused the loopback answer and never connected
    assert network.connected_to(receiver.port) == [PUBLIC_A]
    assert len(receiver.requests) == 1
    assert outcome.status == "failed"
    assert outcome.error == f"destination refused: {HOST} resolves to a non-public address"
    assert outcome.attempts == 1
    assert outcome.response_status == 503


def test_each_attempt_connects_to_what_that_attempt_resolved(
    network: FakeNetwork, receiver: TlsReceiver, trusted: None
) -> None:
    # Given a subscriber that answers 500 twice, and a name that moves between two public
    # addresses (both leading to the subscriber)
    receiver.script = [500, 500]
    network.answers = [[PUBLIC_A], [PUBLIC_B], [PUBLIC_A]]
    route_public(network, receiver.port, PUBLIC_A, PUBLIC_B)

    outcome = deliver(receiver.port)

    # Then each of the three attempts resolved once and connected to its own answer
    assert network.lookups == 3
    assert network.connected_to(receiver.port) == [PUBLIC_A, PUBLIC_B, PUBLIC_A]
    assert (outcome.status, outcome.attempts, outcome.response_status) == ("delivered", 3, 200)
    assert [seen.host for seen in receiver.requests] == [f"{HOST}:{receiver.port}"] * 3


def test_a_name_with_one_internal_address_among_public_ones_is_refused_without_connecting(
    network: FakeNetwork, receiver: TlsReceiver, trusted: None
) -> None:
    network.answers = [[PUBLIC_A, "64:ff9b::a9fe:a9fe"]]  # NAT64 of the metadata address
    route_public(network, receiver.port, PUBLIC_A)

    outcome = deliver(receiver.port)

    assert network.connected_to(receiver.port) == []
    assert outcome.status == "failed"
    assert outcome.error == f"destination refused: {HOST} resolves to a non-public address"


@pytest.mark.parametrize(
    "translated",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a00:5::1",  # 6to4 of 10.0.0.5
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
    ],
)
def test_translated_forms_of_internal_addresses_are_refused_at_delivery(
    network: FakeNetwork, receiver: TlsReceiver, trusted: None, translated: str
) -> None:
    network.answers = [[translated]]

    outcome = deliver(receiver.port)

    assert network.connected_to(receiver.port) == []
    assert receiver.requests == []
    assert outcome.status == "failed"
    assert outcome.error == f"destination refused: {HOST} resolves to a non-public address"


def test_the_certificate_must_name_the_webhook_host(
    network: FakeNetwork, webhook_ca: trustme.CA, trusted: None
) -> None:
    # Given a server at the checked address whose (trusted) certificate names another host
    with tls_receiver(webhook_ca, "other.example.org") as impostor:
        network.answers = [[PUBLIC_A]]
        route_public(network, impostor.port, PUBLIC_A)

        outcome = deliver(impostor.port, policy=RetryPolicy(max_attempts=1, timeout_s=2.0))

    # Then the client connected to the checked address but sent nothing: the name did not match
    assert network.connected_to(impostor.port) == [PUBLIC_A]
    assert impostor.sni == [HOST]
    assert impostor.requests == []
    assert outcome.status == "failed"
    assert outcome.response_status is None
    assert "certificate" in (outcome.error or "").lower()


def test_a_name_that_does_not_resolve_is_retried_as_a_connection_error(
    network: FakeNetwork, receiver: TlsReceiver, trusted: None
) -> None:
    # Given a name with no address at first, then a public one
    network.answers = [[], [PUBLIC_A]]
    route_public(network, receiver.port, PUBLIC_A)

    started = time.monotonic()
    outcome = deliver(receiver.port)

    assert (outcome.status, outcome.attempts) == ("delivered", 2)
    assert network.connected_to(receiver.port) == [PUBLIC_A]
    assert time.monotonic() - started < 10
