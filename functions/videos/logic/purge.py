"""The takedown worker: everything a DELETED video left behind goes (functions/videos/logic/takedown.py
says why in two halves). Fed by ``video.deleted`` through the takedown queue; every step is
idempotent, so a redelivery finishes what a failed attempt started."""

from __future__ import annotations

from typing import Any

from functions.media import storage
from functions.shared import keys
from functions.shared.aws import client
from functions.shared.observability import logger
from functions.shared.settings import get_settings
from functions.videos.dal import videos as dal
from functions.videos.logic import lifecycle
from functions.videos.models import VideoStatus


def purge_taken_down(video_id: str) -> dict[str, Any]:
    """Remove everything the video left behind (the worker; safe to repeat)."""
    item = dal.find(video_id)
    if item is None or item.status != VideoStatus.DELETED:
        # Only a DELETED record is purged: an event naming any other is not ours to act on.
        logger.warning(
            "purge asked for a video that is not DELETED", extra={"status": getattr(item, "status", None)}
        )
        return {"purged": False}
    settings = get_settings()
    stopped = stop_execution(item.execution_name)
    removed = storage.purge_prefix(settings.upload_bucket, upload_prefix(item.upload_key))
    removed += storage.purge_prefix(settings.media_bucket, keys.output_prefix(video_id))
    invalidation = invalidate_cdn(video_id)
    lifecycle.record_purged(video_id)
    logger.info(
        "taken-down video purged",
        extra={"stopped_execution": stopped, "objects_removed": removed, "invalidation": invalidation},
    )
    return {"purged": True, "stopped_execution": stopped, "removed": removed, "invalidation": invalidation}


def upload_prefix(upload_key: str) -> str:
    """``uploads[-class]/<id>/source`` -> ``uploads[-class]/<id>/`` (the source and its multipart parts)."""
    return upload_key.rsplit("/", 1)[0] + "/"


def execution_arn(state_machine_arn: str, name: str) -> str:
    """An execution's ARN from its state machine's and its (deterministic) name."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def stop_execution(name: str | None) -> bool:
    """Stop the video's execution if it is still running; True when it was stopped here."""
    if not name:
        return False
    sfn = client("stepfunctions")
    arn = execution_arn(get_settings().state_machine_arn, name)
    try:
        status = sfn.describe_execution(executionArn=arn)["status"]
    except sfn.exceptions.ExecutionDoesNotExist:
        return False
    if status != "RUNNING":
        return False
    sfn.stop_execution(executionArn=arn, error="VideoDeleted", cause="the video was taken down")
    return True


def invalidate_cdn(video_id: str) -> str:
    """``CreateInvalidation`` of the video's CDN paths. The caller reference is derived from the
    video, so a repeat returns the same invalidation instead of starting another."""
    path = f"/{keys.output_prefix(video_id)}*"
    response = client("cloudfront").create_invalidation(
        DistributionId=get_settings().cdn_distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": [path]},
            "CallerReference": f"takedown-{video_id}",
        },
    )
    return str(response["Invalidation"]["Id"])
