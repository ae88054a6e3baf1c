"""The read model's layout: audience bands, facets, and which rows a title gets."""

from __future__ import annotations

from typing import Any

import pytest

from functions.catalog.logic.projection import (
    BANDS,
    band_for_ceiling,
    bands_for,
    partition,
    rows_for,
)
from functions.shared.ratings import KIDS_CEILING, TEEN_CEILING, ContentRating, allowed


def title(**fields: Any) -> dict[str, Any]:
    return {
        "title_id": "t1",
        "kind": "movie",
        "title": "Amélie",
        "genres": ["Comedy", "Romance"],
        "tags": ["Paris"],
        "release_year": 2001,
        "content_rating": "R",
        "images": {},
        "version": 3,
        "state": "published",
        "published_at": "2026-01-01T00:00:00.000Z",
        "first_published_at": "2026-01-01T00:00:00.000Z",
        **fields,
    }


@pytest.mark.parametrize(
    "ceiling", [None, -1, 0, 5, KIDS_CEILING, 9, 10, 12, 13, TEEN_CEILING, 16, 17, 18, 99]
)
@pytest.mark.parametrize("rating", [*ContentRating, None])
def test_the_band_a_viewer_reads_holds_exactly_what_their_ceiling_allows(
    ceiling: int | None, rating: ContentRating | None
) -> None:
    # Given a title with this rating, written into its bands
    written = bands_for(rating)
    # When a viewer with this ceiling reads their band
    band = band_for_ceiling(ceiling)
    visible = band is not None and band in written
    # Then they see it exactly when ratings.allowed says so
    assert visible == allowed(rating, ceiling)


def test_kids_do_not_get_a_tv_ma_title() -> None:
    assert band_for_ceiling(KIDS_CEILING) not in bands_for(ContentRating.TV_MA)
    assert band_for_ceiling(KIDS_CEILING) in bands_for(ContentRating.TV_Y7)


def test_unrated_is_for_unrestricted_audiences_only() -> None:
    assert bands_for(None) == (BANDS[-1],)
    assert band_for_ceiling(None) == BANDS[-1]


def test_a_published_title_is_in_every_facet_of_every_band_it_suits() -> None:
    rows = rows_for(title())
    keys = {row.pk for row in rows}
    for band in bands_for("R"):
        assert {
            partition(band, "all"),
            partition(band, "g:comedy"),
            partition(band, "g:romance"),
            partition(band, "t:paris"),
            partition(band, "r:R"),
            partition(band, "y:2001"),
            partition(band, "w:amelie"),
        } <= keys
    assert not any(row.pk.startswith("L#14#") for row in rows)  # R is 17+
    assert {row.sk for row in rows} == {"2026-01-01T00:00:00.000Z#t1"}


def test_search_rows_carry_every_token_and_listing_rows_do_not() -> None:
    rows = rows_for(title(title="Le Fabuleux Destin d'Amélie"))
    search = [r for r in rows if "#w:" in r.pk]
    assert search and all("amelie" in r.attributes["tokens"] for r in search)
    assert all("tokens" not in r.attributes for r in rows if "#w:" not in r.pk)


@pytest.mark.parametrize("state", ["draft", "unpublished"])
def test_an_unpublished_title_has_no_rows(state: str) -> None:
    assert rows_for(title(state=state)) == []
