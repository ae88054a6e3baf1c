"""Failure messages shown to a video's owner never carry URLs, credentials or tool output
(issue 12, point 6); the detail goes to the log, redacted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.media import ffmpeg_run
from functions.shared.errors import MediaFailed
from functions.shared.redact import redact, safe_user_text

PRESIGNED = (
    "https://uploads.s3.amazonaws.com/raw/v1/source?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=ASIAABCDEFGHIJKLMNOP%2F20261207%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEKsecret&X-Amz-Signature=deadbeef"
)


def _clean(text: str) -> None:
    for leak in ("X-Amz-", "ASIAABCDEFGHIJKLMNOP", "IQoJb3JpZ2luX2VjEKsecret", "deadbeef"):
        assert leak not in text


def test_redact_masks_query_strings_and_credentials() -> None:
    _clean(redact(f"ffprobe {PRESIGNED}: Invalid data; Authorization: AWS4 abc"))
    assert "uploads.s3.amazonaws.com/raw/v1/source" in redact(PRESIGNED)
    assert "abc" not in redact("Authorization: AWS4 abc")


def test_user_text_has_no_url_and_is_bounded() -> None:
    text = safe_user_text(f"boom {PRESIGNED} " + "x" * 2000)
    assert "http" not in text
    _clean(text)
    assert len(text) <= 500


def test_a_failing_tool_on_a_presigned_url_raises_a_safe_message_and_logs_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from functions.shared import observability

    logs: list[str] = []
    monkeypatch.setattr(observability.logger, "error", lambda msg, extra=None: logs.append(f"{msg} {extra}"))
    # Given a tool that fails and echoes its presigned input on stderr, as ffmpeg does
    argv = ["sh", "-c", f"echo '{PRESIGNED}: Invalid data found' >&2; exit 1", PRESIGNED]
    # When it runs
    with pytest.raises(MediaFailed) as raised:
        ffmpeg_run.run_or_fail(argv, timeout=10, what="transcoding", reason="transcode_failed")
    # Then the exception (what Step Functions copies into the Cause) holds no URL or credential
    assert "http" not in str(raised.value)
    _clean(str(raised.value))
    # And the log holds the detail, redacted
    logged = "\n".join(logs)
    assert "Invalid data found" in logged
    assert "uploads.s3.amazonaws.com" in logged
    _clean(logged)


def test_compensation_of_a_cause_holding_a_presigned_url_records_a_safe_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from functions.pipeline.contracts import StepError
    from functions.pipeline.logic import saga

    recorded: list[dict[str, Any]] = []
    record = SimpleNamespace(status="PROCESSING", execution_name="exec-1", owner_sub="u", reason=None)
    monkeypatch.setattr(saga.records, "find_record", lambda _id: record)
    monkeypatch.setattr(saga.slots, "release", lambda *_a: None)
    monkeypatch.setattr(saga.storage, "delete_prefix", lambda *_a: 0)
    monkeypatch.setattr(saga, "put_video_event", lambda *_a, **_k: None)
    monkeypatch.setattr(saga.lifecycle, "record_failure", lambda _id, **kw: recorded.append(kw))
    monkeypatch.setattr(saga.lifecycle, "reject", lambda _id, **kw: recorded.append(kw))
    # Given a step failure whose Cause holds a presigned URL and raw stderr (old ffmpeg text)
    failed = json.dumps(
        {
            "errorType": "MediaFailed",
            "errorMessage": f"transcode_failed: ffmpeg {PRESIGNED} exited 1: [h264] junk",
        }
    )
    refused = json.dumps(
        {"errorType": "MediaRejected", "errorMessage": f"not_media: cannot open {PRESIGNED}"}
    )
    # When compensation records the outcome
    saga.compensate(
        video_id="v1",
        failed_step="transcode",
        error=StepError(Error="MediaFailed", Cause=failed),
        execution="exec-1",
    )
    saga.compensate(
        video_id="v1",
        failed_step="probe",
        error=StepError(Error="MediaRejected", Cause=refused),
        execution="exec-1",
    )
    # Then the owner-visible messages carry the reason and a sentence, never the URL or stderr
    assert [r["reason"] for r in recorded] == ["transcode_failed", "not_media"]
    for r in recorded:
        assert "http" not in r["message"]
        _clean(r["message"])
    assert "junk" not in recorded[0]["message"]
