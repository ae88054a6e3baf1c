"""The shared Tracer: outside Lambda (or with POWERTOOLS_TRACE_DISABLED) it never imports the X-Ray
SDK, whose recorder costs ~90 ms of cold start there; on Lambda it is Powertools' X-Ray Tracer and
still annotates ``video_id``. Each case runs in a fresh interpreter: the Tracer's configuration is
process-wide, and the test session disables tracing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
from functions.shared.observability import observed, tracer

seen = {}

@observed()
def handler(event, context):
    if not tracer.disabled:
        from aws_xray_sdk.core import xray_recorder
        seen["annotations"] = xray_recorder.current_subsegment().annotations
    return "ok"

# capture_lambda_handler needs a context only for the logger's fields
class Context:
    function_name, memory_limit_in_mb, invoked_function_arn, aws_request_id = "f", 128, "arn", "r"

result = handler({"video_id": "v1"}, Context())
print(json.dumps({
    "result": result,
    "disabled": bool(tracer.disabled),
    "provider": type(tracer.provider).__name__,
    "annotations": seen.get("annotations"),
    "xray_imported": "aws_xray_sdk.core" in sys.modules,
}))
"""


def _probe(tmp_path: Path, **env: str) -> dict:
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "AWS_REGION": "us-east-1"}
    base.update(
        {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR", "HOME": str(tmp_path)}
    )
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_outside_lambda_the_xray_sdk_is_never_imported(tmp_path: Path) -> None:
    # Given no Lambda runtime (Powertools disables tracing there by itself)
    # When a handler wearing the shared decorators runs
    probe = _probe(tmp_path)
    # Then it answers, untraced, without having loaded the X-Ray SDK
    assert probe["result"] == "ok"
    assert probe["disabled"] is True
    assert probe["xray_imported"] is False


def test_tracing_disabled_by_setting_does_not_import_the_sdk_on_lambda_either(tmp_path: Path) -> None:
    probe = _probe(tmp_path, LAMBDA_TASK_ROOT=str(tmp_path), POWERTOOLS_TRACE_DISABLED="true")
    assert probe["disabled"] is True
    assert probe["xray_imported"] is False


def test_on_lambda_the_tracer_is_xray_and_annotates_the_video_id(tmp_path: Path) -> None:
    # Given the Lambda runtime's variables and an active trace
    probe = _probe(
        tmp_path,
        LAMBDA_TASK_ROOT=str(tmp_path),
        AWS_LAMBDA_FUNCTION_NAME="videos-api",
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
    )
    # Then the provider is the X-Ray recorder and the business key is an annotation
    assert probe["disabled"] is False
    assert probe["provider"] == "AsyncAWSXRayRecorder"
    assert probe["annotations"]["video_id"] == "v1"
