"""Items of the write and read models -> the API's response models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from functions.catalog.contract import CastMember, EpisodeView, SeasonView, TitleSummary, TitleView
from functions.catalog.dal.tables import EpisodeItem, SeasonItem, ViewItem
from functions.catalog.dal.titles import Aggregate


def _plain(value: Any) -> Any:
    """PynamoDB map/list attributes -> plain dicts and lists."""
    if hasattr(value, "as_dict"):
        return {k: _plain(v) for k, v in value.as_dict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def episode_view(item: EpisodeItem) -> EpisodeView:
    return EpisodeView(
        season=int(item.season_number),
        number=int(item.episode_number),
        title=item.title,
        synopsis=item.synopsis or "",
        video_id=item.video_id or "",
        duration_seconds=_int(item.duration_seconds),
        updated_at=item.updated_at,
    )


def season_view(item: SeasonItem, episodes: Sequence[EpisodeItem]) -> SeasonView:
    ordered = sorted(episodes, key=lambda e: int(e.episode_number))
    return SeasonView(
        number=int(item.season_number),
        title=item.title,
        synopsis=item.synopsis or "",
        release_year=_int(item.release_year),
        episodes=[episode_view(e) for e in ordered],
    )


def title_view(aggregate: Aggregate) -> TitleView:
    title = aggregate.title
    seasons = sorted(aggregate.seasons, key=lambda s: int(s.season_number))
    return TitleView(
        id=title.title_id,
        kind=title.kind,
        title=title.title,
        synopsis=title.synopsis or "",
        genres=list(title.genres or []),
        tags=list(title.tags or []),
        release_year=_int(title.release_year),
        content_rating=title.content_rating,
        languages=list(title.languages or []),
        cast=[CastMember.model_validate(_plain(member)) for member in title.cast or []],
        images=_plain(title.images or {}),
        video_id=title.video_id,
        state=title.state,
        owner=title.owner,
        version=int(title.version),
        created_at=title.created_at,
        updated_at=title.updated_at,
        published_at=title.published_at,
        seasons=[
            season_view(s, [e for e in aggregate.episodes if e.season_number == s.season_number])
            for s in seasons
        ],
    )


def summary(item: ViewItem) -> TitleSummary:
    return TitleSummary(
        id=item.title_id,
        kind=item.kind,
        title=item.title,
        genres=list(item.genres or []),
        release_year=_int(item.release_year),
        content_rating=item.content_rating,
        images=_plain(item.images or {}),
        published_at=item.published_at,
    )


def snapshot(title: Any) -> dict[str, Any]:
    """A title item as the plain dict events carry and the projection reads."""
    data = {name: _plain(getattr(title, name, None)) for name in SNAPSHOT_FIELDS}
    data["version"] = int(data["version"])
    if data.get("release_year") is not None:
        data["release_year"] = int(data["release_year"])
    return data


SNAPSHOT_FIELDS = (
    "title_id",
    "kind",
    "title",
    "synopsis",
    "genres",
    "tags",
    "release_year",
    "content_rating",
    "languages",
    "images",
    "video_id",
    "state",
    "owner",
    "version",
    "created_at",
    "updated_at",
    "published_at",
    "first_published_at",
)
