"""Webhooks against moto: the /v1/webhooks routes, and delivery to a real HTTP receiver on
127.0.0.1 (signed, retried with backoff, recorded, delivered once per event and webhook)."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from functions.shared.events import put_event
from functions.webhooks.logic import dispatch as dispatch_logic
from functions.webhooks.logic.signing import verify
from infra import spec
from infra.local.emulator import reset_function_caches
from infra.local.http_front import build_event, match_route
from infra.local.lambda_runtime import invoke
from tests.integration.conftest import Account, ApiCall, sqs_event
from tests.integration.webhook_network import (
    HOST,
    LOOPBACK,
    PUBLIC_A,
    FakeNetwork,
    client_trust,
    network,
    tls_receiver,
    webhook_ca,
)

__all__ = ["client_trust", "network", "webhook_ca"]  # fixtures used by name

pytestmark = pytest.mark.timeout(120)

DISPATCHER = spec.FUNCTIONS_BY_NAME["webhook-dispatcher"]
API = spec.FUNCTIONS_BY_NAME["videos-api"]
MAX_ATTEMPTS = 4
VIDEO_ID = "0123456789abcdef0123456789abcdef"


# --- a real subscriber ------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP endpoint that records every request and answers with scripted statuses
    (then 200), optionally after a delay."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    always: int | None = None
    delays: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> tuple[int, float]:
        with self.lock:
            status = self.script.pop(0) if self.script else (self.always or 200)
            delay = self.delays.pop(0) if self.delays else 0.0
        return status, delay

    def for_path(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


def _handler_class(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a stuck client cannot hold a server thread for ever

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            status, delay = receiver.answer()
            if delay:
                time.sleep(delay)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", receiver.url + "/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(rec))
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def local_delivery(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain-http receivers on 127.0.0.1 (the embedded mode's setting), fast backoff."""
    monkeypatch.setenv("WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("WEBHOOK_MAX_ATTEMPTS", str(MAX_ATTEMPTS))
    # Generous enough that a loaded CI machine never times out a healthy local receiver.
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "2")
    monkeypatch.setattr(dispatch_logic, "BACKOFF_FACTOR_S", 0.01)
    reset_function_caches()


@pytest.fixture
def public_delivery(account: Account, monkeypatch: pytest.MonkeyPatch, client_trust: Any) -> None:
    """The AWS setting (https only, public addresses only), trusting the test CA, fast backoff."""
    monkeypatch.setenv("WEBHOOK_ALLOW_HTTP", "false")
    monkeypatch.setenv("WEBHOOK_MAX_ATTEMPTS", str(MAX_ATTEMPTS))
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "2")
    monkeypatch.setattr(dispatch_logic, "BACKOFF_FACTOR_S", 0.01)
    monkeypatch.setattr(dispatch_logic, "TLS_CONTEXT", client_trust, raising=False)
    reset_function_caches()


# --- helpers ------------------------------------------------------------------------------------


def register(api: ApiCall, url: str, *, sub: str = "user-1", role: str = "uploader", **body: Any) -> dict:
    resp = api("POST", "/v1/webhooks", body={"url": url, **body}, sub=sub, role=role)
    assert resp.status == 201, resp.body
    return dict(resp.body)


def eventbridge_event(detail_type: str, detail: dict[str, Any], event_id: str | None = None) -> dict:
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "vod.videos",
        "account": "123456789012",
        "time": "2026-11-21T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def sqs_batch(*bodies: str) -> dict[str, Any]:
    return sqs_event(*bodies, queue="vod-webhooks")


def dispatch(*events: dict[str, Any]) -> dict[str, Any]:
    result, errored = invoke(DISPATCHER, sqs_batch(*(json.dumps(e) for e in events)))
    assert not errored, result
    return dict(result)


def ready(owner: str = "user-1", video_id: str = VIDEO_ID, event_id: str | None = None) -> dict:
    return eventbridge_event("video.ready", {"video_id": video_id, "owner": owner}, event_id)


def deliveries(api: ApiCall, webhook_id: str, *, sub: str = "user-1", role: str = "uploader") -> list[dict]:
    resp = api("GET", f"/v1/webhooks/{webhook_id}/deliveries", sub=sub, role=role)
    assert resp.status == 200, resp.body
    return list(resp.body["items"])


