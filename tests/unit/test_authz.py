"""The authorization table: every action for every role, the owner rule, deny by default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from functions.shared.auth import ROLES, Principal
from functions.shared.authz import POLICY, authorize, permits
from functions.shared.errors import Forbidden

ALL = frozenset({"admin", "uploader", "viewer"})
CREATORS = frozenset({"admin", "uploader"})
ADMINS = frozenset({"admin"})

# What the product promises, written out independently of POLICY: (roles allowed, owner-only).
# A new action in POLICY without a line here fails test_every_policy_action_has_an_expectation.
EXPECTED: dict[str, tuple[frozenset[str], bool]] = {
    "titles:create": (CREATORS, False),
    "titles:update": (CREATORS, True),
    "titles:publish": (CREATORS, True),
    "titles:delete": (CREATORS, True),
    "titles:read_draft": (CREATORS, True),
    "titles:read": (ALL, False),
    "titles:cover": (CREATORS, True),
    "titles:bind_video": (CREATORS, True),  # owner: the video's
    "videos:create": (CREATORS, False),
    "videos:read": (ALL, False),
    "videos:read_unpublished": (CREATORS, True),
    "videos:read_evidence": (ADMINS, False),
    "videos:play": (ALL, False),
    "videos:retry": (CREATORS, True),
    "videos:update": (CREATORS, True),
    # video management (issue 13): a creator lists their own; admins list by status; takedown
    "videos:list_mine": (CREATORS, False),
    "videos:list_all": (ADMINS, False),
    "videos:delete": (CREATORS, True),
    "moderation:read_queue": (ADMINS, False),
    "moderation:decide": (ADMINS, False),
    "moderation:protect": (ADMINS, False),
    "webhooks:create": (CREATORS, False),
    "webhooks:list": (CREATORS, False),
    "webhooks:manage": (CREATORS, True),
    "webhooks:hear_all_videos": (ADMINS, False),
    "profiles:manage": (ALL, True),
    "profiles:use": (ALL, True),
    # watch history and viewing settings: the caller's own, by construction (/v1/me)
    "history:read": (ALL, False),
    "history:manage": (ALL, False),
}

CASES = [(action, role) for action in sorted(EXPECTED) for role in sorted(ALL)]


def _as(role: str | None, sub: str = "me") -> Principal:
    return Principal(sub=sub, roles=frozenset({role}) if role else frozenset())


def test_every_policy_action_has_an_expectation() -> None:
    assert set(POLICY) == set(EXPECTED)


@pytest.mark.parametrize(("action", "role"), CASES, ids=[f"{a}-{r}" for a, r in CASES])
def test_each_role_is_allowed_or_refused_as_the_table_says(action: str, role: str) -> None:
    # Given the expectation for this action
    roles, owner_only = EXPECTED[action]
    principal = _as(role)
    # When the role is allowed, it may act on its own resources (and without a resource)
    if role in roles:
        authorize(principal, action)
        authorize(principal, action, owner="me")
        assert permits(principal, action, owner="me")
        # ...and on someone else's only when the rule is not owner-only, or when it is an admin
        if owner_only and role != "admin":
            with pytest.raises(Forbidden, match="only the owner or an admin"):
                authorize(principal, action, owner="someone-else")
            assert not permits(principal, action, owner="someone-else")
        else:
            authorize(principal, action, owner="someone-else")
    # Otherwise it is refused whatever it owns
    else:
        for owner in (None, "me", "someone-else"):
            with pytest.raises(Forbidden, match="needs one of the roles"):
                authorize(principal, action, owner=owner)
            assert not permits(principal, action, owner=owner)


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_a_caller_in_no_platform_group_may_do_nothing(action: str) -> None:
    with pytest.raises(Forbidden):
        authorize(_as(None), action, owner="me")


def test_an_unknown_action_is_refused_even_to_admins() -> None:
    with pytest.raises(Forbidden, match="unknown action"):
        authorize(_as("admin"), "videos:launch_missiles")
    assert not permits(_as("admin"), "videos:launch_missiles")


def test_several_roles_count_together() -> None:
    principal = Principal(sub="me", roles=frozenset({"viewer", "admin"}))
    authorize(principal, "moderation:decide")
    authorize(principal, "webhooks:manage", owner="someone-else")


def test_policy_speaks_only_of_the_cognito_groups_and_uses_each() -> None:
    used = set().union(*(rule.roles for rule in POLICY.values()))
    assert used == set(ROLES)


FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
# Reading or comparing roles anywhere but the two modules that own them.
ROLE_COMPARISON = re.compile(
    r"\.roles\b|require_any|is_admin|[\"'](admin|uploader|viewer)[\"']\s*(==|!=|in\b)"
)


def test_no_module_but_authz_compares_roles() -> None:
    owners = {FUNCTIONS_DIR / "shared" / "auth.py", FUNCTIONS_DIR / "shared" / "authz.py"}
    offenders = [
        f"{path.relative_to(FUNCTIONS_DIR)}:{number}: {line.strip()}"
        for path in sorted(FUNCTIONS_DIR.rglob("*.py"))
        if path not in owners
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if ROLE_COMPARISON.search(line)
    ]
    assert offenders == []


@pytest.mark.parametrize("role", sorted(ROLES))
def test_vod_token_issues_each_platform_role_as_cognito_would(
    role: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the embedded mode's issuer (its key in the state directory)
    from functions.shared.auth import principal_from_event
    from infra import cli
    from infra.local.http_front import _flatten_claims
    from infra.local.keys import LocalIssuer

    monkeypatch.setenv("VOD_STATE_DIR", str(tmp_path))
    # When `vod token --role <role>` prints a token
    args = cli.build_parser().parse_args(["token", "--role", role, "--sub", "alice"])
    assert args.func(args) == 0
    token = capsys.readouterr().out.strip()
    # Then API Gateway's view of its claims is a principal with exactly that role
    claims = _flatten_claims(LocalIssuer(tmp_path).verify(token))
    principal = principal_from_event({"requestContext": {"authorizer": {"jwt": {"claims": claims}}}})
    assert (principal.sub, principal.roles) == ("alice", frozenset({role}))
