"""The kids profile of issue 6, end to end through the API: a TV-MA title is absent from listing
and search for a kids profile and its playback is refused, while an adult profile of the same
account sees and plays it (catalog read model fed through its stream, as in test_catalog_views)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from functions.shared.ratings import KIDS_CEILING
from tests.integration.conftest import Account
from tests.integration.test_catalog_api import Catalog, catalog, ids, match
from tests.integration.test_profiles import create_profile, put_video

__all__ = ["catalog"]  # the fixture, shared with test_catalog_api

PARENT = "parent-1"  # a viewer account with two profiles
UPLOADER = "user-1"  # Catalog's default title owner


def ready_video(account: Account) -> str:
    video_id = uuid.uuid4().hex
    put_video(account, video_id, owner=UPLOADER)
    return video_id


def series_with_episode(catalog: Catalog, title: str, video_id: str, rating: str) -> dict[str, Any]:
    """A draft series whose S1E1 plays ``video_id`` (the title at its current version)."""
    series = catalog.create(kind="series", title=title, content_rating=rating)
    season = catalog.api(
        "POST", f"/v1/titles/{series['id']}/seasons", body={"number": 1}, headers=match(series["version"])
    )
    assert season.status == 201, season.body
    episode = catalog.api(
        "POST",
        f"/v1/titles/{series['id']}/seasons/1/episodes",
        body={"number": 1, "title": "Pilot", "video_id": video_id},
        headers={"if-match": season.headers["etag"]},
    )
    assert episode.status == 201, episode.body
    return {**series, "version": int(episode.headers["etag"].strip('"'))}


def tv_ma_series(catalog: Catalog, title: str, video_id: str) -> dict[str, Any]:
    """A published TV-MA series whose S1E1 plays ``video_id``."""
    return catalog.publish(series_with_episode(catalog, title, video_id, "TV-MA"))


@pytest.fixture
def shelf(account: Account, catalog: Catalog) -> dict[str, Any]:
    """Published titles (a TV-MA movie, a TV-MA series, a G movie), projected, and the parent's
    two profiles."""
    videos = {name: ready_video(account) for name in ("grim", "episode", "puppy", "unbound")}
    grim = catalog.published(title="Grim Night", content_rating="TV-MA", video_id=videos["grim"])
    harbor = tv_ma_series(catalog, "Grim Harbor", videos["episode"])
    puppy = catalog.published(title="Puppy Night", content_rating="G", video_id=videos["puppy"])
    catalog.project()
    kids = create_profile(catalog.api, "Kids", KIDS_CEILING, sub=PARENT)
    adult = create_profile(catalog.api, "Me", sub=PARENT)
    return {
        "videos": videos,
        "grim": grim["id"],
        "harbor": harbor["id"],
        "puppy": puppy["id"],
        "kids": {"x-profile-id": kids["id"]},
        "adult": {"x-profile-id": adult["id"]},
    }


def _as_parent(catalog: Catalog, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
    return catalog.api(method, path, role="viewer", sub=PARENT, headers=headers, **kwargs)


def _play(catalog: Catalog, video_id: str, headers: dict[str, str]) -> Any:
    return _as_parent(catalog, "POST", f"/v1/videos/{video_id}/playback", headers, body={})


def test_a_tv_ma_title_is_absent_from_listing_and_search_for_a_kids_profile(
    catalog: Catalog, shelf: dict[str, Any]
) -> None:
    # When the kids profile lists and searches the catalog
    listed = ids(catalog.list(sub=PARENT, headers=shelf["kids"]))
    found = ids(catalog.search("grim", sub=PARENT, headers=shelf["kids"]))
    found_night = ids(catalog.search("night", sub=PARENT, headers=shelf["kids"]))
    # Then the TV-MA movie and series are nowhere, and the G movie is there
    assert listed == [shelf["puppy"]]
    assert found == []
    assert found_night == [shelf["puppy"]]
    assert ids(catalog.list("rating=TV-MA", sub=PARENT, headers=shelf["kids"])) == []
    # And the title itself is not found for it
    for title in ("grim", "harbor"):
        resp = _as_parent(catalog, "GET", f"/v1/titles/{shelf[title]}", shelf["kids"])
        assert resp.status == 404, title


def test_an_adult_profile_of_the_same_account_sees_the_tv_ma_title(
    catalog: Catalog, shelf: dict[str, Any]
) -> None:
    everything = {shelf["grim"], shelf["harbor"], shelf["puppy"]}
    for headers in (shelf["adult"], {}):  # an unrestricted profile, or none selected
        assert set(ids(catalog.list(sub=PARENT, headers=headers))) == everything
        assert set(ids(catalog.search("grim", sub=PARENT, headers=headers))) == {
            shelf["grim"],
            shelf["harbor"],
        }
        assert _as_parent(catalog, "GET", f"/v1/titles/{shelf['grim']}", headers).status == 200


def test_a_kids_profile_is_refused_playback_of_tv_ma_movies_and_episodes(
    catalog: Catalog, shelf: dict[str, Any]
) -> None:
    for video in ("grim", "episode"):
        # When the kids profile asks to play the TV-MA movie's video, or the TV-MA series' episode
        resp = _play(catalog, shelf["videos"][video], shelf["kids"])
        # Then it is refused with a reason a client can show
        assert resp.status == 403, (video, resp.body)
        assert resp.body["error"]["code"] == "rating_restricted"
        assert "TV-MA" in resp.body["error"]["message"]


def test_a_kids_profile_plays_what_its_ceiling_allows_and_unbound_videos(
    catalog: Catalog, shelf: dict[str, Any]
) -> None:
    for video in ("puppy", "unbound"):
        resp = _play(catalog, shelf["videos"][video], shelf["kids"])
        assert resp.status == 200, (video, resp.body)
        assert resp.body["hls_url"].startswith("https://cdn.example.test/")


def test_an_adult_profile_or_none_plays_the_tv_ma_title(catalog: Catalog, shelf: dict[str, Any]) -> None:
    for headers in (shelf["adult"], {}):
        for video in ("grim", "episode"):
            resp = _play(catalog, shelf["videos"][video], headers)
            assert resp.status == 200, (headers, video, resp.body)
