"""Signed playback URLs (see functions.playback.signing for the policy choice), for what the
playback-access decision (functions/playback/logic/access.py) lets the caller play.

Playback sits above the domains it asks (videos, catalog, identity); none of those imports
playback, so no package depends on itself through this one.
"""

from __future__ import annotations

import time
from typing import Any

from functions.catalog.logic.lookup import Binding, bindings_for_video
from functions.playback.logic import access
from functions.playback.models import PlaybackSessionResponse
from functions.playback.signing import iso, sign_url
from functions.sessions.logic import sessions
from functions.shared import keys
from functions.shared.auth import Principal
from functions.shared.secrets import cloudfront_private_key
from functions.shared.settings import get_settings
from functions.videos.models import PlaybackRequest


def create_playback(
    principal: Principal,
    video_id: str,
    request: PlaybackRequest,
    source_ip: str,
    *,
    ceiling: int | None = None,
    profile_id: str | None = None,
) -> PlaybackSessionResponse:
    """``ceiling``/``profile_id``: the active viewer profile (identity's ``active_profile``).
    Opens a playback session (functions/sessions): 429 ``too_many_streams`` past the account's limit."""
    # Who may play what is decided in one place (functions/playback/logic/access.py).
    # VIEWABLE (owner and admins): the lowest rung is stitched and its master playlist lists it;
    # the player picks up the higher rungs when it reloads the master after they are published.
    decision = access.decide(access.Viewer(principal, ceiling=ceiling, profile_id=profile_id), video_id)
    video: Any = decision.require()
    # The titles it plays as, for the history's entry (the decision has them unless it skipped the
    # lookup for an owner with no ceiling).
    bindings = decision.bindings or tuple(bindings_for_video(video_id))
    session = sessions.start(
        user_id=principal.sub,
        profile_id=profile_id,
        video_id=video_id,
        duration_seconds=getattr(video, "duration_seconds", None),
        video_title=getattr(video, "title", None),
        titles=[_title_ref(b) for b in bindings],
    )
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
    return PlaybackSessionResponse(
        hls_url=url,
        expires_at=iso(expires_at),
        session_id=session.session_id,
        session_token=session.session_token,
        resume_position_seconds=session.resume_position_seconds,
        heartbeat_interval_seconds=session.heartbeat_interval_seconds,
    )


def _title_ref(binding: Binding) -> dict[str, Any]:
    ref: dict[str, Any] = {"title_id": binding.title_id, "name": binding.name, "kind": binding.kind}
    if binding.season is not None:
        ref["season"] = binding.season
    if binding.episode is not None:
        ref["episode"] = binding.episode
    return ref
