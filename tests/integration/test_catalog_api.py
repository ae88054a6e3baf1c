"""The catalog API against moto: every route, role and error case (the CQRS path in test_catalog_views)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from infra import spec
from infra.local import provision
from infra.local.emulator import StreamPoller
from tests.bench.catalog_bench import DynamoCalls
from tests.integration.conftest import Account, ApiCall, ApiResponse


def match(version: int | str) -> dict[str, str]:
    return {"if-match": f'"{version}"'}


def etag_of(response: ApiResponse) -> int:
    return int(response.headers["etag"].strip('"'))


@dataclass
class Catalog:
    """Drives the catalog through the API and delivers its stream to the projections."""

    account: Account
    api: ApiCall
    poller: StreamPoller

    def video(self, owner: str = "user-1") -> str:
        from functions.videos.dal import videos

        video_id = uuid.uuid4().hex
        videos.create(
            video_id=video_id,
            owner_sub=owner,
            title="clip",
            description="",
            tags=[],
            upload_key=f"uploads/{video_id}/source",
        )
        return video_id

    def create(self, *, role: str = "uploader", sub: str = "user-1", **fields: Any) -> dict[str, Any]:
        body = {"kind": "movie", "title": "Untitled", **fields}
        response = self.api("POST", "/v1/titles", body=body, role=role, sub=sub)
        assert response.status == 201, response.body
        return dict(response.body)

    def publish(
        self, title: dict[str, Any], *, role: str = "uploader", sub: str = "user-1"
    ) -> dict[str, Any]:
        response = self.api(
            "POST", f"/v1/titles/{title['id']}/publish", headers=match(title["version"]), role=role, sub=sub
        )
        assert response.status == 200, response.body
        return dict(response.body)

    def published(self, **fields: Any) -> dict[str, Any]:
        return self.publish(self.create(**fields))

    def project(self) -> None:
        """Stream -> publisher -> bus -> queue -> projector, as Lambda's pollers would run them."""
        self.poller.drain()
        sqs = boto3.client("sqs", region_name=provision.REGION)
        queue = self.account.queues["catalog-projections"]
        from infra.local.lambda_runtime import invoke

        while True:
            messages = sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            event = {
                "Records": [
                    {
                        "messageId": m["MessageId"],
                        "receiptHandle": m["ReceiptHandle"],
                        "body": m["Body"],
                        "attributes": {"ApproximateReceiveCount": "1"},
                        "messageAttributes": {},
                        "md5OfBody": m["MD5OfBody"],
                        "eventSource": "aws:sqs",
                        "eventSourceARN": queue.arn,
                        "awsRegion": provision.REGION,
                    }
                    for m in messages
                ]
            }
            result, errored = invoke(spec.FUNCTIONS_BY_NAME["catalog-projector"], event)
            assert not errored and not result["batchItemFailures"], result
            for m in messages:
                sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=m["ReceiptHandle"])

    def list(self, query: str = "", *, role: str = "viewer", **kwargs: Any) -> ApiResponse:
        return self.api("GET", "/v1/titles", query=query, role=role, **kwargs)

    def search(self, q: str, *, role: str = "viewer", **kwargs: Any) -> ApiResponse:
        return self.api("GET", "/v1/search", query=urlencode({"q": q}), role=role, **kwargs)


@pytest.fixture
def catalog(account: Account, api: ApiCall) -> Catalog:
    stream = next(s for s in spec.TABLE_STREAMS if s.table == "catalog")
    poller = StreamPoller(
        stream,
        provision.table_names(account.resources)["catalog"],
        boto3.client("dynamodb", region_name=provision.REGION),
        # botocore's account-based endpoint (<account>.streams-ddb...) is unknown to moto 5.2.5.
        boto3.client(
            "dynamodbstreams",
            region_name=provision.REGION,
            endpoint_url=f"https://streams.dynamodb.{provision.REGION}.amazonaws.com",
        ),
    )
    return Catalog(account, api, poller)


