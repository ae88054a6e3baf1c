"""Who may play what: the one playback-access decision.

Every path that hands out media goes through ``decide`` (the playback URL and session today; the
key endpoint, comments, downloads and live later), so a rule is written once:

1. the role may play at all (``videos:play`` in functions/shared/authz.py);
2. the video exists and is not DELETED;
3. the owner and admins may play it when it is READY or VIEWABLE;
4. anyone else signed in only when it is READY, and then
   - bound to titles (a movie, or episodes of a series): at least one of them is **published**,
     and the active profile's ceiling allows its rating;
   - bound to none: its ``visibility`` is ``unlisted`` or ``public`` (``private`` is the default);
5. the active profile's ceiling applies to everyone, owners and admins included: a kids profile
   is a kids profile whoever's account it is in.

Every refusal carries a reason code (``Reason``) and the HTTP error the API answers with.
Commerce adds its entitlement rule in ``_viewer_rules`` (a title sold, not free: the viewer must
hold an entitlement), and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from functions.catalog.logic.lookup import Binding, bindings_for_video
from functions.shared import ratings
from functions.shared.auth import Principal
from functions.shared.authz import permits
from functions.shared.errors import Conflict, DomainError, Forbidden, Gone, NotFound
from functions.shared.keys import VIDEO_ID_RE
from functions.videos.logic.records import find_record
from functions.videos.models import VideoStatus, Visibility


class Reason(StrEnum):
    FORBIDDEN_ROLE = "forbidden_role"  # the caller's role may not play anything
    NOT_FOUND = "not_found"
    DELETED = "deleted"  # taken down
    NOT_READY = "not_ready"  # not (yet) playable: still processing, rejected, failed
    PRIVATE = "private"  # bound to no title and its visibility is private
    NOT_PUBLISHED = "not_published"  # bound only to titles that are drafts or unpublished
    RATING_RESTRICTED = "rating_restricted"  # above the active profile's age ceiling


PLAYABLE_BY_OWNER = frozenset({VideoStatus.READY, VideoStatus.VIEWABLE})


@dataclass(frozen=True)
class Viewer:
    """Who asks: the signed-in principal and the active profile (X-Profile-Id)."""

    principal: Principal
    ceiling: int | None = None  # the active profile's age ceiling; None: unrestricted
    profile_id: str | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: Reason | None = None
    message: str = ""
    video: object | None = None  # the video's record when it was found (VideoModel)
    bindings: Sequence[Binding] = field(default_factory=tuple)  # the titles it is bound to
    rule: str | None = None  # which rule allowed it: owner, admin, title, visibility
    privileged: bool = False  # asked by the owner or an admin (who may learn the video's status)

    def require(self) -> object:
        """The video's record when allowed; else the refusal as the API error it answers."""
        if self.allowed:
            return self.video
        raise _error(self.reason or Reason.NOT_FOUND, self.message, privileged=self.privileged)


def _error(reason: Reason, message: str, *, privileged: bool) -> DomainError:
    if reason is Reason.NOT_FOUND:
        return NotFound(message, code=reason.value)
    if reason is Reason.DELETED:
        return Gone(message, code=reason.value)
    if reason is Reason.NOT_READY and privileged:  # its owner may know its status: 409
        return Conflict(message, code="video_not_ready")
    return Forbidden(message, code=reason.value)


def refuse(reason: Reason, message: str, **found: object) -> Decision:
    return Decision(False, reason, message, **found)  # type: ignore[arg-type]


# A rule for viewers who neither own the video nor administer: a refusal, or None to go on.
ViewerRule = Callable[[Viewer, object, Sequence[Binding]], Decision | None]


def _published_title_or_visibility(
    viewer: Viewer, video: object, bindings: Sequence[Binding]
) -> Decision | None:
    video_id = video.video_id  # type: ignore[attr-defined]
    if bindings:
        if not any(b.published for b in bindings):
            return refuse(
                Reason.NOT_PUBLISHED,
                f"video {video_id} belongs to a title that is not published",
                video=video,
                bindings=bindings,
            )
        return None
    visibility = Visibility(video.visibility or Visibility.PRIVATE)  # type: ignore[attr-defined]
    if visibility is Visibility.PRIVATE:
        return refuse(Reason.PRIVATE, f"video {video_id} is private", video=video)
    return None


# Commerce adds ``_entitled`` here: a title that is sold plays only with an entitlement.
_viewer_rules: tuple[ViewerRule, ...] = (_published_title_or_visibility,)


def decide(viewer: Viewer, video_id: str) -> Decision:
    """May ``viewer`` play ``video_id``? Two reads at most for a bound video (the record, the
    catalog's bindings: one Query and, for episodes, one BatchGetItem)."""
    principal = viewer.principal
    if not permits(principal, "videos:play"):
        return refuse(Reason.FORBIDDEN_ROLE, "this role may not play videos")
    video = find_record(video_id) if VIDEO_ID_RE.match(video_id) else None
    if video is None:
        return refuse(Reason.NOT_FOUND, f"video {video_id} not found")
    if video.status == VideoStatus.DELETED:  # the takedown's terminal status
        return refuse(Reason.DELETED, f"video {video_id} was taken down", video=video)
    status = VideoStatus(video.status)
    privileged = permits(principal, "videos:read_unpublished", owner=video.owner_sub)
    if privileged:
        if status not in PLAYABLE_BY_OWNER:
            return refuse(
                Reason.NOT_READY,
                f"video {video_id} is {status.value}, not READY or VIEWABLE",
                video=video,
                privileged=True,
            )
    elif status is not VideoStatus.READY:
        # Not the caller's: an unfinished video is nobody else's business (no status leaked).
        return refuse(Reason.NOT_READY, f"video {video_id} is not published", video=video)
    bindings = tuple(bindings_for_video(video_id)) if (not privileged or viewer.ceiling is not None) else ()
    if not privileged:
        for rule in _viewer_rules:
            refusal = rule(viewer, video, bindings)
            if refusal is not None:
                return refusal
    if viewer.ceiling is not None:
        refusal = _within_ceiling(viewer.ceiling, video, bindings, privileged=privileged)
        if refusal is not None:
            return refusal
    rule_name = ("admin" if video.owner_sub != principal.sub else "owner") if privileged else None
    if rule_name is None:
        rule_name = "title" if bindings else "visibility"
    return Decision(True, video=video, bindings=bindings, rule=rule_name)


def _within_ceiling(
    ceiling: int, video: object, bindings: Sequence[Binding], *, privileged: bool
) -> Decision | None:
    """A bound video plays for a restricted profile when every title that plays it (published ones;
    any, for the owner) is rated within the ceiling: the strictest rating governs, as the
    catalog's listings do. A video bound to no title is not rated."""
    candidates = [b for b in bindings if privileged or b.published]
    if not candidates:
        return None
    if all(ratings.allowed(b.rating, ceiling) for b in candidates):
        return None
    strictest = max((b.rating for b in candidates), key=ratings.min_age)
    return refuse(
        Reason.RATING_RESTRICTED,
        f"this video is rated {strictest}: above the active profile's age ceiling ({ceiling})",
        video=video,
        bindings=bindings,
    )
