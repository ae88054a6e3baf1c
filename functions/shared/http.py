"""The HTTP API resolver factory: one place maps domain errors to JSON error responses."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from functions.shared.errors import DomainError
from functions.shared.observability import logger


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def _validation_details(errors: Any) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        details.append({"field": ".".join(loc), "message": err.get("msg", "invalid")})
    return details


def build_resolver(*, title: str, version: str = "1.0.0") -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details or None)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        errors = exc.errors()
        # A body that is not JSON at all is a 400; a JSON body that breaks the schema is a 422.
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "invalid_json", "the request body is not valid JSON")
        return error_response(
            422, "validation_failed", "the request is not valid", _validation_details(errors)
        )

    @app.not_found
    def _not_found(exc: NotFoundError) -> Response:
        return error_response(404, "route_not_found", f"no route for {app.current_event.path}")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal error")

    app.__dict__["openapi_title"] = title
    app.__dict__["openapi_version"] = version
    return app
