"""The catalog on the embedded stack: create -> publish -> the title appears in listing and search
through the real path (table stream -> publisher -> EventBridge -> SQS -> projector)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from infra import cli
from infra.local.emulator import EmbeddedStack
from tests import scan_guard


class Viewer:
    def __init__(self, stack: EmbeddedStack, *, role: str, sub: str):
        assert stack.api is not None
        self.api = stack.api.url
        self.headers = {"Authorization": f"Bearer {stack.issuer.issue(sub=sub, roles=[role])}"}

    def call(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return requests.request(
            method, f"{self.api}{path}", headers={**self.headers, **(headers or {})}, timeout=30, **kwargs
        )

    def ids(self, path: str, headers: dict[str, str] | None = None, **params: str) -> list[str]:
        response = self.call("GET", path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]


def eventually(check: Callable[[], bool], timeout: float = 20) -> float:
    """Seconds until ``check`` holds (the projections are eventually consistent)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError("the projections did not catch up")
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_published_title_reaches_listing_and_search_through_the_event_path(stack: EmbeddedStack) -> None:
    editor = Viewer(stack, role="uploader", sub="catalog-editor")
    viewer = Viewer(stack, role="viewer", sub="catalog-viewer")
    # Given a draft movie, rated TV-MA, with an accented and a Chinese word in its title
    created = editor.call(
        "POST",
        "/v1/titles",
        json={
            "kind": "movie",
            "title": "Amélie 千与千寻 Nocturne",
            "genres": ["Drama"],
            "content_rating": "TV-MA",
        },
    )
    assert created.status_code == 201, created.text
    title_id, etag = created.json()["id"], created.headers["ETag"]
    # When it is published
    published = editor.call("POST", f"/v1/titles/{title_id}/publish", headers={"If-Match": etag})
    assert published.status_code == 200, published.text
    # Then GET shows it at once (read-your-writes) ...
    assert viewer.call("GET", f"/v1/titles/{title_id}").json()["state"] == "published"
    # ... and listing and search once the events went through stream, bus, queue and projector
    lag = eventually(lambda: title_id in viewer.ids("/v1/titles"))
    assert title_id in viewer.ids("/v1/titles", genre="drama")
    assert viewer.ids("/v1/search", q="amelie") == [title_id]
    assert viewer.ids("/v1/search", q="千寻") == [title_id]
    print(json.dumps({"catalog_projection_lag_s": round(lag, 2)}))

    # A kids profile sees none of it, and its playback-facing lookup says TV-MA
    kids = viewer.call("POST", "/v1/profiles", json={"name": "kids", "age_ceiling": 7})
    assert kids.status_code == 201, kids.text
    profile = {"X-Profile-Id": kids.json()["id"]}
    assert title_id not in viewer.ids("/v1/titles", headers=profile)
    assert viewer.ids("/v1/search", q="amelie", headers=profile) == []

    # The rebuild command recomputes the projections from the write model: same listing after it
    with scan_guard.allow_scan():
        assert cli.main(["catalog", "rebuild", "--endpoint", stack.moto_url]) == 0
    assert title_id in viewer.ids("/v1/titles")

    # Unpublishing withdraws it from listing and search
    current = editor.call("GET", f"/v1/titles/{title_id}").headers["ETag"]
    assert (
        editor.call("POST", f"/v1/titles/{title_id}/unpublish", headers={"If-Match": current}).status_code
        == 200
    )
    eventually(lambda: title_id not in viewer.ids("/v1/titles"))
    assert viewer.ids("/v1/search", q="nocturne") == []


@pytest.mark.parametrize("stale", ['"1"'])
def test_optimistic_concurrency_over_http(stack: EmbeddedStack, stale: str) -> None:
    editor = Viewer(stack, role="uploader", sub="catalog-editor-2")
    created = editor.call("POST", "/v1/titles", json={"kind": "series", "title": "Race"})
    title_id = created.json()["id"]
    first = editor.call(
        "PATCH", f"/v1/titles/{title_id}", json={"synopsis": "a"}, headers={"If-Match": stale}
    )
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    second = editor.call(
        "PATCH", f"/v1/titles/{title_id}", json={"synopsis": "b"}, headers={"If-Match": stale}
    )
    assert second.status_code == 412 and second.json()["error"]["details"]["current_version"] == 2
