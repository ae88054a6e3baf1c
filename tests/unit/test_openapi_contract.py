"""The OpenAPI document is the API's contract: it must describe every route the functions serve.

Generic on purpose: routes are discovered from the Powertools resolvers of every function that
infra/spec ROUTES points at, so a new route is checked the moment it is registered. Each check
is parametrized per route, so a failure names the route.
"""

from __future__ import annotations

import base64
import importlib
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from openapi_spec_validator import validate  # comes with moto[server] (pinned)

from functions.api import handle_api
from functions.shared.errors import Conflict
from functions.shared.http import ErrorResponse, FieldError, build_resolver
from functions.shared.openapi import COMPONENT_PREFIX, ERROR_SCHEMA, complete_document
from infra import spec
from infra.local.http_front import match_route

DOCUMENT = handle_api.openapi_document()
# 2xx bodies without a named model, and why.
UNTYPED_SUCCESS_ALLOWED = {"GET /v1/openapi.json": "the body is an OpenAPI document (its schema is the OAS)"}
NO_BODY_STATUSES = {"204", "205", "304"}


@dataclass(frozen=True)
class HandlerRoute:
    function: str  # FunctionSpec.name
    method: str
    openapi_path: str  # /v1/videos/{video_id}
    has_body: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.openapi_path}"

    @property
    def sample_path(self) -> str:
        """A concrete request path, as a client would send it."""
        return re.sub(r"\{[^}]+\}", "p1", self.openapi_path)


def _handler_routes() -> list[HandlerRoute]:
    found: dict[str, HandlerRoute] = {}
    for name in sorted({r.function for r in spec.ROUTES}):
        module = importlib.import_module(spec.FUNCTIONS_BY_NAME[name].module)
        for app in {
            id(v): v for v in vars(module).values() if isinstance(v, APIGatewayHttpResolver)
        }.values():
            # Powertools keeps its route table private (the version is pinned exactly).
            for route in [*app._static_routes, *app._dynamic_routes]:
                if route.include_in_schema:
                    hr = HandlerRoute(
                        name, route.method.upper(), route.openapi_path, bool(route.dependant.body_params)
                    )
                    found[f"{name} {hr.key}"] = hr
    return list(found.values())


HANDLER_ROUTES = _handler_routes()
OPERATIONS = {
    f"{method.upper()} {path}": op for path, item in DOCUMENT["paths"].items() for method, op in item.items()
}
OPERATION_KEYS = sorted(OPERATIONS)


def _refs(node: Any) -> set[str]:
    return set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(node)))


def _is_public(operation: dict[str, Any]) -> bool:
    return operation.get("security") == []


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.1")


def test_every_reference_resolves() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for ref in _refs(DOCUMENT):
        assert ref.startswith(COMPONENT_PREFIX) and ref[len(COMPONENT_PREFIX) :] in schemas, ref


def test_routes_were_discovered() -> None:
    # Guards the discovery itself: an empty list would make every parametrized check vacuous.
    keys = {r.key for r in HANDLER_ROUTES}
    assert {"POST /v1/videos", "GET /v1/videos/{video_id}", "GET /health"} <= keys


@pytest.mark.parametrize("route", HANDLER_ROUTES, ids=lambda r: r.key)
def test_every_handler_route_is_in_the_document(route: HandlerRoute) -> None:
    assert route.key in OPERATIONS, f"{route.key} is served by {route.function} but missing from the document"


def test_the_document_describes_no_route_that_is_not_served() -> None:
    assert set(OPERATIONS) <= {r.key for r in HANDLER_ROUTES}


@pytest.mark.parametrize("key", OPERATION_KEYS)
def test_every_operation_has_a_success_response_with_a_model(key: str) -> None:
    responses = OPERATIONS[key]["responses"]
    success = {status: r for status, r in responses.items() if status.startswith("2")}
    assert success, f"{key}: no 2xx response"
    for status, response in success.items():
        if status in NO_BODY_STATUSES:
            assert "content" not in response, f"{key} {status}: a {status} has no body"
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        assert schema, f"{key} {status}: no application/json schema"
        if key in UNTYPED_SUCCESS_ALLOWED:
            continue
        assert _refs(schema), (
            f"{key} {status}: the body is described by no named model ({schema}); "
            "annotate the route with a pydantic model (return type or responses={...: {'model': ...}})"
        )


