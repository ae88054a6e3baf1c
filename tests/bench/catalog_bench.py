"""Catalog bench: listing and search latency over 10,000 titles, and DynamoDB calls per request.

The handler (the videos-api Lambda that serves /v1) is called in-process with API Gateway
payload-2.0 events against moto (the embedded store). The write model and the projections are
seeded straight into moto's backend (the projector's own row layout, ``projection.rows_for``),
which takes seconds instead of the minutes 300,000 API writes would. Calls per request are
counted with a botocore ``before-call`` event hook on every DynamoDB client.

    .venv/bin/python -m tests.bench.catalog_bench      # or: make bench (section "catalog")
"""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

TITLES = 10_000
SERIES_WITH_EPISODES = 20
SEASONS, EPISODES_PER_SEASON = 4, 12
REQUESTS_PER_CASE = 200
LIST_PAGE_BUDGET = 2
TITLE_WITH_EPISODES_BUDGET = 3

GENRES = ["Drama", "Comedy", "Action", "Thriller", "Documentary", "Animation", "Horror", "Romance",
          "Science Fiction", "Crime", "Family", "Fantasy"]  # fmt: skip
TAGS = [f"tag{i}" for i in range(40)]
WORDS = ["night", "river", "city", "last", "summer", "dark", "king", "house", "blue", "road", "storm",
         "garden", "ghost", "winter", "silver", "love", "star", "lost", "secret", "island", "café",
         "amélie", "über", "niño", "façade"]  # fmt: skip
CJK = ["千与千寻", "卧虎藏龙", "花样年华", "霸王别姬", "活着", "英雄", "大红灯笼高高挂", "一代宗师"]
RATINGS = ["G", "PG", "PG-13", "R", "NC-17", "TV-Y", "TV-Y7", "TV-G", "TV-PG", "TV-14", "TV-MA", None]


class DynamoCalls:
    """Records every DynamoDB operation made while active, through botocore event hooks that are
    registered on each client created meanwhile (the cached clients are dropped on entry), and
    the time spent inside them (``seconds``: from before-call to after-call, i.e. the store)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.seconds = 0.0
        self._started = threading.local()
        self._original: Any = None

    def _hook(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)
        self._started.at = time.perf_counter()

    def _after(self, **_: Any) -> None:
        started = getattr(self._started, "at", None)
        if started is not None:
            self.seconds += time.perf_counter() - started
            self._started.at = None

    def __enter__(self) -> DynamoCalls:
        from botocore.client import ClientCreator

        self._original = ClientCreator.create_client
        original, hook, after = self._original, self._hook, self._after

        def create_client(creator: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(creator, *args, **kwargs)
            client.meta.events.register("before-call.dynamodb", hook)
            client.meta.events.register("after-call.dynamodb", after)
            return client

        ClientCreator.create_client = create_client  # type: ignore[method-assign,assignment]
        _drop_cached_clients()
        return self

    def __exit__(self, *exc: object) -> None:
        from botocore.client import ClientCreator

        ClientCreator.create_client = self._original  # type: ignore[method-assign]
        _drop_cached_clients()

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """The operations made inside the block (the list fills as they happen)."""
        start = len(self.calls)
        made: list[str] = []
        try:
            yield made
        finally:
            made.extend(self.calls[start:])


def _drop_cached_clients() -> None:
    from functions.shared import aws
    from functions.shared.table_binding import TableBinding

    aws.client.cache_clear()
    TableBinding.reset_all()


@contextmanager
def partition_local_queries() -> Iterator[None]:
    """moto 5.2.5's Query on a table (no index) collects and sorts every item of the table, then
    keeps the partition asked for: O(table) per Query, where DynamoDB reads one partition. Over
    300,000 projection rows that is seconds per call, which would measure moto, not the handler.
    While active, such a Query starts from the partition alone (pre-sorted), and string keys
    compare without moto's per-comparison casting. Results are unchanged."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original_query, original_all, original_cast = Table.query, Table.all_items, DynamoType.cast_value
    local = threading.local()

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        local.partition = hash_key if index_name is None else None
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            local.partition = None

    def all_items(self: Any) -> Any:
        partition = getattr(local, "partition", None)
        if partition is None or not self.range_key_attr:
            return original_all(self)
        rows = list(self.items.get(partition, {}).values())
        return sorted(rows, key=lambda item: item.range_key.value)

    def cast_value(self: Any) -> Any:
        return self.value if self.type == "S" else original_cast.fget(self)  # type: ignore[attr-defined]

    Table.query, Table.all_items = query, all_items  # type: ignore[method-assign]
    DynamoType.cast_value = property(cast_value)  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        Table.query, Table.all_items = original_query, original_all  # type: ignore[method-assign]
        DynamoType.cast_value = original_cast  # type: ignore[method-assign]


