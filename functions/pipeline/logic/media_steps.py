"""The media steps of the Saga: glue between S3, the video record and the ffmpeg logic."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from functions.media import storage
from functions.media.probe import ProbeLimits, ProbeResult, probe
from functions.media.workdir import time_budget, work_dir
from functions.pipeline.contracts import ProbeOutput, ProbePlan, ThumbnailsOutput, TranscodeOutput
from functions.pipeline.logic.ladder import choose_ladder
from functions.pipeline.logic.progress import with_eta
from functions.pipeline.logic.thumbnails import make_poster, make_storyboard
from functions.pipeline.logic.transcode import run_ladder, write_master_playlist
from functions.shared import keys
from functions.shared.errors import Conflict, MediaFailed, MediaRejected
from functions.shared.observability import logger
from functions.shared.settings import get_settings
from functions.videos.logic import lifecycle

PROGRESS_INTERVAL_S = 2.0


def probe_step(
    *, video_id: str, bucket: str, key: str, remaining_ms: int, version_id: str | None = None
) -> ProbeOutput:
    settings = get_settings()
    try:
        lifecycle.start_processing(video_id)
    except Conflict as exc:
        raise MediaFailed("invalid_state", f"video is not awaiting processing: {exc}") from exc
    with storage.transient_aws_errors():
        size = storage.object_size(bucket, key, version_id)
    limits = ProbeLimits(
        max_duration_seconds=settings.max_duration_seconds, max_size_bytes=settings.max_upload_bytes
    )
    source = storage.presigned_get(bucket, key, version_id=version_id) if size else ""
    result = probe(
        source,
        ffprobe=settings.ffprobe_path,
        size_bytes=size,
        limits=limits,
        timeout=time_budget(remaining_ms),
    )
    if result.video is None:  # probe rejects these; keep the invariant explicit for the type checker
        raise MediaRejected("no_video_stream", "the file has no video stream")
    lifecycle.record_probe(
        video_id,
        duration_seconds=round(result.duration, 3),
        width=result.video.display_width,
        height=result.video.display_height,
        source=result.to_dict(),
    )
    # Long sources take the chunked path (split, parallel encode, stitch): chunked_steps.py.
    return ProbeOutput(
        **result.to_dict(), plan=ProbePlan(chunked=result.duration > settings.chunk_threshold_seconds)
    )


def progress_record(*, stage: str, fraction: float, elapsed_s: float, rungs: list[str]) -> dict[str, Any]:
    """What GET /v1/videos/{id} shows while encoding. One pass encodes every rung together, so
    each rung is as far along as the whole; the ETA extrapolates the rate so far (none until
    there is enough to extrapolate from)."""
    fraction = min(max(fraction, 0.0), 1.0)
    percent = round(fraction * 100, 1)
    record: dict[str, Any] = {"stage": stage, "percent": percent, "renditions": dict.fromkeys(rungs, percent)}
    return with_eta(record, fraction, elapsed_s)


def _progress_writer(video_id: str, stage: str, rungs: list[str]) -> Callable[[float], None]:
    """Write progress at a bounded rate: at most one DynamoDB write per PROGRESS_INTERVAL_S."""
    started = time.monotonic()
    last = [0.0]

    def write(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_INTERVAL_S and fraction < 1.0:
            return
        last[0] = now
        try:
            lifecycle.record_progress(
                video_id,
                progress_record(stage=stage, fraction=fraction, elapsed_s=now - started, rungs=rungs),
            )
        except Conflict:
            logger.warning("progress not written: the video left PROCESSING")

    return write


def transcode_step(
    *,
    video_id: str,
    bucket: str,
    key: str,
    info: ProbeResult,
    remaining_ms: int,
    version_id: str | None = None,
) -> TranscodeOutput:
    settings = get_settings()
    if info.video is None:
        raise MediaRejected("no_video_stream", "the file has no video stream")
    ladder = choose_ladder(info.video.display_width, info.video.display_height)
    started = time.monotonic()
    prefix = keys.hls_prefix(video_id)
    with work_dir(video_id) as out:
        outputs = run_ladder(
            storage.presigned_get(bucket, key, version_id=version_id),
            out,
            ladder,
            info,
            segment_seconds=settings.segment_seconds,
            x264_preset=settings.x264_preset,
            ffmpeg=settings.ffmpeg_path,
            timeout=time_budget(remaining_ms),
            on_progress=_progress_writer(video_id, "transcode", [rung.name for rung in ladder]),
        )
        encode_seconds = time.monotonic() - started
        write_master_playlist(out, outputs)
        with storage.transient_aws_errors():
            uploaded = storage.upload_directory(out, settings.media_bucket, prefix)
    if not outputs:
        raise MediaFailed("transcode_failed", "the ladder produced no rendition")
    return TranscodeOutput.model_validate(
        {
            "master_key": keys.master_playlist_key(video_id),
            "encode_seconds": round(encode_seconds, 3),
            "objects": len(uploaded),
            "renditions": [r.describe(prefix + r.playlist_path.relative_to(out).as_posix()) for r in outputs],
        }
    )


def thumbnails_step(
    *,
    video_id: str,
    bucket: str,
    key: str,
    info: ProbeResult,
    transcode: TranscodeOutput,
    remaining_ms: int,
    version_id: str | None = None,
) -> ThumbnailsOutput:
    """Poster from the source (one fast seek, full quality); storyboard from the lowest rung just
    encoded: its keyframes sit every segment and it is tiny, so decoding it costs a fraction of
    decoding the source (about 5 s -> well under 1 s for a 60 s 1080p source)."""
    settings = get_settings()
    budget = time_budget(remaining_ms)
    prefix = keys.thumbnails_prefix(video_id)
    lowest = min(transcode.renditions, key=lambda r: r.width * r.height)
    with work_dir(video_id) as scratch:
        out = scratch / "out"
        out.mkdir()
        make_poster(
            storage.presigned_get(bucket, key, version_id=version_id),
            out / "poster.jpg",
            duration=info.duration,
            ffmpeg=settings.ffmpeg_path,
            timeout=budget,
        )
        with storage.transient_aws_errors():
            rung = storage.download_hls_as_ts(settings.media_bucket, lowest.playlist_key, scratch / "rung.ts")
        board = make_storyboard(
            str(rung),
            out / "storyboard",
            duration=info.duration,
            ffmpeg=settings.ffmpeg_path,
            # Only finds keyframes for the fast path; where the layer has no ffprobe the storyboard
            # takes the full-decode path (same output, and cheap on the lowest rung).
            ffprobe=settings.ffprobe_path,
            timeout=budget,
        )
        with storage.transient_aws_errors():
            storage.upload_directory(out, settings.media_bucket, prefix)
    return ThumbnailsOutput(
        poster_key=f"{prefix}poster.jpg",
        storyboard_key=f"{prefix}storyboard/{board.vtt_path.name}",
        sprite_key=f"{prefix}storyboard/{board.sprite_path.name}",
        interval=board.interval,
    )