@pytest.mark.parametrize("key", OPERATION_KEYS)
def test_every_error_response_carries_the_error_model(key: str) -> None:
    responses = OPERATIONS[key]["responses"]
    errors = {status: r for status, r in responses.items() if status.startswith("4")}
    assert errors, f"{key}: no 4xx response documented"
    for status, response in errors.items():
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        assert COMPONENT_PREFIX + ERROR_SCHEMA in _refs(schema), f"{key} {status}: not the error model"


@pytest.mark.parametrize("key", OPERATION_KEYS)
def test_secured_operations_document_401_and_operations_with_input_document_422_400_415(key: str) -> None:
    operation = OPERATIONS[key]
    if not _is_public(operation):
        assert "401" in operation["responses"], key
    if "requestBody" in operation or operation.get("parameters"):
        assert "422" in operation["responses"], key
    if "requestBody" in operation:
        assert {"400", "415"} <= set(operation["responses"]), key  # a body that is not JSON


@pytest.mark.parametrize("route", HANDLER_ROUTES, ids=lambda r: r.key)
def test_every_request_body_is_a_model(route: HandlerRoute) -> None:
    operation = OPERATIONS.get(route.key)
    assert operation is not None, route.key
    assert ("requestBody" in operation) == route.has_body, route.key
    if route.has_body:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert _refs(schema), f"{route.key}: request body without a named model ({schema})"


def test_bearer_security_scheme_applies_to_all_but_the_public_operations() -> None:
    assert DOCUMENT["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": DOCUMENT["components"]["securitySchemes"]["bearerAuth"].get("description"),
    }
    assert DOCUMENT["security"] == [{"bearerAuth": []}]
    public = {key for key, op in OPERATIONS.items() if _is_public(op)}
    # The heartbeat is authenticated by the session's own token (a beacon cannot carry a JWT)
    assert public == {"GET /health", "GET /v1/openapi.json", "POST /v1/sessions/{session_id}/heartbeat"}
    for key, operation in OPERATIONS.items():
        if key not in public:
            assert operation.get("security", [{"bearerAuth": []}]) == [{"bearerAuth": []}], key


@pytest.mark.parametrize("route", HANDLER_ROUTES, ids=lambda r: r.key)
def test_every_handler_route_is_reached_through_a_declared_route(route: HandlerRoute) -> None:
    found = match_route(route.method, route.sample_path)
    assert found is not None, f"{route.key}: no route in infra/spec ROUTES matches it"
    declared = found[0].route
    assert declared.function == route.function, (
        f"{route.key}: API Gateway would send it to {declared.function}, but {route.function} serves it"
    )
    operation = OPERATIONS.get(route.key)
    if operation is not None:
        assert declared.auth == (not _is_public(operation)), (
            f"{route.key}: auth={declared.auth} in infra/spec, but the document says "
            f"{'public' if _is_public(operation) else 'bearer token'}"
        )


