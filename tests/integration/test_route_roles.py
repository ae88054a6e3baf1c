"""Every route of the API x every role: 401 without a token, 403 for a role the policy refuses,
the route's own answer for a role it allows (functions/shared/authz.py decides).

The route list comes from the Powertools app itself, so a route added without a line in MATRIX
fails test_the_matrix_covers_every_route_of_the_api. Each call gets fresh resources owned by the
caller (the same subject for every role), so the role is the only thing that changes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.api.handle_api import app
from infra.local.http_front import match_route
from tests.integration.conftest import Account, ApiCall
from tests.integration.test_profiles import put_video

SUB = "matrix-user"
ROLES = ("viewer", "uploader", "admin")
EVERYONE = frozenset(ROLES)
CREATORS = frozenset({"admin", "uploader"})
ADMINS = frozenset({"admin"})
PUBLIC = None  # no token needed


@dataclass(frozen=True)
class Request:
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""


class World:
    """Fresh resources owned by SUB, made beside the API (or through it, as an admin)."""

    def __init__(self, account: Account, api: ApiCall):
        self.account = account
        self.api = api

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.api(method, path, role="admin", sub=SUB, **kwargs)
        assert resp.status < 300, (method, path, resp.status, resp.body)
        return resp

    def video(self, status: str = "READY") -> str:
        video_id = uuid.uuid4().hex
        put_video(self.account, video_id, owner=SUB, status=status)
        return video_id

    def fingerprinted_video(self) -> str:
        from functions.moderation.dal import fingerprints

        video_id = self.video()
        fingerprints.save_fingerprints(video_id, [(0.0, "0123456789abcdef"), (1.0, "fedcba9876543210")], 1.0)
        return video_id

    def webhook(self) -> str:
        return str(self._call("POST", "/v1/webhooks", body={"url": "https://hooks.example.com/m"}).body["id"])

    def heartbeat(self) -> Request:
        """A fresh session of one of SUB's videos: its heartbeat, the token in the body."""
        video_id = self.video()
        session = self._call("POST", f"/v1/videos/{video_id}/playback", body={}).body
        body = {"state": "ended", "position_seconds": 0, "token": session["session_token"]}
        return Request(f"/v1/sessions/{session['session_id']}/heartbeat", body=body)

    def profile(self) -> str:
        return str(self._call("POST", "/v1/profiles", body={"name": "Me"}).body["id"])

    # catalog: (title id, If-Match of its current version)
    def title(self, kind: str = "movie", *, published: bool = False) -> tuple[str, dict[str, str]]:
        created = self._call(
            "POST", "/v1/titles", body={"kind": kind, "title": "Matrix", "content_rating": "G"}
        )
        title_id, version = created.body["id"], created.body["version"]
        if published:
            version = self._call("POST", f"/v1/titles/{title_id}/publish", headers=_match(version)).body[
                "version"
            ]
        return title_id, _match(version)

    def season(self) -> tuple[str, dict[str, str]]:
        title_id, if_match = self.title("series")
        resp = self._call("POST", f"/v1/titles/{title_id}/seasons", body={"number": 1}, headers=if_match)
        return title_id, {"if-match": resp.headers["etag"]}

    def episode(self) -> tuple[str, dict[str, str]]:
        title_id, if_match = self.season()
        body = {"number": 1, "title": "Pilot", "video_id": self.video()}
        resp = self._call("POST", f"/v1/titles/{title_id}/seasons/1/episodes", body=body, headers=if_match)
        return title_id, {"if-match": resp.headers["etag"]}


def _match(version: int) -> dict[str, str]:
    return {"if-match": f'"{version}"'}


@dataclass(frozen=True)
class Case:
    allowed: frozenset[str] | None  # roles the policy allows; None: a public route
    status: int  # what an allowed caller gets
    prepare: Callable[[World], Request]


def _title_request(
    suffix: str = "", *, kind: str = "movie", published: bool = False, body: Any = None
) -> Callable[[World], Request]:
    def prepare(world: World) -> Request:
        title_id, if_match = world.title(kind, published=published)
        return Request(f"/v1/titles/{title_id}{suffix}", body=body, headers=if_match)

    return prepare


def _season_request(suffix: str, body: Any = None) -> Callable[[World], Request]:
    def prepare(world: World) -> Request:
        title_id, if_match = world.season()
        return Request(f"/v1/titles/{title_id}/seasons{suffix}", body=body, headers=if_match)

    return prepare


def _episode_request(body: Any = None) -> Callable[[World], Request]:
    def prepare(world: World) -> Request:
        title_id, if_match = world.episode()
        return Request(f"/v1/titles/{title_id}/seasons/1/episodes/1", body=body, headers=if_match)

    return prepare


