"""The per-user cap on uploads in flight: ``POST /v1/videos`` refuses with 429 past it.

In flight: a video that is not READY, REJECTED or FAILED, except an AWAITING_UPLOAD one whose
upload URL has expired (nobody can upload it any more). The count is one Query on the videos
table's by-owner index, bounded to the videos created in the window in which an in-flight video
can have been created: the upload URL's lifetime plus the pipeline's overall timeout (no execution
runs longer). A video re-run later (a retry of a FAILED one, an approval of a REJECTED one) is
therefore not counted once it is older than that window.

Races: the check reads, then the create writes, and the index is eventually consistent; two
creates of one user at the same moment can both pass, so the cap may be exceeded by the number of
concurrent requests. It is a guard against one user hogging the platform, not an accounting
limit; the pipeline's own concurrency is enforced exactly by the class budgets (slots.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.shared.errors import TooManyRequests
from functions.shared.settings import PIPELINE_EXECUTION_TIMEOUT_SECONDS, Settings
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


def check_cap(owner_sub: str, settings: Settings) -> None:
    """Raise TooManyRequests (429 with Retry-After) when ``owner_sub`` is at the cap already."""
    cap = settings.max_active_uploads_per_user
    if count_in_flight(owner_sub, settings, stop_at=cap) >= cap:
        raise TooManyRequests(
            f"you have {cap} uploads in flight, the most allowed at once: "
            "wait until one is READY, REJECTED or FAILED (or its upload URL expires)",
            code="too_many_active_uploads",
            retry_after_s=RETRY_AFTER_S,
            details={"limit": cap},
        )