def get_with_query(account: Account, path: str, query: str, *, sub: str = "user-1") -> tuple[int, Any]:
    """The api fixture sends no query string; this one does."""
    found = match_route("GET", path)
    assert found is not None
    compiled, params = found
    claims = account.issuer.verify(account.issuer.issue(sub=sub, roles=["uploader"]))
    event = build_event(
        compiled=compiled,
        path_params=params,
        method="GET",
        raw_path=path,
        query=query,
        headers={"host": "api.example.test"},
        body=b"",
        source_ip="203.0.113.9",
        claims=claims,
    )
    result, errored = invoke(API, event)
    assert not errored, result
    return result["statusCode"], json.loads(result["body"])


# --- routes -------------------------------------------------------------------------------------


def test_registration_returns_the_secret_once_and_lists_without_it(api: ApiCall) -> None:
    # Given an uploader registering a public https endpoint
    resp = api("POST", "/v1/webhooks", body={"url": "https://hooks.example.com/vod"})

    # Then it is created with every event type, its own scope and a whsec_ secret
    assert resp.status == 201, resp.body
    created = resp.body
    assert len(created["id"]) == 32
    assert created["url"] == "https://hooks.example.com/vod"
    assert created["events"] == ["video.ready", "video.rejected", "video.failed", "video.deleted"]
    assert created["scope"] == "own"
    assert created["active"] is True
    assert created["secret"].startswith("whsec_")
    assert created["created_at"].endswith("Z")
    assert resp.headers["location"] == f"/v1/webhooks/{created['id']}"

    # When the owner lists and reads webhooks, Then the secret never appears again
    listed = api("GET", "/v1/webhooks")
    assert listed.status == 200
    assert [w["id"] for w in listed.body["items"]] == [created["id"]]
    assert "secret" not in listed.body["items"][0]
    one = api("GET", f"/v1/webhooks/{created['id']}")
    assert one.status == 200
    assert "secret" not in one.body
    assert one.body == {k: v for k, v in created.items() if k != "secret"}


def test_a_subset_of_events_is_kept_in_canonical_order_and_admins_get_every_video(api: ApiCall) -> None:
    created = register(
        api, "https://hooks.example.com/a", role="admin", events=["video.failed", "video.ready"]
    )
    assert created["events"] == ["video.ready", "video.failed"]
    assert created["scope"] == "all"


def test_listing_shows_only_the_callers_webhooks_newest_first(api: ApiCall) -> None:
    # Given two webhooks of user-1 and one of user-2
    first = register(api, "https://hooks.example.com/1")
    second = register(api, "https://hooks.example.com/2")
    register(api, "https://hooks.example.com/3", sub="user-2")

    # When user-1 lists, Then only theirs, newest first; an admin sees only their own list too
    assert [w["id"] for w in api("GET", "/v1/webhooks").body["items"]] == [second["id"], first["id"]]
    assert api("GET", "/v1/webhooks", sub="admin-1", role="admin").body["items"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "http://hooks.example.com/vod"}, "invalid_url"),
        ({"url": "https://169.254.169.254/latest/meta-data/"}, "invalid_url"),
        ({"url": "https://127.0.0.1:9001/"}, "invalid_url"),
        ({"url": "https://10.1.2.3/hook"}, "invalid_url"),
        ({"url": "https://localhost/hook"}, "invalid_url"),
        ({"url": "https://user:pw@hooks.example.com/"}, "invalid_url"),
        ({"url": "https://hooks.example.com/" + "x" * 2100}, "validation_failed"),
        ({"url": ""}, "validation_failed"),
        ({}, "validation_failed"),
        ({"url": "https://hooks.example.com/", "events": []}, "validation_failed"),
        ({"url": "https://hooks.example.com/", "events": ["video.vanished"]}, "validation_failed"),
        (
            {"url": "https://hooks.example.com/", "events": ["video.ready", "video.ready"]},
            "validation_failed",
        ),
        ({"url": "https://hooks.example.com/", "secret": "mine"}, "validation_failed"),
    ],
)
def test_invalid_registrations_are_422_and_write_nothing(
    api: ApiCall, account: Account, body: dict, code: str
) -> None:
    resp = api("POST", "/v1/webhooks", body=body)
    assert resp.status == 422, resp.body
    assert resp.body["error"]["code"] == code
    assert account.client("dynamodb").scan(TableName=account.resources.platform_table)["Count"] == 0


