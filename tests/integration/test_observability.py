"""Every handler logs structured JSON with a correlation id and the video id, and emits EMF metrics."""

from __future__ import annotations

import importlib
import io
import json

import pytest

from infra import spec
from tests.integration.conftest import ApiCall


def _json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def test_api_logs_carry_correlation_and_video_ids(api: ApiCall) -> None:
    from functions.shared.observability import logger

    # The handler keeps the stream it was created with; give it one this test can read.
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)
    logger.setLevel("INFO")
    try:
        resp = api("POST", "/v1/videos", body={"title": "observed"})
    finally:
        logger.registered_handler.setStream(previous)
    assert resp.status == 201
    logs = _json_lines(stream.getvalue())
    created = [line for line in logs if line.get("message") == "video created"]
    assert created, logs
    assert created[0]["video_id"] == resp.body["id"]
    assert created[0]["correlation_id"]
    assert created[0]["function_name"] == "videos-api"


@pytest.mark.parametrize("fn", spec.FUNCTIONS, ids=lambda f: f.name)
def test_every_handler_wears_the_shared_observability_decorators(fn: spec.FunctionSpec) -> None:
    module = importlib.import_module(fn.module)
    assert getattr(getattr(module, fn.attribute), "__observed__", False) is True
