"""Video events carry what their consumers need: every ``video.*`` event names the video's owner
(the webhook dispatcher routes by it and reads no videos table). And the review wait's endings:
the slot given back before the wait, the deadline recorded as FAILED review_timed_out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.pipeline.dal import slots as slots_table
from functions.pipeline.logic import chunked_steps, saga
from functions.shared import events
from functions.videos.logic import lifecycle, records
from infra import spec
from infra.local.lambda_runtime import invoke
from tests.integration.conftest import Account
from tests.integration.test_priority import set_fields

OWNER = "user-1"
EXECUTION = "exec-1"
ACQUIRE = spec.FUNCTIONS_BY_NAME["pipeline-acquire-slot"]
COMPENSATE = spec.FUNCTIONS_BY_NAME["pipeline-compensate"]
SAFETY_NET = spec.FUNCTIONS_BY_NAME["pipeline-safety-net"]


@pytest.fixture
def emitted(account: Account, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    sent: list[tuple[str, dict[str, Any]]] = []
    real = events.put_event

    def record(detail_type: str, detail: dict[str, Any]) -> None:
        sent.append((detail_type, json.loads(json.dumps(detail, default=str))))
        real(detail_type, detail)

    monkeypatch.setattr(events, "put_event", record)
    return sent


def _video(account: Account, status: str, video_id: str = "e" * 32, **fields: str) -> str:
    lifecycle.create_awaiting_upload(
        video_id=video_id, owner_sub=OWNER, title="t", description="", tags=[], upload_key="uploads/k"
    )
    set_fields(account, video_id, status=status, execution_name=EXECUTION, **fields)
    return video_id


def _compensate(video_id: str, error: dict[str, str] | None, step: str = "transcode") -> dict[str, Any]:
    event = {"video_id": video_id, "bucket": "b", "key": "k", "attempt": 1, "failed_step": step}
    result, errored = invoke(COMPENSATE, {**event, "error": error, "execution": EXECUTION})
    assert not errored, result
    out: dict[str, Any] = result
    return out


def test_a_rejected_video_event_names_its_owner(account: Account, emitted: list[Any]) -> None:
    video_id = _video(account, "PROCESSING")
    cause = json.dumps({"errorType": "MediaRejected", "errorMessage": "not_media: no streams"})
    assert _compensate(video_id, {"Error": "MediaRejected", "Cause": cause}, "probe")["status"] == "REJECTED"
    [(kind, detail)] = emitted
    assert kind == "video.rejected"
    assert detail == {
        "video_id": video_id,
        "owner": OWNER,
        "reason": "not_media",
        "step": "probe",
        "execution": EXECUTION,
    }


def test_a_failed_video_event_names_its_owner(account: Account, emitted: list[Any]) -> None:
    video_id = _video(account, "PROCESSING")
    assert _compensate(video_id, {"Error": "States.Timeout", "Cause": ""})["status"] == "FAILED"
    [(kind, detail)] = emitted
    assert (kind, detail["owner"], detail["reason"]) == ("video.failed", OWNER, "transcode_timeout")


def test_the_safety_nets_failed_event_names_its_owner(account: Account, emitted: list[Any]) -> None:
    video_id = _video(account, "PROCESSING")
    detail = {"name": EXECUTION, "status": "ABORTED", "input": json.dumps({"video_id": video_id})}
    result, errored = invoke(SAFETY_NET, {"detail": detail})
    assert not errored and result["handled"], result
    [(kind, sent)] = emitted
    assert (kind, sent["owner"], sent["reason"]) == ("video.failed", OWNER, "execution_aborted")


def test_a_viewable_video_event_names_its_owner(account: Account, emitted: list[Any]) -> None:
    video_id = _video(account, "PROCESSING")
    rendition = {"name": "360p", "width": 640, "height": 360, "bitrate": 1, "playlist_key": "k"}
    chunked_steps._mark_viewable(video_id, [rendition], pending=["720p"])
    chunked_steps._mark_viewable(video_id, [rendition], pending=["720p"])  # a retried Stitch: no event
    [(kind, detail)] = emitted
    assert kind == "video.viewable"
    assert detail == {"video_id": video_id, "owner": OWNER, "renditions": ["360p"], "pending": ["720p"]}


def test_a_held_video_gives_its_slot_back_and_its_deadline_ends_it_failed(
    account: Account, emitted: list[Any]
) -> None:
    # Given an execution that holds a standard slot and reaches the review wait
    video_id = _video(account, "PROCESSING")
    base = {"video_id": video_id, "priority_class": "standard", "execution": EXECUTION}
    assert not invoke(ACQUIRE, base)[1]
    assert EXECUTION in (slots_table.holders("standard") or {})
    # When ReleaseSlotForReview runs (twice: a retried invocation is harmless)
    release = {**base, "operation": "release_for_review"}
    assert invoke(ACQUIRE, release) == ({"released": True}, False)
    assert invoke(ACQUIRE, release) == ({"released": False}, False)
    assert EXECUTION not in (slots_table.holders("standard") or {})
    lifecycle.hold_for_review(video_id, token="token-1")
    # And the deadline passes: the ReviewTimedOut state's error reaches compensation
    error = {"Error": saga.REVIEW_TIMED_OUT_ERROR, "Cause": "review_timed_out: nobody decided"}
    assert _compensate(video_id, error, "review") == {
        "status": "FAILED",
        "reason": "review_timed_out",
        "deleted": 0,
    }
    # Then the video is FAILED review_timed_out without its token, and the owner hears of it;
    # compensation's own release found nothing to give back (and did not mind)
    video = records.get_record(video_id)
    assert (video.status, video.reason, video.message, video.review_token) == (
        "FAILED",
        "review_timed_out",
        "nobody decided",
        None,
    )
    [(kind, detail)] = emitted
    assert (kind, detail["owner"], detail["reason"], detail["step"]) == (
        "video.failed",
        OWNER,
        "review_timed_out",
        "review",
    )
    assert saga.slots.release(EXECUTION, video) is False
