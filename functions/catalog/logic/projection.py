"""The read model's layout: which listings a published title appears in (pure functions).

A listing is a partition ``L#<band>#<facet>`` sorted newest first by ``<first_published_at>#<id>``.
The band is an audience age (``ratings.AUDIENCE_BANDS``): a title rated for ages >= m is written
into every band >= m, so the listing a viewer with ceiling c reads (the highest band <= c)
holds exactly the titles ``ratings.allowed`` lets them see, and one Query serves a page. Facets:
``all``, ``g:<genre>``, ``t:<tag>``, ``r:<rating>``, ``y:<year>`` and ``w:<search token>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.catalog.logic.text import facet_value, tokenize
from functions.catalog.models import ViewRow
from functions.shared.ratings import ADULT_CEILING, AUDIENCE_BANDS, min_age

BANDS: tuple[int, ...] = tuple(sorted({*AUDIENCE_BANDS, ADULT_CEILING}))
ALL = "all"


def audience_age(rating: str | None) -> int:
    """The youngest audience a rating suits; unrated content counts as adult-only."""
    return ADULT_CEILING if rating is None else min_age(rating)


def bands_for(rating: str | None) -> tuple[int, ...]:
    age = audience_age(rating)
    return tuple(band for band in BANDS if band >= age)


def band_for_ceiling(ceiling: int | None) -> int | None:
    """The listing band a viewer reads; None when the ceiling admits nothing at all."""
    if ceiling is None:
        return BANDS[-1]
    eligible = [band for band in BANDS if band <= ceiling]
    return eligible[-1] if eligible else None


def partition(band: int, facet: str) -> str:
    return f"L#{band:02d}#{facet}"


def genre_facet(genre: str) -> str:
    return f"g:{facet_value(genre)}"


def tag_facet(tag: str) -> str:
    return f"t:{facet_value(tag)}"


def rating_facet(rating: str) -> str:
    return f"r:{rating}"


def year_facet(year: int) -> str:
    return f"y:{year}"


def word_facet(token: str) -> str:
    return f"w:{token}"


def sort_key(title: Mapping[str, Any]) -> str:
    return f"{title['first_published_at']}#{title['title_id']}"


def facets_of(title: Mapping[str, Any]) -> list[str]:
    facets = [genre_facet(g) for g in title.get("genres") or []]
    facets += [tag_facet(t) for t in title.get("tags") or []]
    if title.get("content_rating"):
        facets.append(rating_facet(title["content_rating"]))
    if title.get("release_year") is not None:
        facets.append(year_facet(int(title["release_year"])))
    return list(dict.fromkeys(facets))


def rows_for(title: Mapping[str, Any]) -> list[ViewRow]:
    """Every read-model row of a title snapshot: none unless it is published."""
    if title.get("state") != "published":
        return []
    facets = facets_of(title)
    tokens = tokenize(str(title["title"]))
    base: dict[str, Any] = {
        "title_id": title["title_id"],
        "kind": title["kind"],
        "title": title["title"],
        "genres": list(title.get("genres") or []),
        "release_year": title.get("release_year"),
        "content_rating": title.get("content_rating"),
        "images": dict(title.get("images") or {}),
        "facets": facets,
        "version": int(title["version"]),
        "published_at": title.get("published_at"),
    }
    sk = sort_key(title)
    rows = []
    for band in bands_for(title.get("content_rating")):
        for facet in [ALL, *facets]:
            rows.append(ViewRow(partition(band, facet), sk, base))
        for token in tokens:
            rows.append(ViewRow(partition(band, word_facet(token)), sk, {**base, "tokens": tokens}))
    return rows
