"""Completes the OpenAPI document Powertools generates, so that route authors declare only what is
particular to their route.

Powertools fills an error response declared without content with the route's *success* model and
adds a 422 with its own ``HTTPValidationError``; neither is what the API sends. Here every 4xx
response gets the one error model (``ErrorResponse``, the body ``functions.shared.http`` builds),
every operation gets the error responses any route can give (401/403 behind the authorizer, 400/415
for a body that is not JSON, 404 where the path names a resource, 422, 429), and public operations are
marked with an empty ``security``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, Field

from functions.shared.http import ErrorResponse
from functions.shared.schema import ApiModel

COMPONENT_PREFIX = "#/components/schemas/"
ERROR_SCHEMA = "ErrorResponse"
GATEWAY_ERROR_SCHEMA = "GatewayError"
JSON = "application/json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class GatewayError(ApiModel):
    """What API Gateway itself answers when it refuses a request (JWT authorizer, throttling)."""

    message: str = Field(description="e.g. 'Unauthorized', 'Too Many Requests'")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": COMPONENT_PREFIX + name}


# Responses by status: (description, schema). 401 and 429 come from API Gateway on AWS (its own
# {"message"} body) and from our code or the local front elsewhere (the error model).
_ERROR = _ref(ERROR_SCHEMA)
_ERROR_OR_GATEWAY = {"anyOf": [_ref(ERROR_SCHEMA), _ref(GATEWAY_ERROR_SCHEMA)]}
_SECURED_ERRORS = {
    "401": ("Missing, expired or invalid bearer token", _ERROR_OR_GATEWAY),
    "403": ("The caller's role or ownership does not allow this", _ERROR),
}
_BODY_ERRORS = {
    "400": ("The request body is not valid JSON", _ERROR),
    "415": ("The request body is not application/json", _ERROR),
}
_PATH_ERRORS = {"404": ("No such resource", _ERROR)}
_ALWAYS_ERRORS = {
    "422": ("The request is not valid (error.details lists the fields)", _ERROR),
    "429": ("Throttled: too many requests on this route", _ERROR_OR_GATEWAY),
}
_POWERTOOLS_COMPONENTS = ("HTTPValidationError", "ResponseValidationError", "ValidationError")


def _model_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=COMPONENT_PREFIX + "{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _operation_key(method: str, path: str) -> str:
    return f"{method.upper()} {path}"


def complete_document(document: dict[str, Any], *, public_operations: Collection[str]) -> dict[str, Any]:
    """A copy of ``document`` (a dumped OpenAPI 3.1 dict) with the error model and the default error
    responses on every operation, and ``security: []`` on ``public_operations`` ("GET /health")."""
    doc = copy.deepcopy(document)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_model_schemas(ErrorResponse, GatewayError))
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            public = _operation_key(method, path) in public_operations
            if public:
                operation["security"] = []
            responses = operation.setdefault("responses", {})
            defaults = dict(_ALWAYS_ERRORS)
            if not public:
                defaults.update(_SECURED_ERRORS)
            if "requestBody" in operation:
                defaults.update(_BODY_ERRORS)
            if any(p.get("in") == "path" for p in operation.get("parameters", ())):
                defaults.update(_PATH_ERRORS)
            if "parameters" not in operation and "requestBody" not in operation:
                # Nothing to validate: Powertools adds its 422 to every operation all the same.
                if responses.get("422", {}).get("description") == "Validation Error":
                    del responses["422"]
                defaults.pop("422")
            for status, (description, _) in defaults.items():
                responses.setdefault(status, {"description": description})
            if "204" in responses:
                responses["204"].pop("content", None)  # no body, whatever the return annotation says
            for status, response in responses.items():
                if not str(status).startswith("4"):
                    continue
                if response.get("description") == "Validation Error":  # Powertools' default 422
                    response["description"] = _ALWAYS_ERRORS["422"][0]
                schema = defaults.get(str(status), ("", _ERROR))[1]
                response["content"] = {JSON: {"schema": copy.deepcopy(schema)}}
    for name in _POWERTOOLS_COMPONENTS:  # in order: the first two refer to the third
        if f'"{COMPONENT_PREFIX}{name}"' not in json.dumps(doc):
            schemas.pop(name, None)
    return doc