def kids_profile(api: ApiCall, *, sub: str = "viewer-1", ceiling: int = 7) -> dict[str, str]:
    """A viewer profile with an age ceiling (the identity routes); its header for later requests."""
    created = api(
        "POST", "/v1/profiles", body={"name": "kids", "age_ceiling": ceiling}, role="viewer", sub=sub
    )
    assert created.status == 201, created.body
    return {"x-profile-id": created.body["id"]}


def ids(response: ApiResponse) -> list[str]:
    assert response.status == 200, response.body
    return [item["id"] for item in response.body["items"]]


# -- create -------------------------------------------------------------------------------------
def test_create_returns_the_draft_with_its_etag_and_location(catalog: Catalog) -> None:
    # Given an uploader
    # When they create a movie
    response = catalog.api(
        "POST",
        "/v1/titles",
        body={
            "kind": "movie",
            "title": "  Amélie ",
            "genres": ["Comedy"],
            "tags": ["paris"],
            "release_year": 2001,
            "content_rating": "R",
            "languages": ["fr", "en-GB"],
            "cast": [{"name": "Audrey Tautou", "role": "Amélie"}],
        },
    )
    # Then it is a draft at version 1, owned by them
    assert response.status == 201, response.body
    body = response.body
    assert body["title"] == "Amélie" and body["state"] == "draft" and body["owner"] == "user-1"
    assert body["version"] == 1 and etag_of(response) == 1
    assert response.headers["location"] == f"/v1/titles/{body['id']}"
    assert body["cast"] == [{"name": "Audrey Tautou", "role": "Amélie"}]
    assert body["images"] == {} and body["seasons"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "movie"},
        {"kind": "film", "title": "x"},
        {"kind": "movie", "title": ""},
        {"kind": "movie", "title": "x", "content_rating": "XXX"},
        {"kind": "movie", "title": "x", "release_year": 1500},
        {"kind": "movie", "title": "x", "unknown": 1},
        {"kind": "movie", "title": "x", "languages": ["not a tag"]},
        {"kind": "movie", "title": "x", "video_id": "not-hex"},
        {"kind": "movie", "title": "x", "genres": ["g"] * 11},
    ],
)
def test_create_validates_the_body(catalog: Catalog, body: dict[str, Any]) -> None:
    response = catalog.api("POST", "/v1/titles", body=body)
    assert response.status == 422, response.body
    assert response.body["error"]["code"] == "validation_failed"


def test_create_needs_a_token_and_a_creator_role(catalog: Catalog) -> None:
    assert catalog.api("POST", "/v1/titles", body={"kind": "movie", "title": "x"}, role=None).status == 401
    forbidden = catalog.api("POST", "/v1/titles", body={"kind": "movie", "title": "x"}, role="viewer")
    assert forbidden.status == 403 and forbidden.body["error"]["code"] == "forbidden"


def test_a_movie_is_bound_to_an_existing_video_of_its_owner(catalog: Catalog) -> None:
    mine, theirs = catalog.video("user-1"), catalog.video("someone-else")
    assert catalog.create(video_id=mine)["video_id"] == mine
    unknown = catalog.api("POST", "/v1/titles", body={"kind": "movie", "title": "x", "video_id": "0" * 32})
    assert unknown.status == 422 and unknown.body["error"]["details"]["field"] == "video_id"
    other = catalog.api("POST", "/v1/titles", body={"kind": "movie", "title": "x", "video_id": theirs})
    assert other.status == 403
    # an admin may bind anyone's video
    assert catalog.create(role="admin", sub="root", video_id=theirs)["video_id"] == theirs


def test_a_series_is_not_bound_to_a_video(catalog: Catalog) -> None:
    response = catalog.api(
        "POST", "/v1/titles", body={"kind": "series", "title": "x", "video_id": catalog.video()}
    )
    assert response.status == 422


