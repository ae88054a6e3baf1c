"""The local API Gateway: HTTP requests -> payload 2.0 events -> the route's function.

Routes come from ``infra.spec.ROUTES`` (the same table CDK builds the HTTP API from), matched
with API Gateway's rules: exact paths beat ``{param}`` segments, which beat ``{proxy+}``.

Every method is answered as an HTTP API answers it. A route key is a method and a path, and
``ANY`` matches every method the path does not declare: an ``ANY`` route receives HEAD, TRACE or
QUERY like GET, and HEAD on a GET-only route matches nothing (API Gateway has no implicit HEAD).
A request no route matches is a JSON 404 (on AWS the body is ``{"message":"Not Found"}``; here it
is the platform's error model, the same answer the API's own router gives). A CORS preflight
(OPTIONS with Origin and Access-Control-Request-Method) is answered by the front, as the HTTP
API's CORS configuration answers it; any other OPTIONS is routed like every method. HEAD answers
carry no body. http.server's own refusals (a malformed request line, headers too large) are JSON
too, and a front that fails answers a JSON 500 instead of dropping the connection.

Odd framing gets its 4xx at once, never a hang or a dropped connection: a Content-Length that is
not one decimal number (negative, non-numeric, or several that disagree) is a 400, one beyond the
payload limit (however many digits) a 413, and a body that does not arrive within the read
timeout a 408 (http.server itself closes a connection that stalls mid-headers). A token the
issuer refuses is a 401 saying "invalid token" whatever the reason; the reason is logged, as API
Gateway's authorizer keeps it out of the answer too.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt

from infra import spec
from infra.local import lambda_runtime
from infra.local.http_server import (
    READ_TIMEOUT_S,
    BadFraming,
    BodyTooLarge,
    LocalHTTPServer,
    read_body,
    write_body,
)
from infra.local.keys import LocalIssuer

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
CORS_ALLOW_METHODS = "GET,POST,PUT,PATCH,DELETE,OPTIONS"
CORS_ALLOW_HEADERS = "authorization,content-type,if-match,x-profile-id"
# Headers the front frames itself: a function's own values would contradict the body sent.
_FRAMING_HEADERS = ("content-length", "transfer-encoding", "connection")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompiledRoute:
    route: spec.RouteSpec
    pattern: re.Pattern[str]
    specificity: tuple[int, int]
    param_names: tuple[str, ...]

    @property
    def route_key(self) -> str:
        return f"{self.route.method} {self.route.path}"


def compile_route(route: spec.RouteSpec) -> CompiledRoute:
    regex, names = "", []
    literal_segments = 0
    greedy = 0
    for segment in route.path.strip("/").split("/"):
        if segment.endswith("+}"):
            names.append(segment[1:-2])
            regex += f"/(?P<{segment[1:-2]}>.+)"
            greedy = 1
        elif segment.startswith("{"):
            names.append(segment[1:-1])
            regex += f"/(?P<{segment[1:-1]}>[^/]+)"
        else:
            regex += "/" + re.escape(segment)
            literal_segments += 1
    return CompiledRoute(route, re.compile(f"^{regex}$"), (-greedy, literal_segments), tuple(names))


ROUTE_TABLE = sorted((compile_route(r) for r in spec.ROUTES), key=lambda c: c.specificity, reverse=True)


def match_route(method: str, path: str) -> tuple[CompiledRoute, dict[str, str]] | None:
    for compiled in ROUTE_TABLE:
        if compiled.route.method not in ("ANY", method):
            continue
        found = compiled.pattern.match(path)
        if found:
            return compiled, found.groupdict()
    return None


def build_event(
    *,
    compiled: CompiledRoute,
    path_params: dict[str, str],
    method: str,
    raw_path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    source_ip: str,
    claims: dict[str, Any] | None,
) -> dict[str, Any]:
    now = time.time()
    is_text = True
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        is_text = False
        text = base64.b64encode(body).decode()
    query_params: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        query_params[k] = f"{query_params[k]},{v}" if k in query_params else v
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": compiled.route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": compiled.route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if query_params:
        event["queryStringParameters"] = query_params
    if path_params:
        event["pathParameters"] = path_params
    if body:
        event["body"] = text
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": _flatten_claims(claims), "scopes": None}}
    return event


def _flatten_claims(claims: dict[str, Any]) -> dict[str, str]:
    """API Gateway hands claims to the function as strings; lists become ``[a b]``."""
    flat = {}
    for key, value in claims.items():
        if isinstance(value, list):
            flat[key] = "[" + " ".join(str(v) for v in value) + "]"
        else:
            flat[key] = str(value)
    return flat


def _json_error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return status, {"content-type": "application/json"}, body


def is_preflight(method: str, headers: dict[str, str]) -> bool:
    """A CORS preflight, which the HTTP API's CORS configuration answers before any route."""
    return method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


def _preflight() -> tuple[int, dict[str, str], bytes]:
    return (
        204,
        {
            "access-control-allow-origin": "*",
            "access-control-allow-methods": CORS_ALLOW_METHODS,
            "access-control-allow-headers": CORS_ALLOW_HEADERS,
        },
        b"",
    )


