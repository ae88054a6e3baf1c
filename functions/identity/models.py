"""Viewer profile API shapes."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from functions.shared.ratings import ADULT_CEILING, KIDS_CEILING
from functions.shared.schema import ApiModel
from functions.shared.text import PlainLine

MAX_NAME_LENGTH = 50


class CreateProfileRequest(ApiModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: PlainLine = Field(
        min_length=1, max_length=MAX_NAME_LENGTH, description="Shown on the profile picker"
    )
    age_ceiling: int | None = Field(
        default=None,
        ge=0,
        le=ADULT_CEILING,
        description=(
            "The oldest audience age (years) this profile may see, e.g. "
            f"{KIDS_CEILING} for a kids profile (G, PG, TV-Y, TV-Y7, TV-G); omitted: unrestricted"
        ),
        examples=[KIDS_CEILING],
    )


class ProfileView(ApiModel):
    id: str
    name: str
    age_ceiling: int | None = Field(description="Years; null: unrestricted")
    created_at: str


class ProfileList(ApiModel):
    items: list[ProfileView]
