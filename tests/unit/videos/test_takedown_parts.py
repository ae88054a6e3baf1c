"""The small pure parts of video management: listing input, the takedown's names, the event contract."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from functions.shared.events import VideoDeletedDetail, video_deleted_from_sqs_body
from functions.videos.logic.listing import BadListingRequest, parse_limit, parse_status
from functions.videos.logic.purge import execution_arn, upload_prefix
from functions.videos.models import VideoStatus

VIDEO = "a" * 32


@pytest.mark.parametrize(("raw", "limit"), [(None, 20), ("", 20), ("1", 1), ("100", 100), ("37", 37)])
def test_a_limit_is_1_to_100_defaulting_to_20(raw: str | None, limit: int) -> None:
    assert parse_limit(raw) == limit


@pytest.mark.parametrize("raw", ["0", "101", "-5", "ten", "1.5", " "])
def test_any_other_limit_is_invalid_limit(raw: str) -> None:
    with pytest.raises(BadListingRequest) as refused:
        parse_limit(raw)
    assert (refused.value.status, refused.value.code) == (400, "invalid_limit")


def test_a_status_is_one_of_the_statuses_spelled_exactly() -> None:
    assert parse_status("DELETED") is VideoStatus.DELETED
    for raw in (None, "", "ready", "GONE"):
        with pytest.raises(BadListingRequest) as refused:
            parse_status(raw)
        assert refused.value.code == "invalid_status"


def test_the_upload_prefix_holds_the_source_of_every_priority_class() -> None:
    assert upload_prefix(f"uploads/{VIDEO}/source") == f"uploads/{VIDEO}/"
    assert upload_prefix(f"uploads-priority/{VIDEO}/source") == f"uploads-priority/{VIDEO}/"


def test_an_execution_arn_is_derived_from_its_machine_and_name() -> None:
    machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:vod-media-pipeline"
    assert execution_arn(machine, f"{VIDEO}-v-a1") == (
        f"arn:aws:states:eu-west-1:123456789012:execution:vod-media-pipeline:{VIDEO}-v-a1"
    )


def _body(detail_type: str = "video.deleted", **detail: object) -> str:
    return json.dumps(
        {
            "source": "vod.videos",
            "detail-type": detail_type,
            "detail": {
                "video_id": VIDEO,
                "owner": "o",
                "deleted_by": "admin-1",
                "deleted_at": "2026-01-01T00:00:00.000Z",
                "previous_status": "READY",
                **detail,
            },
        }
    )


def test_the_video_deleted_contract_is_parsed_from_a_bus_rules_sqs_body() -> None:
    parsed = video_deleted_from_sqs_body(_body())
    assert parsed == VideoDeletedDetail(
        video_id=VIDEO,
        owner="o",
        deleted_by="admin-1",
        deleted_at="2026-01-01T00:00:00.000Z",
        previous_status="READY",
    )


def test_another_event_or_a_broken_detail_is_refused() -> None:
    with pytest.raises(ValueError, match=r"not a video\.deleted"):
        video_deleted_from_sqs_body(_body("video.ready"))
    with pytest.raises(ValidationError):
        video_deleted_from_sqs_body(_body(video_id="../etc"))
