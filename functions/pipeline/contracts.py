"""The media pipeline's task contracts: what each state sends its function, and what it returns.

One input and one output model per task of ``infra/statemachines/media_pipeline.asl.json``; each
handler parses its event into its ``INPUT`` once and returns its ``OUTPUT``. The shapes moderation
receives too (the probe result, the chunk) live in ``functions.media.contracts``.
``tests/unit/test_step_contracts.py`` checks every path the definition reads against these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from functions.media.contracts import Chunk, ProbeInfo, Source
from functions.media.probe import ProbeResult
from functions.shared.contracts import StepModel

Pass = Literal["preview", "rest"]


# --- AcquireSlot ------------------------------------------------------------------------------------


class AcquireSlotInput(StepModel):
    """AcquireSlot, and ReleaseSlotForReview (the same function, before a review wait)."""

    operation: Literal["acquire", "release_for_review"] = "acquire"
    video_id: str
    priority_class: str | None = None
    execution: str


class AcquireSlotOutput(StepModel):
    priority_class: str
    budget: int
    held: int


class SlotReleased(StepModel):
    released: bool


# --- Probe ------------------------------------------------------------------------------------------


class ProbeInput(Source):
    pass


class ProbePlan(StepModel):
    chunked: bool  # longer than CHUNK_THRESHOLD_SECONDS: the chunked path (the ChoosePath state)


@dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class ProbeOutput(ProbeResult):
    """The probe result's own fields, flat (what later steps receive as ``probe``), and the plan."""

    plan: ProbePlan


# --- Transcode (single pass) and Stitch: the encoded ladder -----------------------------------------


class EncodedRendition(StepModel):
    name: str
    width: int
    height: int
    bitrate: int
    average_bitrate: int
    codecs: str
    frame_rate: float
    playlist_key: str


class TranscodeInput(Source):
    probe: ProbeInfo


class TranscodeOutput(StepModel):
    """The ladder as encoded, by either path (``$.transcode``): Transcode or the final Stitch."""

    master_key: str
    encode_seconds: float
    renditions: list[EncodedRendition]
    objects: int | None = None  # single pass: objects uploaded
    chunks: int | None = None  # chunked path: chunks stitched (their intermediates go at Publish)


# --- Thumbnails -------------------------------------------------------------------------------------


class ThumbnailsInput(Source):
    probe: ProbeInfo
    transcode: TranscodeOutput


class ThumbnailsOutput(StepModel):
    poster_key: str
    storyboard_key: str
    sprite_key: str
    interval: float


# --- Publish ----------------------------------------------------------------------------------------


class PublishInput(Source):
    probe: ProbeInfo
    transcode: TranscodeOutput
    thumbnails: ThumbnailsOutput
    execution: str
    started_at: str  # $$.Execution.StartTime


class PublishOutput(StepModel):
    status: str
    upload_to_ready_seconds: float | None


# --- Compensate -------------------------------------------------------------------------------------


class StepError(StepModel):
    """What a Catch puts at ``$.error``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # Step Functions' own field names; either may be null (moto drops a task failure's cause)
    Error: str | None = None
    Cause: str | None = None


class CompensateInput(Source):
    failed_step: str = "unknown"
    error: StepError | None = None
    execution: str = ""


class CompensateOutput(StepModel):
    status: str  # REJECTED ends the Saga as designed (the Outcome state), anything else Failed
    reason: str | None
    deleted: int


# --- The chunked path: Split -> EncodeChunk (Map) -> Stitch ------------------------------------------


class SplitInput(Source):
    probe: ProbeInfo


class SplitItem(StepModel):
    """One item of the Map over the chunks: in the state (inline Map) or the manifest (Distributed)."""

    chunk: Chunk


class SplitAudio(StepModel):
    bandwidth: int
    average_bandwidth: int


class SplitOutput(StepModel):
    count: int
    mode: Literal["index", "copy"]
    distributed: bool  # above INLINE_MAP_MAX_CHUNKS: Distributed Maps read the manifest instead
    max_concurrency: int
    bucket: str  # the manifest's bucket and key (a Distributed Map's ItemReader)
    manifest_key: str
    # Inline Map reads the items from the state; a Distributed Map reads the manifest (the same
    # items), so a thousand chunks never weigh on the execution's 256 KB payload limit.
    items: list[SplitItem]
    audio: SplitAudio | None  # split by copy: the audio rendition, written whole
    rest: bool  # rungs beyond the lowest: a second pass
    started_at: float


class EncodeChunkInput(Source):
    chunk: Chunk
    pass_name: Pass = Field(alias="pass")
    count: int
    started_at: float
    probe: ProbeInfo


class EncodeChunkOutput(StepModel):
    index: int
    pass_name: Pass = Field(alias="pass")


class VerdictOf(StepModel):
    """What Stitch reads of moderation's summary (``$.moderation``): only its verdict."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    verdict: str | None = None


class StitchInput(StepModel):
    video_id: str
    stage: Literal["preview", "final"]
    split: SplitOutput
    probe: ProbeInfo
    moderation: VerdictOf | None = None


# --- The safety net (an EventBridge target, not a task) ----------------------------------------------


class ExecutionStatusDetail(StepModel):
    """The ``detail`` of a 'Step Functions Execution Status Change' event: what the safety net reads."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str | None = None
    status: str | None = None
    input: str | None = None  # the execution's input, JSON text


class ExecutionStatusChange(StepModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    detail: ExecutionStatusDetail = Field(default_factory=ExecutionStatusDetail)


class ExecutionFailedOutput(StepModel):
    handled: bool
    status: str | None = None
    reason: str | None = None
