"""Viewer profiles against moto: the /v1/profiles routes, their 4xx cases, and selecting a profile
with X-Profile-Id (one read of the platform table; another user's profile 403, unknown 404)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.identity.dal import profiles as profile_dal
from functions.identity.logic.profiles import MAX_PROFILES_PER_USER
from functions.shared import ratings
from tests.integration.conftest import Account, ApiCall

PROFILE_HEADER = "x-profile-id"  # as API Gateway hands header names to the function


def create_profile(
    api: ApiCall, name: str, age_ceiling: int | None = None, *, sub: str = "user-1", role: str = "viewer"
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if age_ceiling is not None:
        body["age_ceiling"] = age_ceiling
    resp = api("POST", "/v1/profiles", body=body, sub=sub, role=role)
    assert resp.status == 201, resp.body
    return dict(resp.body)


def put_video(
    account: Account,
    video_id: str,
    *,
    owner: str = "uploader-1",
    status: str = "READY",
    visibility: str = "public",
) -> None:
    """A video record as the pipeline leaves it (what the API reads of it); public, so that
    another signed-in user may play it while it is bound to no title (the access decision)."""
    account.client("dynamodb").put_item(
        TableName=account.resources.videos_table,
        Item={
            "video_id": {"S": video_id},
            "owner_sub": {"S": owner},
            "title": {"S": "clip"},
            "status": {"S": status},
            "attempt": {"N": "1"},
            "created_at": {"S": "2026-01-01T00:00:00Z"},
            "updated_at": {"S": "2026-01-01T00:00:00Z"},
            "upload_key": {"S": f"uploads/{video_id}/source"},
            "visibility": {"S": visibility},
        },
    )


# --- the routes ---------------------------------------------------------------------------------


def test_a_kids_profile_is_created_stored_and_read_back(api: ApiCall, account: Account) -> None:
    # When a viewer creates a kids profile
    resp = api(
        "POST", "/v1/profiles", body={"name": " Kids ", "age_ceiling": ratings.KIDS_CEILING}, role="viewer"
    )
    # Then it is 201 with its location, the name trimmed and the ceiling kept
    assert resp.status == 201, resp.body
    created = resp.body
    assert len(created["id"]) == 32
    assert created["name"] == "Kids"
    assert created["age_ceiling"] == 7
    assert created["created_at"].endswith("Z")
    assert resp.headers["location"] == f"/v1/profiles/{created['id']}"
    # And it is an item of the platform table, keyed by its id, listed under its owner
    item = account.client("dynamodb").get_item(
        TableName=account.resources.platform_table,
        Key={"pk": {"S": f"PROFILE#{created['id']}"}, "sk": {"S": "PROFILE"}},
    )["Item"]
    assert item["owner_sub"]["S"] == "user-1"
    assert item["age_ceiling"]["N"] == "7"
    assert item["gsi1pk"]["S"] == "OWNER#user-1"
    # And the owner reads it back
    one = api("GET", f"/v1/profiles/{created['id']}", role="viewer")
    assert (one.status, one.body) == (200, created)


def test_a_profile_without_a_ceiling_is_unrestricted(api: ApiCall) -> None:
    created = create_profile(api, "Me")
    assert created["age_ceiling"] is None


def test_listing_shows_the_callers_profiles_oldest_first(api: ApiCall) -> None:
    first = create_profile(api, "Me")
    second = create_profile(api, "Kids", ratings.KIDS_CEILING)
    create_profile(api, "Someone else's", sub="user-2")
    resp = api("GET", "/v1/profiles")
    assert resp.status == 200
    assert [p["id"] for p in resp.body["items"]] == [first["id"], second["id"]]
    assert api("GET", "/v1/profiles", sub="user-3").body == {"items": []}


@pytest.mark.parametrize("role", ["viewer", "uploader", "admin"])
def test_every_role_has_profiles(api: ApiCall, role: str) -> None:
    created = create_profile(api, "Me", role=role, sub=f"{role}-1")
    assert api("GET", f"/v1/profiles/{created['id']}", role=role, sub=f"{role}-1").status == 200


def test_another_users_profile_is_403_to_read_or_delete_but_an_admin_may(api: ApiCall) -> None:
    theirs = create_profile(api, "Theirs", sub="user-2")
    path = f"/v1/profiles/{theirs['id']}"
    for method in ("GET", "DELETE"):
        resp = api(method, path)
        assert resp.status == 403, (method, resp.body)
        assert resp.body["error"]["code"] == "forbidden"
    assert api("GET", path, role="viewer").status == 403
    assert api("GET", path, role="admin", sub="admin-1").status == 200
    # still there after the refused delete
    assert api("GET", path, sub="user-2").status == 200


def test_delete_is_204_then_the_profile_is_gone(api: ApiCall) -> None:
    created = create_profile(api, "Kids", ratings.KIDS_CEILING)
    path = f"/v1/profiles/{created['id']}"
    resp = api("DELETE", path)
    assert (resp.status, resp.body) == (204, None)
    again = api("GET", path)
    assert again.status == 404
    assert again.body["error"]["code"] == "profile_not_found"
    assert api("DELETE", path).status == 404
    assert api("GET", "/v1/profiles").body == {"items": []}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("profile_id", ["0" * 32, "not-an-id", "A" * 32, "x" * 3000])
def test_unknown_or_malformed_ids_are_404(api: ApiCall, method: str, profile_id: str) -> None:
    resp = api(method, f"/v1/profiles/{profile_id}")
    assert resp.status == 404
    assert resp.body["error"]["code"] == "profile_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"name": "Kids", "age_ceiling": -1}, "age_ceiling"),
        ({"name": "Kids", "age_ceiling": 19}, "age_ceiling"),
        ({"name": "Kids", "age_ceiling": "seven"}, "age_ceiling"),
        ({"name": "Kids", "pin": "1234"}, "pin"),
    ],
)
def test_invalid_profiles_are_422_with_the_field_and_write_nothing(
    api: ApiCall, body: dict[str, Any], field: str
) -> None:
    resp = api("POST", "/v1/profiles", body=body)
    assert resp.status == 422
    assert resp.body["error"]["code"] == "validation_failed"
    assert any(d["field"].endswith(field) for d in resp.body["error"]["details"]), resp.body
    assert api("GET", "/v1/profiles").body == {"items": []}


def test_a_body_that_is_not_json_is_400(api: ApiCall) -> None:
    resp = api("POST", "/v1/profiles", raw_body="{nope")
    assert resp.status == 400
    assert resp.body["error"]["code"] == "invalid_json"


def test_the_number_of_profiles_per_user_is_bounded(api: ApiCall) -> None:
    for n in range(MAX_PROFILES_PER_USER):
        create_profile(api, f"P{n}")
    resp = api("POST", "/v1/profiles", body={"name": "one too many"})
    assert resp.status == 409
    assert resp.body["error"]["code"] == "profile_limit_reached"
    create_profile(api, "another user's first", sub="user-2")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/profiles"),
        ("GET", "/v1/profiles"),
        ("GET", "/v1/profiles/" + "0" * 32),
        ("DELETE", "/v1/profiles/" + "0" * 32),
    ],
)
def test_anonymous_calls_are_401(api: ApiCall, method: str, path: str) -> None:
    resp = api(method, path, body={"name": "x"} if method == "POST" else None, role=None)
    assert resp.status == 401
    assert resp.body["error"]["code"] == "unauthorized"


def test_openapi_documents_the_profile_routes(api: ApiCall) -> None:
    doc = api("GET", "/v1/openapi.json", role=None).body
    assert {"post", "get"} <= set(doc["paths"]["/v1/profiles"])
    assert {"get", "delete"} <= set(doc["paths"]["/v1/profiles/{profile_id}"])
    assert {"CreateProfileRequest", "ProfileView", "ProfileList"} <= set(doc["components"]["schemas"])


# --- selecting a profile: X-Profile-Id ---------------------------------------------------------

VIDEO_ID = "0123456789abcdef0123456789abcdef"


class CountingReads:
    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.ids: list[str] = []
        original = profile_dal.get

        def counted(profile_id: str) -> profile_dal.ProfileModel:
            self.ids.append(profile_id)
            return original(profile_id)

        monkeypatch.setattr(profile_dal, "get", counted)


def test_playback_without_the_header_reads_no_profile(
    api: ApiCall, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_video(account, VIDEO_ID)
    reads = CountingReads(monkeypatch)
    resp = api("POST", f"/v1/videos/{VIDEO_ID}/playback", body={})
    assert resp.status == 200, resp.body
    assert reads.ids == []


def test_playback_with_ones_own_adult_profile_reads_it_once(
    api: ApiCall, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_video(account, VIDEO_ID)
    adult = create_profile(api, "Me")
    reads = CountingReads(monkeypatch)
    resp = api("POST", f"/v1/videos/{VIDEO_ID}/playback", body={}, headers={PROFILE_HEADER: adult["id"]})
    assert resp.status == 200, resp.body
    assert reads.ids == [adult["id"]]


def test_selecting_another_users_profile_is_403(api: ApiCall, account: Account) -> None:
    put_video(account, VIDEO_ID)
    theirs = create_profile(api, "Theirs", ratings.KIDS_CEILING, sub="user-2")
    resp = api("POST", f"/v1/videos/{VIDEO_ID}/playback", body={}, headers={PROFILE_HEADER: theirs["id"]})
    assert resp.status == 403
    assert resp.body["error"]["code"] == "forbidden"


@pytest.mark.parametrize("profile_id", ["f" * 32, "not-a-profile", ""])
def test_selecting_an_unknown_profile_is_404(api: ApiCall, account: Account, profile_id: str) -> None:
    put_video(account, VIDEO_ID)
    resp = api("POST", f"/v1/videos/{VIDEO_ID}/playback", body={}, headers={PROFILE_HEADER: profile_id})
    assert resp.status == 404
    assert resp.body["error"]["code"] == "profile_not_found"


def test_a_deleted_profile_can_no_longer_be_selected(api: ApiCall, account: Account) -> None:
    put_video(account, VIDEO_ID)
    kids = create_profile(api, "Kids", ratings.KIDS_CEILING)
    assert api("DELETE", f"/v1/profiles/{kids['id']}").status == 204
    resp = api("POST", f"/v1/videos/{VIDEO_ID}/playback", body={}, headers={PROFILE_HEADER: kids["id"]})
    assert resp.status == 404