# -- read ---------------------------------------------------------------------------------------
def test_a_draft_is_visible_to_its_owner_and_admins_only(catalog: Catalog) -> None:
    title = catalog.create(title="Secret")
    path = f"/v1/titles/{title['id']}"
    owner = catalog.api("GET", path)
    assert owner.status == 200 and etag_of(owner) == 1
    assert catalog.api("GET", path, role="admin", sub="root").status == 200
    # Not found, rather than forbidden: a draft does not reveal that it exists
    assert catalog.api("GET", path, role="viewer", sub="v").status == 404
    assert catalog.api("GET", path, role="uploader", sub="another").status == 404


def test_a_published_title_is_visible_to_viewers(catalog: Catalog) -> None:
    title = catalog.published(title="Open")
    response = catalog.api("GET", f"/v1/titles/{title['id']}", role="viewer", sub="v")
    assert response.status == 200 and response.body["state"] == "published"


def test_get_unknown_title_is_404_and_a_malformed_id_422(catalog: Catalog) -> None:
    missing = catalog.api("GET", f"/v1/titles/{'a' * 32}", role="viewer")
    assert missing.status == 404 and missing.body["error"]["code"] == "not_found"
    assert catalog.api("GET", "/v1/titles/NOT-AN-ID", role="viewer").status == 422
    assert catalog.api("GET", f"/v1/titles/{'a' * 32}", role=None).status == 401


def test_a_kids_profile_does_not_see_a_tv_ma_title(catalog: Catalog) -> None:
    title = catalog.published(title="Grim", content_rating="TV-MA")
    kids = kids_profile(catalog.api)
    path = f"/v1/titles/{title['id']}"
    assert catalog.api("GET", path, role="viewer", sub="viewer-1", headers=kids).status == 404
    assert catalog.api("GET", path, role="viewer", sub="viewer-1").status == 200


def test_get_a_series_with_its_seasons_and_episodes_in_one_query(catalog: Catalog) -> None:
    # Given a series with two seasons of episodes
    series = catalog.create(kind="series", title="Long Show")
    version = series["version"]
    path = f"/v1/titles/{series['id']}"
    for season in (2, 1):
        added = catalog.api("POST", f"{path}/seasons", body={"number": season}, headers=match(version))
        assert added.status == 201, added.body
        version = etag_of(added)
        for episode in (3, 1, 2):
            body = {"number": episode, "title": f"S{season}E{episode}", "video_id": catalog.video()}
            added = catalog.api(
                "POST", f"{path}/seasons/{season}/episodes", body=body, headers=match(version)
            )
            assert added.status == 201, added.body
            version = etag_of(added)
    # When it is read
    with DynamoCalls() as calls, calls.counting() as made:
        response = catalog.api("GET", path)
    # Then seasons and episodes come in order, from one Query
    assert response.status == 200
    assert [s["number"] for s in response.body["seasons"]] == [1, 2]
    assert [e["title"] for e in response.body["seasons"][1]["episodes"]] == ["S2E1", "S2E2", "S2E3"]
    assert response.body["version"] == version == 9
    assert made == ["Query"], made


def test_dynamodb_calls_per_request_stay_in_budget(catalog: Catalog) -> None:
    for i in range(30):
        catalog.published(title=f"Budget {i}", genres=["Drama"], tags=["t"], content_rating="PG")
    catalog.project()
    kids = kids_profile(catalog.api)
    with DynamoCalls() as calls:
        for query, headers in [("", {}), ("genre=drama", {}), ("genre=drama&tag=t", kids), ("limit=5", kids)]:
            with calls.counting() as made:
                first = catalog.list(query, sub="viewer-1", headers=headers)
            assert first.status == 200 and len(made) <= 2 and "Scan" not in made, (query, made)
            cursor = first.body.get("next_cursor")
            if cursor:
                sep = "&" if query else ""
                with calls.counting() as made:
                    following = catalog.list(
                        f"{query}{sep}{urlencode({'cursor': cursor})}", sub="viewer-1", headers=headers
                    )
                assert following.status == 200 and len(made) <= 2, (query, made)
        with calls.counting() as made:
            assert catalog.search("budget 7", sub="viewer-1", headers=kids).status == 200
        assert len(made) <= 2 and "Scan" not in made, made


