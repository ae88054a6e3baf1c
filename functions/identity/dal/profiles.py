"""Viewer profiles on the platform table (PynamoDB models only here).

Items (``pk`` / ``sk``):

``PROFILE#<id>`` / ``PROFILE``
    One profile: owner, name, age ceiling. Keyed by the profile id alone, so the profile a request
    selects (``X-Profile-Id``) is one GetItem, and whose it is can be told apart from "no such
    profile" (403 vs 404). ``gsi1``: ``OWNER#<sub>`` / ``PROFILE#<created_at>#<id>`` lists a
    user's profiles in the order they were made (the owner partition webhooks use too, told apart
    by the sort key prefix).
"""

from __future__ import annotations

import re

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist

from functions.shared.errors import NotFound
from functions.shared.platform_tables import Gsi1, PlatformItem
from functions.shared.table_binding import TableBinding

PROFILE_ID_RE = re.compile(r"^[0-9a-f]{32}$")
PROFILE_SK = "PROFILE"
OWNER_SK_PREFIX = "PROFILE#"


def profile_pk(profile_id: str) -> str:
    return f"PROFILE#{profile_id}"


def owner_pk(owner_sub: str) -> str:
    return f"OWNER#{owner_sub}"


class ProfileModel(PlatformItem):
    class Meta:
        table_name = "vod-platform"  # replaced from settings at first use (_BINDING)

    profile_id = UnicodeAttribute()
    owner_sub = UnicodeAttribute()
    name = UnicodeAttribute()
    age_ceiling = NumberAttribute(null=True)  # years; None: unrestricted
    created_at = UnicodeAttribute()

    owner_index: Gsi1[ProfileModel] = Gsi1()


_BINDING = TableBinding(ProfileModel, table=lambda settings: settings.platform_table)


def reset() -> None:
    """Forget the bound table and connections."""
    _BINDING.reset()


def _not_found(profile_id: str) -> NotFound:
    return NotFound(f"profile {profile_id} not found", code="profile_not_found")


def create(
    *, profile_id: str, owner_sub: str, name: str, age_ceiling: int | None, created_at: str
) -> ProfileModel:
    _BINDING.bind()
    item = ProfileModel(
        profile_pk(profile_id),
        PROFILE_SK,
        gsi1pk=owner_pk(owner_sub),
        gsi1sk=f"{OWNER_SK_PREFIX}{created_at}#{profile_id}",
        profile_id=profile_id,
        owner_sub=owner_sub,
        name=name,
        age_ceiling=age_ceiling,
        created_at=created_at,
    )
    item.save(condition=ProfileModel.pk.does_not_exist())
    return item


def get(profile_id: str) -> ProfileModel:
    """One GetItem (strongly consistent: a profile made a moment ago is usable at once); none for
    an id that cannot exist."""
    if not PROFILE_ID_RE.match(profile_id):
        raise _not_found(profile_id[:64])
    _BINDING.bind()
    try:
        return ProfileModel.get(profile_pk(profile_id), PROFILE_SK, consistent_read=True)
    except DoesNotExist as exc:
        raise _not_found(profile_id) from exc


def list_by_owner(owner_sub: str) -> list[ProfileModel]:
    """A user's profiles, oldest first (gsi1: eventually consistent)."""
    _BINDING.bind()
    return list(
        ProfileModel.owner_index.query(owner_pk(owner_sub), ProfileModel.gsi1sk.startswith(OWNER_SK_PREFIX))
    )


def count_by_owner(owner_sub: str) -> int:
    _BINDING.bind()
    return ProfileModel.owner_index.count(
        owner_pk(owner_sub), ProfileModel.gsi1sk.startswith(OWNER_SK_PREFIX)
    )


def delete(item: ProfileModel) -> None:
    """Raises ``NotFound`` when someone else deleted it first."""
    _BINDING.bind()
    try:
        item.delete(condition=ProfileModel.pk.exists())
    except DeleteError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise _not_found(item.profile_id) from exc
        raise