# -- seeding -------------------------------------------------------------------------------------
def _title_fields(rng: random.Random, i: int) -> dict[str, Any]:
    if i % 20 == 0:
        name = rng.choice(CJK) + (f" {i}" if rng.random() < 0.5 else "")
    else:
        name = " ".join(w.capitalize() for w in rng.sample(WORDS, rng.randint(2, 4)))
    return {
        "kind": "series" if rng.random() < 0.2 else "movie",
        "title": name,
        "synopsis": "A title seeded for the catalog bench.",
        "genres": rng.sample(GENRES, rng.randint(1, 3)),
        "tags": rng.sample(TAGS, rng.randint(0, 3)),
        "release_year": rng.randint(1950, 2025),
        "content_rating": rng.choice(RATINGS),
        "languages": ["en"],
        "state": "published" if rng.random() < 0.95 else "draft",
    }


def seed(titles: int = TITLES) -> dict[str, Any]:
    """The write model and its projections, straight into moto's backend; returns counts."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    from infra.local import provision

    backend = dynamodb_backends[provision.ACCOUNT][provision.REGION]
    # moto re-measures the whole item on every attribute it sets (quadratic); seeded rows are small.
    size_checked = LimitedSizeDict.__setitem__
    LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[assignment,method-assign]
    try:
        return _seed(backend, titles)
    finally:
        LimitedSizeDict.__setitem__ = size_checked  # type: ignore[method-assign]


def _seed(backend: Any, titles: int) -> dict[str, Any]:
    from functions.catalog.dal.tables import (
        MANIFEST_SK,
        TITLE_SK,
        EpisodeItem,
        ManifestItem,
        SeasonItem,
        TitleItem,
        ViewItem,
        episode_sk,
        season_sk,
        title_pk,
    )
    from functions.catalog.dal.views import manifest_pk
    from functions.catalog.logic.projection import rows_for
    from functions.catalog.logic.render import snapshot

    rng = random.Random(6)
    started = time.perf_counter()
    base = time.time() - titles * 60
    rows = 0
    series_with_episodes: list[str] = []
    for i in range(titles):
        title_id = uuid.UUID(int=rng.getrandbits(128)).hex
        fields = _title_fields(rng, i)
        if fields["kind"] == "series" and len(series_with_episodes) < SERIES_WITH_EPISODES:
            fields["state"] = "published"  # the series read with their episodes
            if len(series_with_episodes) == 1:
                fields["content_rating"] = "TV-Y7"  # the one the kids profile reads
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i * 60)) + ".000Z"
        published = fields["state"] == "published"
        item = TitleItem(
            title_pk(title_id),
            TITLE_SK,
            title_id=title_id,
            owner="bench-editor",
            version=2 if published else 1,
            created_at=stamp,
            updated_at=stamp,
            published_at=stamp if published else None,
            first_published_at=stamp if published else None,
            **fields,
        )
        backend.put_item("vod-catalog", item.serialize())
        if fields["kind"] == "series" and len(series_with_episodes) < SERIES_WITH_EPISODES:
            series_with_episodes.append(title_id)
            for s in range(1, SEASONS + 1):
                season = SeasonItem(title_pk(title_id), season_sk(s), title_id=title_id, season_number=s,
                                    created_at=stamp, updated_at=stamp)  # fmt: skip
                backend.put_item("vod-catalog", season.serialize())
                for e in range(1, EPISODES_PER_SEASON + 1):
                    episode = EpisodeItem(
                        title_pk(title_id), episode_sk(s, e), title_id=title_id, season_number=s,
                        episode_number=e, title=f"Episode {e}", synopsis="An episode of the bench.",
                        video_id=uuid.UUID(int=rng.getrandbits(128)).hex, duration_seconds=1500,
                        created_at=stamp, updated_at=stamp,
                    )  # fmt: skip
                    backend.put_item("vod-catalog", episode.serialize())
        view_rows = rows_for(snapshot(item))
        for row in view_rows:
            backend.put_item("vod-catalog-views", ViewItem(row.pk, row.sk, **row.attributes).serialize())
        manifest = ManifestItem(manifest_pk(title_id), MANIFEST_SK, version=int(item.version),
                                keys=[row.key for row in view_rows])  # fmt: skip
        backend.put_item("vod-catalog-views", manifest.serialize())
        rows += len(view_rows)
    return {
        "titles": titles,
        "view_rows": rows,
        "series_with_episodes": series_with_episodes,
        "seed_s": round(time.perf_counter() - started, 1),
    }


# -- measuring -----------------------------------------------------------------------------------
class InProcessApi:
    """The videos-api handler called in-process with API Gateway payload-2.0 events."""

    def __init__(self, issuer: Any):
        from infra import spec

        self._issuer = issuer
        self._function = spec.FUNCTIONS_BY_NAME["videos-api"]
        self._claims: dict[tuple[str, str], dict[str, Any]] = {}

    def __call__(
        self, method: str, path: str, *, query: str = "", body: Any = None,
        headers: dict[str, str] | None = None, role: str = "viewer", sub: str = "bench-viewer",
    ) -> tuple[int, dict[str, Any], dict[str, str]]:  # fmt: skip
        from infra.local.http_front import build_event, match_route
        from infra.local.lambda_runtime import invoke

        found = match_route(method, path)
        assert found is not None, path
        compiled, params = found
        if (role, sub) not in self._claims:
            self._claims[(role, sub)] = self._issuer.verify(self._issuer.issue(sub=sub, roles=[role]))
        event = build_event(
            compiled=compiled, path_params=params, method=method, raw_path=path, query=query,
            headers={"content-type": "application/json", "host": "bench", **(headers or {})},
            body=json.dumps(body).encode() if body is not None else b"", source_ip="198.51.100.1",
            claims=self._claims[(role, sub)],
        )  # fmt: skip
        result, errored = invoke(self._function, event)
        assert not errored, result
        text = result.get("body") or ""
        return result["statusCode"], json.loads(text) if text else {}, result.get("headers") or {}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(latencies: list[float], calls: list[int], budget: int, store: list[float]) -> dict[str, Any]:
    return {
        "requests": len(latencies),
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        # The same requests without the time inside DynamoDB calls (moto's share: its in-process
        # request/response serialization and partition sort): what the handler itself costs.
        "handler_without_store_p50_ms": round(
            _percentile([t - s for t, s in zip(latencies, store, strict=True)], 0.5) * 1000, 2
        ),
        "dynamodb_calls_max": max(calls),
        "dynamodb_calls_mean": round(statistics.fmean(calls), 2),
        "dynamodb_calls_budget": budget,
        "within_budget": max(calls) <= budget,
    }


def measure(api: InProcessApi, seeded: dict[str, Any], requests_per_case: int) -> dict[str, Any]:
    status, profile, _ = api("POST", "/v1/profiles", body={"name": "kids", "age_ceiling": 7})
    assert status == 201, profile
    kids = {"x-profile-id": profile["id"]}

    # Cursors for deeper pages, taken from a first walk.
    cursors: list[str] = []
    query = "limit=20"
    for _ in range(5):
        status, page, _ = api("GET", "/v1/titles", query=query)
        assert status == 200 and page["next_cursor"], page
        cursors.append(page["next_cursor"])
        query = urlencode({"limit": 20, "cursor": page["next_cursor"]})

    Case = tuple[str, str, str, dict[str, str]]
    groups: dict[str, tuple[int, list[Case]]] = {
        "list_page": (LIST_PAGE_BUDGET, [
            ("first page", "/v1/titles", "limit=20", {}),
            ("deep page", "/v1/titles", urlencode({"limit": 20, "cursor": cursors[-1]}), {}),
            ("genre", "/v1/titles", "genre=drama&limit=20", {}),
            ("genre + year", "/v1/titles", "genre=comedy&year=1999&limit=20", {}),
            ("tag + rating", "/v1/titles", "tag=tag7&rating=PG&limit=20", {}),
            ("kids profile", "/v1/titles", "limit=20", kids),
            ("kids profile, genre", "/v1/titles", "genre=family&limit=20", kids),
        ]),
        "search": (LIST_PAGE_BUDGET, [
            ("english word", "/v1/search", "q=storm", {}),
            ("two words", "/v1/search", urlencode({"q": "night river"}), {}),
            ("accented word", "/v1/search", urlencode({"q": "Amélie"}), {}),
            ("chinese, two characters", "/v1/search", urlencode({"q": "千寻"}), {}),
            ("kids profile", "/v1/search", "q=summer", kids),
        ]),
        "title_with_episodes": (TITLE_WITH_EPISODES_BUDGET, [
            ("series, 48 episodes", f"/v1/titles/{seeded['series_with_episodes'][0]}", "", {}),
            ("series, kids profile", f"/v1/titles/{seeded['series_with_episodes'][1]}", "", kids),
        ]),
    }  # fmt: skip
    results: dict[str, Any] = {}
    with DynamoCalls() as counter:
        for group, (budget, cases) in groups.items():
            latencies: list[float] = []
            calls: list[int] = []
            store: list[float] = []
            per_case: dict[str, Any] = {}
            for name, path, query, headers in cases:
                api("GET", path, query=query, headers=headers)  # warm: cold start, cached clients
                case_latencies, case_calls, case_store = [], [], []
                for _ in range(requests_per_case):
                    with counter.counting() as made:
                        in_store = counter.seconds
                        started = time.perf_counter()
                        status, body, _ = api("GET", path, query=query, headers=headers)
                        case_latencies.append(time.perf_counter() - started)
                        case_store.append(counter.seconds - in_store)
                    assert status in (200, 404), (name, status, body)
                    assert "Scan" not in made, (name, made)
                    case_calls.append(len(made))
                items = len(body.get("items", [])) if "items" in body else len(body.get("seasons", []))
                per_case[name] = {**_summary(case_latencies, case_calls, budget, case_store), "items": items}
                latencies += case_latencies
                calls += case_calls
                store += case_store
            results[group] = {**_summary(latencies, calls, budget, store), "cases": per_case}
    return results


def bench_catalog(titles: int = TITLES, requests_per_case: int = REQUESTS_PER_CASE) -> dict[str, Any]:
    """Seed ``titles`` titles into moto in-process and measure the catalog's read paths."""
    import tempfile
    from pathlib import Path

    from moto import mock_aws

    from infra import spec
    from infra.local import moto_patches, provision
    from infra.local.emulator import reset_function_caches
    from infra.local.keys import LocalIssuer

    env = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": provision.REGION, "AWS_REGION": provision.REGION,
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING", "CATALOG_CURSOR_KEY": "bench-cursor-key",
    }  # fmt: skip
    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(env)
    moto_patches.install()
    try:
        with mock_aws(), tempfile.TemporaryDirectory() as tmp, partition_local_queries():
            res = provision.local_resources(cdn_base_url="https://cdn.bench", key_pair_id="BENCH")
            fn = spec.FUNCTIONS_BY_NAME["videos-api"]
            os.environ.update({**spec.function_environment(fn, res, {}), **env})
            reset_function_caches()
            import boto3

            provision.create_tables(boto3.client("dynamodb", region_name=provision.REGION), res)
            seeded = seed(titles)
            api = InProcessApi(LocalIssuer(Path(tmp)))
            measured = measure(api, seeded, requests_per_case)
            return {
                "titles_seeded": seeded["titles"],
                "view_rows": seeded["view_rows"],
                "seed_s": seeded["seed_s"],
                "requests_per_case": requests_per_case,
                "how": "videos-api handler in-process with API Gateway v2 events, moto in-process (its "
                "table Query made partition-local, see partition_local_queries); DynamoDB calls counted "
                "by a botocore before-call hook",
                **measured,
            }
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_function_caches()


def within_budget(results: dict[str, Any]) -> bool:
    return all(results[g]["within_budget"] for g in ("list_page", "search", "title_with_episodes"))


if __name__ == "__main__":
    import sys

    figures = bench_catalog(int(sys.argv[1]) if len(sys.argv) > 1 else TITLES)
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    sys.exit(0 if within_budget(figures) else 1)
