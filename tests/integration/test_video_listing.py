"""GET /v1/me/videos and the admin's GET /v1/videos?status= against moto: newest first, signed
cursors, paging while videos arrive, bad input as 400, and one Query per page (never a Scan: the
autouse scan guard fails any test whose platform code scans)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.conftest import Account, ApiCall
from tests.integration.test_profiles import put_video

OWNER = "lister-1"


def _put(account: Account, *, owner: str = OWNER, status: str = "READY", at: str) -> str:
    video_id = uuid.uuid4().hex
    put_video(account, video_id, owner=owner, status=status)
    account.client("dynamodb").update_item(
        TableName=account.resources.videos_table,
        Key={"video_id": {"S": video_id}},
        UpdateExpression="SET created_at = :t, updated_at = :t",
        ExpressionAttributeValues={":t": {"S": at}},
    )
    return video_id


def _at(i: int) -> str:
    return f"2026-03-01T00:00:{i:02d}.000Z"


def _pages(
    api: ApiCall, path: str, *, limit: int, sub: str = OWNER, role: str = "uploader", query: str = ""
) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        q = "&".join(p for p in (query, f"limit={limit}", f"cursor={cursor}" if cursor else "") if p)
        resp = api("GET", path, sub=sub, role=role, query=q)
        assert resp.status == 200, resp.body
        pages.append(resp.body["items"])
        cursor = resp.body["next_cursor"]
        if not cursor:
            return pages


def test_my_videos_in_every_status_newest_first_and_only_mine(api: ApiCall, account: Account) -> None:
    # Given five of my videos in several statuses (one taken down) and one of someone else's
    mine = [
        _put(account, status=s, at=_at(i))
        for i, s in enumerate(["AWAITING_UPLOAD", "PROCESSING", "READY", "FAILED", "DELETED"])
    ]
    _put(account, owner="someone-else", at=_at(30))

    # When I list them two at a time
    pages = _pages(api, "/v1/me/videos", limit=2)

    # Then I get all of mine, newest first, with their statuses, and nobody else's
    listed = [v for page in pages for v in page]
    assert [v["id"] for v in listed] == list(reversed(mine))
    assert [v["status"] for v in listed] == ["DELETED", "FAILED", "READY", "PROCESSING", "AWAITING_UPLOAD"]
    assert {v["owner"] for v in listed} == {OWNER}
    assert [len(p) for p in pages][:3] == [2, 2, 1]


def test_paging_while_new_videos_arrive_neither_repeats_nor_skips(api: ApiCall, account: Account) -> None:
    # Given six videos, and a first page of two read
    old = [_put(account, at=_at(i)) for i in range(6)]
    first = api("GET", "/v1/me/videos", sub=OWNER, query="limit=2").body
    assert [v["id"] for v in first["items"]] == [old[5], old[4]]

    # When three new videos arrive before the next pages are read
    new = [_put(account, at=_at(40 + i)) for i in range(3)]
    rest: list[str] = []
    cursor = first["next_cursor"]
    while cursor:
        body = api("GET", "/v1/me/videos", sub=OWNER, query=f"limit=2&cursor={cursor}").body
        rest += [v["id"] for v in body["items"]]
        cursor = body["next_cursor"]

    # Then the pages after go on where the first ended: every older video once, none twice
    assert rest == [old[3], old[2], old[1], old[0]]
    # ... and the new ones head a listing started afresh
    again = api("GET", "/v1/me/videos", sub=OWNER, query="limit=3").body
    assert [v["id"] for v in again["items"]] == list(reversed(new))


def test_admins_list_the_videos_in_one_status(api: ApiCall, account: Account) -> None:
    # Given READY and FAILED videos of two owners
    ready = [_put(account, owner=o, status="READY", at=_at(i)) for i, o in enumerate(["a", "b", "a"])]
    failed = [_put(account, owner="b", status="FAILED", at=_at(10))]

    # When an admin lists READY, two at a time, and FAILED
    pages = _pages(api, "/v1/videos", limit=2, sub="admin-1", role="admin", query="status=READY")
    failed_page = api("GET", "/v1/videos", sub="admin-1", role="admin", query="status=FAILED").body

    # Then each listing holds exactly its status, most recently changed first, every owner's
    assert [v["id"] for page in pages for v in page] == list(reversed(ready))
    assert [v["id"] for v in failed_page["items"]] == failed
    assert failed_page["next_cursor"] is None
    # ... and an uploader may not list everyone's
    assert api("GET", "/v1/videos", sub=OWNER, query="status=READY").status == 403


@pytest.mark.parametrize(
    ("path", "query", "code"),
    [
        ("/v1/me/videos", "limit=0", "invalid_limit"),
        ("/v1/me/videos", "limit=101", "invalid_limit"),
        ("/v1/me/videos", "limit=ten", "invalid_limit"),
        ("/v1/me/videos", "cursor=garbage", "invalid_cursor"),
        ("/v1/me/videos", "cursor=e30.e30", "invalid_cursor"),
        ("/v1/videos", "", "invalid_status"),
        ("/v1/videos", "status=ready", "invalid_status"),
        ("/v1/videos", "status=READY&limit=-1", "invalid_limit"),
        ("/v1/videos", "status=READY&cursor=x.y", "invalid_cursor"),
    ],
)
def test_bad_listing_input_is_a_400_with_its_code(api: ApiCall, path: str, query: str, code: str) -> None:
    resp = api("GET", path, sub="admin-1", role="admin", query=query)
    assert resp.status == 400, resp.body
    assert resp.body["error"]["code"] == code


def test_a_cursor_is_bound_to_its_listing(api: ApiCall, account: Account) -> None:
    # Given my cursor into my listing, and an admin's into READY
    for i in range(3):
        _put(account, at=_at(i))
    mine = api("GET", "/v1/me/videos", sub=OWNER, query="limit=1").body["next_cursor"]
    ready = api("GET", "/v1/videos", sub="admin-1", role="admin", query="status=READY&limit=1").body[
        "next_cursor"
    ]
    assert mine and ready

    # Then another user cannot page through my videos with mine, nor a listing take another's
    stolen = api("GET", "/v1/me/videos", sub="thief", query=f"cursor={mine}")
    assert (stolen.status, stolen.body["error"]["code"]) == (400, "invalid_cursor")
    crossed = api("GET", "/v1/videos", sub="admin-1", role="admin", query=f"status=FAILED&cursor={ready}")
    assert (crossed.status, crossed.body["error"]["code"]) == (400, "invalid_cursor")
    # ... and a tampered cursor is refused
    body, mac = mine.split(".")
    tampered = api("GET", "/v1/me/videos", sub=OWNER, query=f"cursor={body[:-2]}AA.{mac}")
    assert tampered.status == 400


def test_a_page_is_one_query_on_an_index(
    api: ApiCall, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given calls to DynamoDB counted
    from functions.videos.dal.tables import VideoModel

    for i in range(4):
        _put(account, at=_at(i))
    calls: list[tuple[str, str | None]] = []
    connection = VideoModel._get_connection()
    original = type(connection).query

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(("Query", kwargs.get("index_name")))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(connection), "query", counted)
    # When a page is read
    resp = api("GET", "/v1/me/videos", sub=OWNER, query="limit=2")
    # Then it took one Query on the by-owner index
    assert resp.status == 200
    assert calls == [("Query", "by-owner")]
