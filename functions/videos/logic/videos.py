"""Create and read videos, with the visibility rules in one place."""

from __future__ import annotations

import uuid
from typing import Any

from functions.shared.auth import Principal
from functions.shared.authz import authorize, permits
from functions.shared.errors import NotFound
from functions.shared.keys import VIDEO_ID_RE, upload_key
from functions.shared.settings import get_settings
from functions.videos.dal import videos as dal
from functions.videos.dal.tables import VideoModel
from functions.videos.logic import active_uploads, lifecycle, priority
from functions.videos.logic.uploads import check_size, upload_target
from functions.videos.models import (
    CreateVideoRequest,
    CreateVideoResponse,
    IgnoredUpload,
    Reason,
    Rendition,
    UpdateVideoRequest,
    VideoStatus,
    VideoView,
    Visibility,
)


def to_view(item: VideoModel, *, evidence: bool = False) -> VideoView:
    """``evidence``: admins see what each check found; everyone else sees check and code only."""
    renditions = [Rendition(**_plain(r)) for r in (item.renditions or [])]
    reasons = [
        Reason(check=r["check"], code=r["code"], evidence=r.get("evidence") if evidence else None)
        for r in (_plain(x) for x in (item.reasons or []))
    ]
    return VideoView(
        id=item.video_id,
        status=VideoStatus(item.status),
        title=item.title,
        description=item.description or "",
        tags=list(item.tags or []),
        owner=item.owner_sub,
        created_at=item.created_at,
        updated_at=item.updated_at,
        reason=item.reason,
        message=item.message,
        reasons=reasons,
        attempt=int(item.attempt) if item.attempt is not None else None,
        duration_seconds=float(item.duration_seconds) if item.duration_seconds is not None else None,
        width=int(item.width) if item.width is not None else None,
        height=int(item.height) if item.height is not None else None,
        renditions=renditions,
        poster_key=item.poster_key,
        storyboard_key=item.storyboard_key,
        progress=_plain(item.progress) if item.progress is not None else None,
        renditions_pending=list(item.renditions_pending or []),
        viewable_at=item.viewable_at,
        priority_class=priority.class_of(item.priority_class).name,
        visibility=Visibility(item.visibility or Visibility.PRIVATE),
        ignored_uploads=[IgnoredUpload(**_plain(x)) for x in (item.ignored_uploads or [])],
        deleted_by=item.deleted_by,
        deleted_at=item.deleted_at,
        previous_status=VideoStatus(item.previous_status) if item.previous_status else None,
        purged_at=item.purged_at,
    )


def _plain(value: Any) -> Any:
    """PynamoDB MapAttribute -> plain dict (numbers come back as int/float)."""
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def create_video(principal: Principal, request: CreateVideoRequest) -> CreateVideoResponse:
    authorize(principal, "videos:create")
    settings = get_settings()
    priority_class = priority.resolve(principal, request.priority_class)  # 403 without the plan
    video_id = uuid.uuid4().hex
    key = upload_key(video_id, priority_class.upload_prefix)
    # Validate size limits before anything is written, so a refused request leaves nothing behind.
    check_size(request.size_bytes, settings)
    active_uploads.take_place(principal.sub, video_id, settings)  # 429 past the per-user cap
    try:
        target = upload_target(
            key=key, size_bytes=request.size_bytes, content_type=request.content_type, settings=settings
        )
        item = lifecycle.create_awaiting_upload(
            video_id=video_id,
            owner_sub=principal.sub,
            title=request.title,
            description=request.description,
            tags=request.tags,
            upload_key=key,
            priority_class=priority_class.name,
            visibility=request.visibility.value,
        )
    except BaseException:
        active_uploads.give_back_place(principal.sub, video_id)
        raise
    return CreateVideoResponse(**to_view(item).model_dump(), upload=target)


def load_visible(principal: Principal, video_id: str) -> VideoModel:
    """The video if this principal may see it: READY videos to any signed-in user, anything
    else to its owner and admins only (403 for others)."""
    authorize(principal, "videos:read")
    if not VIDEO_ID_RE.match(video_id):
        raise NotFound(f"video {video_id} not found")
    item = dal.get(video_id)
    if item.status != VideoStatus.READY:
        authorize(principal, "videos:read_unpublished", owner=item.owner_sub)
    return item


def get_video(principal: Principal, video_id: str) -> VideoView:
    return to_view(load_visible(principal, video_id), evidence=permits(principal, "videos:read_evidence"))


def update_video(principal: Principal, video_id: str, request: UpdateVideoRequest) -> VideoView:
    """PATCH: the owner or an admin sets the video's visibility."""
    authorize(principal, "videos:update")
    if not VIDEO_ID_RE.match(video_id):
        raise NotFound(f"video {video_id} not found")
    item = dal.get(video_id)
    authorize(principal, "videos:update", owner=item.owner_sub)
    lifecycle.set_visibility(video_id, request.visibility.value)
    return get_video(principal, video_id)
