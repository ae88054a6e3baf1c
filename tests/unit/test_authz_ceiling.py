"""Rating ceilings: which ratings a profile may see, and how a request's profile is found."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from functions.identity.logic import audience
from functions.shared import ratings
from functions.shared.auth import Principal
from functions.shared.errors import Forbidden, NotFound
from functions.shared.ratings import ContentRating as R

KIDS = {R.G, R.PG, R.TV_Y, R.TV_Y7, R.TV_G}


@pytest.mark.parametrize("rating", list(R))
def test_a_kids_profile_sees_up_to_tv_y7_and_pg(rating: R) -> None:
    assert ratings.allowed(rating, ratings.KIDS_CEILING) is (rating in KIDS)
    assert ratings.allowed(rating.value, ratings.KIDS_CEILING) is (rating in KIDS)


def test_ceilings_by_band() -> None:
    teen = {r for r in R if ratings.allowed(r, ratings.TEEN_CEILING)}
    assert teen == KIDS | {R.TV_PG, R.PG_13, R.TV_14}
    assert {r for r in R if ratings.allowed(r, ratings.ADULT_CEILING)} == set(R)
    assert {r for r in R if ratings.allowed(r, 0)} == {R.G, R.TV_Y, R.TV_G}


def test_no_ceiling_sees_everything_and_unrated_content_is_adult_only() -> None:
    assert all(ratings.allowed(r, None) for r in R)
    assert ratings.allowed(None, None)
    assert not ratings.allowed(None, ratings.KIDS_CEILING)
    assert not ratings.allowed(None, ratings.TEEN_CEILING)
    assert ratings.allowed(None, ratings.ADULT_CEILING)


def test_every_rating_has_an_age_and_the_bands_are_those_ages() -> None:
    assert set(ratings.MIN_AGE) == set(R)
    assert tuple(sorted(set(ratings.MIN_AGE.values()))) == ratings.AUDIENCE_BANDS
    with pytest.raises(ValueError):
        ratings.min_age("PG-18")


class FakeStore:
    """Stands in for functions.identity.dal.profiles: records each read."""

    def __init__(self, profiles: dict[str, tuple[str, int | None]]):
        self.profiles = profiles
        self.reads: list[str] = []

    def get(self, profile_id: str) -> Any:
        self.reads.append(profile_id)
        if profile_id not in self.profiles:
            raise NotFound(f"profile {profile_id} not found", code="profile_not_found")
        owner, ceiling = self.profiles[profile_id]
        return SimpleNamespace(owner_sub=owner, age_ceiling=ceiling)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> FakeStore:
    fake = FakeStore({"kids": ("me", 7), "adult": ("me", None), "theirs": ("someone-else", 7)})
    monkeypatch.setattr(audience, "profile_store", fake)
    return fake


def _event(**headers: str) -> dict[str, Any]:
    return {"headers": headers}


ME = Principal(sub="me", roles=frozenset({"viewer"}))


def test_without_the_header_there_is_no_ceiling_and_no_read(store: FakeStore) -> None:
    assert audience.audience_ceiling(ME, _event()) is None
    assert audience.audience_ceiling(ME, {}) is None
    assert store.reads == []


def test_the_selected_profile_gives_its_ceiling_in_one_read(store: FakeStore) -> None:
    assert audience.audience_ceiling(ME, _event(**{"x-profile-id": "kids"})) == 7
    assert audience.audience_ceiling(ME, _event(**{"X-Profile-Id": "adult"})) is None
    assert store.reads == ["kids", "adult"]


def test_another_users_profile_is_403_and_an_unknown_one_404(store: FakeStore) -> None:
    with pytest.raises(Forbidden):
        audience.audience_ceiling(ME, _event(**{"x-profile-id": "theirs"}))
    with pytest.raises(NotFound) as err:
        audience.audience_ceiling(ME, _event(**{"x-profile-id": "nobody"}))
    assert err.value.code == "profile_not_found"


def test_a_caller_in_no_platform_group_may_not_use_a_profile(store: FakeStore) -> None:
    with pytest.raises(Forbidden):
        audience.audience_ceiling(Principal(sub="me", roles=frozenset()), _event(**{"x-profile-id": "kids"}))


def test_a_request_names_a_profile_by_its_header_in_any_case() -> None:
    assert audience.names_a_profile(_event(**{"X-Profile-Id": "kids"}))
    assert not audience.names_a_profile(_event(authorization="Bearer x"))
    assert not audience.names_a_profile({})
