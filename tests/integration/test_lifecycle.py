"""The video lifecycle's moves against a moto videos table: each allowed from its statuses only,
refused (unchanged record) from every other, with its fields; and the DAL refusing any move the
transition table does not allow, whoever asks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.shared.errors import Conflict
from functions.videos.dal import videos as dal
from functions.videos.dal.tables import VideoModel
from functions.videos.logic import lifecycle, records
from functions.videos.models import ALLOWED_TRANSITIONS, IllegalTransition, VideoStatus
from infra.local.emulator import reset_function_caches

S = VideoStatus
ALL = frozenset(VideoStatus)
VIDEO_ID = "a" * 32
TOKEN = "token-1"


@pytest.fixture(scope="module")
def videos_table() -> Iterator[None]:
    """One moto videos table for the module (each test starts from an empty one, below)."""
    reset_function_caches()
    with mock_aws():
        dal._model().create_table(wait=True)
        yield
    reset_function_caches()


@pytest.fixture(autouse=True)
def _empty_table(videos_table: None) -> Iterator[None]:
    yield
    boto3.client("dynamodb").delete_item(TableName="vod-videos", Key={"video_id": {"S": VIDEO_ID}})


def _video(status: VideoStatus, **fields: Any) -> str:
    """A video in ``status`` (set directly: test set-up, not a move)."""
    lifecycle.create_awaiting_upload(
        video_id=VIDEO_ID, owner_sub="user-1", title="t", description="", tags=[], upload_key="uploads/k"
    )
    values = {"status": status.value, "attempt": 1, "execution_name": "exec-1", **fields}
    names = {f"#{k}": k for k in values}
    boto3.client("dynamodb").update_item(
        TableName="vod-videos",
        Key={"video_id": {"S": VIDEO_ID}},
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={
            f":{k}": {"N": str(v)} if isinstance(v, int) else {"S": str(v)} for k, v in values.items()
        },
    )
    return VIDEO_ID


def _record() -> VideoModel:
    return records.get_record(VIDEO_ID)


def _raw() -> dict[str, Any]:
    """The stored item exactly (to check that a refused move wrote nothing)."""
    item: dict[str, Any] = boto3.client("dynamodb").get_item(
        TableName="vod-videos", Key={"video_id": {"S": VIDEO_ID}}, ConsistentRead=True
    )["Item"]
    return item


RENDITION = {"name": "360p", "width": 640, "height": 360, "bitrate": 800_000, "playlist_key": "k/360p.m3u8"}


@dataclass(frozen=True)
class Move:
    name: str
    run: Callable[[str], Any]
    allowed: frozenset[VideoStatus]
    to: VideoStatus
    fields: dict[str, Any]  # what the record holds after the move (None: the attribute is gone)
    # A status from which the move is a harmless repeat (no write): what it returns then.
    repeat: dict[VideoStatus, Any] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)  # extra fields of the record before


NON_TERMINAL = frozenset({S.AWAITING_UPLOAD, S.UPLOADED, S.PROCESSING, S.IN_REVIEW, S.VIEWABLE})
MOVES = [
    Move(
        "mark_uploaded",
        lambda v: lifecycle.mark_uploaded(
            v, upload_version="seq1", execution_name="e-1", attempt=1, size_bytes=5
        ),
        frozenset({S.AWAITING_UPLOAD}),
        S.UPLOADED,
        {
            "upload_version": "seq1",
            "execution_name": "e-1",
            "progress": lifecycle.QUEUED,
            "source": {"size_bytes": 5},
        },
    ),
    Move(
        "rerun_after_failure",
        lambda v: lifecycle.rerun_after_failure(v, expected_attempt=1, attempt=2, execution_name="e-2"),
        frozenset({S.FAILED}),
        S.UPLOADED,
        {
            "attempt": 2,
            "execution_name": "e-2",
            "reason": None,
            "message": None,
            "reasons": None,
            "progress": lifecycle.QUEUED,
        },
        setup={"reason": "transcode_error", "message": "boom"},
    ),
    Move(
        "rerun_with_override",
        lambda v: lifecycle.rerun_with_override(
            v, expected_attempt=1, attempt=2, execution_name="e-2", override_by="admin-1"
        ),
        frozenset({S.REJECTED}),
        S.UPLOADED,
        {
            "attempt": 2,
            "execution_name": "e-2",
            "reason": None,
            "moderation_override": "admin-1",
            "progress": lifecycle.QUEUED,
        },
        setup={"reason": "moderation_rejected"},
    ),
    Move(
        "start_processing",
        lifecycle.start_processing,
        frozenset({S.UPLOADED, S.PROCESSING}),  # PROCESSING: a retried Probe
        S.PROCESSING,
        {"progress": {"stage": "probe", "percent": 0}, "reason": None, "message": None},
    ),
    Move(
        "mark_viewable",
        lambda v: lifecycle.mark_viewable(v, renditions=[RENDITION], pending=["720p"]),
        frozenset({S.PROCESSING}),
        S.VIEWABLE,
        {"renditions": [RENDITION], "renditions_pending": ["720p"]},
        repeat={S.VIEWABLE: None},
    ),
    Move(
        "hold_for_review",
        lambda v: lifecycle.hold_for_review(v, token=TOKEN),
        frozenset({S.PROCESSING}),
        S.IN_REVIEW,
        {"review_token": TOKEN, "progress": {"stage": "review", "percent": 100}},
        repeat={S.IN_REVIEW: None},  # the same token again
        setup={"review_token": TOKEN},
    ),
    Move(
        "resume_after_review",
        lambda v: lifecycle.resume_after_review(v, approved_by="admin-1"),
        frozenset({S.IN_REVIEW}),
        S.PROCESSING,
        {"review_token": None, "moderation_override": "admin-1"},
        # Any other status: a concurrent decision moved it first (same outcome for the caller).
        repeat={s: False for s in ALL - {S.IN_REVIEW}},
        setup={"review_token": TOKEN},
    ),
    Move(
        "reject_by_admin",
        lambda v: lifecycle.reject_by_admin(v, note="not for us"),
        frozenset({S.IN_REVIEW}),
        S.REJECTED,
        {"reason": lifecycle.REJECTED_BY_ADMIN, "message": "not for us", "review_token": None},
        repeat={S.REJECTED: False},
        setup={"review_token": TOKEN},
    ),
    Move(
        "review_timed_out",
        lambda v: lifecycle.review_timed_out(v, message="nobody decided"),
        frozenset({S.IN_REVIEW, S.PROCESSING}),
        S.FAILED,
        {
            "reason": lifecycle.REVIEW_TIMED_OUT,
            "message": "nobody decided",
            "review_token": None,
            "progress": None,
        },
        setup={"review_token": TOKEN},
    ),
    Move(
        "mark_ready",
        lambda v: lifecycle.mark_ready(v, renditions=[RENDITION], poster_key="p.jpg", storyboard_key="s.vtt"),
        frozenset({S.PROCESSING, S.VIEWABLE}),
        S.READY,
        {
            "renditions": [RENDITION],
            "poster_key": "p.jpg",
            "storyboard_key": "s.vtt",
            "renditions_pending": None,
            "progress": {"stage": "done", "percent": 100},
            "reason": None,
        },
        repeat={S.READY: "record"},  # a retried Publish after the write
    ),
    Move(
        "reject",
        lambda v: lifecycle.reject(v, reason="not_media", message="not a video"),
        NON_TERMINAL - {S.AWAITING_UPLOAD},
        S.REJECTED,
        {"reason": "not_media", "message": "not a video", "progress": None},
    ),
    Move(
        "record_failure",
        lambda v: lifecycle.record_failure(v, reason="transcode_error", message="boom"),
        NON_TERMINAL,
        S.FAILED,
        {"reason": "transcode_error", "message": "boom", "progress": None},
    ),
    # The takedown names the status it read: from there only (another status: read again).
    Move(
        "take_down",
        lambda v: lifecycle.take_down(v, deleted_by="admin-1", previous_status=S.READY),
        frozenset({S.READY}),
        S.DELETED,
        {"deleted_by": "admin-1", "previous_status": "READY", "progress": None, "review_token": None},
    ),
]


def _plain(value: Any) -> Any:
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.name)
@pytest.mark.parametrize("start", list(VideoStatus), ids=lambda s: s.value)
def test_each_move_goes_from_its_statuses_only_and_sets_its_fields(move: Move, start: VideoStatus) -> None:
    video_id = _video(start, **move.setup)
    before = _raw()
    if start in move.allowed:
        move.run(video_id)
        after = _record()
        assert after.status == move.to.value
        for name, expected in move.fields.items():
            assert _plain(getattr(after, name)) == expected, name
        assert after.updated_at >= before["updated_at"]["S"]
        return
    if start in move.repeat:
        outcome = move.run(video_id)
        expected = move.repeat[start]
        assert (outcome is not None) if expected == "record" else (outcome == expected)
    else:
        with pytest.raises(Conflict):
            move.run(video_id)
    assert _raw() == before  # refused: nothing written


def test_every_move_starts_only_where_the_table_allows() -> None:
    for move in MOVES:
        for start in move.allowed:
            assert move.to in ALLOWED_TRANSITIONS[start], (move.name, start)


def test_a_retry_or_an_approval_must_hold_the_attempt_it_read() -> None:
    video_id = _video(S.FAILED)
    # A concurrent retry moved the attempt on: this one read attempt 0, the record says 1
    with pytest.raises(Conflict):
        lifecycle.rerun_after_failure(video_id, expected_attempt=0, attempt=1, execution_name="e-1")
    assert _record().status == S.FAILED.value


def test_a_held_video_refuses_another_token() -> None:
    video_id = _video(S.IN_REVIEW, review_token=TOKEN)
    with pytest.raises(Conflict):
        lifecycle.hold_for_review(video_id, token="another")
    assert _record().review_token == TOKEN


def test_a_new_video_awaits_its_upload_and_its_id_is_taken_once() -> None:
    lifecycle.create_awaiting_upload(
        video_id=VIDEO_ID, owner_sub="user-1", title="t", description="", tags=[], upload_key="uploads/k"
    )
    assert _record().status == S.AWAITING_UPLOAD.value
    assert records.owner_of(VIDEO_ID) == "user-1"
    assert records.owner_of("b" * 32) is None
    with pytest.raises(Conflict):
        lifecycle.create_awaiting_upload(
            video_id=VIDEO_ID, owner_sub="user-2", title="t", description="", tags=[], upload_key="uploads/k"
        )


# -- facts recorded while processing (no status change) -------------------------------------------
def test_probe_facts_are_recorded_in_any_status() -> None:
    video_id = _video(S.PROCESSING)
    lifecycle.record_probe(video_id, duration_seconds=2.5, width=640, height=360, source={"format": "mp4"})
    after = _record()
    assert (after.status, after.duration_seconds, after.width, after.height) == ("PROCESSING", 2.5, 640, 360)
    assert _plain(after.source) == {"format": "mp4"}


@pytest.mark.parametrize("start", list(VideoStatus), ids=lambda s: s.value)
def test_single_pass_progress_is_written_while_processing_only(start: VideoStatus) -> None:
    video_id = _video(start)
    progress = {"stage": "transcode", "percent": 50.0}
    if start == S.PROCESSING:
        lifecycle.record_progress(video_id, progress)
        assert _plain(_record().progress) == progress
    else:
        with pytest.raises(Conflict):
            lifecycle.record_progress(video_id, progress)
    assert _record().status == start.value


@pytest.mark.parametrize("start", list(VideoStatus), ids=lambda s: s.value)
def test_chunks_are_counted_while_encoding_only(start: VideoStatus) -> None:
    video_id = _video(start)
    if start is S.DELETED:  # a step still running when its video was taken down writes nothing
        with pytest.raises(Conflict):
            lifecycle.start_chunk_counting(video_id, {"stage": "transcode", "percent": 0})
        assert lifecycle.count_chunk_done(video_id, preview=True) is None
        assert _record().status == start.value
        return
    lifecycle.start_chunk_counting(video_id, {"stage": "transcode", "percent": 0})
    assert _record().progress_seq == 0
    counts = lifecycle.count_chunk_done(video_id, preview=True)
    if start in lifecycle.ENCODING:
        assert counts == (1, 0)
        assert lifecycle.count_chunk_done(video_id, preview=False) == (1, 1)
    else:
        assert counts is None
    assert _record().status == start.value


def test_chunk_progress_never_goes_back() -> None:
    video_id = _video(S.VIEWABLE)
    lifecycle.start_chunk_counting(video_id, {"stage": "transcode", "percent": 0})
    assert lifecycle.write_chunk_progress(video_id, {"percent": 20}, seq=2)
    assert not lifecycle.write_chunk_progress(video_id, {"percent": 10}, seq=1)  # a slow writer
    assert _plain(_record().progress) == {"percent": 20}


def test_moderation_reasons_are_recorded_and_cleared() -> None:
    video_id = _video(S.PROCESSING)
    lifecycle.record_moderation_reasons(video_id, [{"check": "text", "code": "sensitive_words"}])
    assert _plain(_record().reasons) == [{"check": "text", "code": "sensitive_words"}]
    lifecycle.record_moderation_reasons(video_id, [])
    assert _record().reasons is None


# -- the DAL refuses what the table does not allow ------------------------------------------------
@pytest.mark.parametrize(
    ("start", "to"),
    [(s, t) for s in VideoStatus for t in VideoStatus if t not in ALLOWED_TRANSITIONS[s]],
    ids=lambda s: s.value,
)
def test_the_dal_refuses_a_transition_the_table_does_not_allow(start: VideoStatus, to: VideoStatus) -> None:
    video_id = _video(start)
    before = _raw()
    # Even when the record is in that status and the caller names it as the source
    with pytest.raises(IllegalTransition):
        dal.transition(video_id, to, only_from={start})
    # and when a legal source is named beside it: no caller can widen the table
    legal = [s for s in VideoStatus if to in ALLOWED_TRANSITIONS[s]]
    if legal:
        with pytest.raises(IllegalTransition):
            dal.transition(video_id, to, only_from={start, legal[0]})
    assert _raw() == before


def test_the_dal_writes_status_only_through_the_transition_table() -> None:
    video_id = _video(S.PROCESSING)
    with pytest.raises(ValueError, match="transition"):
        dal.update_fields(video_id, status=S.READY.value)
    with pytest.raises(ValueError, match="transition"):
        dal.transition(video_id, S.VIEWABLE, status=S.READY.value)
    with pytest.raises(ValueError, match="transition"):
        dal.increment(video_id, "status", statuses=[S.PROCESSING])
    with pytest.raises(IllegalTransition):
        dal.transition(video_id, S.READY, only_from=set())
    assert _record().status == S.PROCESSING.value


@pytest.mark.parametrize("start", sorted(ALL - {S.DELETED}), ids=lambda s: s.value)
def test_a_takedown_from_every_status_records_who_when_and_from_what(start: VideoStatus) -> None:
    video_id = _video(start, review_token=TOKEN, progress_seq=1)
    item = lifecycle.take_down(video_id, deleted_by="admin-1", previous_status=start)
    after = _record()
    assert (after.status, after.deleted_by, after.previous_status) == ("DELETED", "admin-1", start.value)
    assert after.deleted_at and after.deleted_at.endswith("Z")
    assert after.review_token is None  # a held review's token can resume nothing any more
    assert item.status == "DELETED"
    # ... and nothing takes it anywhere again, a second takedown included
    with pytest.raises((Conflict, IllegalTransition)):
        lifecycle.take_down(video_id, deleted_by="admin-1", previous_status=S.DELETED)
    with pytest.raises(Conflict):
        lifecycle.set_visibility(video_id, "public")
    lifecycle.record_takedown_announced(video_id)
    lifecycle.record_purged(video_id)
    assert _record().deleted_announced_at and _record().purged_at
