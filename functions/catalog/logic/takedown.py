"""A taken-down video leaves the catalog (``video.deleted``, functions/videos/logic/takedown.py).

Titles stay consistent: a movie bound to the video is unbound and, if published, unpublished (a
published movie with nothing to play is what a viewer must never meet); an episode bound to it is
removed from its series (the series and its other episodes stay as they are). Each change is one
conditional write on the title's version (the catalog's optimistic lock), so it races an editor
safely: a lost race reads again. The table stream then carries the changes to the listing and
search projections as any edit. Idempotent: a redelivered event finds nothing bound any more.
"""

from __future__ import annotations

from functions.catalog.dal import titles as dal
from functions.catalog.dal.tables import EpisodeItem, TitleItem
from functions.catalog.models import PublicationState
from functions.shared.errors import NotFound, PreconditionFailed
from functions.shared.observability import logger

_ATTEMPTS = 5


def unbind_video(video_id: str) -> list[str]:
    """Let go of ``video_id`` everywhere it is bound; what changed, e.g. ``["movie <id> unbound"]``."""
    changes: list[str] = []
    for title_id in dict.fromkeys(item.title_id for item in dal.items_bound_to(video_id)):
        change = _release(title_id, video_id)
        if change:
            changes.append(change)
    return changes


def _release(title_id: str, video_id: str) -> str | None:
    for _ in range(_ATTEMPTS):
        aggregate = dal.find(title_id)
        if aggregate is None:
            return None  # deleted meanwhile
        version = int(aggregate.title.version)
        try:
            return _release_from(aggregate, version, video_id)
        except (PreconditionFailed, NotFound):
            continue  # an editor changed the title first: read it again
    raise PreconditionFailed(f"title {title_id} kept changing while the video {video_id} was unbound")


def _release_from(aggregate: dal.Aggregate, version: int, video_id: str) -> str | None:
    title: TitleItem = aggregate.title
    episodes: list[EpisodeItem] = [e for e in aggregate.episodes if e.video_id == video_id]
    if episodes:
        dal.write_children(title.title_id, version, delete=episodes)
        numbers = ", ".join(f"S{int(e.season_number)}E{int(e.episode_number)}" for e in episodes)
        logger.info("episodes of a taken-down video removed", extra={"title_id": title.title_id})
        return f"series {title.title_id}: {numbers} removed"
    if title.video_id == video_id:
        fields: dict[str, object] = {"video_id": None}
        if title.state == PublicationState.PUBLISHED:
            fields["state"] = PublicationState.UNPUBLISHED.value
        dal.update_title(title.title_id, version, fields)
        return f"movie {title.title_id} unbound" + (" and unpublished" if "state" in fields else "")
    return None
