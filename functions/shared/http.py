"""The HTTP API resolver factory: one place maps domain errors to JSON error responses."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import Field

from functions.shared.errors import DomainError
from functions.shared.observability import logger
from functions.shared.schema import ApiModel


class FieldError(ApiModel):
    field: str = Field(description="Dotted path of the offending field ('' for the body as a whole)")
    message: str


class ErrorDetail(ApiModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found, validation_failed")
    message: str = Field(description="Human-readable explanation")
    details: list[FieldError] | dict[str, Any] | None = Field(
        default=None,
        description="Per-field problems (validation_failed) or error-specific context; absent when empty",
    )


class ErrorResponse(ApiModel):
    """The body of every 4xx/5xx answer of the platform's API (the OpenAPI error model)."""

    error: ErrorDetail


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    error = ErrorDetail(code=code, message=message, **({"details": details} if details else {}))
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        # exclude_unset: no "details" key when there are none (not "details": null)
        body=ErrorResponse(error=error).model_dump_json(exclude_unset=True),
    )


def _validation_details(errors: Any) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        details.append({"field": ".".join(loc), "message": err.get("msg", "invalid")})
    return details


# Deeper than any body the API's models describe, and than DynamoDB stores (32 levels of nesting).
MAX_JSON_DEPTH = 64


def _depth_exceeds(document: Any, limit: int) -> bool:
    """Whether ``document`` nests containers more than ``limit`` deep (iterative: no recursion)."""
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_json_body(text: str) -> Any:
    """``json.loads`` for request bodies: every body it cannot turn into a document is a
    ``JSONDecodeError``, which Powertools' validation reports as ``json_invalid`` (our 400).

    json.loads itself raises RecursionError for a body nested ~1,000 deep and a plain ValueError
    for an integer of more than 4,300 digits (Python's int limit); both reached the catch-all 500.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError(f"nested more than {MAX_JSON_DEPTH} levels deep", text, 0) from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise json.JSONDecodeError(f"a number is too long ({exc})", text, 0) from None
    if _depth_exceeds(document, MAX_JSON_DEPTH):
        raise json.JSONDecodeError(f"nested more than {MAX_JSON_DEPTH} levels deep", text, 0)
    return document


# Route keys ("POST /v1/sessions/{session_id}/heartbeat") whose JSON body may come as text/plain:
# navigator.sendBeacon, a page's last word, cannot set a content type. Their routes read the body
# themselves; every other route still refuses text/plain (415).
_BEACON_ROUTE_KEYS: set[str] = set()


def accept_beacons(route_key: str) -> None:
    """Let ``route_key`` (API Gateway's ``METHOD /path/{param}``) take a JSON body sent as text/plain."""
    _BEACON_ROUTE_KEYS.add(route_key)


def build_resolver(*, title: str, version: str = "1.0.0") -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=parse_json_body)

    def _non_json_body() -> str | None:
        """The content type of a request body the API does not read (it speaks JSON only)."""
        event = app.current_event
        content_type = (event.headers.get("content-type") or "").strip()
        if event.body and content_type and not content_type.lower().startswith("application/json"):
            beacon = content_type.lower().startswith("text/plain")
            if beacon and event.raw_event.get("routeKey") in _BEACON_ROUTE_KEYS:
                return None
            return content_type
        return None

    def _body_not_utf8() -> bool:
        """API Gateway base64-encodes a body that is not UTF-8; Powertools' decoding of it fails."""
        event = app.current_event
        if not event.body or not event.is_base64_encoded:
            return False
        try:
            base64.b64decode(event.body).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError
            return True
        return False

    def _unsupported_media_type(content_type: str) -> Response:
        return error_response(
            415, "unsupported_media_type", f"send the body as application/json, not {content_type!r}"
        )

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        response = error_response(exc.status, exc.code, exc.message, exc.details or None)
        response.headers.update(exc.response_headers())  # e.g. Retry-After of a 429
        return response

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        content_type = _non_json_body()
        if content_type:  # validated as a form: the fields are not the point, the media type is
            return _unsupported_media_type(content_type)
        errors = exc.errors()
        # A body that is not JSON at all is a 400; a JSON body that breaks the schema is a 422.
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "invalid_json", "the request body is not valid JSON")
        return error_response(
            422, "validation_failed", "the request is not valid", _validation_details(errors)
        )

    # Powertools also parses form and multipart bodies: refuse them before any logic runs...
    def _json_bodies_only(app_: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        content_type = _non_json_body()
        return _unsupported_media_type(content_type) if content_type else next_middleware(app_)

    app.use(middlewares=[_json_bodies_only])

    # ... and when its parsing fails first (other media types).
    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(exc: RequestUnsupportedContentType) -> Response:
        return _unsupported_media_type(_non_json_body() or "")

    @app.not_found
    def _not_found(exc: NotFoundError) -> Response:
        return error_response(404, "route_not_found", f"no route for {app.current_event.path}")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        content_type = _non_json_body()
        if content_type:  # Powertools failed to parse a body we refuse anyway (multipart, no boundary)
            return _unsupported_media_type(content_type)
        if _body_not_utf8():
            return error_response(400, "invalid_json", "the request body is not valid JSON (not UTF-8)")
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal error")

    app.__dict__["openapi_title"] = title
    app.__dict__["openapi_version"] = version
    return app
