"""Deliver one domain event to its subscribers: signed, retried with backoff, recorded.

Each (event, webhook) delivery runs at most once to completion: Powertools idempotency keyed on
the pair stores the outcome, so a message SQS delivers again replays the stored outcome instead
of POSTing again. A subscriber that still fails after every attempt is an outcome too (recorded
``failed``), not an error: it must not send the message back to the queue for ever. Errors of our
own (DynamoDB) propagate, so the message is retried and, after the queue's redrive limit, parked
in the dead-letter queue.
"""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function
from aws_lambda_powertools.utilities.idempotency.config import IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.serialization.dataclass import DataclassSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext
from urllib3.exceptions import HTTPError, MaxRetryError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from functions.shared.aws import client
from functions.shared.clock import now_iso
from functions.shared.observability import logger
from functions.shared.settings import Settings, get_settings
from functions.shared.threads import ContextThreadPoolExecutor
from functions.webhooks.dal import webhooks as dal
from functions.webhooks.logic.destinations import DestinationRefused, Unresolvable, checked_addresses
from functions.webhooks.logic.signing import sign
from functions.webhooks.logic.transport import post_pinned
from functions.webhooks.models import ALL_EVENT_TYPES, DeliveryStatus

# urllib3's backoff sleeps 0, 2f, 4f, 8f ... seconds (f: the factor) between attempts, capped.
BACKOFF_FACTOR_S = 0.5
BACKOFF_MAX_S = 10.0
RETRY_STATUSES = frozenset({429, *range(500, 600)})
MAX_PARALLEL_DELIVERIES = 8
DEADLINE_MARGIN_S = 5.0  # for the DynamoDB reads and writes around the POSTs
IDEMPOTENCY_EXPIRY_S = 24 * 3600  # longer than SQS keeps redelivering one message
MAX_ERROR_CHARS = 300
USER_AGENT = "vod-webhooks/1.0"
_EVENT_TYPES = frozenset(e.value for e in ALL_EVENT_TYPES)
# What verifies subscribers' certificates; None: the system's trust store. Read at call time:
# tests trust their own CA.
TLS_CONTEXT: ssl.SSLContext | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """A domain event as subscribers receive it."""

    id: str
    type: str
    created_at: str
    detail: dict[str, Any]

    @property
    def video_id(self) -> str | None:
        value = self.detail.get("video_id")
        return str(value) if value else None

    def body(self) -> bytes:
        payload = {"id": self.id, "type": self.type, "created_at": self.created_at, "data": self.detail}
        return json.dumps(payload, separators=(",", ":"), default=str).encode()


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    timeout_s: float
    backoff_factor_s: float = BACKOFF_FACTOR_S
    backoff_max_s: float = BACKOFF_MAX_S

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.webhook_max_attempts,
            timeout_s=settings.webhook_timeout_s,
            backoff_factor_s=BACKOFF_FACTOR_S,  # read at call time: tests shorten it
            backoff_max_s=BACKOFF_MAX_S,
        )

    def worst_case_s(self) -> float:
        """The longest one delivery can take: every attempt timing out on connect and read, and
        the longest wait between attempts (a Retry-After is honoured up to the backoff cap)."""
        return self.max_attempts * 2 * self.timeout_s + (self.max_attempts - 1) * self.backoff_max_s

    def retry(self) -> Retry:
        return Retry(
            total=self.max_attempts - 1,
            allowed_methods=None,  # POST too: subscribers deduplicate on X-Event-Id
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff_factor_s,
            backoff_max=self.backoff_max_s,
            # A subscriber's Retry-After is honoured up to the same cap: the Lambda has a deadline.
            retry_after_max=int(self.backoff_max_s),
            raise_on_status=False,  # the last 5xx comes back as a response, with the retry history
            redirect=False,  # a redirect is an answer, not an invitation (SSRF): not followed
        )


class DeadlineNear(Exception):
    """Too little of the invocation is left to finish a delivery: the message goes back to the
    queue (a partial batch failure) instead of the function timing out halfway through."""


@dataclass(frozen=True)
class DeliveryKey:
    """The idempotency key of one delivery."""

    event_id: str
    webhook_id: str


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str
    attempts: int
    response_status: int | None
    error: str | None
    duration_ms: int
    created_at: str


@dataclass(frozen=True)
class DeliveryResult:
    webhook_id: str
    outcome: DeliveryOutcome


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def post_signed(
    url: str,
    *,
    secret: str,
    body: bytes,
    headers: dict[str, str],
    policy: RetryPolicy,
    allow_http: bool,
) -> DeliveryOutcome:
    """POST ``body`` to ``url`` signed with ``secret``; retry connection errors, 429 and 5xx.

    Every attempt resolves the host once, checks every address it got and connects to one of
    exactly those (DNS rebinding: a name may answer differently from one lookup to the next);
    ``allow_http`` (the embedded mode) also admits internal addresses, such as its receivers on
    127.0.0.1. A refusal ends the delivery: it is an answer about where the URL leads now.
    """
    started = time.monotonic()

    def outcome(
        status: DeliveryStatus, attempts: int, code: int | None, error: str | None
    ) -> DeliveryOutcome:
        elapsed = int((time.monotonic() - started) * 1000)
        return DeliveryOutcome(
            status.value, attempts, code, _short(error) if error else None, elapsed, now_iso()
        )

    signed = {
        **headers,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Signature": sign(secret, int(time.time()), body),
    }
    retry = policy.retry()
    attempts = 0  # POSTs sent, or tried and failed on the way
    last: BaseHTTPResponse | None = None  # the last answer, if any attempt got one
    while True:
        response: BaseHTTPResponse | None = None
        error: Exception | None = None
        try:
            addresses = checked_addresses(url, allow_internal=allow_http)
        except DestinationRefused as exc:
            code = last.status if last is not None else None
            return outcome(DeliveryStatus.FAILED, attempts, code, f"destination refused: {exc}")
        except Unresolvable as exc:
            attempts += 1
            error = exc
        else:
            attempts += 1
            try:
                response = post_pinned(
                    url, addresses, body=body, headers=signed, timeout_s=policy.timeout_s, tls=TLS_CONTEXT
                )
            except HTTPError as exc:
                error = exc
        if response is not None:
            last = response
            if not retry.is_retry("POST", response.status, bool(response.headers.get("Retry-After"))):
                status = DeliveryStatus.DELIVERED if 200 <= response.status < 300 else DeliveryStatus.FAILED
                reason = None if status is DeliveryStatus.DELIVERED else f"HTTP {response.status}"
                return outcome(status, attempts, response.status, reason)
        try:
            retry = retry.increment("POST", url, response=response, error=error)
        except MaxRetryError:
            if response is not None:  # the last 5xx/429 is the answer
                return outcome(DeliveryStatus.FAILED, attempts, response.status, f"HTTP {response.status}")
            return outcome(DeliveryStatus.FAILED, attempts, None, f"{type(error).__name__}: {error}")
        retry.sleep(response)


