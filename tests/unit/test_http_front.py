"""The local HTTP front answers every method as API Gateway's HTTP API does, over a real socket.

A route key is a method and a path; ``ANY`` matches every method the path does not declare, and
HEAD gets no implicit GET route. So: an ANY route receives every method (HEAD, TRACE and unknown
ones included) with the method unchanged; a GET route answers GET and is a JSON 404 otherwise; a
path no route matches is a JSON 404 whatever the method. Never http.server's HTML 501, never a
5xx the front made up, and a HEAD answer has no body.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from infra import spec
from infra.local import http_front
from infra.local.http_front import ApiFront
from infra.local.keys import LocalIssuer
from tests.unit.raw_http import answers, connect_all, exchange, read_all

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY", "PROPFIND")
ANY_ROUTE = "/v1/videos/0123/renditions"  # ANY /v1/videos/{proxy+}
GET_ROUTE = "/health"  # GET /health, public
UNMATCHED = "/v2/nothing/here"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalIssuer:
    return LocalIssuer(tmp_path_factory.mktemp("issuer"))


@pytest.fixture(scope="module")
def token(issuer: LocalIssuer) -> str:
    return issuer.issue(sub="front-test", roles=["admin"])


@pytest.fixture(scope="module")
def front(issuer: LocalIssuer) -> Iterator[ApiFront]:
    api = ApiFront(issuer)
    api.start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every function answers with the method and route key it received (no AWS behind it)."""
    events: list[dict[str, Any]] = []

    def invoke(fn: spec.FunctionSpec, event: Any, *, arn: str = "") -> tuple[Any, bool]:
        events.append(event)
        body = {"method": event["requestContext"]["http"]["method"], "routeKey": event["routeKey"]}
        if "body" in event:
            body["body"] = event["body"]
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json.dumps(body),
        }, False

    monkeypatch.setattr(http_front.lambda_runtime, "invoke", invoke)
    return events


