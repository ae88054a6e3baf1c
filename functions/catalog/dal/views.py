"""Data access for the catalog's read model (projections): listing pages and the projector's writes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition

from functions.catalog.dal.tables import MANIFEST_SK, ManifestItem, ViewItem
from functions.catalog.models import ViewRow
from functions.shared.table_binding import TableBinding

_BINDING = TableBinding(ViewItem, ManifestItem, table=lambda settings: settings.catalog_views_table)
MAX_CALLS_PER_PAGE = 2  # the request budget of one listing page
# A filtered page reads further per Query (DynamoDB's Limit counts items evaluated, not returned):
# listing rows are small, so a few hundred fit well inside one 1 MB page.
FILTERED_READ_FACTOR = 8
MAX_EVALUATED = 1000


def bind() -> None:
    _BINDING.bind()


def reset() -> None:
    _BINDING.reset()


def manifest_pk(title_id: str) -> str:
    return f"T#{title_id}"


@dataclass
class Page:
    items: list[ViewItem]
    next_sk: str | None  # where the next page starts (exclusive), None at the end
    calls: int


def query_page(
    pk: str,
    *,
    limit: int,
    after_sk: str | None = None,
    facets: Sequence[str] = (),
    tokens: Sequence[str] = (),
    max_calls: int = MAX_CALLS_PER_PAGE,
) -> Page:
    """Newest first. Extra facets/tokens are a FilterExpression; at most ``max_calls`` Queries, so a
    filtered page may hold fewer than ``limit`` items and still have a next page."""
    bind()
    condition: Condition | None = None
    for facet in facets:
        condition = (
            ViewItem.facets.contains(facet)
            if condition is None
            else condition & ViewItem.facets.contains(facet)
        )
    for token in tokens:
        condition = (
            ViewItem.tokens.contains(token)
            if condition is None
            else condition & ViewItem.tokens.contains(token)
        )
    start = {"pk": {"S": pk}, "sk": {"S": after_sk}} if after_sk else None
    pages = ViewItem.query(
        pk,
        filter_condition=condition,
        scan_index_forward=False,
        last_evaluated_key=start,
        # One more than needed tells whether a next page exists.
        page_size=min(MAX_EVALUATED, (limit + 1) * FILTERED_READ_FACTOR)
        if condition is not None
        else limit + 1,
    ).page_iter
    items: list[ViewItem] = []
    last_evaluated: str | None = after_sk
    calls = 0
    while calls < max_calls:
        try:
            page = next(pages)
        except StopIteration:
            last_evaluated = None
            break
        calls += 1
        items += [ViewItem.from_raw_data(raw) for raw in page.get("Items", [])]
        lek = page.get("LastEvaluatedKey")
        last_evaluated = lek["sk"]["S"] if lek else None
        if len(items) > limit or last_evaluated is None:
            break
    if len(items) > limit:
        return Page(items[:limit], items[limit - 1].sk, calls)
    return Page(items, last_evaluated, calls)


def get_manifest(title_id: str) -> ManifestItem | None:
    bind()
    try:
        return ManifestItem.get(manifest_pk(title_id), MANIFEST_SK, consistent_read=True)
    except ManifestItem.DoesNotExist:
        return None


def replace(
    title_id: str,
    rows: Sequence[ViewRow],
    *,
    version: int,
    deleted: bool,
    previous: ManifestItem | None,
) -> bool:
    """Write a title's rows, delete the ones it no longer has, record the manifest.

    The manifest is written last and only if no newer version was recorded meanwhile; returns
    False when one was (the caller's snapshot is stale).
    """
    bind()
    keys = [row.key for row in rows]
    stale = {str(key) for key in (previous.keys if previous else [])} - set(keys)
    with ViewItem.batch_write() as batch:
        for row in rows:
            batch.save(ViewItem(row.pk, row.sk, **row.attributes))
        for key in sorted(stale):
            pk, sk = key.split("|", 1)
            batch.delete(ViewItem(pk, sk))
    manifest = ManifestItem(
        manifest_pk(title_id), MANIFEST_SK, version=version, deleted=int(deleted), keys=keys
    )
    try:
        manifest.save(condition=ManifestItem.pk.does_not_exist() | (ManifestItem.version <= version))
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def scan_manifests() -> Iterator[ManifestItem]:
    """Every manifest (projection rebuild only: never on a request path)."""
    bind()
    yield from ManifestItem.scan(ManifestItem.sk == MANIFEST_SK)


def scan_row_keys() -> Iterator[str]:
    """Every listing row's key (projection rebuild only)."""
    bind()
    for item in ViewItem.scan(ViewItem.sk != MANIFEST_SK, attributes_to_get=["pk", "sk"]):
        yield f"{item.pk}|{item.sk}"


def delete_rows(keys: Sequence[str]) -> None:
    bind()
    with ViewItem.batch_write() as batch:
        for key in keys:
            pk, sk = key.split("|", 1)
            batch.delete(ViewItem(pk, sk))
