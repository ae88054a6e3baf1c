"""The shapes that pipeline and moderation steps both receive: the source, a probe result and a chunk.

Both domains import them from here, so neither reads the other's internals nor re-parses the
other's dicts by hand.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict
from pydantic.dataclasses import dataclass

from functions.media.probe import ProbeResult
from functions.shared.contracts import StepModel


class Source(StepModel):
    """The upload a step reads, as every execution's input names it."""

    video_id: str
    bucket: str
    key: str
    # The S3 version the starter fixed at ingest: every step reads exactly this object, whatever
    # the key holds later (None only for videos ingested before the upload bucket kept versions).
    version_id: str | None = None
    attempt: int | None = None  # the upload's attempt: sent by the states, read by none of these


@dataclass(frozen=True, config=ConfigDict(extra="ignore"))
class ProbeInfo(ProbeResult):
    """A probe result as later steps receive it (``$.probe``): the fields of :class:`ProbeResult`,
    validated; what else the Probe step put beside them (its ``plan``) is not theirs to read."""


@dataclass(frozen=True)
class Chunk:
    """A span of the source's video: frames with ``start <= pts < end`` (one item of a split).

    Split by copy (``name`` set): a NUT file of the span, timestamps as the segment muxer wrote them.
    Split by index (``name`` empty): no file; the worker reads the span from the source itself, and
    ``start``/``end`` are the source's raw timestamps (keyframes), ``offset`` the container's start
    time (a seek position is ``start - offset``), ``last`` says the span runs to the end of the file,
    and ``audio_origin`` is the player time of the audio's first sample (for the audio pieces).
    """

    index: int
    name: str  # file name, e.g. c00003.nut; "" when the span is read from the source (by index)
    start: float  # seconds on the source timeline (the first keyframe of the chunk)
    end: float
    offset: float = 0.0
    last: bool = False
    audio_origin: float = 0.0

    @property
    def from_source(self) -> bool:
        return not self.name

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "name": self.name, "start": self.start, "end": self.end}
        if self.from_source:
            data.update(offset=self.offset, last=self.last, audio_origin=self.audio_origin)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**{"name": "", **data})
