"""The per-user cap on uploads in flight: ``POST /v1/videos`` refuses with 429 past it.

In flight: a video that is not READY, REJECTED or FAILED, except an AWAITING_UPLOAD one whose
upload URL has expired unused (nobody can upload it any more). Counted exactly by a conditional
counter (``functions/videos/dal/in_flight.py``): a create takes a place only while fewer than the
cap are taken, so concurrent creates cannot overrun it; the lifecycle's moves hold the place when
the upload arrives or a retry or an approval re-enters the pipeline, and give it back when the
video settles READY, REJECTED or FAILED (by Publish, compensation, the safety net, an admin or the
review deadline; repeats are no-ops, keyed by video). A place whose upload URL expired unused is
given back by the next create that finds the cap reached.

``count_in_flight`` is the index-based count the cap used before; kept for reports and tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.shared.errors import TooManyRequests
from functions.shared.settings import PIPELINE_EXECUTION_TIMEOUT_SECONDS, Settings
from functions.videos.dal import in_flight
from functions.videos.dal import videos as dal
from functions.videos.models import VideoStatus

IN_FLIGHT = (VideoStatus.AWAITING_UPLOAD, VideoStatus.UPLOADED, VideoStatus.PROCESSING, VideoStatus.IN_REVIEW)
# The media pipeline's TimeoutSeconds (infra/spec STATE_MACHINES; a unit test keeps them equal): a
# video held for review is in flight until its deadline, so the window covers the longest one.
PIPELINE_TIMEOUT_S = PIPELINE_EXECUTION_TIMEOUT_SECONDS
# When asking again makes sense: videos in flight settle in minutes, not hours.
RETRY_AFTER_S = 30


def _iso(moment: datetime) -> str:
    """The timestamp format of the records (dal.now_iso), so that strings compare as times."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def count_in_flight(owner_sub: str, settings: Settings, *, stop_at: int, now: datetime | None = None) -> int:
    """Videos of ``owner_sub`` in flight, counted up to ``stop_at`` (no need to read further)."""
    now = now or datetime.now(UTC)
    ttl = timedelta(seconds=settings.upload_url_ttl_seconds)
    since = _iso(now - ttl - timedelta(seconds=PIPELINE_TIMEOUT_S))
    url_expired_before = _iso(now - ttl)
    count = 0
    for item in dal.owner_videos_since(owner_sub, since, IN_FLIGHT):
        if item.status == VideoStatus.AWAITING_UPLOAD.value and item.created_at <= url_expired_before:
            continue  # its upload URL has expired: it can no longer start anything
        count += 1
        if count >= stop_at:
            break
    return count


def take_place(owner_sub: str, video_id: str, settings: Settings, *, now: datetime | None = None) -> None:
    """Count ``video_id`` among ``owner_sub``'s uploads in flight, or raise TooManyRequests (429
    with Retry-After) when the cap is reached even after the expired unused URLs are given back."""
    cap = settings.max_active_uploads_per_user
    now_s = int((now or datetime.now(UTC)).timestamp())
    expires_at = now_s + settings.upload_url_ttl_seconds
    if in_flight.take(owner_sub, video_id, cap=cap, expires_at=expires_at):
        return
    expired = [(vid, at) for vid, at in in_flight.holders(owner_sub).items() if 0 < at < now_s]
    for vid, at in expired:
        in_flight.give_back(owner_sub, vid, expires_at=at)
    if not expired or not in_flight.take(owner_sub, video_id, cap=cap, expires_at=expires_at):
        raise TooManyRequests(
            f"you have {cap} uploads in flight, the most allowed at once: "
            "wait until one is READY, REJECTED or FAILED (or its upload URL expires)",
            code="too_many_active_uploads",
            retry_after_s=RETRY_AFTER_S,
            details={"limit": cap},
        )


def give_back_place(owner_sub: str, video_id: str) -> None:
    """The create did not happen after all (nothing of it was written)."""
    in_flight.give_back(owner_sub, video_id)
