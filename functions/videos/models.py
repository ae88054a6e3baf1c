"""Domain model of a video: statuses, the allowed transitions, and the API shapes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from functions.shared.schema import ApiModel
from functions.shared.text import PlainLine, PlainText


class VideoStatus(StrEnum):
    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    UPLOADED = "UPLOADED"
    PROCESSING = "PROCESSING"
    IN_REVIEW = "IN_REVIEW"  # moderation scored in the grey band: the Saga waits for an admin
    # Chunked path: the lowest rung is stitched and playable; the rest of the ladder is encoding.
    VIEWABLE = "VIEWABLE"
    READY = "READY"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    # Taken down (DELETE /v1/videos/{id}): its media are gone; the record stays for audit.
    DELETED = "DELETED"


TERMINAL = frozenset({VideoStatus.READY, VideoStatus.REJECTED, VideoStatus.FAILED, VideoStatus.DELETED})

# The one place that says which status may follow which. The DAL refuses any other move
# (``IllegalTransition``), and every move is one named function of functions/videos/logic/lifecycle.py.
ALLOWED_TRANSITIONS: dict[VideoStatus, frozenset[VideoStatus]] = {
    VideoStatus.AWAITING_UPLOAD: frozenset({VideoStatus.UPLOADED, VideoStatus.FAILED, VideoStatus.DELETED}),
    VideoStatus.UPLOADED: frozenset(
        {VideoStatus.PROCESSING, VideoStatus.REJECTED, VideoStatus.FAILED, VideoStatus.DELETED}
    ),
    VideoStatus.PROCESSING: frozenset(
        {
            # A retried Probe (the step ran, then its invocation failed transiently) enters again.
            VideoStatus.PROCESSING,
            VideoStatus.IN_REVIEW,
            VideoStatus.VIEWABLE,
            VideoStatus.READY,
            VideoStatus.REJECTED,
            VideoStatus.FAILED,
            VideoStatus.DELETED,
        }
    ),
    # Compensation still applies: a failure of a higher rung fails the video and removes outputs.
    VideoStatus.VIEWABLE: frozenset(
        {VideoStatus.READY, VideoStatus.REJECTED, VideoStatus.FAILED, VideoStatus.DELETED}
    ),
    VideoStatus.IN_REVIEW: frozenset(
        {VideoStatus.PROCESSING, VideoStatus.REJECTED, VideoStatus.FAILED, VideoStatus.DELETED}
    ),
    # A takedown (the owner or an admin) is the only way out of READY, and works from every status.
    VideoStatus.READY: frozenset({VideoStatus.DELETED}),
    VideoStatus.REJECTED: frozenset({VideoStatus.UPLOADED, VideoStatus.DELETED}),  # admin override: re-run
    VideoStatus.FAILED: frozenset({VideoStatus.UPLOADED, VideoStatus.DELETED}),  # a safe retry re-enters
    # Terminal for good: nothing moves a taken-down video again (no step, retry or approval).
    VideoStatus.DELETED: frozenset(),
}


# The priority classes an upload may ask for (the table: functions/videos/logic/priority.py).
PriorityClassName = Literal["standard", "priority"]


def sources_of(target: VideoStatus) -> frozenset[VideoStatus]:
    """Every status from which ``target`` may be reached."""
    return frozenset(src for src, dests in ALLOWED_TRANSITIONS.items() if target in dests)


class Visibility(StrEnum):
    """Who may play a READY video that is bound to no title (a bound one follows its title's
    publication): the playback-access decision reads it (functions/playback/logic/access.py)."""

    PRIVATE = "private"  # the owner and admins only (the default)
    UNLISTED = "unlisted"  # anyone signed in who has the id
    PUBLIC = "public"  # anyone signed in


class IllegalTransition(ValueError):
    """A move the transition table does not allow: a programming error, never a race (a race is a
    failed condition, ``Conflict``)."""


def check_transition(sources: frozenset[VideoStatus], target: VideoStatus) -> None:
    """Raise ``IllegalTransition`` unless every one of ``sources`` may move to ``target``."""
    illegal = sorted(s.value for s in sources if target not in ALLOWED_TRANSITIONS[s])
    if not sources or illegal:
        raise IllegalTransition(
            f"{', '.join(illegal) or 'no status'} -> {target.value} is not in ALLOWED_TRANSITIONS"
        )


class CreateVideoRequest(ApiModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: PlainLine = Field(min_length=1, max_length=200)
    description: PlainText = Field(default="", max_length=5000)
    tags: list[PlainLine] = Field(default_factory=list, max_length=30)
    size_bytes: int | None = Field(
        default=None, gt=0, description="Size of the file to upload; large files get a multipart upload."
    )
    content_type: str = Field(default="video/mp4", max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
    priority_class: PriorityClassName | None = Field(
        default=None,
        description="Processing class (default standard); 'priority' needs the priority plan or admin role",
    )
    visibility: Visibility = Field(
        default=Visibility.PRIVATE,
        description="Who may play it while it is bound to no title: private (owner and admins), "
        "unlisted (anyone signed in with the id), public",
    )

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        cleaned = []
        for tag in tags:
            tag = tag.strip()
            if not tag or len(tag) > 50:
                raise ValueError("each tag must be 1-50 characters")
            cleaned.append(tag)
        return cleaned


class UpdateVideoRequest(ApiModel):
    """PATCH /v1/videos/{id}. Only what changes no checked content: a new title or description
    would have to pass moderation again, so they are not editable here."""

    model_config = ConfigDict(extra="forbid")

    visibility: Visibility


class UploadPart(ApiModel):
    part_number: int
    url: str
    headers: dict[str, str] = Field(default_factory=dict)


class UploadTarget(ApiModel):
    method: str
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    expires_at: str
    # Multipart uploads: one presigned URL per part, then POST the complete URL with the ETags.
    upload_id: str | None = None
    part_size: int | None = None
    parts: list[UploadPart] | None = None
    complete_url: str | None = None
    checksum_algorithm: str | None = None


class Reason(ApiModel):
    """Why a video was rejected or held: uploaders see check and code, admins also the evidence."""

    check: str
    code: str
    evidence: dict[str, Any] | None = None


class Rendition(ApiModel):
    name: str
    width: int
    height: int
    bitrate: int
    playlist_key: str


def rendition_record(described: dict[str, Any]) -> dict[str, Any]:
    """What the video record keeps of a rendition a transcode step described: the API's fields."""
    return {name: described[name] for name in Rendition.model_fields}


