"""Which content rating governs a video: the title it is bound to, as a movie or as an episode.

Playback asks this to refuse a kids profile what its ceiling excludes. Two calls at most, both
on keys: a Query on the sparse ``by-video`` index, then one BatchGetItem for the titles of the
episodes found (a movie's own item already carries its rating).
"""

from __future__ import annotations

from functions.catalog.dal import titles as dal
from functions.catalog.dal.tables import TitleItem
from functions.catalog.logic.projection import audience_age
from functions.shared.ratings import ContentRating


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
