"""The Saga's Moderate step: a chain of pluggable checks, each with its own verdict and evidence.

Frames are sampled once and shared by the frame classifier and the copyright fingerprints.
A "reject" raises MediaRejected (the Saga compensates: REJECTED, outputs deleted); "review"
returns, and the Saga holds the video for an admin after encoding.

Two ways in, one way out. Short sources: :func:`moderate_step` samples the whole video in one
Lambda. Long sources (the chunked path): a Map runs :func:`moderate_range_step` over the time
ranges the split cut, each sampling its range on the video's global grid, classifying and hashing
its frames and leaving a small result in the media bucket; then :func:`moderate_verdict_step`
gathers the results. Both end in :func:`_conclude`: the same checks, thresholds and side effects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from functions.media import storage
from functions.media.contracts import Chunk
from functions.media.probe import ProbeResult
from functions.media.workdir import time_budget, work_dir
from functions.moderation.contracts import Finding, ModerateRangeOutput, ModerationSummary
from functions.moderation.dal import fingerprints
from functions.moderation.logic.classifier import (
    FrameClassifier,
    FrameScore,
    classifier_from_settings,
    decide,
)
from functions.moderation.logic.fingerprint import Hashes, check_copyright, frame_hashes
from functions.moderation.logic.frames import SampledFrame, sample_frames, sample_range, sampling_interval
from functions.moderation.logic.text import WordListSource, check_text, source_from_settings
from functions.moderation.logic.verdict import CheckResult, combine
from functions.shared import keys
from functions.shared.aws import client
from functions.shared.errors import MediaFailed, MediaRejected
from functions.shared.observability import logger, metrics
from functions.shared.settings import Settings, get_settings
from functions.videos.logic import lifecycle, records

INCOMPLETE = "moderation_incomplete"


@dataclass
class Context:
    """What the checks may look at."""

    video: Any
    scores: list[FrameScore]  # the classifier's, one per sampled frame, in time order
    hashes: Hashes  # (t, dhash) of the sampled frames with some structure, in time order
    sample_interval: float
    settings: Settings


Check = Callable[[Context], CheckResult]


@cache
def _word_source() -> WordListSource:
    return source_from_settings(get_settings())  # cached: it reloads the list itself when it changes


@cache
def _classifier() -> FrameClassifier:
    return classifier_from_settings(get_settings(), client)


def text_check(ctx: Context) -> CheckResult:
    v = ctx.video
    return check_text(v.title, v.description or "", list(v.tags or []), _word_source().load())


def frames_check(ctx: Context) -> CheckResult:
    return decide(
        ctx.scores,
        threshold=ctx.settings.moderation_threshold,
        review_threshold=ctx.settings.moderation_review_threshold,
    )


def copyright_check(ctx: Context) -> CheckResult:
    registry = fingerprints.registry()
    registry.pop(ctx.video.video_id, None)  # a re-run of a protected video must not match itself
    return check_copyright(
        ctx.hashes,
        registry,
        max_distance=ctx.settings.copyright_max_distance,
        min_matched_seconds=ctx.settings.copyright_min_matched_seconds,
        sample_interval=ctx.sample_interval,
    )


CHECKS: tuple[Check, ...] = (text_check, frames_check, copyright_check)


def _duration(info: ProbeResult) -> float:
    return max(info.duration, 0.001)


def _interval(info: ProbeResult, settings: Settings) -> float:
    """Seconds between steady samples: the grid of the fanned-out mode, and what the copyright
    matcher and the stored fingerprints need."""
    return sampling_interval(
        _duration(info), fps=settings.frame_sample_fps, max_samples=settings.frame_max_samples
    )


def _look_at(frames: list[SampledFrame]) -> tuple[list[FrameScore], Hashes]:
    """Classifier scores and perceptual hashes of the frames (while their files exist)."""
    if not frames:  # a range may keep none; do not load a model for nothing
        return [], []
    return _classifier().classify(frames), frame_hashes(frames)


def moderate_step(
    *,
    video_id: str,
    bucket: str,
    key: str,
    info: ProbeResult,
    override: bool,
    remaining_ms: int,
    version_id: str | None = None,
) -> ModerationSummary:
    settings = get_settings()
    video = records.get_record(video_id)
    with work_dir(video_id) as scratch:
        frames = sample_frames(
            storage.presigned_get(bucket, key, version_id=version_id),
            Path(scratch),
            fps=settings.frame_sample_fps,
            scene_threshold=settings.frame_scene_threshold,
            max_samples=settings.frame_max_samples,
            duration=_duration(info),
            ffmpeg=settings.ffmpeg_path,
            timeout=time_budget(remaining_ms) / 2,
        )
        scores, hashes = _look_at(frames)
    return _conclude(
        video,
        scores=scores,
        hashes=hashes,
        interval=_interval(info, settings),
        frames=len(frames),
        override=override,
    )


def moderate_range_step(
    *,
    video_id: str,
    bucket: str,
    key: str,
    info: ProbeResult,
    chunk: Chunk,
    remaining_ms: int,
    version_id: str | None = None,
) -> ModerateRangeOutput:
    """One Map iteration of the fanned-out mode: sample the chunk's time range on the global
    grid, classify and hash its frames, store them for the verdict; return only the counts
    (Map results must stay small)."""
    settings = get_settings()
    index = chunk.index
    with work_dir(video_id) as scratch:
        frames = sample_range(
            storage.presigned_get(bucket, key, version_id=version_id),
            Path(scratch),
            start=chunk.start,
            # the last range runs to the end of the file, as the encoder reads it
            end=math.inf if chunk.last else chunk.end,
            offset=chunk.offset,
            first=index == 0,
            duration=_duration(info),
            fps=settings.frame_sample_fps,
            scene_threshold=settings.frame_scene_threshold,
            max_samples=settings.frame_max_samples,
            ffmpeg=settings.ffmpeg_path,
            timeout=time_budget(remaining_ms) / 2,
        )
        scores, hashes = _look_at(frames)
    result = {
        "index": index,
        "frames": len(frames),
        "scores": [score.to_dict() for score in scores],
        "hashes": [[t, h] for t, h in hashes],
    }
    with storage.transient_aws_errors():
        storage.put_json(settings.media_bucket, keys.moderation_range_key(video_id, index), result)
    return ModerateRangeOutput(index=index, frames=len(frames))


def moderate_verdict_step(
    *, video_id: str, count: int, info: ProbeResult, override: bool
) -> ModerationSummary:
    """After the Map: read the ``count`` range results and decide as :func:`moderate_step` does."""
    settings = get_settings()
    video = records.get_record(video_id)
    if count < 1:
        raise MediaFailed(INCOMPLETE, "moderation ran over no range")
    names = [keys.moderation_range_key(video_id, index) for index in range(count)]
    try:
        with storage.transient_aws_errors():
            results = storage.get_json_many(settings.media_bucket, names)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise MediaFailed(INCOMPLETE, "a moderated range left no result") from exc
        raise
    frames = sum(int(r["frames"]) for r in results)
    if frames == 0:  # the first range always keeps the first frame: something went wrong
        raise MediaFailed(INCOMPLETE, "no frame was sampled in any range")
    scores = sorted((FrameScore.from_dict(s) for r in results for s in r["scores"]), key=lambda s: s.t)
    hashes = sorted(((float(t), str(h)) for r in results for t, h in r["hashes"]), key=lambda th: th[0])
    return _conclude(
        video,
        scores=scores,
        hashes=hashes,
        interval=_interval(info, settings),
        frames=frames,
        override=override,
    )


def _conclude(
    video: Any, *, scores: list[FrameScore], hashes: Hashes, interval: float, frames: int, override: bool
) -> ModerationSummary:
    """Run the checks, store the fingerprints, record the findings; reject or return a summary."""
    settings = get_settings()
    video_id = video.video_id
    ctx = Context(video=video, scores=scores, hashes=hashes, sample_interval=interval, settings=settings)
    results = [check(ctx) for check in CHECKS]
    fingerprints.save_fingerprints(video_id, hashes, interval)
    verdict, reasons = combine(results)
    for result in results:
        metrics.add_metric(name=f"Moderation_{result.check}_{result.verdict}", unit="Count", value=1)
    if override and verdict != "pass":
        logger.info("moderation findings overridden by an admin", extra={"verdict": verdict})
        reasons = [{**r, "overridden": True} for r in reasons]
        verdict = "pass"
    lifecycle.record_moderation_reasons(video_id, reasons)
    if verdict == "reject":
        codes = ", ".join(sorted({f"{r['check']}:{r['code']}" for r in reasons}))
        raise MediaRejected("moderation_rejected", f"moderation said no ({codes})")
    return ModerationSummary(
        verdict=verdict,
        reasons=[Finding(check=r["check"], code=r["code"]) for r in reasons],
        frames=frames,
    )