_IDEMPOTENCY = IdempotencyConfig(expires_after_seconds=IDEMPOTENCY_EXPIRY_S, raise_on_no_idempotency_key=True)


def register_lambda_context(context: LambdaContext) -> None:
    """Lets an interrupted delivery (the function timed out) be retried once the invocation's
    deadline has passed, rather than after the idempotency expiry."""
    _IDEMPOTENCY.register_lambda_context(context)


def _deliver(
    *, delivery: DeliveryKey, subscriber: dal.Subscriber, event: WebhookEvent, policy: RetryPolicy
) -> DeliveryOutcome:
    return post_signed(
        subscriber.url,
        secret=subscriber.secret,
        body=event.body(),
        headers={"X-Webhook-Id": delivery.webhook_id, "X-Event-Id": delivery.event_id},
        policy=policy,
        allow_http=get_settings().webhook_allow_http,
    )


_guarded_for: tuple[Settings, Any] | None = None


def _guarded(settings: Settings) -> Any:
    """``_deliver`` behind Powertools idempotency on the configured table, built once per settings
    object (clearing the settings cache, as a new embedded stack does, builds it again)."""
    global _guarded_for
    if _guarded_for is None or _guarded_for[0] is not settings:
        persistence = DynamoDBPersistenceLayer(
            table_name=settings.idempotency_table, boto3_client=client("dynamodb")
        )
        guarded = idempotent_function(
            _deliver,
            data_keyword_argument="delivery",
            persistence_store=persistence,
            config=_IDEMPOTENCY,
            output_serializer=DataclassSerializer(DeliveryOutcome),
            key_prefix="webhook-delivery",
        )
        _guarded_for = (settings, guarded)
    return _guarded_for[1]


def _owner_of(event: WebhookEvent) -> str | None:
    """Whose video the event is about: every video event carries its ``owner`` in the detail (the
    emitter knows it), so the dispatcher reads no other domain's records."""
    owner = event.detail.get("owner")
    return str(owner) if owner else None


def dispatch(
    event: WebhookEvent, *, policy: RetryPolicy | None = None, remaining_ms: int | None = None
) -> list[DeliveryResult]:
    """Deliver ``event`` to every webhook that should hear of it; record each outcome.

    ``remaining_ms``: the invocation's time left; ``DeadlineNear`` when it cannot cover the
    slowest possible delivery.
    """
    if event.type not in _EVENT_TYPES:
        logger.info("not a webhook event", extra={"event_type": event.type})
        return []
    settings = get_settings()
    policy = policy or RetryPolicy.from_settings(settings)
    owner = _owner_of(event)
    audiences = [dal.AUDIENCE_ALL] + ([dal.owner_pk(owner)] if owner else [])
    targets = dal.subscribers(event.type, audiences)
    if not targets:
        return []
    if remaining_ms is not None and remaining_ms < (policy.worst_case_s() + DEADLINE_MARGIN_S) * 1000:
        raise DeadlineNear(f"{remaining_ms} ms left, a delivery may take {policy.worst_case_s():.0f} s")
    deliver = _guarded(settings)

    def one(subscriber: dal.Subscriber) -> DeliveryResult:
        outcome: DeliveryOutcome = deliver(
            delivery=DeliveryKey(event_id=event.id, webhook_id=subscriber.webhook_id),
            subscriber=subscriber,
            event=event,
            policy=policy,
        )
        dal.record_delivery(
            webhook_id=subscriber.webhook_id,
            event_id=event.id,
            event_type=event.type,
            video_id=event.video_id,
            status=outcome.status,
            attempts=outcome.attempts,
            response_status=outcome.response_status,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            created_at=outcome.created_at,
        )
        logger.info(
            "webhook delivery",
            extra={
                "webhook_id": subscriber.webhook_id,
                "event_id": event.id,
                "status": outcome.status,
                "attempts": outcome.attempts,
                "response_status": outcome.response_status,
            },
        )
        return DeliveryResult(subscriber.webhook_id, outcome)

    # One slow subscriber must not hold up the others: deliver side by side. An error of ours in
    # any delivery surfaces here (``map`` re-raises) and fails the message.
    with ContextThreadPoolExecutor(max_workers=min(MAX_PARALLEL_DELIVERIES, len(targets))) as pool:
        return list(pool.map(one, targets))
