"""Catalog commands: create, change, publish and delete titles, seasons and episodes.

Each command reads what it changes (to check the owner and the caller's ``If-Match``), then
writes conditionally on the version it read, so a concurrent change between the two fails with
412 instead of being lost. Every change bumps the title's version (the aggregate's ETag).
"""

from __future__ import annotations

from typing import Any

from functions.catalog.contract import (
    MAX_EPISODES,
    MAX_SEASONS,
    CreateEpisodeRequest,
    CreateSeasonRequest,
    CreateTitleRequest,
    EpisodeView,
    SeasonView,
    TitleView,
    UpdateEpisodeRequest,
    UpdateSeasonRequest,
    UpdateTitleRequest,
)
from functions.catalog.dal import titles as dal
from functions.catalog.dal.tables import EpisodeItem, SeasonItem, TitleItem, episode_sk, season_sk, title_pk
from functions.catalog.logic.render import episode_view, season_view, title_view
from functions.catalog.models import PublicationState, TitleKind, sources_of
from functions.shared.auth import Principal
from functions.shared.authz import authorize
from functions.shared.clock import now_iso
from functions.shared.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from functions.videos.logic import records


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None, current: int) -> int:
    """The version the caller saw, from ``If-Match`` (``"3"``, ``W/"3"``, ``3`` or ``*``)."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            'changing a title needs If-Match: "<version>" (the ETag of the title you read)',
            details={"current_version": current},
        )
    if if_match.strip() == "*":
        return current
    for candidate in if_match.split(","):
        value = candidate.strip().removeprefix("W/").strip('"')
        if value.isdigit() and int(value) == current:
            return current
    raise PreconditionFailed(
        f"the title is at version {current}, not {if_match.strip()}", details={"current_version": current}
    )


def _check_video(principal: Principal, video_id: str) -> None:
    """A title may only be bound to an existing video (not a taken-down one), and an uploader only
    to their own."""
    owner = records.owner_of(video_id)
    if owner is None:
        raise ValidationFailed(
            "no such video", details={"field": "video_id", "message": f"video {video_id} does not exist"}
        )
    authorize(principal, "titles:bind_video", owner=owner)


def _owned_title(principal: Principal, action: str, title_id: str) -> TitleItem:
    authorize(principal, action)  # the role alone first: a forbidden role learns nothing of the title
    title = dal.find_title(title_id)
    if title is None:
        raise NotFound(f"title {title_id} not found")
    authorize(principal, action, owner=title.owner)
    return title


def _owned_aggregate(principal: Principal, action: str, title_id: str) -> dal.Aggregate:
    authorize(principal, action)
    aggregate = dal.load(title_id)
    authorize(principal, action, owner=aggregate.title.owner)
    return aggregate


def create_title(principal: Principal, request: CreateTitleRequest) -> TitleView:
    authorize(principal, "titles:create")
    if request.kind is TitleKind.SERIES and request.video_id:
        raise ValidationFailed(
            "a series plays its episodes' videos",
            details={"field": "video_id", "message": "only a movie is bound to a video"},
        )
    if request.video_id:
        _check_video(principal, request.video_id)
    fields: dict[str, Any] = request.model_dump(exclude_none=True, mode="json")
    fields["state"] = PublicationState.DRAFT.value
    item = dal.create_title(dal.new_title_id(), owner=principal.sub, **fields)
    return title_view(dal.Aggregate(item))


def update_title(
    principal: Principal, title_id: str, if_match: str | None, request: UpdateTitleRequest
) -> TitleView:
    current = _owned_title(principal, "titles:update", title_id)
    version = expected_version(if_match, int(current.version))
    changes: dict[str, Any] = request.model_dump(mode="json", include=request.model_fields_set)
    if "title" in changes and changes["title"] is None:
        raise ValidationFailed("a title cannot be cleared", details={"field": "title", "message": "required"})
    for name in ("synopsis", "genres", "tags", "languages", "cast"):
        if name in changes and changes[name] is None:
            changes[name] = "" if name == "synopsis" else []
    if changes.get("video_id"):
        if current.kind == TitleKind.SERIES.value:
            raise ValidationFailed(
                "a series plays its episodes' videos",
                details={"field": "video_id", "message": "only a movie is bound to a video"},
            )
        _check_video(principal, changes["video_id"])
    updated = dal.update_title(title_id, version, changes)
    return title_view(dal.Aggregate(updated))


def _transition(principal: Principal, title_id: str, if_match: str | None, to: PublicationState) -> TitleView:
    current = _owned_title(principal, "titles:publish", title_id)
    version = expected_version(if_match, int(current.version))
    if PublicationState(current.state) not in sources_of(to):
        raise Conflict(f"a {current.state} title cannot become {to.value}", details={"state": current.state})
    fields: dict[str, Any] = {"state": to.value}
    if to is PublicationState.PUBLISHED:
        fields["published_at"] = now_iso()
        if not current.first_published_at:
            fields["first_published_at"] = fields["published_at"]
    updated = dal.update_title(title_id, version, fields)
    return title_view(dal.Aggregate(updated))


def publish(principal: Principal, title_id: str, if_match: str | None) -> TitleView:
    return _transition(principal, title_id, if_match, PublicationState.PUBLISHED)


def unpublish(principal: Principal, title_id: str, if_match: str | None) -> TitleView:
    return _transition(principal, title_id, if_match, PublicationState.UNPUBLISHED)


def delete_title(principal: Principal, title_id: str, if_match: str | None) -> None:
    aggregate = _owned_aggregate(principal, "titles:delete", title_id)
    version = expected_version(if_match, int(aggregate.title.version))
    dal.delete_title(aggregate, version)


def _series(principal: Principal, title_id: str, if_match: str | None) -> tuple[dal.Aggregate, int]:
    aggregate = _owned_aggregate(principal, "titles:update", title_id)
    version = expected_version(if_match, int(aggregate.title.version))
    if aggregate.title.kind != TitleKind.SERIES.value:
        raise Conflict(f"title {title_id} is a movie: only a series has seasons and episodes")
    return aggregate, version


def add_season(
    principal: Principal, title_id: str, if_match: str | None, request: CreateSeasonRequest
) -> tuple[SeasonView, int]:
    aggregate, version = _series(principal, title_id, if_match)
    if aggregate.season(request.number):
        raise Conflict(f"season {request.number} already exists")
    if len(aggregate.seasons) >= MAX_SEASONS:
        raise Conflict(f"a title has at most {MAX_SEASONS} seasons")
    ts = now_iso()
    item = SeasonItem(
        title_pk(title_id),
        season_sk(request.number),
        title_id=title_id,
        season_number=request.number,
        title=request.title,
        synopsis=request.synopsis,
        release_year=request.release_year,
        created_at=ts,
        updated_at=ts,
    )
    new_version = dal.write_children(title_id, version, put=[item])
    return season_view(item, []), new_version


def _season(aggregate: dal.Aggregate, number: int) -> SeasonItem:
    season = aggregate.season(number)
    if season is None:
        raise NotFound(f"season {number} of title {aggregate.title.title_id} not found")
    return season


def update_season(
    principal: Principal, title_id: str, number: int, if_match: str | None, request: UpdateSeasonRequest
) -> tuple[SeasonView, int]:
    aggregate, version = _series(principal, title_id, if_match)
    season = _season(aggregate, number)
    changes = request.model_dump(include=request.model_fields_set)
    if changes.get("synopsis", "") is None:
        changes["synopsis"] = ""
    actions = []
    for name, value in changes.items():
        attr = getattr(SeasonItem, name)
        actions.append(attr.remove() if value is None else attr.set(value))
        setattr(season, name, value)
    new_version = dal.write_children(title_id, version, update=[(season, actions)] if actions else [])
    episodes = [e for e in aggregate.episodes if e.season_number == number]
    return season_view(season, episodes), new_version


def delete_season(principal: Principal, title_id: str, number: int, if_match: str | None) -> int:
    aggregate, version = _series(principal, title_id, if_match)
    season = _season(aggregate, number)
    if any(e.season_number == number for e in aggregate.episodes):
        raise Conflict(f"season {number} still has episodes: delete them first")
    return dal.write_children(title_id, version, delete=[season])


def add_episode(
    principal: Principal, title_id: str, season: int, if_match: str | None, request: CreateEpisodeRequest
) -> tuple[EpisodeView, int]:
    aggregate, version = _series(principal, title_id, if_match)
    _season(aggregate, season)
    if aggregate.episode(season, request.number):
        raise Conflict(f"episode {request.number} of season {season} already exists")
    if len(aggregate.episodes) >= MAX_EPISODES:
        raise Conflict(f"a title has at most {MAX_EPISODES} episodes")
    _check_video(principal, request.video_id)
    ts = now_iso()
    item = EpisodeItem(
        title_pk(title_id),
        episode_sk(season, request.number),
        title_id=title_id,
        season_number=season,
        episode_number=request.number,
        title=request.title,
        synopsis=request.synopsis,
        video_id=request.video_id,
        duration_seconds=request.duration_seconds,
        created_at=ts,
        updated_at=ts,
    )
    new_version = dal.write_children(title_id, version, put=[item])
    return episode_view(item), new_version


def _episode(aggregate: dal.Aggregate, season: int, number: int) -> EpisodeItem:
    episode = aggregate.episode(season, number)
    if episode is None:
        raise NotFound(f"episode {number} of season {season} not found")
    return episode


def update_episode(
    principal: Principal,
    title_id: str,
    season: int,
    number: int,
    if_match: str | None,
    request: UpdateEpisodeRequest,
) -> tuple[EpisodeView, int]:
    aggregate, version = _series(principal, title_id, if_match)
    episode = _episode(aggregate, season, number)
    changes = request.model_dump(include=request.model_fields_set)
    for required in ("title", "video_id"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(
                f"an episode's {required} cannot be cleared",
                details={"field": required, "message": "required"},
            )
    if changes.get("synopsis", "") is None:
        changes["synopsis"] = ""
    if changes.get("video_id") and changes["video_id"] != episode.video_id:
        _check_video(principal, changes["video_id"])
    actions = []
    for name, value in changes.items():
        attr = getattr(EpisodeItem, name)
        actions.append(attr.remove() if value is None else attr.set(value))
        setattr(episode, name, value)
    new_version = dal.write_children(title_id, version, update=[(episode, actions)] if actions else [])
    return episode_view(episode), new_version


def delete_episode(
    principal: Principal, title_id: str, season: int, number: int, if_match: str | None
) -> int:
    aggregate, version = _series(principal, title_id, if_match)
    episode = _episode(aggregate, season, number)
    return dal.write_children(title_id, version, delete=[episode])
