"""Content ratings and the audience age each one needs: the one table everything filters on.

Two scales share one axis: the MPAA film ratings and the US TV Parental Guidelines. Each rating
maps to the youngest audience age it suits, so a profile's ceiling is a single number (the
oldest audience it may see): a kids profile with ceiling 7 sees G, PG, TV-Y, TV-Y7 and TV-G.
"""

from __future__ import annotations

from enum import StrEnum


class ContentRating(StrEnum):
    G = "G"
    PG = "PG"
    PG_13 = "PG-13"
    R = "R"
    NC_17 = "NC-17"
    TV_Y = "TV-Y"
    TV_Y7 = "TV-Y7"
    TV_G = "TV-G"
    TV_PG = "TV-PG"
    TV_14 = "TV-14"
    TV_MA = "TV-MA"


# The youngest audience (years) a rating is meant for.
MIN_AGE: dict[ContentRating, int] = {
    ContentRating.G: 0,
    ContentRating.TV_Y: 0,
    ContentRating.TV_G: 0,
    ContentRating.PG: 7,
    ContentRating.TV_Y7: 7,
    ContentRating.TV_PG: 10,
    ContentRating.PG_13: 13,
    ContentRating.TV_14: 14,
    ContentRating.R: 17,
    ContentRating.TV_MA: 17,
    ContentRating.NC_17: 18,
}

# Named ceilings a profile can carry (years). None = unrestricted.
KIDS_CEILING = 7
TEEN_CEILING = 14
ADULT_CEILING = 18

# Distinct audience bands (ascending). A projection may keep one listing per band.
AUDIENCE_BANDS: tuple[int, ...] = tuple(sorted(set(MIN_AGE.values())))


def min_age(rating: ContentRating | str) -> int:
    return MIN_AGE[ContentRating(rating)]


def allowed(rating: ContentRating | str | None, ceiling: int | None) -> bool:
    """May an audience with this ceiling see content with this rating? Unrated content is adult-only."""
    if ceiling is None:
        return True
    if rating is None:
        return ceiling >= ADULT_CEILING
    return min_age(rating) <= ceiling
