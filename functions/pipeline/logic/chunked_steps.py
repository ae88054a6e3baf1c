"""The chunked path's Saga steps: Split -> encode chunks (Map) -> stitch, twice (viewable first).

Pass ``preview`` encodes every chunk to the lowest rung only; stitching it makes the video
VIEWABLE (playable through its signed URL) while pass ``rest`` encodes the other rungs. The
final stitch rewrites every rung's playlist and then the master, which is one S3 PUT: a player
sees either the old master (lowest rung) or the new one (all rungs), never a partial one.

Chunk workers report progress with one atomic counter increment per finished chunk; a progress
record is written only when the overall percentage moves by a whole point (at most ~100 writes
per pass whatever the fan-out), ordered by a sequence number so a slow writer cannot go back.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from functions.pipeline.logic import storage
from functions.pipeline.logic.chunked import (
    AudioOutput,
    Chunk,
    ChunkRendition,
    SplitResult,
    chunk_dir_name,
    encode_chunk,
    split_source,
    stitch_playlist,
    stitched_rendition,
)
from functions.pipeline.logic.ladder import Rung, choose_ladder
from functions.pipeline.logic.media_steps import time_budget, work_dir
from functions.pipeline.logic.probe import ProbeResult
from functions.pipeline.logic.transcode import (
    PLAYLIST_NAME,
    RenditionOutput,
    master_playlist_text,
    output_fps,
)
from functions.shared import keys
from functions.shared.errors import Conflict, MediaRejected
from functions.shared.events import put_event
from functions.shared.observability import logger
from functions.shared.settings import get_settings
from functions.videos.dal import videos as dal
from functions.videos.models import VideoStatus, rendition_record

PREVIEW = "preview"
REST = "rest"
PASSES = (PREVIEW, REST)
AUDIO_PLAYLIST = f"audio/{PLAYLIST_NAME}"
# While VIEWABLE the master changes once more: players and CloudFront must not hold it long.
MASTER_CACHE_WHILE_VIEWABLE = "max-age=2"
MASTER_CACHE_FINAL = "max-age=300"
_ENCODING = (VideoStatus.PROCESSING, VideoStatus.VIEWABLE)


def _ladder(info: ProbeResult) -> list[Rung]:
    if info.video is None:
        raise MediaRejected("no_video_stream", "the file has no video stream")
    return choose_ladder(info.video.display_width, info.video.display_height)


def rungs_for_pass(ladder: list[Rung], pass_name: str) -> list[Rung]:
    """``preview``: the lowest rung; ``rest``: every other rung (empty for a one-rung ladder)."""
    if pass_name == PREVIEW:
        return ladder[-1:]
    if pass_name == REST:
        return ladder[:-1]
    raise ValueError(f"unknown pass {pass_name!r}")


def split_step(
    *, video_id: str, bucket: str, key: str, probe_dict: dict[str, Any], remaining_ms: int
) -> dict[str, Any]:
    settings = get_settings()
    info = ProbeResult.from_dict(probe_dict)
    ladder = _ladder(info)
    started = time.time()
    with work_dir(video_id) as scratch:
        audio_dir = scratch / "audio"
        result: SplitResult = split_source(
            storage.presigned_get(bucket, key),
            scratch / "chunks",
            audio_dir,
            info,
            target_seconds=settings.chunk_target_seconds,
            segment_seconds=settings.segment_seconds,
            ffmpeg=settings.ffmpeg_path,
            timeout=time_budget(remaining_ms),
        )
        with storage.transient_aws_errors():
            # In parallel, like every other upload of the pipeline (the folder holds only chunks).
            storage.upload_directory(
                scratch / "chunks", settings.media_bucket, keys.chunk_source_key(video_id, "")
            )
            if result.audio is not None:
                storage.upload_directory(
                    audio_dir, settings.media_bucket, keys.hls_prefix(video_id) + "audio/"
                )
            items = [{"chunk": c.to_dict()} for c in result.chunks]
            storage.put_json(settings.media_bucket, keys.chunk_manifest_key(video_id), items)
    count = len(result.chunks)
    distributed = count > settings.inline_map_max_chunks
    dal.update_fields(
        video_id,
        chunks_done_preview=None,
        chunks_done_rest=None,
        progress_seq=0,
        progress=_progress(ladder, count, 0, 0, elapsed_s=0.0),
    )
    logger.info(
        "split", extra={"chunks": count, "distributed": distributed, "seconds": time.time() - started}
    )
    audio = result.audio
    return {
        "count": count,
        "distributed": distributed,
        "max_concurrency": settings.map_max_concurrency,
        "bucket": settings.media_bucket,
        "manifest_key": keys.chunk_manifest_key(video_id),
        # Inline Map reads the items from the state; a Distributed Map reads the manifest instead,
        # so a thousand chunks never weigh on the execution's 256 KB payload limit.
        "items": [] if distributed else items,
        "audio": None
        if audio is None
        else {"bandwidth": audio.bandwidth, "average_bandwidth": audio.average_bandwidth},
        "rest": len(ladder) > 1,
        "started_at": started,
    }


def encode_chunk_step(
    *,
    video_id: str,
    chunk_dict: dict[str, Any],
    pass_name: str,
    count: int,
    started_at: float,
    probe_dict: dict[str, Any],
    remaining_ms: int,
) -> dict[str, Any]:
    settings = get_settings()
    info = ProbeResult.from_dict(probe_dict)
    ladder = _ladder(info)
    rungs = rungs_for_pass(ladder, pass_name)
    chunk = Chunk.from_dict(chunk_dict)
    folder = chunk_dir_name(chunk.index)
    with work_dir(video_id) as scratch:
        with storage.transient_aws_errors():
            source = storage.download_file(
                settings.media_bucket, keys.chunk_source_key(video_id, chunk.name), scratch / chunk.name
            )
        out = scratch / "out"
        written = encode_chunk(
            source,
            chunk,
            out,
            rungs,
            info,
            segment_seconds=settings.segment_seconds,
            x264_preset=settings.x264_preset,
            ffmpeg=settings.ffmpeg_path,
            timeout=time_budget(remaining_ms),
        )
        with storage.transient_aws_errors():
            for rung in rungs:
                (out / rung.name / PLAYLIST_NAME).unlink()  # the stitched playlist replaces it
                storage.upload_directory(
                    out / rung.name,
                    settings.media_bucket,
                    f"{keys.hls_prefix(video_id)}{rung.name}/{folder}/",
                )
            # Written last: the stitcher trusts a chunk whose result exists.
            storage.put_json(
                settings.media_bucket,
                keys.chunk_result_key(video_id, pass_name, chunk.index),
                [w.to_dict() for w in written],
            )
    record_chunk_done(video_id, pass_name, ladder, count, started_at)
    return {"index": chunk.index, "pass": pass_name}


def _weights(ladder: list[Rung]) -> dict[str, float]:
    """Share of the encoding work per rung: proportional to its pixels."""
    total = sum(r.width * r.height for r in ladder) or 1
    return {r.name: r.width * r.height / total for r in ladder}


def _progress(
    ladder: list[Rung], count: int, done_preview: int, done_rest: int, *, elapsed_s: float
) -> dict[str, Any]:
    per_rung: dict[str, float] = {}
    for pass_name, done in ((PREVIEW, done_preview), (REST, done_rest)):
        for rung in rungs_for_pass(ladder, pass_name):
            per_rung[rung.name] = round(100 * done / count, 1) if count else 0.0
    weights = _weights(ladder)
    fraction = sum(weights[name] * pct / 100 for name, pct in per_rung.items())
    record: dict[str, Any] = {
        "stage": "transcode",
        "percent": round(100 * fraction, 1),
        "renditions": per_rung,
        "chunks": {"total": count, PREVIEW: done_preview, REST: done_rest},
    }
    if 0.02 <= fraction < 1.0 and elapsed_s > 0:
        record["eta_seconds"] = round(elapsed_s * (1 - fraction) / fraction, 1)
    elif fraction >= 1.0:
        record["eta_seconds"] = 0.0
    return record


def record_chunk_done(
    video_id: str, pass_name: str, ladder: list[Rung], count: int, started_at: float
) -> None:
    """Count the chunk (atomic ADD) and, when the percentage moved a whole point, write progress."""
    counter = "chunks_done_preview" if pass_name == PREVIEW else "chunks_done_rest"
    item = dal.increment(video_id, counter, statuses=_ENCODING)
    if item is None:
        logger.warning("chunk not counted: the video is no longer encoding")
        return
    done_preview = int(item.chunks_done_preview or 0)
    done_rest = int(item.chunks_done_rest or 0)
    done = done_preview if pass_name == PREVIEW else done_rest
    if done < count and math.floor(100 * done / count) == math.floor(100 * (done - 1) / count):
        return
    record = _progress(ladder, count, done_preview, done_rest, elapsed_s=time.time() - started_at)
    # Ordered: a slow writer with an older count must not overwrite newer progress.
    dal.write_progress_in_order(video_id, record, seq=done_preview + done_rest, statuses=_ENCODING)


def stitch_step(
    *,
    video_id: str,
    stage: str,
    split: dict[str, Any],
    probe_dict: dict[str, Any],
    verdict: str | None,
) -> dict[str, Any]:
    """``stage`` preview: stitch the lowest rung, publish a master with it, mark VIEWABLE (unless
    moderation holds the video for review). ``final``: stitch every rung, rewrite the master."""
    settings = get_settings()
    info = ProbeResult.from_dict(probe_dict)
    ladder = _ladder(info)
    count = int(split["count"])
    passes = [PREVIEW] if stage == PREVIEW else [p for p in PASSES if rungs_for_pass(ladder, p)]
    prefix = keys.hls_prefix(video_id)
    audio = (
        AudioOutput(
            bandwidth=int(split["audio"]["bandwidth"]),
            average_bandwidth=int(split["audio"]["average_bandwidth"]),
            playlist_path=Path(AUDIO_PLAYLIST),
        )
        if split.get("audio")
        else None
    )
    per_rung: dict[str, list[ChunkRendition]] = {}
    with storage.transient_aws_errors():
        for pass_name in passes:
            results = storage.get_json_many(
                settings.media_bucket, [keys.chunk_result_key(video_id, pass_name, i) for i in range(count)]
            )
            for chunk_results in results:
                for data in chunk_results:
                    part = ChunkRendition.from_dict(data)
                    per_rung.setdefault(part.rung, []).append(part)
    fps = output_fps(info)
    renditions: list[RenditionOutput] = []
    stitched = [r for p in passes for r in rungs_for_pass(ladder, p)]
    with storage.transient_aws_errors():
        for rung in stitched:
            parts = per_rung[rung.name]
            text = stitch_playlist([(chunk_dir_name(i), part) for i, part in enumerate(parts)])
            playlist = Path(rung.name) / PLAYLIST_NAME
            storage.put_bytes(
                settings.media_bucket,
                prefix + playlist.as_posix(),
                text.encode(),
                content_type=storage.CONTENT_TYPES[".m3u8"],
            )
            renditions.append(stitched_rendition(rung, parts, playlist, frame_rate=fps, audio=audio))
        master = master_playlist_text(renditions, audio_uri=AUDIO_PLAYLIST if audio else None)
        # The master goes last, in one PUT: it only ever names playlists that already exist.
        storage.put_bytes(
            settings.media_bucket,
            keys.master_playlist_key(video_id),
            master.encode(),
            content_type=storage.CONTENT_TYPES[".m3u8"],
            cache_control=MASTER_CACHE_WHILE_VIEWABLE if stage == PREVIEW else MASTER_CACHE_FINAL,
        )
    described = [
        {
            "name": r.name,
            "width": r.width,
            "height": r.height,
            "bitrate": r.bandwidth,
            "average_bitrate": r.average_bandwidth,
            "codecs": r.codecs,
            "frame_rate": r.frame_rate,
            "playlist_key": prefix + r.playlist_path.as_posix(),
        }
        for r in renditions
    ]
    if stage == PREVIEW and verdict != "review":
        _mark_viewable(video_id, described, pending=[r.name for r in rungs_for_pass(ladder, REST)])
    return {
        "master_key": keys.master_playlist_key(video_id),
        "encode_seconds": round(time.time() - float(split["started_at"]), 3),
        "chunks": count,
        "renditions": described,
    }


def _mark_viewable(video_id: str, renditions: list[dict[str, Any]], pending: list[str]) -> None:
    try:
        dal.transition(
            video_id,
            VideoStatus.VIEWABLE,
            allowed_from=frozenset({VideoStatus.PROCESSING}),
            renditions=[rendition_record(r) for r in renditions],
            renditions_pending=pending or None,
            viewable_at=dal.now_iso(),
        )
    except Conflict:
        current = dal.get(video_id)
        if current.status == VideoStatus.VIEWABLE.value:
            return  # a retry of this step after it succeeded
        raise
    put_event(
        "video.viewable",
        {"video_id": video_id, "renditions": [r["name"] for r in renditions], "pending": pending},
    )