# -- update -------------------------------------------------------------------------------------
def test_update_needs_if_match_and_the_current_version(catalog: Catalog) -> None:
    title = catalog.create(title="Draft", synopsis="old", content_rating="PG")
    path = f"/v1/titles/{title['id']}"
    # Without If-Match: 428
    missing = catalog.api("PATCH", path, body={"title": "New"})
    assert missing.status == 428 and missing.body["error"]["code"] == "precondition_required"
    # With the current version: the change, and a new ETag
    changed = catalog.api("PATCH", path, body={"title": "New", "content_rating": None}, headers=match(1))
    assert changed.status == 200, changed.body
    assert changed.body["title"] == "New" and changed.body["synopsis"] == "old"
    assert changed.body["content_rating"] is None and etag_of(changed) == 2
    # With the version it had before: 412, and the current version in the details
    stale = catalog.api("PATCH", path, body={"title": "Lost update"}, headers=match(1))
    assert stale.status == 412 and stale.body["error"]["code"] == "precondition_failed"
    assert stale.body["error"]["details"]["current_version"] == 2
    assert catalog.api("GET", path).body["title"] == "New"


@pytest.mark.parametrize("header", ['W/"1"', "1", "*", '"7", "1"'])
def test_if_match_forms(catalog: Catalog, header: str) -> None:
    title = catalog.create()
    response = catalog.api(
        "PATCH", f"/v1/titles/{title['id']}", body={"synopsis": "s"}, headers={"if-match": header}
    )
    assert response.status == 200, response.body


