"""The local API Gateway: HTTP requests -> payload 2.0 events -> the route's function.

Routes come from ``infra.spec.ROUTES`` (the same table CDK builds the HTTP API from), matched
with API Gateway's rules: exact paths beat ``{param}`` segments, which beat ``{proxy+}``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt

from infra import spec
from infra.local import lambda_runtime
from infra.local.keys import LocalIssuer

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


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


class ApiFront:
    def __init__(self, issuer: LocalIssuer, host: str = "127.0.0.1", port: int = 0):
        self.issuer = issuer
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: Powertools logs instead
                return

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_BODY_BYTES:
                    status, headers, body = _json_error(413, "payload_too_large", "request body too large")
                else:
                    raw = self.rfile.read(length) if length else b""
                    status, headers, body = front.dispatch(
                        method=self.command,
                        target=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=raw,
                        source_ip=self.client_address[0],
                    )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def do_OPTIONS(self) -> None:  # CORS preflight, as the HTTP API's CORS config answers it
                self.send_response(204)
                self.send_header("access-control-allow-origin", "*")
                self.send_header("access-control-allow-methods", "GET,POST,PUT,PATCH,DELETE,OPTIONS")
                self.send_header(
                    "access-control-allow-headers", "authorization,content-type,if-match,x-profile-id"
                )
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="api-front", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def dispatch(
        self, *, method: str, target: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        found = match_route(method, parts.path)
        if found is None:
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
                return _json_error(401, "unauthorized", f"invalid token: {exc}")
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