class ApiFront:
    def __init__(
        self,
        issuer: LocalIssuer,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        read_timeout_s: float = READ_TIMEOUT_S,
    ):
        self.issuer = issuer
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = read_timeout_s  # a stalled client loses its connection, not a thread forever

            def log_message(self, format: str, *args: Any) -> None:  # quiet: Powertools logs instead
                return

            def __getattr__(self, name: str) -> Any:
                # http.server looks up do_<METHOD> and answers 501 in HTML when it is missing; an
                # HTTP API routes every method (ANY routes receive it, other requests are a 404).
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def _serve(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    status, out_headers, body = front.answer(
                        method=self.command,
                        target=self.path,
                        headers=headers,
                        body=read_body(
                            headers,
                            self.rfile,
                            MAX_BODY_BYTES,
                            content_lengths=self.headers.get_all("content-length"),
                        ),
                        source_ip=self.client_address[0],
                    )
                except TimeoutError:  # the body never came: API Gateway answers 408 too
                    self.close_connection = True
                    status, out_headers, body = _json_error(
                        408, "request_timeout", "the request body did not arrive in time"
                    )
                except BodyTooLarge:
                    self.close_connection = True  # the unread body is still on the connection
                    status, out_headers, body = _json_error(
                        413, "payload_too_large", "request body too large"
                    )
                except BadFraming as exc:
                    self.close_connection = True
                    status, out_headers, body = _json_error(400, "bad_request", str(exc))
                except Exception:  # the front itself failed: a JSON 500, not a dropped connection
                    self.close_connection = True
                    status, out_headers, body = _json_error(500, "internal_error", "the front failed")
                self._write(status, out_headers, body)

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                # http.server's own refusals (malformed request line, too many headers...): JSON,
                # with a status line even when the request line was too broken to name a version.
                self.close_connection = True
                if self.request_version == "HTTP/0.9":
                    self.request_version = "HTTP/1.1"
                try:
                    phrase = HTTPStatus(code).phrase
                except ValueError:
                    phrase = "Error"
                code_name = phrase.lower().replace(" ", "_").replace("-", "_")
                self._write(*_json_error(code, code_name, message or phrase))

            def _write(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    if k not in _FRAMING_HEADERS:
                        self.send_header(k, v)
                bodiless = status in (204, 304) or status < 200
                if not bodiless:  # HEAD: the length the body would have, no body (RFC 9110 9.3.2)
                    self.send_header("content-length", str(len(body)))
                if self.close_connection:
                    self.send_header("connection", "close")
                self.end_headers()
                if not bodiless and self.command != "HEAD":
                    write_body(self.wfile, body)

        self.server = LocalHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="api-front", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(
        self, *, method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        """What the HTTP API answers: a CORS preflight itself, everything else by its route."""
        if is_preflight(method, headers):
            return _preflight()
        status, out, data = self.dispatch(
            method=method, target=target, headers=headers, body=body, source_ip=source_ip
        )
        if "origin" in headers:
            # An HTTP API with a CORS configuration adds the allowed origin to every answer to a
            # request that names its Origin (a page reads a heartbeat's answer, or a listing).
            out = {**out, "access-control-allow-origin": "*"}
        return status, out, data

    def dispatch(
        self, *, method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        found = match_route(method, parts.path)
        if found is None:  # AWS: 404 {"message":"Not Found"}; here the platform's error model
            return _json_error(404, "route_not_found", f"no route for {method} {parts.path}")
        compiled, path_params = found
        claims = None
        if compiled.route.auth:
            auth = headers.get("authorization", "")
            if not auth.lower().startswith("bearer "):
                return _json_error(401, "unauthorized", "a bearer token is required")
            try:
                claims = self.issuer.verify(auth.split(" ", 1)[1].strip())
            except jwt.PyJWTError as exc:
                # Why (expired, signature, audience...) is for the log: the caller learns nothing
                # about what the issuer checks, as with API Gateway's JWT authorizer.
                log.warning("token refused: %s: %s", type(exc).__name__, exc)
                return _json_error(401, "unauthorized", "invalid token")
        event = build_event(
            compiled=compiled,
            path_params=path_params,
            method=method,
            raw_path=parts.path,
            query=parts.query,
            headers=headers,
            body=body,
            source_ip=source_ip,
            claims=claims,
        )
        fn = spec.FUNCTIONS_BY_NAME[compiled.route.function]
        result, errored = lambda_runtime.invoke(fn, event)
        if errored or not isinstance(result, dict):
            return _json_error(500, "internal_error", "the function failed")
        return _to_http(result)


def _to_http(result: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    status = int(result.get("statusCode", 200))
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for k, values in (result.get("multiValueHeaders") or {}).items():
        headers[k.lower()] = ",".join(str(v) for v in values)
    raw_body = result.get("body") or ""
    body = base64.b64decode(raw_body) if result.get("isBase64Encoded") else str(raw_body).encode()
    headers.setdefault("content-type", "application/json")
    headers["access-control-allow-origin"] = "*"
    return status, headers, body
