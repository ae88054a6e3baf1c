"""Fuzz the API with schemathesis: cases generated from the OpenAPI document, sent as an admin to
the embedded stack's HTTP front (the same route table, authorizer and functions as in the cloud).

Every operation in the document is a test of its own. Each case must get no 5xx, a status code the
document lists for the operation, the documented content type, and a body that validates against
the documented schema. The number of examples per operation is bounded so the whole fuzz stays
within a couple of minutes on two cores (FUZZ_MAX_EXAMPLES raises it for a longer local run).
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from functions.api.handle_api import openapi_document
from infra.local.emulator import EmbeddedStack

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Every method schemathesis can send where an operation does not declare it. It refuses HEAD here
# (a HEAD answer has no body to validate): test_head_on_every_documented_path covers HEAD.
UNEXPECTED_METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE", "QUERY"]

schema = schemathesis.openapi.from_dict(
    openapi_document(),
    config=schemathesis.Config.from_dict(
        {
            "seed": 20240611,  # reproducible in CI; FUZZ_MAX_EXAMPLES widens the search
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none", "no-shrink": True},
            # Generation slows down on a loaded machine: not a finding about the API.
            "suppress-health-check": ["too_slow", "filter_too_much"],
            "phases": {
                "stateful": {"enabled": False},
                # Methods an operation does not declare: API Gateway forwards them to the function
                # (ANY routes) or answers a JSON 404, and so does the local front, TRACE and QUERY
                # included.
                "coverage": {"unexpected-methods": UNEXPECTED_METHODS},
            },
        }
    ),
)


@pytest.fixture(scope="module")
def admin_headers(stack: EmbeddedStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.issuer.issue(sub='fuzz-admin', roles=['admin'])}"}


@pytest.fixture(scope="module")
def api_url(stack: EmbeddedStack) -> str:
    assert stack.api is not None
    return stack.api.url


def test_the_fuzz_is_authenticated_as_an_admin(api_url: str, admin_headers: dict[str, str]) -> None:
    # Otherwise every case would be a documented, well-formed 401: a fuzz that proves nothing.
    queue = requests.get(f"{api_url}/v1/moderation/queue", headers=admin_headers, timeout=30)
    assert queue.status_code == 200, queue.text


def test_the_embedded_api_serves_the_document_that_is_fuzzed(api_url: str) -> None:
    served = requests.get(f"{api_url}/v1/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == openapi_document()


@schema.parametrize()
def test_api_fuzz(case: Any, api_url: str, admin_headers: dict[str, str]) -> None:
    case.call_and_validate(base_url=api_url, headers=admin_headers, checks=CHECKS, timeout=30)


@pytest.mark.parametrize("path", sorted(openapi_document()["paths"]))
def test_head_on_every_documented_path(path: str, api_url: str, admin_headers: dict[str, str]) -> None:
    """HEAD, which schemathesis will not send: what API Gateway gives (the function's answer on an
    ANY route, a 404 on a GET-only one), never a 5xx, JSON headers and no body."""
    concrete = re.sub(r"\{[^}]+\}", "0" * 32, path)
    response = requests.head(f"{api_url}{concrete}", headers=admin_headers, timeout=30)
    assert response.status_code < 500, (path, response.status_code)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert response.content == b""
