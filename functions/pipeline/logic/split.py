"""Plan the chunked path's chunks: where a long source is cut and how each worker reaches its span.

Two ways, chosen by the source's container (:func:`indexed`):

* **By index** (MP4/MOV sample tables, Matroska/WebM cues: the demuxer seeks by an index). Nothing
  is copied or decoded. :func:`split_by_index` seeks ffprobe (``-read_intervals "T%+#1"``) to every
  multiple T of the target length and reads one packet: the index puts the seek on the keyframe at
  or before T, and that keyframe's raw timestamp is a boundary. Each boundary costs one small ranged
  read; the boundaries are shared among PROBE_PROCESSES ffprobe runs, each reading the index once.
  :func:`source_times` reads the container's start time and the audio's, so every chunk carries
  its seek offset and the audio's origin. Each worker later reads its own span of the source
  (``encode.seek_args``: ``-copyts -ss start -to end``), and the first pass encodes the audio in
  pieces beside the video (``audio_pieces``).
* **By copy** (the fallback for containers without an index: MPEG-TS, AVI...). One ffmpeg run
  (:func:`split_source`): the segment muxer stream-copies the video, no re-encode, into NUT files
  cut at the first keyframe at or after every multiple of the target length (NUT keeps the
  source's time base and accepts any codec, so timestamps stay exact), and the same run encodes
  the audio, whole, to its AAC rendition on the same timeline (the container's edit list and the
  codec's priming applied exactly once). :func:`parse_chunk_list` reads the muxer's list.

Either way a :class:`~functions.media.contracts.Chunk` is a span of the source's video; it
crosses the Map as a dict and moderation's range workers receive the same model.
A source with a single keyframe yields one chunk.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.media import ffmpeg_run
from functions.media.contracts import Chunk  # the one model of a chunk: moderation reads it too
from functions.media.probe import ProbeResult, input_protocols
from functions.pipeline.logic import audio_pieces
from functions.pipeline.logic.transcode import (
    PLAYLIST_NAME,
    SEGMENT_PATTERN,
    ProgressTracker,
    audio_options,
    global_args,
    peak_and_average_bitrate,
    read_media_playlist,
)
from functions.shared.errors import MediaFailed

CHUNK_PATTERN = "c%05d.nut"
_LIST_NAME = "chunks.csv"
# Seconds: timestamps and durations closer than this are the same instant (split, encode, stitch).
EPSILON = 0.001

# Containers whose demuxer seeks by an index (MP4 sample tables, Matroska cues): a seek lands on
# the keyframe a boundary names, so a worker can read its own span of the source. Others (MPEG-TS,
# AVI without an index...) are split by copy.
INDEXED_CONTAINERS = frozenset({"mov", "mp4", "matroska", "webm"})
PROBE_PROCESSES = 16  # ffprobe seeks in flight: each boundary is one ranged read after a seek
_TAIL_WITHOUT_CUT_S = 1.0  # no boundary this close to the end: no one-second last chunk


def chunk_dir_name(index: int) -> str:
    """The folder of chunk ``index``'s segments inside a rendition's folder (``c00003``)."""
    return f"c{index:05d}"


@dataclass(frozen=True)
class AudioOutput:
    """The audio rendition every variant refers to: its bit rates, which each variant adds to its own.

    Written whole by the split by copy; stitched from the first pass's pieces when split by index
    (``stitch.stitched_audio``).
    """

    bandwidth: int
    average_bandwidth: int
    playlist_path: Path


@dataclass(frozen=True)
class SplitResult:
    chunks: list[Chunk]
    audio: AudioOutput | None


# --- Split by index -------------------------------------------------------------------------------


def indexed(probe: ProbeResult) -> bool:
    """Whether the source is split by index (its demuxer seeks by an index) rather than by copy."""
    return bool(INDEXED_CONTAINERS & set(probe.container.split(",")))


@dataclass(frozen=True)
class SourceTimes:
    offset: float  # the container's start time: player time = raw time - offset
    audio_origin: float  # player time of the audio's first sample


def _ffprobe_json(argv: list[str], timeout: float) -> dict[str, Any]:
    result = ffmpeg_run.run_or_fail(
        argv, timeout=timeout, what="reading the source's index", reason="split_failed",
        timeout_reason="split_timeout", capture_stdout=True,
    )  # fmt: skip
    try:
        data = json.loads(result.stdout or b"{}")
    except ValueError as exc:
        raise MediaFailed("split_failed", "ffprobe wrote no JSON") from exc
    return data if isinstance(data, dict) else {}


def source_times(source: str, probe: ProbeResult, *, ffprobe: str, timeout: float) -> SourceTimes:
    """The container's start time and the player time of the audio's first sample (one ffprobe)."""
    entries = "format=start_time:stream=index,start_time"
    argv = [ffprobe, "-v", "error", "-of", "json", "-show_entries", entries, *_probe_input(source)]
    data = _ffprobe_json(argv, timeout)
    offset = _float(data.get("format", {}).get("start_time"), 0.0)
    audio_start = offset
    for stream in data.get("streams", []):
        if probe.audio is not None and stream.get("index") == probe.audio.index:
            audio_start = _float(stream.get("start_time"), offset)
    return SourceTimes(offset=offset, audio_origin=max(0.0, audio_start - offset))


def _float(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def _probe_input(source: str) -> list[str]:
    return ["-protocol_whitelist", input_protocols(source), "-i", source]


def keyframes_at_or_before(
    source: str, targets: Sequence[float], probe: ProbeResult, *, ffprobe: str, timeout: float
) -> list[float]:
    """For each raw time in ``targets``, the raw time of the video keyframe at or before it.

    ffprobe seeks to each target (the demuxer's index puts it on the keyframe at or before) and
    reads one packet: a small ranged read per target, after one read of the index per process.
    The targets are shared among PROBE_PROCESSES ffprobe runs at once.
    """
    if probe.video is None or not targets:
        return []
    stream = str(probe.video.index)
    batches = [list(targets[i::PROBE_PROCESSES]) for i in range(min(PROBE_PROCESSES, len(targets)))]

    def run(batch: list[float]) -> list[float]:
        intervals = ",".join(f"{t:.6f}%+#1" for t in batch)
        argv = [ffprobe, "-v", "error", "-of", "json", "-select_streams", stream,
                "-read_intervals", intervals, "-show_entries", "packet=pts_time,flags",
                *_probe_input(source)]  # fmt: skip
        packets = _ffprobe_json(argv, timeout).get("packets", [])
        return [
            _float(p.get("pts_time"), math.nan)
            for p in packets
            if "K" in str(p.get("flags", "")) and p.get("pts_time") not in (None, "N/A")
        ]

    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        found = [t for times in pool.map(run, batches) for t in times if math.isfinite(t)]
    return sorted(set(round(t, 6) for t in found))


def split_by_index(
    source: str, probe: ProbeResult, *, target_seconds: float, ffprobe: str = "ffprobe", timeout: float
) -> list[Chunk]:
    """Chunk boundaries from the source's index: the keyframe at or before every multiple of the
    target length. Nothing is copied: each worker reads its span from the source."""
    times = source_times(source, probe, ffprobe=ffprobe, timeout=timeout)
    start, end = times.offset, times.offset + probe.duration
    targets: list[float] = []
    t = start + target_seconds
    while t < end - _TAIL_WITHOUT_CUT_S:
        targets.append(t)
        t += target_seconds
    found = keyframes_at_or_before(source, targets, probe, ffprobe=ffprobe, timeout=timeout)
    cuts = [k for k in found if start + EPSILON < k < end - _TAIL_WITHOUT_CUT_S]
    edges = [start, *cuts, end]
    return [
        Chunk(
            index=i,
            name="",
            start=edges[i],
            end=edges[i + 1],
            offset=times.offset,
            last=i == len(edges) - 2,
            audio_origin=times.audio_origin,
        )
        for i in range(len(edges) - 1)
    ]


# --- Split by copy (containers without an index) ----------------------------------------------------


def build_split_command(
    source: str,
    out_dir: Path,
    audio_dir: Path,
    probe: ProbeResult,
    *,
    target_seconds: float,
    segment_seconds: int,
    ffmpeg: str = "ffmpeg",
) -> list[str]:
    """The argv that writes ``out_dir/c00000.nut ...`` (video, stream copy) and, when the source
    has audio, the audio rendition ``audio_dir/index.m3u8`` (AAC, encoded once, whole)."""
    if probe.video is None:
        raise ValueError("the source has no video stream")
    argv = [ffmpeg, *global_args()]
    argv += ["-protocol_whitelist", input_protocols(source), "-i", source]
    argv += [
        "-map", f"0:{probe.video.index}", "-c", "copy", "-map_metadata", "-1",
        "-f", "segment", "-segment_time", f"{target_seconds:g}", "-segment_format", "nut",
        "-segment_list", str(out_dir / _LIST_NAME), "-segment_list_type", "csv",
        "-reset_timestamps", "0",
        str(out_dir / CHUNK_PATTERN),
    ]  # fmt: skip
    if probe.audio is not None:
        # Decoded by the same run (the container's edit list and the codec's priming are applied
        # once, exactly as the single-pass encode does), on the same timeline as the chunks.
        argv += ["-map", f"0:{probe.audio.index}", "-vn"]
        for key, value in audio_options(audio_pieces.audio_rung()).items():
            argv += [f"-{key}", str(value)]
        argv += [
            "-f", "hls", "-hls_time", str(segment_seconds), "-hls_playlist_type", "vod",
            "-hls_list_size", "0", "-hls_segment_type", "mpegts",
            "-hls_segment_filename", str(audio_dir / SEGMENT_PATTERN),
            "-map_metadata", "-1", "-map_chapters", "-1",
            str(audio_dir / PLAYLIST_NAME),
        ]  # fmt: skip
    return argv


def parse_chunk_list(text: str, duration: float) -> list[Chunk]:
    """The segment muxer's CSV list (``name,start,end``) -> chunks, in order.

    The muxer's end of the last chunk may be the last packet's timestamp plus its duration: the
    probed duration is the better end when it is larger.
    """
    chunks: list[Chunk] = []
    for row in csv.reader(text.splitlines()):
        if len(row) < 3:
            continue
        name, start, end = row[0], float(row[1]), float(row[2])
        chunks.append(Chunk(index=len(chunks), name=name, start=start, end=end))
    if chunks and duration > chunks[-1].end:
        last = chunks[-1]
        chunks[-1] = Chunk(index=last.index, name=last.name, start=last.start, end=duration)
    return chunks


def split_source(
    source: str,
    out_dir: Path,
    audio_dir: Path,
    probe: ProbeResult,
    *,
    target_seconds: float,
    segment_seconds: int,
    ffmpeg: str = "ffmpeg",
    timeout: float,
    on_progress: Callable[[float], None] | None = None,
) -> SplitResult:
    """Split by copy: the chunk files in ``out_dir`` (nothing else) and the audio rendition in
    ``audio_dir``, described."""
    out_dir.mkdir(parents=True, exist_ok=True)
    audio_dir.mkdir(parents=True, exist_ok=True)
    argv = build_split_command(
        source, out_dir, audio_dir, probe,
        target_seconds=target_seconds, segment_seconds=segment_seconds, ffmpeg=ffmpeg,
    )  # fmt: skip
    tracker = ProgressTracker(probe.duration, on_progress)
    ffmpeg_run.run_or_fail(
        argv, timeout=timeout, what="splitting the source", reason="split_failed",
        timeout_reason="split_timeout", on_progress_line=tracker.feed,
    )  # fmt: skip
    listing = out_dir / _LIST_NAME
    chunks = parse_chunk_list(listing.read_text() if listing.exists() else "", probe.duration)
    listing.unlink(missing_ok=True)  # out_dir now holds the chunks and nothing else
    if not chunks:
        raise MediaFailed("split_failed", "splitting wrote no chunks")
    audio = _describe_audio(audio_dir) if probe.audio is not None else None
    return SplitResult(chunks=chunks, audio=audio)


def _describe_audio(audio_dir: Path) -> AudioOutput:
    playlist = audio_dir / PLAYLIST_NAME
    if not playlist.is_file():
        raise MediaFailed("split_failed", "the audio encoder wrote no playlist")
    target, segments = read_media_playlist(playlist)
    if not segments:
        raise MediaFailed("split_failed", "the audio encoder wrote no segments")
    peak, average = peak_and_average_bitrate(target, segments)
    return AudioOutput(bandwidth=peak, average_bandwidth=average, playlist_path=playlist)
