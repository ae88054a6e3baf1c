"""Signed playback URLs for READY videos (see functions.playback.signing for the policy choice).

Playback sits above the domains it asks: the video must be visible to the caller (videos), and
the title it is bound to must be within the active profile's ceiling (catalog, identity). None
of those imports playback, so no package depends on itself through this one.
"""

from __future__ import annotations

import time

from functions.catalog.logic.lookup import rating_for_video
from functions.playback.signing import iso, sign_url
from functions.shared import keys, ratings
from functions.shared.auth import Principal
from functions.shared.authz import authorize
from functions.shared.errors import Conflict, Forbidden
from functions.shared.secrets import cloudfront_private_key
from functions.shared.settings import get_settings
from functions.videos.logic.videos import load_visible
from functions.videos.models import PlaybackRequest, PlaybackResponse, VideoStatus


def create_playback(
    principal: Principal,
    video_id: str,
    request: PlaybackRequest,
    source_ip: str,
    *,
    ceiling: int | None = None,
) -> PlaybackResponse:
    """``ceiling``: the active viewer profile's age ceiling (identity's ``audience_ceiling``), if any."""
    authorize(principal, "videos:play")
    item = load_visible(principal, video_id)
    # VIEWABLE: the lowest rung is stitched and its master playlist lists it; the player picks up
    # the higher rungs when it reloads the master after they are published.
    if item.status not in (VideoStatus.READY, VideoStatus.VIEWABLE):
        raise Conflict(f"video {video_id} is {item.status}, not READY or VIEWABLE", code="video_not_ready")
    _check_rating(video_id, ceiling)
    settings = get_settings()
    ttl = min(request.ttl_seconds or settings.playback_ttl_seconds, settings.playback_ttl_seconds)
    expires_at = int(time.time()) + ttl
    base = settings.cdn_base_url.rstrip("/")
    bind_ip = settings.playback_bind_ip if request.bind_ip is None else request.bind_ip
    url = sign_url(
        url=f"{base}/{keys.master_playlist_key(video_id)}",
        resource=f"{base}/{keys.hls_prefix(video_id)}*",
        key_pair_id=settings.cloudfront_key_pair_id,
        private_pem=cloudfront_private_key(),
        expires_at=expires_at,
        source_ip=source_ip if bind_ip else None,
    )
    return PlaybackResponse(hls_url=url, expires_at=iso(expires_at))


def _check_rating(video_id: str, ceiling: int | None) -> None:
    """Refuse a profile the rating of the title this video belongs to. The catalog is read only
    for a restricted profile; a video bound to no title is not rated, and plays."""
    if ceiling is None:
        return
    rating = rating_for_video(video_id)
    if rating is not None and not ratings.allowed(rating, ceiling):
        raise Forbidden(
            f"this video is rated {rating}: above the active profile's age ceiling ({ceiling})",
            code="rating_restricted",
        )
