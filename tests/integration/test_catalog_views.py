"""The read model (CQRS): listing, filters, search, cursors and rebuild, fed through the real
stream -> publisher -> bus -> queue -> projector path (run in-process against moto)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from infra.local import provision
from tests import scan_guard
from tests.integration.test_catalog_api import Catalog, catalog, ids, kids_profile, match

__all__ = ["catalog"]  # the fixture, shared with test_catalog_api


def walk(catalog: Catalog, query: str = "", *, between_pages: Any = None, **kwargs: Any) -> list[str]:
    """Every id of a listing, following next_cursor to the end."""
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        params = query + (("&" if query else "") + urlencode({"cursor": cursor}) if cursor else "")
        page = catalog.list(params, **kwargs)
        seen += ids(page)
        cursor = page.body.get("next_cursor")
        if not cursor:
            return seen
        if between_pages:
            between_pages()
    raise AssertionError("the walk did not end")


def test_published_titles_are_listed_newest_first_once_projected(catalog: Catalog) -> None:
    # Given two published titles and a draft
    first = catalog.published(title="First")
    second = catalog.published(title="Second")
    draft = catalog.create(title="Draft")
    # Then the listing is eventually consistent: nothing before the events are projected ...
    assert ids(catalog.list()) == []
    # ... while GET reads the write model: read-your-writes
    assert catalog.api("GET", f"/v1/titles/{second['id']}", role="viewer").status == 200
    catalog.project()
    # And then newest first, drafts excluded
    page = catalog.list()
    assert ids(page) == [second["id"], first["id"]]
    assert draft["id"] not in ids(page)
    card = page.body["items"][0]
    assert card["title"] == "Second" and card["kind"] == "movie" and page.body["next_cursor"] is None


def test_filters_by_genre_tag_rating_year_and_combined(catalog: Catalog) -> None:
    drama = catalog.published(
        title="A", genres=["Drama"], tags=["Paris"], content_rating="PG", release_year=2001
    )
    comedy = catalog.published(
        title="B", genres=["Comédie"], tags=["paris"], content_rating="R", release_year=2001
    )
    both = catalog.published(title="C", genres=["Drama", "Comédie"], content_rating="R", release_year=1999)
    catalog.project()
    assert set(ids(catalog.list("genre=drama"))) == {drama["id"], both["id"]}
    assert set(ids(catalog.list("genre=COMEDIE"))) == {comedy["id"], both["id"]}  # case and accents fold
    assert set(ids(catalog.list("tag=PARIS"))) == {drama["id"], comedy["id"]}
    assert set(ids(catalog.list("rating=R"))) == {comedy["id"], both["id"]}
    assert set(ids(catalog.list("year=2001"))) == {drama["id"], comedy["id"]}
    assert ids(catalog.list("genre=drama&year=2001")) == [drama["id"]]
    assert ids(catalog.list("genre=drama&tag=paris&rating=PG&year=2001")) == [drama["id"]]
    assert ids(catalog.list("genre=western")) == []
    invalid = catalog.list("rating=X")
    assert invalid.status == 422
    assert catalog.list("year=abc").status == 422
    assert catalog.list("limit=0").status == 422
    assert catalog.list(role=None).status == 401


def test_a_kids_profile_sees_only_what_its_ceiling_allows_in_listing_and_search(catalog: Catalog) -> None:
    # Given titles rated for every audience, and an unrated one
    kids_ok = [
        catalog.published(title=f"Puppy {r}", content_rating=r) for r in ("G", "PG", "TV-Y", "TV-Y7", "TV-G")
    ]
    too_old = [
        catalog.published(title=f"Puppy {r}", content_rating=r) for r in ("TV-MA", "R", "PG-13", "TV-PG")
    ]
    unrated = catalog.published(title="Puppy unrated")
    catalog.project()
    kids = kids_profile(catalog.api, sub="parent")
    expected = {t["id"] for t in kids_ok}
    # When the kids profile lists, filters and searches
    listed = set(ids(catalog.list(sub="parent", headers=kids)))
    found = set(ids(catalog.search("puppy", sub="parent", headers=kids)))
    # Then TV-MA (and everything above 7, and unrated) is absent
    assert listed == found == expected
    assert ids(catalog.list("rating=TV-MA", sub="parent", headers=kids)) == []
    # And the same account without the profile sees all
    everything = expected | {t["id"] for t in too_old} | {unrated["id"]}
    assert set(ids(catalog.list(sub="parent"))) == everything
    assert set(ids(catalog.search("PUPPY", sub="parent"))) == everything


def test_search_by_english_accented_and_chinese_words(catalog: Catalog) -> None:
    godfather = catalog.published(title="The Godfather")
    amelie = catalog.published(title="Le Fabuleux Destin d'Amélie Poulain")
    cafe = catalog.published(title="Café Society")
    spirited = catalog.published(title="千与千寻")
    tiger = catalog.published(title="卧虎藏龙")
    catalog.project()
    assert ids(catalog.search("godfather")) == [godfather["id"]]
    assert ids(catalog.search("GODFATHER the")) == [godfather["id"]]
    assert ids(catalog.search("amelie")) == [amelie["id"]]
    assert ids(catalog.search("Amélie")) == [amelie["id"]]
    assert ids(catalog.search("AMÉLIE poulain")) == [amelie["id"]]
    assert ids(catalog.search("cafe")) == [cafe["id"]]
    assert ids(catalog.search("café")) == [cafe["id"]]
    assert ids(catalog.search("千寻")) == [spirited["id"]]  # two characters of the title
    assert ids(catalog.search("藏龙")) == [tiger["id"]]
    assert ids(catalog.search("godfather amelie")) == []  # every word must match
    assert ids(catalog.search("nothing")) == []
    no_words = catalog.search("?!")
    assert no_words.status == 422 and no_words.body["error"]["details"]["field"] == "q"
    assert catalog.api("GET", "/v1/search", role="viewer").status == 422


def test_search_pages_with_a_cursor(catalog: Catalog) -> None:
    made = {catalog.published(title=f"Storm {i}")["id"] for i in range(7)}
    catalog.project()
    first = catalog.api("GET", "/v1/search", query="q=storm&limit=4", role="viewer")
    rest = catalog.api(
        "GET", "/v1/search", query=urlencode({"q": "storm", "limit": 4, "cursor": first.body["next_cursor"]}),
        role="viewer",
    )  # fmt: skip
    assert len(ids(first)) == 4 and set(ids(first)) | set(ids(rest)) == made
    assert rest.body["next_cursor"] is None


def test_tampered_and_replayed_cursors_are_refused(catalog: Catalog) -> None:
    for i in range(5):
        catalog.published(title=f"T{i}", genres=["Drama"], content_rating="PG")
    catalog.project()
    cursor = catalog.list("limit=2").body["next_cursor"]
    body, mac = cursor.split(".")
    tampered = catalog.list(urlencode({"limit": 2, "cursor": f"{body[:-2]}AA.{mac}"}))
    assert tampered.status == 400 and tampered.body["error"]["code"] == "invalid_cursor"
    garbage = catalog.list(urlencode({"cursor": "garbage"}))
    assert garbage.status == 400
    # a cursor of one listing is not accepted by another (filter, or audience band)
    assert catalog.list(urlencode({"genre": "drama", "cursor": cursor})).status == 400
    kids = kids_profile(catalog.api, sub="viewer-1")
    assert catalog.list(urlencode({"cursor": cursor}), sub="viewer-1", headers=kids).status == 400
    assert catalog.list(urlencode({"limit": 2, "cursor": cursor})).status == 200


def test_walking_all_pages_returns_every_title_once_while_titles_are_added(catalog: Catalog) -> None:
    # Given 23 published titles
    before = {catalog.published(title=f"Walk {i}")["id"] for i in range(23)}
    catalog.project()
    added: list[str] = []

    def publish_more() -> None:
        # While the walk goes on, two more titles are published and projected between pages
        for _ in range(2):
            added.append(catalog.published(title=f"Late {len(added)}")["id"])
        catalog.project()

    # When a viewer walks every page
    seen = walk(catalog, "limit=4", between_pages=publish_more)
    # Then each title that was there is returned exactly once, and none twice
    assert len(seen) == len(set(seen))
    assert before <= set(seen)
    assert len(added) >= 10
    # And a new walk sees the late ones too
    assert set(walk(catalog, "limit=50")) == before | set(added)


def test_changes_flow_to_the_projections(catalog: Catalog) -> None:
    title = catalog.published(title="Night River", genres=["Drama"])
    catalog.project()
    path = f"/v1/titles/{title['id']}"
    # a rename moves it from one search token to another, and changes the card
    renamed = catalog.api(
        "PATCH", path, body={"title": "Silver Road", "genres": ["Comedy"]}, headers=match(2)
    )
    assert renamed.status == 200
    catalog.project()
    assert ids(catalog.search("river")) == [] and ids(catalog.search("silver")) == [title["id"]]
    assert ids(catalog.list("genre=drama")) == [] and ids(catalog.list("genre=comedy")) == [title["id"]]
    assert catalog.list().body["items"][0]["title"] == "Silver Road"
    # unpublishing withdraws it, republishing brings it back at the same place
    assert catalog.api("POST", f"{path}/unpublish", headers=match(3)).status == 200
    catalog.project()
    assert ids(catalog.list()) == [] and ids(catalog.search("silver")) == []
    assert catalog.api("POST", f"{path}/publish", headers=match(4)).status == 200
    catalog.project()
    assert ids(catalog.list()) == [title["id"]]
    # deleting removes it everywhere
    assert catalog.api("DELETE", path, headers=match(5)).status == 204
    catalog.project()
    assert ids(catalog.list()) == [] and ids(catalog.search("silver")) == []


def test_the_stream_emits_title_events_on_the_bus(catalog: Catalog) -> None:
    # Given a second subscriber to the catalog's events
    events, sqs = (
        boto3.client("events", region_name=provision.REGION),
        boto3.client("sqs", region_name=provision.REGION),
    )
    url = sqs.create_queue(QueueName="catalog-listener")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = catalog.account.resources.event_bus_name
    events.put_rule(Name="listener", EventBusName=bus, EventPattern=json.dumps({"source": ["vod.catalog"]}))
    events.put_targets(Rule="listener", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    # When a title goes through its life
    title = catalog.create(title="Life")
    path = f"/v1/titles/{title['id']}"
    catalog.api("PATCH", path, body={"synopsis": "x"}, headers=match(1))
    catalog.api("POST", f"{path}/publish", headers=match(2))
    catalog.api("POST", f"{path}/unpublish", headers=match(3))
    catalog.api("DELETE", path, headers=match(4))
    catalog.project()
    # Then the bus carried one event per change, in order, with the version
    received = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        received += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert [(e["detail-type"], e["detail"]["version"]) for e in received] == [
        ("title.created", 1),
        ("title.updated", 2),
        ("title.published", 3),
        ("title.unpublished", 4),
        ("title.deleted", 5),
    ]
    assert all(e["source"] == "vod.catalog" and e["detail"]["title_id"] == title["id"] for e in received)


def test_replayed_and_late_events_do_not_undo_newer_projections(catalog: Catalog) -> None:
    from functions.catalog.logic.projector import apply

    title = catalog.published(title="Fresh Name")
    catalog.project()
    snapshot = {**catalog.api("GET", f"/v1/titles/{title['id']}").body, "title_id": title["id"]}
    snapshot["first_published_at"] = snapshot["published_at"]
    # a late event of version 1 (a draft) and a replay of version 2
    assert (
        apply(
            "title.created", {"title_id": title["id"], "version": 1, "title": {**snapshot, "state": "draft"}}
        )
        == "stale"
    )
    assert (
        apply(
            "title.published", {"title_id": title["id"], "version": 2, "title": {**snapshot, "title": "Old"}}
        )
        == "stale"
    )
    assert catalog.list().body["items"][0]["title"] == "Fresh Name"


def _views_items() -> list[dict[str, Any]]:
    ddb = boto3.client("dynamodb", region_name=provision.REGION)
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(TableName="vod-catalog-views"):
        items += page["Items"]
    return items


def test_rebuild_restores_the_projections_from_the_write_model(catalog: Catalog) -> None:
    from functions.catalog.logic.projector import rebuild

    # Given published titles, a draft, and a title deleted while the projector was down
    kept = [catalog.published(title=f"Kept {i}", genres=["Drama"]) for i in range(3)]
    catalog.create(title="Draft")
    doomed = catalog.published(title="Doomed")
    catalog.project()
    healthy = sorted(json.dumps(i, sort_keys=True) for i in _views_items() if i["sk"]["S"] != "MANIFEST")
    catalog.api("DELETE", f"/v1/titles/{doomed['id']}", headers=match(2))
    catalog.poller.drain()  # the deletion's event never reaches the projector
    # ... and a row of an old layout, and the projections of a title wiped
    ddb = boto3.client("dynamodb", region_name=provision.REGION)
    ddb.put_item(TableName="vod-catalog-views", Item={"pk": {"S": "OLD#layout"}, "sk": {"S": "x"}})
    for item in _views_items():
        if kept[0]["id"] in item["sk"]["S"] or item["pk"]["S"] == f"T#{kept[0]['id']}":
            ddb.delete_item(TableName="vod-catalog-views", Key={"pk": item["pk"], "sk": item["sk"]})
    # When the projections are rebuilt (a maintenance command: it may Scan)
    with scan_guard.allow_scan():
        report = rebuild()
    # Then they are what the projector would have made, without the deleted title or stray rows
    assert report.titles == 4 and report.published == 3 and report.rows_deleted >= 1
    rows = [i for i in _views_items() if i["sk"]["S"] != "MANIFEST"]
    assert not any(doomed["id"] in i["sk"]["S"] for i in rows)
    assert not any(i["pk"]["S"] == "OLD#layout" for i in rows)
    rebuilt = sorted(json.dumps(i, sort_keys=True) for i in rows)
    assert rebuilt == [r for r in healthy if doomed["id"] not in r]
    assert set(ids(catalog.list())) == {t["id"] for t in kept}
    # And later events still apply (the manifests are in place)
    assert catalog.api("POST", f"/v1/titles/{kept[1]['id']}/unpublish", headers=match(2)).status == 200
    catalog.project()
    assert set(ids(catalog.list())) == {kept[0]["id"], kept[2]["id"]}


@pytest.mark.parametrize("title_text", ["Mixed 千与千寻 Story"])
def test_mixed_script_titles_are_found_by_either_script(catalog: Catalog, title_text: str) -> None:
    title = catalog.published(title=title_text)
    catalog.project()
    assert ids(catalog.search("story")) == ids(catalog.search("与千")) == [title["id"]]