MATRIX: dict[str, Case] = {
    # meta
    "GET /health": Case(PUBLIC, 200, lambda w: Request("/health")),
    "GET /v1/openapi.json": Case(PUBLIC, 200, lambda w: Request("/v1/openapi.json")),
    # videos
    "POST /v1/videos": Case(CREATORS, 201, lambda w: Request("/v1/videos", body={"title": "t"})),
    "GET /v1/videos/{video_id}": Case(EVERYONE, 200, lambda w: Request(f"/v1/videos/{w.video()}")),
    "POST /v1/videos/{video_id}/playback": Case(
        EVERYONE, 200, lambda w: Request(f"/v1/videos/{w.video()}/playback", body={})
    ),
    "PATCH /v1/videos/{video_id}": Case(
        CREATORS, 200, lambda w: Request(f"/v1/videos/{w.video()}", body={"visibility": "unlisted"})
    ),
    "POST /v1/videos/{video_id}/retry": Case(
        CREATORS, 200, lambda w: Request(f"/v1/videos/{w.video('FAILED')}/retry")
    ),
    # video management (issue 13)
    "GET /v1/me/videos": Case(CREATORS, 200, lambda w: Request("/v1/me/videos")),
    "GET /v1/videos": Case(ADMINS, 200, lambda w: Request("/v1/videos", query="status=READY")),
    "DELETE /v1/videos/{video_id}": Case(CREATORS, 200, lambda w: Request(f"/v1/videos/{w.video()}")),
    # moderation
    "GET /v1/moderation/queue": Case(ADMINS, 200, lambda w: Request("/v1/moderation/queue")),
    "POST /v1/videos/{video_id}/moderation": Case(
        ADMINS,
        200,
        lambda w: Request(f"/v1/videos/{w.video('REJECTED')}/moderation", body={"decision": "reject"}),
    ),
    "POST /v1/moderation/protected": Case(
        ADMINS, 201, lambda w: Request("/v1/moderation/protected", body={"video_id": w.fingerprinted_video()})
    ),
    # webhooks
    "POST /v1/webhooks": Case(
        CREATORS, 201, lambda w: Request("/v1/webhooks", body={"url": "https://hooks.example.com/x"})
    ),
    "GET /v1/webhooks": Case(CREATORS, 200, lambda w: Request("/v1/webhooks")),
    "GET /v1/webhooks/{webhook_id}": Case(CREATORS, 200, lambda w: Request(f"/v1/webhooks/{w.webhook()}")),
    "DELETE /v1/webhooks/{webhook_id}": Case(CREATORS, 204, lambda w: Request(f"/v1/webhooks/{w.webhook()}")),
    "GET /v1/webhooks/{webhook_id}/deliveries": Case(
        CREATORS, 200, lambda w: Request(f"/v1/webhooks/{w.webhook()}/deliveries")
    ),
    # viewer profiles
    "POST /v1/profiles": Case(EVERYONE, 201, lambda w: Request("/v1/profiles", body={"name": "Kids"})),
    "GET /v1/profiles": Case(EVERYONE, 200, lambda w: Request("/v1/profiles")),
    "GET /v1/profiles/{profile_id}": Case(EVERYONE, 200, lambda w: Request(f"/v1/profiles/{w.profile()}")),
    "DELETE /v1/profiles/{profile_id}": Case(EVERYONE, 204, lambda w: Request(f"/v1/profiles/{w.profile()}")),
    # catalog: titles
    "POST /v1/titles": Case(
        CREATORS, 201, lambda w: Request("/v1/titles", body={"kind": "movie", "title": "New"})
    ),
    "GET /v1/titles/{title_id}": Case(EVERYONE, 200, _title_request(published=True)),
    "PATCH /v1/titles/{title_id}": Case(CREATORS, 200, _title_request(body={"synopsis": "s"})),
    "DELETE /v1/titles/{title_id}": Case(CREATORS, 204, _title_request()),
    "POST /v1/titles/{title_id}/publish": Case(CREATORS, 200, _title_request("/publish")),
    "POST /v1/titles/{title_id}/unpublish": Case(CREATORS, 200, _title_request("/unpublish", published=True)),
    "POST /v1/titles/{title_id}/cover": Case(
        CREATORS,
        201,
        _title_request("/cover", body={"kind": "cover", "content_type": "image/jpeg", "size": 1000}),
    ),
    # catalog: seasons and episodes
    "POST /v1/titles/{title_id}/seasons": Case(
        CREATORS, 201, _title_request("/seasons", kind="series", body={"number": 1})
    ),
    "PATCH /v1/titles/{title_id}/seasons/{season}": Case(
        CREATORS, 200, _season_request("/1", {"title": "S"})
    ),
    "DELETE /v1/titles/{title_id}/seasons/{season}": Case(CREATORS, 204, _season_request("/1")),
    "POST /v1/titles/{title_id}/seasons/{season}/episodes": Case(
        CREATORS,
        201,
        lambda w: _with_video_body(w, _season_request("/1/episodes")(w)),
    ),
    "PATCH /v1/titles/{title_id}/seasons/{season}/episodes/{episode}": Case(
        CREATORS, 200, _episode_request({"title": "Renamed"})
    ),
    "DELETE /v1/titles/{title_id}/seasons/{season}/episodes/{episode}": Case(
        CREATORS, 204, _episode_request()
    ),
    # playback sessions and history (the heartbeat: the session token in the body, no JWT)
    "POST /v1/sessions/{session_id}/heartbeat": Case(PUBLIC, 200, lambda w: w.heartbeat()),
    "GET /v1/me/continue-watching": Case(EVERYONE, 200, lambda w: Request("/v1/me/continue-watching")),
    "GET /v1/me/history": Case(EVERYONE, 200, lambda w: Request("/v1/me/history")),
    "DELETE /v1/me/history": Case(EVERYONE, 204, lambda w: Request("/v1/me/history")),
    "DELETE /v1/me/history/{video_id}": Case(EVERYONE, 204, lambda w: Request(f"/v1/me/history/{w.video()}")),
    "GET /v1/me/settings": Case(EVERYONE, 200, lambda w: Request("/v1/me/settings")),
    "PATCH /v1/me/settings": Case(
        EVERYONE, 200, lambda w: Request("/v1/me/settings", body={"history_paused": True})
    ),
    # catalog: browsing
    "GET /v1/titles": Case(EVERYONE, 200, lambda w: Request("/v1/titles")),
    "GET /v1/search": Case(EVERYONE, 200, lambda w: Request("/v1/search", query="q=matrix")),
}