def test_a_write_racing_between_read_and_write_gets_412(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an update that read version 1 ...
    from functions.catalog.dal import titles as dal

    title = catalog.create()
    real = dal.update_title

    def someone_else_first(title_id: str, expected: int, fields: dict[str, Any]) -> Any:
        real(title_id, expected, {"synopsis": "theirs"})  # ... and another writer gets in first
        return real(title_id, expected, fields)

    monkeypatch.setattr(dal, "update_title", someone_else_first)
    response = catalog.api("PATCH", f"/v1/titles/{title['id']}", body={"synopsis": "mine"}, headers=match(1))
    # Then the write's condition refuses it
    assert response.status == 412
    monkeypatch.undo()
    assert catalog.api("GET", f"/v1/titles/{title['id']}").body["synopsis"] == "theirs"


def test_uploaders_change_only_their_own_titles_and_admins_any(catalog: Catalog) -> None:
    title = catalog.create(sub="alice")
    path = f"/v1/titles/{title['id']}"
    other = catalog.api("PATCH", path, body={"title": "x"}, headers=match(1), sub="mallory")
    assert other.status == 403
    viewer = catalog.api("PATCH", path, body={"title": "x"}, headers=match(1), role="viewer")
    assert viewer.status == 403
    admin = catalog.api("PATCH", path, body={"title": "By admin"}, headers=match(1), role="admin", sub="root")
    assert admin.status == 200 and admin.body["owner"] == "alice"


def test_update_of_unknown_title_is_404_and_invalid_body_422(catalog: Catalog) -> None:
    assert catalog.api("PATCH", f"/v1/titles/{'b' * 32}", body={"title": "x"}, headers=match(1)).status == 404
    title = catalog.create()
    path = f"/v1/titles/{title['id']}"
    assert catalog.api("PATCH", path, body={"kind": "series"}, headers=match(1)).status == 422
    assert catalog.api("PATCH", path, body={"title": None}, headers=match(1)).status == 422


# -- publication --------------------------------------------------------------------------------
def test_publish_unpublish_and_their_conflicts(catalog: Catalog) -> None:
    title = catalog.create()
    path = f"/v1/titles/{title['id']}"
    published = catalog.api("POST", f"{path}/publish", headers=match(1))
    assert published.status == 200 and published.body["state"] == "published"
    assert published.body["published_at"] and etag_of(published) == 2
    again = catalog.api("POST", f"{path}/publish", headers=match(2))
    assert again.status == 409 and again.body["error"]["code"] == "conflict"
    unpublished = catalog.api("POST", f"{path}/unpublish", headers=match(2))
    assert unpublished.status == 200 and unpublished.body["state"] == "unpublished"
    assert catalog.api("POST", f"{path}/unpublish", headers=match(3)).status == 409
    assert catalog.api("POST", f"{path}/publish", headers=match(1)).status == 412
    assert catalog.api("POST", f"{path}/publish").status == 428
    assert catalog.api("POST", f"{path}/publish", headers=match(3), sub="mallory").status == 403
    assert catalog.api("POST", f"/v1/titles/{'c' * 32}/publish", headers=match(1)).status == 404


# -- delete -------------------------------------------------------------------------------------
def test_delete_removes_the_title_with_its_seasons_and_episodes(catalog: Catalog) -> None:
    series = catalog.create(kind="series")
    path = f"/v1/titles/{series['id']}"
    added = catalog.api("POST", f"{path}/seasons", body={"number": 1}, headers=match(1))
    episode = {"number": 1, "title": "Pilot", "video_id": catalog.video()}
    added = catalog.api("POST", f"{path}/seasons/1/episodes", body=episode, headers=match(etag_of(added)))
    assert catalog.api("DELETE", path).status == 428
    assert catalog.api("DELETE", path, headers=match(1)).status == 412
    assert catalog.api("DELETE", path, headers=match(3), sub="mallory").status == 403
    assert catalog.api("DELETE", path, headers=match(3)).status == 204
    assert catalog.api("GET", path).status == 404
    from functions.catalog.dal import titles as dal

    assert dal.find(series["id"]) is None
    assert catalog.api("DELETE", path, headers=match(3)).status == 404


# -- seasons and episodes -----------------------------------------------------------------------
def test_seasons_and_episodes_lifecycle_with_their_errors(catalog: Catalog) -> None:
    series = catalog.create(kind="series", title="Show")
    path = f"/v1/titles/{series['id']}"
    # add a season
    season = catalog.api("POST", f"{path}/seasons", body={"number": 1, "title": "One"}, headers=match(1))
    assert season.status == 201 and season.body == {
        "number": 1, "title": "One", "synopsis": "", "release_year": None, "episodes": []
    }  # fmt: skip
    assert season.headers["location"] == f"{path}/seasons/1"
    v = etag_of(season)
    # the same number again: 409; a stale version: 412; no If-Match: 428; invalid: 422
    assert catalog.api("POST", f"{path}/seasons", body={"number": 1}, headers=match(v)).status == 409
    assert catalog.api("POST", f"{path}/seasons", body={"number": 2}, headers=match(1)).status == 412
    assert catalog.api("POST", f"{path}/seasons", body={"number": 2}).status == 428
    assert catalog.api("POST", f"{path}/seasons", body={"number": 0}, headers=match(v)).status == 422
    # episodes need an existing season and an existing video of the owner
    video = catalog.video()
    body = {"number": 1, "title": "Pilot", "video_id": video, "duration_seconds": 1500}
    assert catalog.api("POST", f"{path}/seasons/9/episodes", body=body, headers=match(v)).status == 404
    unknown = {**body, "video_id": "f" * 32}
    assert catalog.api("POST", f"{path}/seasons/1/episodes", body=unknown, headers=match(v)).status == 422
    theirs = {**body, "video_id": catalog.video("someone-else")}
    assert catalog.api("POST", f"{path}/seasons/1/episodes", body=theirs, headers=match(v)).status == 403
    episode = catalog.api("POST", f"{path}/seasons/1/episodes", body=body, headers=match(v))
    assert episode.status == 201 and episode.body["video_id"] == video
    v = etag_of(episode)
    assert catalog.api("POST", f"{path}/seasons/1/episodes", body=body, headers=match(v)).status == 409
    # change them
    changed = catalog.api("PATCH", f"{path}/seasons/1", body={"synopsis": "S1"}, headers=match(v))
    assert changed.status == 200 and changed.body["synopsis"] == "S1" and len(changed.body["episodes"]) == 1
    v = etag_of(changed)
    renamed = catalog.api(
        "PATCH", f"{path}/seasons/1/episodes/1", body={"title": "Pilot (cut)"}, headers=match(v)
    )
    assert renamed.status == 200 and renamed.body["title"] == "Pilot (cut)"
    v = etag_of(renamed)
    assert (
        catalog.api("PATCH", f"{path}/seasons/1/episodes/2", body={"title": "x"}, headers=match(v)).status
        == 404
    )
    assert catalog.api("PATCH", f"{path}/seasons/3", body={"title": "x"}, headers=match(v)).status == 404
    cleared = catalog.api("PATCH", f"{path}/seasons/1/episodes/1", body={"video_id": None}, headers=match(v))
    assert cleared.status == 422
    # someone else may not touch them
    other = catalog.api("PATCH", f"{path}/seasons/1", body={"title": "x"}, headers=match(v), sub="mallory")
    assert other.status == 403
    # a season with episodes is not deleted; an empty one is
    assert catalog.api("DELETE", f"{path}/seasons/1", headers=match(v)).status == 409
    gone = catalog.api("DELETE", f"{path}/seasons/1/episodes/1", headers=match(v))
    assert gone.status == 204
    v = etag_of(gone)
    emptied = catalog.api("DELETE", f"{path}/seasons/1", headers=match(v))
    assert emptied.status == 204
    assert catalog.api("GET", path).body["seasons"] == []
    assert catalog.api("GET", path).body["version"] == etag_of(emptied)


def test_a_movie_has_no_seasons(catalog: Catalog) -> None:
    movie = catalog.create(kind="movie")
    response = catalog.api("POST", f"/v1/titles/{movie['id']}/seasons", body={"number": 1}, headers=match(1))
    assert response.status == 409


def test_two_episode_writes_with_the_same_etag_one_wins(catalog: Catalog) -> None:
    series = catalog.create(kind="series")
    path = f"/v1/titles/{series['id']}"
    v = etag_of(catalog.api("POST", f"{path}/seasons", body={"number": 1}, headers=match(1)))
    first = {"number": 1, "title": "A", "video_id": catalog.video()}
    second = {"number": 2, "title": "B", "video_id": catalog.video()}
    assert catalog.api("POST", f"{path}/seasons/1/episodes", body=first, headers=match(v)).status == 201
    assert catalog.api("POST", f"{path}/seasons/1/episodes", body=second, headers=match(v)).status == 412


# -- rating_for_video ---------------------------------------------------------------------------
def test_rating_for_video_follows_movies_and_episodes(catalog: Catalog) -> None:
    from functions.catalog.logic.lookup import rating_for_video

    movie_video, episode_video, loose = catalog.video(), catalog.video(), catalog.video()
    catalog.create(title="Film", content_rating="PG-13", video_id=movie_video)
    series = catalog.create(kind="series", title="Show", content_rating="TV-MA")
    path = f"/v1/titles/{series['id']}"
    v = etag_of(catalog.api("POST", f"{path}/seasons", body={"number": 1}, headers=match(1)))
    body = {"number": 1, "title": "Pilot", "video_id": episode_video}
    assert catalog.api("POST", f"{path}/seasons/1/episodes", body=body, headers=match(v)).status == 201
    with DynamoCalls() as calls, calls.counting() as made:
        assert rating_for_video(episode_video) == "TV-MA"
    assert made == ["Query", "BatchGetItem"]
    with DynamoCalls() as calls, calls.counting() as made:
        assert rating_for_video(movie_video) == "PG-13"
    assert made == ["Query"]
    assert rating_for_video(loose) is None


def test_rating_for_video_takes_the_strictest_binding_and_unrated_as_adult(catalog: Catalog) -> None:
    from functions.catalog.logic.lookup import rating_for_video

    shared, unrated = catalog.video(), catalog.video()
    catalog.create(title="Soft", content_rating="G", video_id=shared)
    catalog.create(title="Hard", content_rating="R", video_id=shared)
    catalog.create(title="Unrated", video_id=unrated)
    assert rating_for_video(shared) == "R"
    assert rating_for_video(unrated) == "NC-17"