def test_plain_http_is_accepted_only_when_the_deployment_allows_it(
    api: ApiCall, local_delivery: None, receiver: Receiver
) -> None:
    assert register(api, receiver.url + "/hook")["url"] == receiver.url + "/hook"


def test_a_body_that_is_not_json_is_400(api: ApiCall) -> None:
    resp = api("POST", "/v1/webhooks", raw_body="{nope")
    assert resp.status == 400
    assert resp.body["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/webhooks"), ("GET", "/v1/webhooks")])
def test_viewers_may_not_use_webhooks_and_anonymous_calls_are_401(
    api: ApiCall, method: str, path: str
) -> None:
    body = {"url": "https://hooks.example.com/"} if method == "POST" else None
    viewer = api(method, path, body=body, role="viewer")
    assert viewer.status == 403
    assert viewer.body["error"]["code"] == "forbidden"
    assert api(method, path, body=body, role=None).status == 401


def test_the_number_of_webhooks_per_user_is_bounded(api: ApiCall) -> None:
    from functions.webhooks.logic.subscriptions import MAX_WEBHOOKS_PER_OWNER

    for n in range(MAX_WEBHOOKS_PER_OWNER):
        register(api, f"https://hooks.example.com/{n}")
    resp = api("POST", "/v1/webhooks", body={"url": "https://hooks.example.com/one-too-many"})
    assert resp.status == 409
    assert resp.body["error"]["code"] == "webhook_limit_reached"
    assert register(api, "https://hooks.example.com/other-user", sub="user-2")


def test_only_the_owner_or_an_admin_reads_or_deletes_a_webhook(api: ApiCall, account: Account) -> None:
    # Given user-1's webhook
    webhook_id = register(api, "https://hooks.example.com/vod")["id"]
    path = f"/v1/webhooks/{webhook_id}"

    # Then another uploader gets 403 everywhere, and nothing is deleted
    for method, sub_path in (("GET", ""), ("DELETE", ""), ("GET", "/deliveries")):
        resp = api(method, path + sub_path, sub="user-2")
        assert resp.status == 403, (method, sub_path, resp.body)
        assert resp.body["error"]["code"] == "forbidden"
    assert api("GET", path).status == 200

    # And an admin may read its deliveries and delete it
    assert api("GET", path + "/deliveries", sub="admin-1", role="admin").status == 200
    deleted = api("DELETE", path, sub="admin-1", role="admin")
    assert deleted.status == 204
    assert deleted.body is None

    # After which it is gone: 404 for everyone, no list entry, no item left in the table
    assert api("GET", path).status == 404
    assert api("DELETE", path).status == 404
    assert api("GET", "/v1/webhooks").body["items"] == []
    assert account.client("dynamodb").scan(TableName=account.resources.platform_table)["Count"] == 0


@pytest.mark.parametrize("webhook_id", ["0" * 32, "not-an-id", "A" * 32])
@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("DELETE", ""), ("GET", "/deliveries")])
def test_unknown_or_malformed_ids_are_404(api: ApiCall, webhook_id: str, method: str, suffix: str) -> None:
    resp = api(method, f"/v1/webhooks/{webhook_id}{suffix}")
    assert resp.status == 404
    assert resp.body["error"]["code"] == "not_found"


def test_deliveries_limit_is_validated_and_applied(
    api: ApiCall, account: Account, local_delivery: None, receiver: Receiver
) -> None:
    # Given a webhook with three deliveries
    webhook_id = register(api, receiver.url + "/hook")["id"]
    for n in range(3):
        dispatch(ready(video_id=f"{n:032x}"))
        time.sleep(0.002)  # distinct millisecond timestamps in the sort keys

    # When the owner asks for two, Then the two newest come back
    path = f"/v1/webhooks/{webhook_id}/deliveries"
    status, body = get_with_query(account, path, "limit=2")
    assert status == 200
    assert [d["video_id"] for d in body["items"]] == [f"{2:032x}", f"{1:032x}"]

    # And a limit out of range is 422
    for bad in ("limit=0", "limit=101", "limit=x"):
        status, body = get_with_query(account, path, bad)
        assert status == 422, bad
        assert body["error"]["code"] == "validation_failed"


