"""Which titles a video is bound to (as a movie or as an episode), their publication state and
rating: what the playback-access decision asks, and the content rating that governs a video.

Playback asks this to refuse a kids profile what its ceiling excludes. Two calls at most, both
on keys: a Query on the sparse ``by-video`` index, then one BatchGetItem for the titles of the
episodes found (a movie's own item already carries its rating).
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.catalog.dal import titles as dal
from functions.catalog.dal.tables import EpisodeItem, TitleItem
from functions.catalog.logic.projection import audience_age
from functions.catalog.models import PublicationState
from functions.shared.ratings import ContentRating


@dataclass(frozen=True)
class Binding:
    """One title that plays the video: the movie itself, or the series of an episode."""

    title_id: str
    name: str  # the title's name
    kind: str  # movie | series
    published: bool
    rating: str  # the title's content rating; an unrated title counts as NC-17 (adult only)
    season: int | None = None
    episode: int | None = None
    episode_name: str | None = None


def bindings_for_video(video_id: str) -> list[Binding]:
    """Every title the video is bound to, with its publication state and rating (two calls at
    most, as ``rating_for_video``); empty when it is bound to none."""
    bound = dal.items_bound_to(video_id)
    if not bound:
        return []
    titles = {item.title_id: item for item in bound if isinstance(item, TitleItem)}
    missing = [item.title_id for item in bound if item.title_id not in titles]
    if missing:
        titles.update({t.title_id: t for t in dal.titles_by_key(missing)})
    out = []
    for item in bound:
        title = titles.get(item.title_id)
        if title is None:  # an episode of a title deleted a moment ago
            continue
        episode = item if isinstance(item, EpisodeItem) else None
        out.append(
            Binding(
                title_id=title.title_id,
                name=title.title,
                kind=title.kind,
                published=title.state == PublicationState.PUBLISHED,
                rating=title.content_rating or ContentRating.NC_17.value,
                season=int(episode.season_number) if episode else None,
                episode=int(episode.episode_number) if episode else None,
                episode_name=episode.title if episode else None,
            )
        )
    return out


def rating_for_video(video_id: str) -> str | None:
    """The strictest rating among the titles the video is bound to; None when it is bound to none.

    An unrated title counts as adult-only (as ``ratings.allowed`` treats it) and answers NC-17,
    the strictest rating, so that no ceiling below adult lets it through.
    """
    bound = dal.items_bound_to(video_id)
    if not bound:
        return None
    titles = {item.title_id: item for item in bound if isinstance(item, TitleItem)}
    missing = [item.title_id for item in bound if item.title_id not in titles]
    if missing:
        titles.update({t.title_id: t for t in dal.titles_by_key(missing)})
    ratings = [titles[item.title_id].content_rating for item in bound if item.title_id in titles]
    if not ratings:
        return None  # bound only to episodes of a title deleted a moment ago
    strictest = max(ratings, key=audience_age)
    return ContentRating.NC_17.value if strictest is None else str(strictest)
