"""Request bodies the API cannot turn into a document are a 400 ``invalid_json``, on AWS as
locally: json.loads raises RecursionError for deep nesting and a plain ValueError for an integer
of more than 4,300 digits, which the resolver's catch-all turned into 500s (issue 12, point 7)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Body

from functions.shared.http import MAX_JSON_DEPTH, build_resolver
from functions.shared.schema import ApiModel


class Note(ApiModel):
    text: str
    extra: Any = None


app = build_resolver(title="json bodies")


@app.post("/notes")
def create(note: Annotated[Note, Body()]) -> Note:
    return note


def post(body: str) -> tuple[int, dict[str, Any]]:
    event = {
        "version": "2.0",
        "routeKey": "POST /notes",
        "rawPath": "/notes",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "http": {"method": "POST", "path": "/notes", "sourceIp": "1.2.3.4"},
            "stage": "$default",
        },
        "isBase64Encoded": False,
        "body": body,
    }
    result = app.resolve(event, None)  # type: ignore[arg-type]
    return result["statusCode"], json.loads(result["body"])


def nested(depth: int) -> str:
    """A body whose ``extra`` brings its nesting to ``depth`` levels (the body itself is one)."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    return '{"text": "t", "extra": ' + inner + "}"


@pytest.mark.parametrize(
    "body",
    [
        "[" * 1000 + "]" * 1000,
        "[" * 5000 + "]" * 5000,
        nested(MAX_JSON_DEPTH + 1),
        '{"text": "t", "extra": ' + "9" * 5000 + "}",
        '{"text": "t", "extra": -' + "1" * 4301 + "}",
    ],
    ids=["1000-deep", "5000-deep", "one-past-the-limit", "5000-digit", "4301-digit-negative"],
)
def test_bodies_json_cannot_parse_are_a_400_invalid_json(body: str) -> None:
    status, answer = post(body)
    assert status == 400
    assert answer == {"error": {"code": "invalid_json", "message": "the request body is not valid JSON"}}


def test_bodies_within_the_limits_still_reach_the_route() -> None:
    assert post(nested(MAX_JSON_DEPTH))[0] == 200
    assert post('{"text": "t", "extra": ' + "9" * 4300 + "}")[0] == 200
