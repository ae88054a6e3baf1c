"""Catalog reads: a title with its seasons and episodes, listing pages and search.

Every read takes the caller's audience ceiling (functions/identity/logic/audience.py) and hides
what ``ratings.allowed`` refuses. Listing and search read the projections (eventually consistent),
each page at most two DynamoDB Queries; a title is read from the write model (one Query on its
partition), so an editor sees their own writes at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.catalog.contract import TitlePage, TitleView
from functions.catalog.dal import titles as dal
from functions.catalog.dal import views
from functions.catalog.logic.projection import (
    ALL,
    band_for_ceiling,
    genre_facet,
    partition,
    rating_facet,
    tag_facet,
    word_facet,
    year_facet,
)
from functions.catalog.logic.render import summary, title_view
from functions.catalog.logic.text import tokenize
from functions.catalog.models import PublicationState
from functions.shared import cursor
from functions.shared.auth import Principal
from functions.shared.authz import authorize
from functions.shared.errors import Forbidden, NotFound, ValidationFailed
from functions.shared.ratings import ContentRating, allowed

MAX_QUERY_TOKENS = 10


@dataclass(frozen=True)
class Filters:
    genre: str | None = None
    tag: str | None = None
    rating: ContentRating | None = None
    year: int | None = None

    def facets(self) -> list[str]:
        """Most selective first: the first is the partition read, the others a filter on it."""
        facets = []
        if self.tag:
            facets.append(tag_facet(self.tag))
        if self.genre:
            facets.append(genre_facet(self.genre))
        if self.rating:
            facets.append(rating_facet(self.rating.value))
        if self.year is not None:
            facets.append(year_facet(self.year))
        return facets


def _may_edit(principal: Principal, owner: str) -> bool:
    try:
        authorize(principal, "titles:read_draft", owner=owner)
    except Forbidden:
        return False
    return True


def get_title(principal: Principal, title_id: str, ceiling: int | None) -> TitleView:
    """Published and allowed for the audience, or the caller may edit it; else 404 (nothing leaks)."""
    authorize(principal, "titles:read")
    aggregate = dal.find(title_id)
    if aggregate is None:
        raise NotFound(f"title {title_id} not found")
    title = aggregate.title
    visible = title.state == PublicationState.PUBLISHED.value and allowed(title.content_rating, ceiling)
    if not visible and not _may_edit(principal, title.owner):
        raise NotFound(f"title {title_id} not found")
    return title_view(aggregate)


def _page(
    scope_kind: str,
    facet: str,
    ceiling: int | None,
    *,
    limit: int,
    after: str | None,
    facets: list[str],
    tokens: list[str],
    budget: int,
) -> TitlePage:
    band = band_for_ceiling(ceiling)
    if band is None:
        return TitlePage(items=[])
    pk = partition(band, facet)
    scope = "|".join([scope_kind, pk, ",".join(facets), ",".join(tokens)])
    key = cursor.signing_key()
    after_sk = None
    if after:
        after_sk = cursor.decode(after, scope, key=key).get("sk")
        if not isinstance(after_sk, str):
            raise cursor.InvalidCursor("the cursor is malformed")
    page = views.query_page(
        pk, limit=limit, after_sk=after_sk, facets=facets, tokens=tokens, max_calls=max(1, budget)
    )
    # The band already holds only what the ceiling allows; checking again costs nothing.
    items = [summary(item) for item in page.items if allowed(item.content_rating, ceiling)]
    next_cursor = cursor.encode(scope, {"sk": page.next_sk}, key=key) if page.next_sk else None
    return TitlePage(items=items, next_cursor=next_cursor)


def list_titles(
    principal: Principal,
    ceiling: int | None,
    filters: Filters,
    *,
    limit: int,
    after: str | None,
    budget: int = views.MAX_CALLS_PER_PAGE,
) -> TitlePage:
    """``budget``: the DynamoDB calls this page may still make (reading a viewer profile took one)."""
    authorize(principal, "titles:read")
    if filters.rating and not allowed(filters.rating, ceiling):
        return TitlePage(items=[])
    facets = filters.facets()
    primary, rest = (facets[0], facets[1:]) if facets else (ALL, [])
    return _page("list", primary, ceiling, limit=limit, after=after, facets=rest, tokens=[], budget=budget)


def search(
    principal: Principal,
    ceiling: int | None,
    query: str,
    *,
    limit: int,
    after: str | None,
    budget: int = views.MAX_CALLS_PER_PAGE,
) -> TitlePage:
    authorize(principal, "titles:read")
    tokens = tokenize(query)
    if not tokens:
        raise ValidationFailed(
            "the query has no words", details={"field": "q", "message": "give at least one letter or digit"}
        )
    if len(tokens) > MAX_QUERY_TOKENS:
        raise ValidationFailed(
            "the query is too long", details={"field": "q", "message": f"at most {MAX_QUERY_TOKENS} words"}
        )
    # The longest token is likely the rarest: its partition is read, the others filter it.
    primary = max(tokens, key=len)
    rest = [t for t in tokens if t != primary]
    return _page(
        "search",
        word_facet(primary),
        ceiling,
        limit=limit,
        after=after,
        facets=[],
        tokens=rest,
        budget=budget,
    )