@pytest.mark.parametrize("declared", spec.ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_declared_route_leads_to_a_handler_route(declared: spec.RouteSpec) -> None:
    served = [
        r
        for r in HANDLER_ROUTES
        if r.function == declared.function
        and (found := match_route(r.method, r.sample_path)) is not None
        and found[0].route == declared
    ]
    assert served, f"{declared.method} {declared.path} ({declared.function}) reaches no handler route"


# The completion helper itself, on what Powertools produces for a route that declares its errors
# without content (it fills them with the success model).


def test_declared_errors_get_the_error_model_not_the_success_model() -> None:
    app = build_resolver(title="t")

    @app.post("/v1/things/<thing_id>", responses={200: {"description": "ok"}, 409: {"description": "Busy"}})
    def thing(thing_id: str) -> ErrorResponse:  # any model will do as the success body
        raise Conflict("busy")

    raw = app.get_openapi_schema(title="t").model_dump(mode="json", by_alias=True, exclude_none=True)
    raw_409 = raw["paths"]["/v1/things/{thing_id}"]["post"]["responses"]["409"]
    assert "ErrorResponse" in json.dumps(raw_409)  # Powertools: the success model (here ErrorResponse)
    doc = complete_document(raw, public_operations=())
    responses = doc["paths"]["/v1/things/{thing_id}"]["post"]["responses"]
    assert responses["409"] == {
        "description": "Busy",
        "content": {"application/json": {"schema": {"$ref": COMPONENT_PREFIX + ERROR_SCHEMA}}},
    }
    assert {"401", "403", "404", "422", "429"} <= set(responses)
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_public_operations_are_marked_with_empty_security() -> None:
    app = build_resolver(title="t")

    @app.get("/ping")
    def ping() -> ErrorResponse:
        raise Conflict("x")

    raw = app.get_openapi_schema(title="t").model_dump(mode="json", by_alias=True, exclude_none=True)
    doc = complete_document(raw, public_operations=("GET /ping",))
    operation = doc["paths"]["/ping"]["get"]
    assert operation["security"] == []
    assert "401" not in operation["responses"]
    assert "422" not in operation["responses"]  # no input, nothing to validate


def test_error_bodies_match_the_error_model() -> None:
    app = build_resolver(title="t")

    @app.get("/conflict")
    def conflict() -> dict[str, str]:
        raise Conflict("taken", details={"current_version": 3})

    @app.post("/echo")
    def echo(body: Annotated[FieldError, Body()]) -> FieldError:
        return body

    def call(
        path: str,
        method: str = "GET",
        body: str | None = None,
        content_type: str = "application/json",
        base64_encoded: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        event = {
            "version": "2.0",
            "routeKey": f"{method} {path}",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"content-type": content_type},
            "requestContext": {
                "http": {"method": method, "path": path, "sourceIp": "1.2.3.4"},
                "stage": "$default",
            },
            "isBase64Encoded": base64_encoded,
            **({"body": body} if body is not None else {}),
        }
        result = app.resolve(event, None)  # type: ignore[arg-type]
        return result["statusCode"], json.loads(result["body"])

    status, body = call("/conflict")
    assert status == 409
    assert body == {"error": {"code": "conflict", "message": "taken", "details": {"current_version": 3}}}
    ErrorResponse.model_validate(body)
    status, body = call("/nowhere")
    assert status == 404
    assert body["error"]["code"] == "route_not_found" and "details" not in body["error"]
    status, body = call("/echo", "POST", '{"field": 1}')
    assert status == 422
    assert body["error"]["code"] == "validation_failed"
    details = ErrorResponse.model_validate(body).error.details
    assert isinstance(details, list) and [d.field for d in details] == ["field", "message"]
    status, body = call("/echo", "POST", "{not json")
    assert (status, body["error"]["code"]) == (400, "invalid_json")
    status, body = call("/echo", "POST", base64.b64encode(b'{"field": "\xff"}').decode(), base64_encoded=True)
    assert (status, body["error"]["code"]) == (400, "invalid_json")  # not UTF-8: API Gateway sent base64
    # Only JSON bodies are read: Powertools would parse a form (and call the route), refuse them all.
    for content_type, raw in [
        ("text/plain", '{"field": "f", "message": "m"}'),
        ("application/x-www-form-urlencoded", "field=f&message=m"),
        ("multipart/form-data", "field=f"),  # no boundary: Powertools' parser raises ValueError
    ]:
        status, body = call("/echo", "POST", raw, content_type=content_type)
        assert (status, body["error"]["code"]) == (415, "unsupported_media_type"), content_type
        ErrorResponse.model_validate(body)
    assert (
        call("/echo", "POST", '{"field": "f", "message": "m"}', "application/json; charset=utf-8")[0] == 200
    )