def request(
    front: ApiFront, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    port = int(front.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def assert_api_gateway_like(method: str, status: int, headers: http.client.HTTPMessage, body: bytes) -> Any:
    assert status < 500, (method, status, body)
    assert headers.get_content_type() == "application/json", (method, status, headers)
    if method == "HEAD":
        assert body == b""
        return None
    return json.loads(body)


@pytest.mark.parametrize("method", METHODS)
def test_an_any_route_receives_every_method_unchanged(
    front: ApiFront, token: str, echo: list[dict[str, Any]], method: str
) -> None:
    status, headers, body = request(front, method, ANY_ROUTE, {"Authorization": f"Bearer {token}"})
    answer = assert_api_gateway_like(method, status, headers, body)
    assert status == 200
    assert [e["requestContext"]["http"]["method"] for e in echo] == [method]
    assert echo[0]["routeKey"] == "ANY /v1/videos/{proxy+}"
    if answer is not None:
        assert answer == {"method": method, "routeKey": "ANY /v1/videos/{proxy+}"}


@pytest.mark.parametrize("method", METHODS)
def test_an_any_route_checks_the_token_for_every_method(
    front: ApiFront, echo: list[dict[str, Any]], method: str
) -> None:
    status, headers, body = request(front, method, ANY_ROUTE)
    answer = assert_api_gateway_like(method, status, headers, body)
    assert status == 401 and echo == []
    if answer is not None:
        assert answer["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("method", METHODS)
def test_a_get_route_answers_get_and_is_a_json_404_for_every_other_method(
    front: ApiFront, echo: list[dict[str, Any]], method: str
) -> None:
    status, headers, body = request(front, method, GET_ROUTE)
    answer = assert_api_gateway_like(method, status, headers, body)
    if method == "GET":
        assert status == 200 and answer == {"method": "GET", "routeKey": "GET /health"}
    else:  # HEAD included: an HTTP API has no implicit HEAD route for a GET route
        assert status == 404 and echo == []
        if answer is not None:
            assert answer["error"]["code"] == "route_not_found"


@pytest.mark.parametrize("method", METHODS)
def test_a_path_no_route_matches_is_a_json_404_for_every_method(
    front: ApiFront, token: str, echo: list[dict[str, Any]], method: str
) -> None:
    status, headers, body = request(front, method, UNMATCHED, {"Authorization": f"Bearer {token}"})
    answer = assert_api_gateway_like(method, status, headers, body)
    assert status == 404 and echo == []
    if answer is not None:
        assert answer == {
            "error": {"code": "route_not_found", "message": f"no route for {method} {UNMATCHED}"}
        }


@pytest.mark.parametrize("method", METHODS)
def test_the_real_api_function_answers_every_method_on_its_public_routes(
    front: ApiFront, method: str
) -> None:
    for path in (GET_ROUTE, "/v1/openapi.json"):
        status, headers, body = request(front, method, path)
        answer = assert_api_gateway_like(method, status, headers, body)
        if method == "GET":
            assert status == 200
            if path == GET_ROUTE:
                assert answer == {"status": "ok"}
            else:
                assert "openapi" in answer
        else:
            assert status == 404


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "QUERY", "PROPFIND"])
def test_the_real_api_function_answers_methods_it_does_not_route_with_a_json_404(
    front: ApiFront, token: str, method: str
) -> None:
    with mock_aws():  # the function routes nothing for these methods; nothing may leave the process
        status, headers, body = request(front, method, ANY_ROUTE, {"Authorization": f"Bearer {token}"})
    answer = assert_api_gateway_like(method, status, headers, body)
    assert status == 404
    if answer is not None:
        assert answer["error"]["code"] == "route_not_found"


def test_a_cors_preflight_is_answered_by_the_front(front: ApiFront, echo: list[dict[str, Any]]) -> None:
    status, headers, body = request(
        front,
        "OPTIONS",
        UNMATCHED,
        {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert (status, body, echo) == (204, b"", [])
    assert headers["access-control-allow-origin"] == "*"
    assert "POST" in headers["access-control-allow-methods"]


def test_a_chunked_body_reaches_the_function(front: ApiFront, token: str, echo: list[dict[str, Any]]) -> None:
    port = int(front.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            ANY_ROUTE,
            body=iter([b'{"title": ', b'"chunked"}']),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = conn.getresponse()
        answer = json.loads(response.read())
        # the connection stays usable: the whole chunked body was consumed
        conn.request("GET", GET_ROUTE)
        second = conn.getresponse()
        second.read()
    finally:
        conn.close()
    assert response.status == 200 and answer["body"] == '{"title": "chunked"}'
    assert second.status == 200


def raw_exchange(front: ApiFront, data: bytes) -> tuple[int, dict[str, str], bytes]:
    return exchange(front.url, data)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET /health HTTP/1.1\r\nContent-Length: ten\r\n\r\n", 400),
        (b"POST /v1/videos HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413),
        (b"NOT A REQUEST LINE AT ALL\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ],
)
def test_requests_the_front_cannot_read_get_a_json_4xx(
    front: ApiFront, echo: list[dict[str, Any]], data: bytes, status: int
) -> None:
    got, headers, body = raw_exchange(front, data)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert json.loads(body)["error"]["message"]
    assert echo == []


def test_a_failing_front_answers_a_json_500_instead_of_dropping_the_connection(
    front: ApiFront, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(fn: spec.FunctionSpec, event: Any, *, arn: str = "") -> tuple[Any, bool]:
        return {"statusCode": "not a number"}, False

    monkeypatch.setattr(http_front.lambda_runtime, "invoke", broken)
    status, headers, body = request(front, "GET", GET_ROUTE)
    assert status == 500
    assert headers.get_content_type() == "application/json"
    assert json.loads(body)["error"]["code"] == "internal_error"


# Issue 12, point 7: odd requests get a clear 4xx at once, over a real socket.
DEEP_JSON = b"[" * 5000 + b"]" * 5000
HUGE_NUMBER_JSON = b'{"title": "t", "size_bytes": ' + b"9" * 5000 + b"}"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET /health HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
        (b"POST /v1/videos HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
        (b"POST /v1/videos HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", 413),
    ],
    ids=["negative", "not-a-number", "conflicting", "5000-digit"],
)
def test_odd_content_lengths_get_their_4xx_at_once(
    front: ApiFront, echo: list[dict[str, Any]], data: bytes, status: int
) -> None:
    got, headers, body = raw_exchange(front, data)
    assert (got, headers["content-type"], headers["connection"]) == (status, "application/json", "close")
    assert json.loads(body)["error"]["message"]
    assert echo == []


@pytest.mark.parametrize("body", [DEEP_JSON, HUGE_NUMBER_JSON], ids=["5000-deep", "5000-digit"])
def test_json_the_api_cannot_parse_is_a_400_from_the_real_function(
    front: ApiFront, token: str, body: bytes
) -> None:
    # Given the real API function (nothing may leave the process: it must refuse before any logic)
    with mock_aws():
        status, _, answer = request(
            front,
            "POST",
            "/v1/videos",
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            body,
        )
    # Then the platform's invalid-JSON answer, never a 500
    assert status == 400, answer[:300]
    assert json.loads(answer)["error"]["code"] == "invalid_json"


def test_two_hundred_clients_at_once_are_all_answered(issuer: LocalIssuer) -> None:
    # Given a front whose accept loop is not running yet (as when a burst finds it busy)
    api = ApiFront(issuer)
    socks: list[socket.socket] = []
    try:
        # When 200 clients connect at once: the kernel queues every one (the listen backlog)
        socks, not_accepted = connect_all(api.url, 200, within_s=1.0)
        assert not_accepted == 0, f"{not_accepted} of 200 connections were not accepted"

        # Then, once the loop runs, every one of them is answered
        api.start()
        assert answers(socks, UNMATCHED) == [404] * 200
    finally:
        for sock in socks:
            sock.close()
        if api._thread.is_alive():
            api.stop()
        else:  # never started: shutdown() would wait for a loop that never ran
            api.server.server_close()


def test_a_stalled_client_is_cut_off_after_the_read_timeout_without_blocking_others(
    issuer: LocalIssuer,
) -> None:
    api = ApiFront(issuer, read_timeout_s=0.5)
    api.start()
    port = int(api.url.rsplit(":", 1)[1])
    try:
        # Given one client that sent its headers and part of a body, and one stalled mid-headers
        body_staller = socket.create_connection(("127.0.0.1", port), timeout=10)
        body_staller.sendall(b"POST /v2/nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        header_staller = socket.create_connection(("127.0.0.1", port), timeout=10)
        header_staller.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Half")
        started = time.monotonic()

        # When another client asks meanwhile, it is answered at once
        status, _, _ = request(api, "GET", UNMATCHED)
        assert status == 404 and time.monotonic() - started < 0.5

        # Then the stalled body gets a 408 and the stalled headers a closed connection, after the timeout
        answer = read_all(body_staller)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert b"connection: close" in answer.lower()
        assert header_staller.recv(65536) == b""
        assert 0.4 < time.monotonic() - started < 5
    finally:
        body_staller.close()
        header_staller.close()
        api.stop()


def test_a_refused_token_says_invalid_token_whatever_the_reason_and_logs_it(
    front: ApiFront, issuer: LocalIssuer, tmp_path: Any, echo: list[dict[str, Any]], caplog: Any
) -> None:
    import jwt

    from infra.local import keys

    expired = issuer.issue(sub="u", roles=["admin"], ttl=-60)
    bad_signature = LocalIssuer(tmp_path).issue(sub="u", roles=["admin"])
    claims = jwt.decode(issuer.issue(sub="u", roles=["admin"]), options={"verify_signature": False})
    wrong_audience = jwt.encode({**claims, "aud": "someone-else"}, issuer._key, algorithm="RS256")
    bodies = []
    with caplog.at_level("WARNING", logger=http_front.__name__):
        for token in (expired, bad_signature, wrong_audience):
            status, _, body = request(front, "GET", ANY_ROUTE, {"Authorization": f"Bearer {token}"})
            assert status == 401
            bodies.append(json.loads(body))
    assert bodies == [{"error": {"code": "unauthorized", "message": "invalid token"}}] * 3
    assert echo == []
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "expired" in logged.lower() and "Signature" in logged and "audience" in logged.lower()
    assert keys.AUDIENCE not in json.dumps(bodies)
