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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from functions.media import storage
from functions.media.contracts import Chunk
from functions.media.probe import ProbeResult
from functions.media.workdir import time_budget, work_dir
from functions.pipeline.contracts import EncodeChunkOutput, Pass, SplitOutput, TranscodeOutput
from functions.pipeline.logic.audio_pieces import RENDITION as AUDIO_RENDITION
from functions.pipeline.logic.encode import ChunkRendition, encode_chunk, encode_chunk_audio
from functions.pipeline.logic.ladder import Rung, choose_ladder
from functions.pipeline.logic.progress import with_eta
from functions.pipeline.logic.split import (
    AudioOutput,
    SplitResult,
    chunk_dir_name,
    indexed,
    split_by_index,
    split_source,
)
from functions.pipeline.logic.stitch import stitch_playlist, stitched_audio, stitched_rendition
from functions.pipeline.logic.transcode import (
    PLAYLIST_NAME,
    RenditionOutput,
    master_playlist_text,
    output_fps,
)
from functions.shared import keys
from functions.shared.errors import MediaRejected
from functions.shared.events import put_video_event
from functions.shared.observability import logger
from functions.shared.settings import get_settings
from functions.videos.logic import lifecycle
from functions.videos.models import rendition_record

PREVIEW = "preview"
INDEX = "index"
COPY = "copy"
REST = "rest"
PASSES = (PREVIEW, REST)
AUDIO_PLAYLIST = f"audio/{PLAYLIST_NAME}"
# While VIEWABLE the master changes once more: players and CloudFront must not hold it long.
MASTER_CACHE_WHILE_VIEWABLE = "max-age=2"
MASTER_CACHE_FINAL = "max-age=300"


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
    *,
    video_id: str,
    bucket: str,
    key: str,
    info: ProbeResult,
    remaining_ms: int,
    version_id: str | None = None,
) -> SplitOutput:
    """Cut the source into chunks: by its index when the container has one (MP4, Matroska: nothing
    is copied, each worker reads its span and the first pass encodes the audio piece by piece), by
    copy otherwise (chunks and the whole audio rendition written here)."""
    settings = get_settings()
    ladder = _ladder(info)
    started = time.time()
    source = storage.presigned_get(bucket, key, version_id=version_id)
    audio: AudioOutput | None = None
    if indexed(info):
        chunks = split_by_index(
            source,
            info,
            target_seconds=settings.chunk_target_seconds,
            ffprobe=settings.ffprobe_path,
            timeout=time_budget(remaining_ms),
        )
        mode = INDEX
    else:
        chunks, audio = _split_by_copy(video_id, source, info, remaining_ms)
        mode = COPY
    items = [{"chunk": c.to_dict()} for c in chunks]
    with storage.transient_aws_errors():
        storage.put_json(settings.media_bucket, keys.chunk_manifest_key(video_id), items)
    count = len(chunks)
    distributed = count > settings.inline_map_max_chunks
    lifecycle.start_chunk_counting(video_id, _progress(ladder, count, 0, 0, elapsed_s=0.0))
    logger.info(
        "split",
        extra={"chunks": count, "mode": mode, "distributed": distributed, "seconds": time.time() - started},
    )
    return SplitOutput.model_validate(
        {
            "count": count,
            "mode": mode,
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
    )


def _split_by_copy(
    video_id: str, source: str, info: ProbeResult, remaining_ms: int
) -> tuple[list[Chunk], AudioOutput | None]:
    settings = get_settings()
    with work_dir(video_id) as scratch:
        audio_dir = scratch / "audio"
        result: SplitResult = split_source(
            source,
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
    return result.chunks, result.audio


def encode_chunk_step(
    *,
    video_id: str,
    chunk: Chunk,
    pass_name: Pass,
    count: int,
    started_at: float,
    info: ProbeResult,
    remaining_ms: int,
    bucket: str | None = None,
    key: str | None = None,
    version_id: str | None = None,
) -> EncodeChunkOutput:
    """Encode one chunk to the rungs of its pass. A chunk split by index is read from the source
    (``bucket``/``key``) and, in the first pass, its audio piece is encoded beside the video."""
    settings = get_settings()
    ladder = _ladder(info)
    rungs = rungs_for_pass(ladder, pass_name)
    folder = chunk_dir_name(chunk.index)
    prefix = keys.hls_prefix(video_id)
    with work_dir(video_id) as scratch:
        if chunk.from_source:
            if not bucket or not key:
                raise ValueError("a chunk split by index needs the source's bucket and key")
            source: str | Path = storage.presigned_get(bucket, key, version_id=version_id)
        else:
            with storage.transient_aws_errors():
                source = storage.download_file(
                    settings.media_bucket, keys.chunk_source_key(video_id, chunk.name), scratch / chunk.name
                )
        out = scratch / "out"
        budget = time_budget(remaining_ms)
        with_audio = chunk.from_source and pass_name == PREVIEW and info.audio is not None
        with ThreadPoolExecutor(max_workers=1) as side:
            # The audio piece is a second ffmpeg, beside the video encode (it is ~1/20 of the work).
            audio_job = (
                side.submit(
                    encode_chunk_audio,
                    str(source),
                    chunk,
                    out / AUDIO_RENDITION,
                    info,
                    segment_seconds=settings.segment_seconds,
                    ffmpeg=settings.ffmpeg_path,
                    timeout=budget,
                )
                if with_audio
                else None
            )
            written = encode_chunk(
                source,
                chunk,
                out,
                rungs,
                info,
                segment_seconds=settings.segment_seconds,
                x264_preset=settings.x264_preset,
                ffmpeg=settings.ffmpeg_path,
                timeout=budget,
            )
            if audio_job is not None:
                written.append(audio_job.result())
        with storage.transient_aws_errors():
            for part in written:
                (out / part.rung / PLAYLIST_NAME).unlink()  # the stitched playlist replaces it
                storage.upload_directory(
                    out / part.rung, settings.media_bucket, f"{prefix}{part.rung}/{folder}/"
                )
            # Written last: the stitcher trusts a chunk whose result exists.
            storage.put_json(
                settings.media_bucket,
                keys.chunk_result_key(video_id, pass_name, chunk.index),
                [w.to_dict() for w in written],
            )
    record_chunk_done(video_id, pass_name, ladder, count, started_at)
    return EncodeChunkOutput.model_validate({"index": chunk.index, "pass": pass_name})


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
    return with_eta(record, fraction, elapsed_s)


def record_chunk_done(
    video_id: str, pass_name: str, ladder: list[Rung], count: int, started_at: float
) -> None:
    """Count the chunk (atomic ADD) and, when the percentage moved a whole point, write progress."""
    counts = lifecycle.count_chunk_done(video_id, preview=pass_name == PREVIEW)
    if counts is None:
        logger.warning("chunk not counted: the video is no longer encoding")
        return
    done_preview, done_rest = counts
    done = done_preview if pass_name == PREVIEW else done_rest
    if done < count and math.floor(100 * done / count) == math.floor(100 * (done - 1) / count):
        return
    record = _progress(ladder, count, done_preview, done_rest, elapsed_s=time.time() - started_at)
    # Ordered: a slow writer with an older count must not overwrite newer progress.
    lifecycle.write_chunk_progress(video_id, record, seq=done_preview + done_rest)


def stitch_step(
    *,
    video_id: str,
    stage: str,
    split: SplitOutput,
    info: ProbeResult,
    verdict: str | None,
) -> TranscodeOutput:
    """``stage`` preview: stitch the lowest rung, publish a master with it, mark VIEWABLE (unless
    moderation holds the video for review). ``final``: stitch every rung, rewrite the master."""
    settings = get_settings()
    ladder = _ladder(info)
    count = split.count
    passes = [PREVIEW] if stage == PREVIEW else [p for p in PASSES if rungs_for_pass(ladder, p)]
    prefix = keys.hls_prefix(video_id)
    audio = (
        AudioOutput(
            bandwidth=split.audio.bandwidth,
            average_bandwidth=split.audio.average_bandwidth,
            playlist_path=Path(AUDIO_PLAYLIST),
        )
        if split.audio
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
    pieces = per_rung.get(AUDIO_RENDITION)
    with storage.transient_aws_errors():
        if pieces:
            # Split by index: the first pass encoded the audio piece by piece; one playlist joins them.
            _put_playlist(prefix + AUDIO_PLAYLIST, stitch_playlist(_numbered(pieces)))
            audio = stitched_audio(pieces, Path(AUDIO_PLAYLIST))
        for rung in stitched:
            parts = per_rung[rung.name]
            playlist = Path(rung.name) / PLAYLIST_NAME
            _put_playlist(prefix + playlist.as_posix(), stitch_playlist(_numbered(parts)))
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
    described = [r.describe(prefix + r.playlist_path.as_posix()) for r in renditions]
    if stage == PREVIEW and verdict != "review":
        _mark_viewable(video_id, described, pending=[r.name for r in rungs_for_pass(ladder, REST)])
    return TranscodeOutput.model_validate(
        {
            "master_key": keys.master_playlist_key(video_id),
            "encode_seconds": round(time.time() - split.started_at, 3),
            "chunks": count,
            "renditions": described,
        }
    )


def _numbered(parts: list[ChunkRendition]) -> list[tuple[str, ChunkRendition]]:
    return [(chunk_dir_name(i), part) for i, part in enumerate(parts)]


def _put_playlist(key: str, text: str) -> None:
    storage.put_bytes(
        get_settings().media_bucket, key, text.encode(), content_type=storage.CONTENT_TYPES[".m3u8"]
    )


def _mark_viewable(video_id: str, renditions: list[dict[str, Any]], pending: list[str]) -> None:
    video = lifecycle.mark_viewable(
        video_id, renditions=[rendition_record(r) for r in renditions], pending=pending
    )
    if video is None:
        return  # a retry of this step after it succeeded
    put_video_event(
        "video.viewable",
        video_id=video_id,
        owner=video.owner_sub,
        renditions=[r["name"] for r in renditions],
        pending=pending,
    )