class IgnoredUpload(ApiModel):
    """An object written to the video's upload key after its source was fixed: not processed."""

    at: str
    size_bytes: int
    status: VideoStatus  # the video's status when it arrived
    reason: str  # source_already_fixed


class VideoView(ApiModel):
    """What the API shows of a video."""

    id: str
    status: VideoStatus
    title: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    owner: str
    created_at: str
    updated_at: str
    reason: str | None = None
    message: str | None = None
    reasons: list[Reason] = Field(default_factory=list)
    attempt: int | None = None
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    renditions: list[Rendition] = Field(default_factory=list)
    poster_key: str | None = None
    storyboard_key: str | None = None
    progress: dict[str, Any] | None = None
    # VIEWABLE: the renditions still encoding (the playable ones are in ``renditions``).
    renditions_pending: list[str] = Field(default_factory=list)
    viewable_at: str | None = None
    priority_class: PriorityClassName = "standard"
    visibility: Visibility = Visibility.PRIVATE
    # Later writes to the upload key, refused by the starter (the source is the first upload).
    ignored_uploads: list[IgnoredUpload] = Field(default_factory=list)
    # DELETED: who took it down, when, from which status, and when its media were purged.
    deleted_by: str | None = None
    deleted_at: str | None = None
    previous_status: VideoStatus | None = None
    purged_at: str | None = None


class VideoPage(ApiModel):
    """A page of a video listing, newest first (``GET /v1/me/videos``, ``GET /v1/videos``)."""

    items: list[VideoView]
    next_cursor: str | None = Field(
        default=None, description="Opaque; pass as ?cursor= for the next page. null on the last page."
    )


class CreateVideoResponse(VideoView):
    upload: UploadTarget


class PlaybackRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    ttl_seconds: int | None = Field(
        default=None, ge=60, le=86400, description="Shorter than the configured lifetime if set"
    )
    bind_ip: bool | None = Field(default=None, description="Bind the URL to the caller's IP address")


class PlaybackResponse(ApiModel):
    hls_url: str
    expires_at: str