def _with_video_body(world: World, request: Request) -> Request:
    body = {"number": 1, "title": "Pilot", "video_id": world.video()}
    return Request(request.path, body=body, headers=request.headers)


def app_routes() -> set[str]:
    """``METHOD /path/{param}`` of every route the Powertools app resolves (routers included)."""
    routes = [*app._static_routes, *app._dynamic_routes]
    keys = {f"{route.method} {route.openapi_path}" for route in routes}
    assert "POST /v1/videos" in keys, "Powertools changed how it keeps routes: update app_routes()"
    return keys


def test_the_matrix_covers_every_route_of_the_api() -> None:
    routes = app_routes()
    assert sorted(routes - set(MATRIX)) == [], "routes without a line in MATRIX"
    assert sorted(set(MATRIX) - routes) == [], "MATRIX lines for routes that do not exist"


@pytest.mark.parametrize("route_key", sorted(MATRIX))
def test_api_gateway_exposes_each_route_with_the_matrix_authorization(route_key: str) -> None:
    method, path = route_key.split(" ", 1)
    found = match_route(method, re.sub(r"\{[^}]+\}", "1", path))
    assert found is not None, f"no API Gateway route (infra/spec ROUTES) reaches {route_key}"
    compiled, _ = found
    assert compiled.route.auth is (MATRIX[route_key].allowed is not PUBLIC), compiled.route_key


@pytest.mark.parametrize("route_key", sorted(MATRIX))
def test_each_role_gets_what_the_policy_says(account: Account, api: ApiCall, route_key: str) -> None:
    # Given the route's line of the matrix
    method, _ = route_key.split(" ", 1)
    case = MATRIX[route_key]
    world = World(account, api)
    expected: dict[str, tuple[int, str | None]] = {}
    got: dict[str, tuple[int, str | None]] = {}
    # When each caller (no token, then each role; always the owner) makes the request
    for role in (None, *ROLES):
        name = role or "anonymous"
        if case.allowed is PUBLIC or (role is not None and role in case.allowed):
            expected[name] = (case.status, None)
        elif role is None:
            expected[name] = (401, "unauthorized")
        else:
            expected[name] = (403, "forbidden")
        request = case.prepare(world)
        resp = api(
            method,
            request.path,
            body=request.body,
            role=role,
            sub=SUB,
            headers=request.headers,
            query=request.query,
        )
        failed = resp.status >= 400 and isinstance(resp.body, dict)
        got[name] = (resp.status, resp.body["error"]["code"] if failed else None)
    # Then every answer is the one the policy gives
    assert got == expected
