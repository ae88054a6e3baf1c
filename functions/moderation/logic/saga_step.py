"""The Saga's Moderate step: a chain of pluggable checks, each with its own verdict and evidence.

Frames are sampled once and shared by the frame classifier and the copyright fingerprints.
A "reject" raises MediaRejected (the Saga compensates: REJECTED, outputs deleted); "review"
returns, and the Saga holds the video for an admin after encoding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from functions.moderation.dal import fingerprints
from functions.moderation.logic.classifier import FrameClassifier, classifier_from_settings, decide
from functions.moderation.logic.fingerprint import check_copyright, frame_hashes
from functions.moderation.logic.frames import SampledFrame, sample_frames
from functions.moderation.logic.text import WordListSource, check_text, source_from_settings
from functions.moderation.logic.verdict import CheckResult, combine
from functions.pipeline.logic import storage
from functions.pipeline.logic.media_steps import time_budget, work_dir
from functions.pipeline.logic.probe import ProbeResult
from functions.shared.aws import client
from functions.shared.errors import MediaRejected
from functions.shared.observability import logger, metrics
from functions.shared.settings import Settings, get_settings
from functions.videos.dal import videos as dal


@dataclass
class Context:
    """What the checks may look at."""

    video: Any
    frames: list[SampledFrame]
    hashes: list[tuple[float, str]]
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
    scores = _classifier().classify(ctx.frames)
    return decide(
        scores,
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


def moderate_step(
    *, video_id: str, bucket: str, key: str, probe_dict: dict[str, Any], override: bool, remaining_ms: int
) -> dict[str, Any]:
    settings = get_settings()
    info = ProbeResult.from_dict(probe_dict)
    video = dal.get(video_id)
    duration = max(info.duration, 0.001)
    with work_dir(video_id) as scratch:
        frames = sample_frames(
            storage.presigned_get(bucket, key),
            Path(scratch),
            fps=settings.frame_sample_fps,
            scene_threshold=settings.frame_scene_threshold,
            max_samples=settings.frame_max_samples,
            duration=duration,
            ffmpeg=settings.ffmpeg_path,
            timeout=time_budget(remaining_ms) / 2,
        )
        interval = max(1.0 / settings.frame_sample_fps, duration / settings.frame_max_samples)
        ctx = Context(
            video=video,
            frames=frames,
            hashes=frame_hashes(frames),
            sample_interval=interval,
            settings=settings,
        )
        results = [check(ctx) for check in CHECKS]
    fingerprints.save_fingerprints(video_id, ctx.hashes, interval)
    verdict, reasons = combine(results)
    for result in results:
        metrics.add_metric(name=f"Moderation_{result.check}_{result.verdict}", unit="Count", value=1)
    if override and verdict != "pass":
        logger.info("moderation findings overridden by an admin", extra={"verdict": verdict})
        reasons = [{**r, "overridden": True} for r in reasons]
        verdict = "pass"
    dal.update_fields(video_id, reasons=reasons or None)
    summary = {"verdict": verdict, "reasons": [{"check": r["check"], "code": r["code"]} for r in reasons],
               "frames": len(frames)}  # fmt: skip
    if verdict == "reject":
        codes = ", ".join(sorted({f"{r['check']}:{r['code']}" for r in reasons}))
        raise MediaRejected("moderation_rejected", f"moderation said no ({codes})")
    return summary
