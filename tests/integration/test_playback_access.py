"""The playback-access decision (functions/playback/logic/access.py), table-driven against moto:
role x owner x video status x visibility x title state x profile ceiling, each refusal with its
reason code, and the API answering each refusal with its status and code."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from functions.playback.logic import access
from functions.shared.auth import Principal
from functions.shared.ratings import KIDS_CEILING
from tests.integration.conftest import Account
from tests.integration.test_catalog_api import Catalog, catalog, match
from tests.integration.test_kids_profile import series_with_episode
from tests.integration.test_profiles import create_profile, put_video

__all__ = ["catalog"]  # the fixture, shared with test_catalog_api

OWNER = "user-1"  # Catalog's default title owner, and the videos' owner
STATUSES = ("READY", "VIEWABLE", "PROCESSING", "REJECTED", "DELETED")
VISIBILITIES = ("private", "unlisted", "public")
# How a video is bound: to no title, or to a movie / an episode in a publication state and rating
BINDINGS = ("none", "draft-G", "published-G", "unpublished-G", "published-TV-MA", "episode-published-TV-MA")

CALLERS = {
    "owner": Principal(OWNER, frozenset({"uploader"})),
    "admin": Principal("admin-1", frozenset({"admin"})),
    "other-uploader": Principal("user-2", frozenset({"uploader"})),
    "viewer": Principal("viewer-1", frozenset({"viewer"})),
    "no-role": Principal("nobody", frozenset()),
}


@dataclass(frozen=True)
class Case:
    caller: str
    status: str
    visibility: str
    binding: str
    ceiling: int | None


def expected(case: Case) -> str | None:
    """The rules in the issue's words; None: may play, else the reason code."""
    if case.caller == "no-role":
        return "forbidden_role"
    if case.status == "DELETED":
        return "deleted"
    privileged = case.caller in ("owner", "admin")
    playable = ("READY", "VIEWABLE") if privileged else ("READY",)
    if case.status not in playable:
        return "not_ready"
    state, _, rating = case.binding.removeprefix("episode-").partition("-")
    if not privileged:
        if case.binding == "none":
            if case.visibility == "private":
                return "private"
        elif state != "published":
            return "not_published"
    restricted = case.ceiling is not None and case.binding != "none" and rating == "TV-MA"
    if restricted and (privileged or state == "published"):
        return "rating_restricted"
    return None


def _bind(catalog: Catalog, binding: str, video_id: str) -> None:
    if binding == "none":
        return
    episode = binding.startswith("episode-")
    state, _, rating = binding.removeprefix("episode-").partition("-")
    if episode:
        title = series_with_episode(catalog, "Series", video_id, rating)
    else:
        title = catalog.create(title="Movie", content_rating=rating, video_id=video_id)
    if state in ("published", "unpublished"):
        title = catalog.publish(title)
    if state == "unpublished":
        resp = catalog.api("POST", f"/v1/titles/{title['id']}/unpublish", headers=match(title["version"]))
        assert resp.status == 200, resp.body


@pytest.fixture
def videos(account: Account, catalog: Catalog) -> dict[tuple[str, str, str], str]:
    """One video per status x visibility (bound to nothing) and per status x binding."""
    made = {}
    for n, (status, visibility, binding) in enumerate(
        itertools.chain(
            itertools.product(STATUSES, VISIBILITIES, ["none"]),
            itertools.product(STATUSES, ["private"], BINDINGS[1:]),
        )
    ):
        video_id = f"{n:032x}"
        put_video(account, video_id, owner=OWNER, status="READY", visibility=visibility)
        _bind(catalog, binding, video_id)  # binding checks the video: bind while READY
        put_video(account, video_id, owner=OWNER, status=status, visibility=visibility)
        made[(status, visibility, binding)] = video_id
    return made


def test_the_decision_over_every_combination(videos: dict[tuple[str, str, str], str]) -> None:
    mismatches = []
    decided = 0
    for (status, visibility, binding), video_id in videos.items():
        for caller, ceiling in itertools.product(CALLERS, (None, KIDS_CEILING)):
            case = Case(caller, status, visibility, binding, ceiling)
            decision = access.decide(access.Viewer(CALLERS[caller], ceiling=ceiling), video_id)
            got = None if decision.allowed else decision.reason
            if got != expected(case):
                mismatches.append((case, got, expected(case)))
            if decision.allowed:
                assert decision.video is not None and decision.video.video_id == video_id
            decided += 1
    assert decided == len(videos) * len(CALLERS) * 2
    assert mismatches == []
    # and every refusal code appears in the table at least once
    reasons = {expected(Case(c, s, v, b, k)) for (s, v, b) in videos for c in CALLERS for k in (None, 7)}
    assert reasons == {None, *(r.value for r in access.Reason if r is not access.Reason.NOT_FOUND)}


