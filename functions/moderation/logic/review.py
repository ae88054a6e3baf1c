"""Admin review: hold a grey-band video (the Saga waits on a task token), approve or reject it,
and approval of a rejected video (a new execution with the checks overridden).

The status changes are the video lifecycle's moves (functions/videos/logic/lifecycle.py). The wait
has a deadline (``REVIEW_DEADLINE_SECONDS``, AwaitReview's TimeoutSecondsPath): past it the Saga
compensates, the video ends FAILED ``review_timed_out``, and the token is refused."""

from __future__ import annotations

import json
from typing import Any

from functions.moderation.models import ModerationDecision
from functions.shared.auth import Principal
from functions.shared.authz import authorize
from functions.shared.aws import client
from functions.shared.errors import Conflict, NotFound
from functions.shared.keys import VIDEO_ID_RE
from functions.shared.observability import logger
from functions.videos.logic import lifecycle, records
from functions.videos.logic.ingest import approve_rejected
from functions.videos.logic.lifecycle import REJECTED_BY_ADMIN
from functions.videos.logic.videos import to_view
from functions.videos.models import VideoStatus, VideoView


def hold_for_review(*, video_id: str, token: str) -> dict[str, Any]:
    """Called by the Saga's waitForTaskToken state: park the token on the record (a repeat with
    the same token is fine; anything else is a Conflict)."""
    lifecycle.hold_for_review(video_id, token=token)
    logger.info("video held for review")
    return {"held": True}


def _load(video_id: str) -> Any:
    if not VIDEO_ID_RE.match(video_id):
        raise NotFound(f"video {video_id} not found")
    return records.get_record(video_id)


def decide(principal: Principal, video_id: str, decision: ModerationDecision) -> VideoView:
    authorize(principal, "moderation:decide")
    item = _load(video_id)
    status = VideoStatus(item.status)
    if status == VideoStatus.IN_REVIEW:
        _decide_held(principal, item, decision)
    elif status == VideoStatus.REJECTED and decision.decision == "approve":
        _approve_rejected(principal, item)
    elif status == VideoStatus.REJECTED and decision.decision == "reject":
        pass  # already what the admin wants: idempotent
    elif decision.decision == "approve" and status in (VideoStatus.PROCESSING, VideoStatus.READY):
        pass  # an approval already went through (a repeat of the same request)
    else:
        raise Conflict(f"a video in status {status} has nothing to review", code="not_reviewable")
    return to_view(records.get_record(video_id), evidence=True)


def _decide_held(principal: Principal, item: Any, decision: ModerationDecision) -> None:
    token = item.review_token
    sfn = client("stepfunctions")
    if decision.decision == "approve":
        # Win the record first (exactly one approval resumes the Saga), then release the token.
        if not lifecycle.resume_after_review(item.video_id, approved_by=principal.sub):
            return  # a concurrent approval won: same outcome
        try:
            sfn.send_task_success(taskToken=token, output=json.dumps({"approved_by": principal.sub}))
        except (sfn.exceptions.TaskTimedOut, sfn.exceptions.InvalidToken) as exc:
            # The review deadline passed as the approval was written: the Saga is compensating,
            # and the video ends FAILED review_timed_out (from PROCESSING too).
            raise Conflict("the review deadline has passed", code="review_timed_out") from exc
    else:
        # Record the outcome here (the task failure's cause is not a reliable carrier: moto drops
        # it), then fail the token: the Saga's Catch runs compensation, which deletes the outputs
        # and emits video.rejected, leaving this terminal status and reason as they are.
        note = decision.note or "rejected by a moderator"
        if not lifecycle.reject_by_admin(item.video_id, note=note):
            return  # a concurrent rejection won: same outcome
        cause = {"errorType": "MediaRejected", "errorMessage": f"{REJECTED_BY_ADMIN}: {note}"}
        try:
            sfn.send_task_failure(taskToken=token, error="MediaRejected", cause=json.dumps(cause))
        except (sfn.exceptions.TaskTimedOut, sfn.exceptions.InvalidToken):
            # The deadline passed meanwhile: the Saga compensates anyway, and the rejection stands.
            logger.info("review token expired; the rejection stands")
    logger.info("review decided", extra={"decision": decision.decision, "by": principal.sub})


def _approve_rejected(principal: Principal, item: Any) -> None:
    approve_rejected(item, approved_by=principal.sub)


def review_queue(principal: Principal, *, limit: int = 50) -> list[VideoView]:
    authorize(principal, "moderation:read_queue")
    held = records.in_status(VideoStatus.IN_REVIEW, limit=limit)
    rejected = records.in_status(VideoStatus.REJECTED, limit=limit)
    return [to_view(item, evidence=True) for item in [*held, *rejected]]


def protect(principal: Principal, video_id: str) -> dict[str, Any]:
    """Register a READY video's fingerprints as protected content: later uploads that match are
    rejected by the copyright check."""
    from functions.moderation.dal import fingerprints

    authorize(principal, "moderation:protect")
    item = _load(video_id)
    if item.status != VideoStatus.READY:
        raise Conflict(
            f"only READY videos can be protected; this one is {item.status}", code="video_not_ready"
        )
    frames = fingerprints.protect(video_id, by=principal.sub)
    if not frames:
        raise Conflict("this video has no fingerprints to protect", code="no_fingerprints")
    return {"video_id": video_id, "frames": frames, "protected_by": principal.sub}
