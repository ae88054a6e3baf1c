"""Moderation's task contracts in the media pipeline: Moderate (short sources), ModerateRange (a
Map iteration over the chunks) and ModerateVerdict (long sources), and the review wait.

The probe result and the chunk are the shared shapes of ``functions.media.contracts``.
``tests/unit/test_step_contracts.py`` checks every path the state machine reads against these.
"""

from __future__ import annotations

from typing import Literal

from functions.media.contracts import Chunk, ProbeInfo, Source
from functions.shared.contracts import StepModel


class ModerateInput(Source):
    probe: ProbeInfo
    # Who overrode earlier findings (an admin's approval of a rejected video), or a flag; falsy: none
    moderation_override: str | bool | None = None


class Finding(StepModel):
    check: str
    code: str


class ModerationSummary(StepModel):
    """``$.moderation``: a 'reject' never gets here (MediaRejected), 'review' waits for an admin."""

    verdict: Literal["pass", "review"]
    reasons: list[Finding]
    frames: int


class ModerateRangeInput(Source):
    chunk: Chunk
    probe: ProbeInfo


class ModerateRangeOutput(StepModel):
    """Only counts: Map results must stay small (the frames' findings wait under work/)."""

    index: int
    frames: int


class ModerateVerdictInput(StepModel):
    video_id: str
    attempt: int | None = None  # the upload's attempt: sent by the states, read by none of these
    count: int  # ranges moderated: one per chunk of the split
    probe: ProbeInfo
    moderation_override: str | bool | None = None


class ReviewRequest(StepModel):
    """The Payload of the waitForTaskToken state (AwaitReview)."""

    video_id: str
    reasons: list[Finding] = []
    token: str


class ReviewHeld(StepModel):
    """What the function returns; the state's own result is what the admin's decision sends back."""

    held: bool