def test_an_unknown_or_malformed_id_is_not_found(account: Account) -> None:
    for video_id in ("f" * 32, "../../etc", ""):
        decision = access.decide(access.Viewer(CALLERS["viewer"]), video_id)
        assert (decision.allowed, decision.reason) == (False, access.Reason.NOT_FOUND)


@pytest.mark.parametrize(
    ("key", "caller", "status", "code"),
    [
        (("READY", "private", "none"), "viewer", 403, "private"),
        (("READY", "private", "draft-G"), "viewer", 403, "not_published"),
        (("READY", "private", "unpublished-G"), "viewer", 403, "not_published"),
        (("PROCESSING", "public", "none"), "viewer", 403, "not_ready"),
        (("PROCESSING", "public", "none"), "owner", 409, "video_not_ready"),
        (("DELETED", "public", "none"), "viewer", 410, "deleted"),
        (("DELETED", "public", "none"), "owner", 410, "deleted"),
        (("READY", "unlisted", "none"), "viewer", 200, None),
        (("READY", "private", "published-G"), "viewer", 200, None),
        (("VIEWABLE", "private", "none"), "owner", 200, None),
        (("VIEWABLE", "private", "none"), "admin", 200, None),
    ],
)
def test_the_playback_route_answers_each_refusal(
    catalog: Catalog,
    videos: dict[tuple[str, str, str], str],
    key: tuple[str, str, str],
    caller: str,
    status: int,
    code: str | None,
) -> None:
    principal = CALLERS[caller]
    role = next(iter(principal.roles))
    resp = catalog.api("POST", f"/v1/videos/{videos[key]}/playback", body={}, role=role, sub=principal.sub)
    assert resp.status == status, resp.body
    if code is None:
        assert "hls_url" in resp.body
    else:
        assert resp.body["error"]["code"] == code


def test_a_kids_profile_is_refused_a_tv_ma_episode_even_of_its_own_account(
    catalog: Catalog, videos: dict[tuple[str, str, str], str]
) -> None:
    kids = create_profile(catalog.api, "Kids", KIDS_CEILING, sub=OWNER)
    video_id = videos[("READY", "private", "episode-published-TV-MA")]
    resp: Any = catalog.api(
        "POST", f"/v1/videos/{video_id}/playback", body={}, sub=OWNER, headers={"x-profile-id": kids["id"]}
    )
    assert (resp.status, resp.body["error"]["code"]) == (403, "rating_restricted")
    assert catalog.api("POST", f"/v1/videos/{video_id}/playback", body={}, sub=OWNER).status == 200


def test_visibility_is_set_at_creation_and_by_patch_by_the_owner_or_an_admin(catalog: Catalog) -> None:
    created = catalog.api("POST", "/v1/videos", body={"title": "t"}, sub=OWNER)
    assert created.body["visibility"] == "private"
    video_id = created.body["id"]
    unlisted = catalog.api("POST", "/v1/videos", body={"title": "t", "visibility": "unlisted"}, sub=OWNER)
    assert unlisted.body["visibility"] == "unlisted"
    # the owner and an admin may change it; another uploader may not; bad input changes nothing
    path = f"/v1/videos/{video_id}"
    assert catalog.api("PATCH", path, body={"visibility": "public"}, sub=OWNER).body["visibility"] == "public"
    resp = catalog.api("PATCH", path, body={"visibility": "unlisted"}, role="admin", sub="admin-1")
    assert (resp.status, resp.body["visibility"]) == (200, "unlisted")
    assert catalog.api("PATCH", path, body={"visibility": "private"}, sub="user-2").status == 403
    assert catalog.api("PATCH", path, body={"visibility": "private"}, role="viewer", sub="v").status == 403
    for bad in ({"visibility": "secret"}, {}, {"visibility": "public", "title": "new"}, [1]):
        assert catalog.api("PATCH", path, body=bad, sub=OWNER).status == 422, bad
    assert (
        catalog.api("PATCH", "/v1/videos/" + "e" * 32, body={"visibility": "public"}, sub=OWNER).status == 404
    )
    assert catalog.api("GET", path, sub=OWNER).body["visibility"] == "unlisted"
    assert catalog.api("POST", "/v1/videos", body={"title": "t", "visibility": "x"}, sub=OWNER).status == 422
