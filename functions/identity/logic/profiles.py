"""Create, list, read and remove a user's viewer profiles. Who may do what: functions/shared/authz."""

from __future__ import annotations

import uuid

from functions.identity.dal import profiles as dal
from functions.identity.models import CreateProfileRequest, ProfileList, ProfileView
from functions.shared.auth import Principal
from functions.shared.authz import authorize
from functions.shared.clock import now_iso
from functions.shared.errors import Conflict

# A household's picker, not an address book: a few profiles per account.
MAX_PROFILES_PER_USER = 10


def to_view(item: dal.ProfileModel) -> ProfileView:
    return ProfileView(
        id=item.profile_id,
        name=item.name,
        age_ceiling=int(item.age_ceiling) if item.age_ceiling is not None else None,
        created_at=item.created_at,
    )


def create_profile(principal: Principal, request: CreateProfileRequest) -> ProfileView:
    authorize(principal, "profiles:manage")
    if dal.count_by_owner(principal.sub) >= MAX_PROFILES_PER_USER:
        raise Conflict(
            f"at most {MAX_PROFILES_PER_USER} profiles per user: delete one first",
            code="profile_limit_reached",
        )
    item = dal.create(
        profile_id=uuid.uuid4().hex,
        owner_sub=principal.sub,
        name=request.name,
        age_ceiling=request.age_ceiling,
        created_at=now_iso(),
    )
    return to_view(item)


def list_profiles(principal: Principal) -> ProfileList:
    authorize(principal, "profiles:manage")
    return ProfileList(items=[to_view(item) for item in dal.list_by_owner(principal.sub)])


def _load_managed(principal: Principal, profile_id: str) -> dal.ProfileModel:
    authorize(principal, "profiles:manage")
    item = dal.get(profile_id)
    authorize(principal, "profiles:manage", owner=item.owner_sub)
    return item


def get_profile(principal: Principal, profile_id: str) -> ProfileView:
    return to_view(_load_managed(principal, profile_id))


def delete_profile(principal: Principal, profile_id: str) -> None:
    dal.delete(_load_managed(principal, profile_id))