def test_openapi_documents_the_webhook_routes(api: ApiCall) -> None:
    paths = api("GET", "/v1/openapi.json", role=None).body["paths"]
    assert {"post", "get"} <= set(paths["/v1/webhooks"])
    assert {"get", "delete"} <= set(paths["/v1/webhooks/{webhook_id}"])
    assert "get" in paths["/v1/webhooks/{webhook_id}/deliveries"]


# --- delivery -----------------------------------------------------------------------------------


def test_an_event_from_the_bus_is_delivered_signed_with_the_documented_scheme(
    api: ApiCall, account: Account, local_delivery: None, receiver: Receiver
) -> None:
    # Given a webhook and the bus rule delivering domain events to the webhooks queue (declared in
    # infra/spec; put_rule/put_targets are upserts, so this holds whether or not the fixture made it)
    created = register(api, receiver.url + "/hook")
    events, sqs = account.client("events"), account.client("sqs")
    rule = next(r for r in spec.BUS_RULES if r.name == "webhook-events")
    queue_url = sqs.get_queue_url(QueueName=f"vod-{rule.queue}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = account.resources.event_bus_name
    events.put_rule(Name=rule.name, EventBusName=bus, EventPattern=json.dumps(rule.pattern))
    events.put_targets(Rule=rule.name, EventBusName=bus, Targets=[{"Id": "webhooks", "Arn": queue_arn}])

    # When the pipeline publishes video.ready and the queue's message reaches the dispatcher
    put_event("video.ready", {"video_id": VIDEO_ID, "owner": "user-1", "duration_seconds": 2.0})
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert len(messages) == 1
    message = messages[0]
    batch = sqs_batch(message["Body"])
    result, errored = invoke(DISPATCHER, batch)

    # Then the batch succeeds and the receiver got one POST
    assert not errored, result
    assert result == {"batchItemFailures": []}
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    bus_event = json.loads(message["Body"])

    # whose signature verifies with the secret returned at registration, and fails when altered
    signature = request.headers["X-Signature"]
    assert verify(created["secret"], signature, request.body)
    assert not verify(created["secret"], signature, request.body.replace(b"user-1", b"user-2"))
    assert not verify(created["secret"], signature, request.body + b"\n")

    # with the documented headers and body
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Webhook-Id"] == created["id"]
    assert request.headers["X-Event-Id"] == bus_event["id"]
    payload = json.loads(request.body)
    assert payload == {
        "id": bus_event["id"],
        "type": "video.ready",
        "created_at": payload["created_at"],
        "data": {"video_id": VIDEO_ID, "owner": "user-1", "duration_seconds": 2.0},
    }
    assert payload["created_at"].endswith("Z")

    # And the delivery is recorded for inspection
    [record] = deliveries(api, created["id"])
    assert record["status"] == "delivered"
    assert record["attempts"] == 1
    assert record["response_status"] == 200
    assert record["event_id"] == bus_event["id"]
    assert record["event_type"] == "video.ready"
    assert record["video_id"] == VIDEO_ID
    assert record["error"] is None
    assert record["duration_ms"] >= 0


def test_a_subscriber_failing_twice_then_succeeding_is_delivered_on_the_third_attempt(
    api: ApiCall, local_delivery: None, receiver: Receiver
) -> None:
    # Given a receiver that answers 500 twice, then 200
    webhook_id = register(api, receiver.url + "/hook")["id"]
    receiver.script = [500, 503]

    # When an event is dispatched
    assert dispatch(ready()) == {"batchItemFailures": []}

    # Then it took three POSTs of the same signed request, and is recorded delivered after 3 attempts
    assert len(receiver.requests) == 3
    assert len({r.headers["X-Signature"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    [record] = deliveries(api, webhook_id)
    assert (record["status"], record["attempts"], record["response_status"]) == ("delivered", 3, 200)


def test_429_and_timeouts_are_retried_too(api: ApiCall, local_delivery: None, receiver: Receiver) -> None:
    # Given a receiver that first answers too slowly (past the 2 s timeout), then 429, then 200
    webhook_id = register(api, receiver.url + "/hook")["id"]
    receiver.script = [200, 429]
    receiver.delays = [4.0]

    dispatch(ready())

    [record] = deliveries(api, webhook_id)
    assert (record["status"], record["attempts"]) == ("delivered", 3)


def test_a_subscriber_that_always_fails_is_recorded_failed_after_max_attempts(
    api: ApiCall, local_delivery: None, receiver: Receiver
) -> None:
    # Given a receiver that always answers 500
    webhook_id = register(api, receiver.url + "/hook")["id"]
    receiver.always = 500

    # When an event is dispatched
    started = time.monotonic()
    result = dispatch(ready())

    # Then the message is not failed back to the queue (no endless redelivery),
    assert result == {"batchItemFailures": []}
    # every attempt was made, quickly with the test's backoff,
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert time.monotonic() - started < 10
    # and the failure is recorded with the last answer
    [record] = deliveries(api, webhook_id)
    assert record["status"] == "failed"
    assert record["attempts"] == MAX_ATTEMPTS
    assert record["response_status"] == 500
    assert record["error"] == "HTTP 500"


@pytest.mark.parametrize("status", [400, 410, 302])
def test_client_errors_and_redirects_fail_without_retry(
    api: ApiCall, local_delivery: None, receiver: Receiver, status: int
) -> None:
    webhook_id = register(api, receiver.url + "/hook")["id"]
    receiver.always = status

    dispatch(ready())

    # One request: a 4xx will not change by asking again, and redirects are not followed
    assert [r.path for r in receiver.requests] == ["/hook"]
    [record] = deliveries(api, webhook_id)
    assert (record["status"], record["attempts"], record["response_status"]) == ("failed", 1, status)


def test_an_unreachable_subscriber_is_recorded_failed_after_max_attempts(
    api: ApiCall, local_delivery: None
) -> None:
    # Given a webhook on a port nobody listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    webhook_id = register(api, f"http://127.0.0.1:{port}/hook")["id"]

    assert dispatch(ready()) == {"batchItemFailures": []}

    [record] = deliveries(api, webhook_id)
    assert record["status"] == "failed"
    assert record["attempts"] == MAX_ATTEMPTS
    assert record["response_status"] is None
    assert record["error"].startswith("NewConnectionError: "), record
    assert "Connection refused" in record["error"]


def test_a_name_that_rebinds_to_loopback_gets_one_delivery_to_its_public_address_and_no_more(
    api: ApiCall, public_delivery: None, network: FakeNetwork, webhook_ca: Any
) -> None:
    # Given an https webhook whose name answers a public address once, then 127.0.0.1, and a
    # subscriber (reached at the public address) that fails the first POST
    with tls_receiver(webhook_ca, HOST) as subscriber:
        subscriber.script = [500]
        network.answers = [[PUBLIC_A], [LOOPBACK]]
        network.routes[(PUBLIC_A, subscriber.port)] = (LOOPBACK, subscriber.port)
        webhook_id = register(api, f"https://{HOST}:{subscriber.port}/hook")["id"]

        # When an event is dispatched
        assert dispatch(ready()) == {"batchItemFailures": []}

    # Then the one POST went to the checked public address, by name (SNI and Host), the retry's
    # fresh lookup was refused, and nothing ever connected to loopback
    assert network.connected_to(subscriber.port) == [PUBLIC_A]
    [seen] = subscriber.requests
    assert (seen.sni, seen.host) == (HOST, f"{HOST}:{subscriber.port}")
    [record] = deliveries(api, webhook_id)
    assert (record["status"], record["attempts"], record["response_status"]) == ("failed", 1, 500)
    assert record["error"] == f"destination refused: {HOST} resolves to a non-public address"


def test_the_same_message_processed_twice_is_delivered_once(
    api: ApiCall, local_delivery: None, receiver: Receiver
) -> None:
    # Given two webhooks, and an event whose first delivery succeeded
    first = register(api, receiver.url + "/first")["id"]
    second = register(api, receiver.url + "/second")["id"]
    event = ready()
    assert dispatch(event) == {"batchItemFailures": []}

    # When SQS delivers the same message again (at least once)
    assert dispatch(event) == {"batchItemFailures": []}

    # Then each subscriber got exactly one POST, and one delivery record each
    assert len(receiver.for_path("/first")) == 1
    assert len(receiver.for_path("/second")) == 1
    assert len(deliveries(api, first)) == 1
    assert len(deliveries(api, second)) == 1


def test_a_failed_delivery_is_not_retried_by_a_redelivered_message(
    api: ApiCall, local_delivery: None, receiver: Receiver
) -> None:
    # Given a delivery that failed after every attempt
    webhook_id = register(api, receiver.url + "/hook")["id"]
    receiver.always = 500
    event = ready()
    dispatch(event)

    # When the message comes again, Then the recorded outcome stands and nothing is re-sent
    dispatch(event)
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert [d["status"] for d in deliveries(api, webhook_id)] == ["failed"]


def test_uploaders_hear_of_their_own_videos_and_admins_of_all(
    api: ApiCall, account: Account, local_delivery: None, receiver: Receiver
) -> None:
    # Given webhooks of two uploaders and an admin
    mine = register(api, receiver.url + "/user-1", sub="user-1")["id"]
    register(api, receiver.url + "/user-2", sub="user-2")
    admin = register(api, receiver.url + "/admin", sub="admin-1", role="admin")["id"]

    # When user-2's video becomes ready
    dispatch(ready(owner="user-2"))

    # Then user-2 and the admin hear of it, user-1 does not
    assert len(receiver.for_path("/user-2")) == 1
    assert len(receiver.for_path("/admin")) == 1
    assert receiver.for_path("/user-1") == []
    assert deliveries(api, mine) == []
    assert len(deliveries(api, admin, sub="admin-1", role="admin")) == 1


def test_the_owner_a_failed_video_event_carries_decides_whose_webhooks_hear_it(
    api: ApiCall, local_delivery: None, receiver: Receiver
) -> None:
    # Given webhooks of user-1 and user-2
    register(api, receiver.url + "/user-1", sub="user-1")
    register(api, receiver.url + "/user-2", sub="user-2")

    # When video.failed, which names its owner (the dispatcher reads no videos table), is dispatched
    failed = eventbridge_event(
        "video.failed", {"video_id": VIDEO_ID, "owner": "user-1", "reason": "transcode_failed"}
    )
    assert dispatch(failed) == {"batchItemFailures": []}

    # Then only the owner's webhook gets it
    assert [json.loads(r.body)["type"] for r in receiver.for_path("/user-1")] == ["video.failed"]
    assert receiver.for_path("/user-2") == []


def test_an_event_that_names_no_owner_reaches_only_admin_webhooks(
    api: ApiCall, local_delivery: None, receiver: Receiver
) -> None:
    register(api, receiver.url + "/user-1")
    register(api, receiver.url + "/admin", sub="admin-1", role="admin")

    dispatch(eventbridge_event("video.rejected", {"video_id": VIDEO_ID, "reason": "moderation"}))

    assert [r.path for r in receiver.requests] == ["/admin"]


def test_a_webhook_gets_only_the_event_types_it_chose(
    api: ApiCall, local_delivery: None, receiver: Receiver
) -> None:
    register(api, receiver.url + "/ready-only", events=["video.ready"])

    dispatch(eventbridge_event("video.rejected", {"video_id": VIDEO_ID, "owner": "user-1"}), ready())

    assert [json.loads(r.body)["type"] for r in receiver.requests] == ["video.ready"]


def test_a_deleted_webhook_gets_nothing(api: ApiCall, local_delivery: None, receiver: Receiver) -> None:
    webhook_id = register(api, receiver.url + "/hook")["id"]
    assert api("DELETE", f"/v1/webhooks/{webhook_id}").status == 204

    assert dispatch(ready()) == {"batchItemFailures": []}
    assert receiver.requests == []


def test_other_events_are_ignored(api: ApiCall, local_delivery: None, receiver: Receiver) -> None:
    register(api, receiver.url + "/hook")
    assert dispatch(eventbridge_event("video.processing", {"video_id": VIDEO_ID, "owner": "user-1"})) == {
        "batchItemFailures": []
    }
    assert receiver.requests == []


def test_an_unreadable_message_fails_alone(api: ApiCall, local_delivery: None, receiver: Receiver) -> None:
    # Given a batch with a message that is not an EventBridge event, and a good one
    register(api, receiver.url + "/hook")
    batch = sqs_batch("not json", json.dumps(ready()))

    # When it is processed
    result, errored = invoke(DISPATCHER, batch)

    # Then only the bad message goes back to the queue (and, in time, to its DLQ)
    assert not errored
    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    assert len(receiver.requests) == 1


def test_an_internal_error_fails_the_message_and_posts_nothing(
    api: ApiCall, account: Account, local_delivery: None, receiver: Receiver
) -> None:
    # Given a webhook, and the idempotency store gone (our side is broken, not the subscriber's)
    register(api, receiver.url + "/hook")
    account.client("dynamodb").delete_table(TableName=account.resources.idempotency_table)
    batch = sqs_batch(json.dumps(ready()))

    # When the event is dispatched
    result, errored = invoke(DISPATCHER, batch)

    # Then the message fails (every record of the batch failed, so Powertools fails the whole
    # invocation and SQS redelivers it) and no unguarded POST went out
    assert errored
    assert result["errorType"] == "BatchProcessingError"
    assert "Failed to save in progress record" in "".join(result["stackTrace"]) + result["errorMessage"]
    assert receiver.requests == []


def test_a_message_goes_back_to_the_queue_when_the_invocation_is_nearly_out_of_time(
    api: ApiCall, local_delivery: None, receiver: Receiver
) -> None:
    # Given a webhook, and an invocation with less time left than the slowest delivery could take
    from functions.webhooks.handlers.handle_dispatch import handler
    from infra.local.lambda_runtime import LocalContext

    register(api, receiver.url + "/hook")
    context = LocalContext(
        function_name=DISPATCHER.name, memory_limit_in_mb=512, timeout_s=5, invoked_function_arn="arn"
    )
    batch = sqs_batch(json.dumps(ready()), json.dumps(eventbridge_event("video.processing", {})))

    # When the batch is processed
    result = handler(batch, context)

    # Then the event with a subscriber is handed back untouched (nothing posted, nothing recorded)
    # rather than the function timing out halfway; the one with nothing to deliver completes
    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    assert receiver.requests == []

    # And the same message, redelivered to an invocation with time to spare, is delivered
    roomy = LocalContext(
        function_name=DISPATCHER.name, memory_limit_in_mb=512, timeout_s=120, invoked_function_arn="arn"
    )
    assert handler(sqs_batch(batch["Records"][0]["body"]), roomy) == {"batchItemFailures": []}
    assert len(receiver.requests) == 1


def test_a_takedown_reaches_the_owners_webhook_as_video_deleted(
    api: ApiCall, account: Account, local_delivery: None, receiver: Receiver
) -> None:
    # Given a webhook of a video's owner (every event type by default) and the video
    from tests.integration.test_profiles import put_video

    created = register(api, receiver.url + "/hook")
    assert "video.deleted" in created["events"]
    put_video(account, VIDEO_ID, owner="user-1", status="READY")
    sqs = account.client("sqs")
    queue_url = sqs.get_queue_url(QueueName="vod-webhooks")["QueueUrl"]

    # When an admin takes the video down and the webhooks queue's message reaches the dispatcher
    assert api("DELETE", f"/v1/videos/{VIDEO_ID}", sub="admin-1", role="admin").status == 200
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [json.loads(m["Body"])["detail-type"] for m in messages] == ["video.deleted"]
    result, errored = invoke(DISPATCHER, sqs_batch(messages[0]["Body"]))

    # Then the owner's subscriber hears video.deleted with the takedown's facts
    assert not errored and result == {"batchItemFailures": []}, result
    [request] = receiver.requests
    payload = json.loads(request.body)
    assert payload["type"] == "video.deleted"
    assert payload["data"]["video_id"] == VIDEO_ID
    assert payload["data"]["owner"] == "user-1"
    assert payload["data"]["deleted_by"] == "admin-1"
    assert payload["data"]["previous_status"] == "READY"
