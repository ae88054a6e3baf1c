"""Moderation's API shapes: an admin's decision on a held or rejected video, and protecting a title."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from functions.shared.schema import ApiModel


class ModerationDecision(ApiModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    note: str = Field(default="", max_length=1000)


class ProtectRequest(ApiModel):
    model_config = ConfigDict(extra="forbid")

    video_id: str = Field(pattern=r"^[0-9a-f]{32}$")
