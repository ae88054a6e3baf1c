"""Chunked encoding: split a long source at keyframes, encode the chunks in parallel, stitch.

How the pieces fit (docs/chunked-transcoding.md has the whole story):

* **Split** (one ffmpeg, stream copy, no re-encode): the video stream is cut by the segment
  muxer at the first keyframe at or after every multiple of the target length, into NUT files
  (NUT keeps the source's time base and accepts any codec, so timestamps stay exact). The audio
  stream is encoded, whole, to its AAC rendition *by the same ffmpeg run*, so both sit on one
  timeline and the source container's edit list and priming are applied exactly once.
* **Encode a chunk** to one or more rungs with ``-copyts``: the chunk's frames keep their source
  timestamps, so segment N of chunk K carries exactly the timestamps the single-pass encode would
  have given it. Keyframes are forced on the chunk's first frame and every segment length after
  it; every rung of a chunk gets the same keyframes, so segments line up across rungs. Closed
  GOPs and IDR keyframes make every segment (and so every chunk) decodable on its own.
* **Audio** is encoded once, whole (during the split), into its own HLS rendition (an
  ``EXT-X-MEDIA`` group every variant refers to). Cutting AAC at chunk boundaries would add an
  encoder-priming gap (1024 samples, ~21 ms) or an overlap at every boundary and drift; one pass
  has none, and it costs little (audio encodes at hundreds of times real time).
* **Stitch**: a rung's playlist is the concatenation of its chunks' segment lists. Nothing is
  re-encoded or even copied: the segments stay where the chunk encoders wrote them. Timestamps
  run on across chunk boundaries, so no ``EXT-X-DISCONTINUITY`` is needed.
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
from functions.media.probe import ProbeResult, ffmpeg_input_args, input_protocols
from functions.pipeline.logic import audio_pieces
from functions.pipeline.logic import ladder as presets
from functions.pipeline.logic.ladder import Rung
from functions.pipeline.logic.transcode import (
    PLAYLIST_NAME,
    SEGMENT_PATTERN,
    ProgressTracker,
    RenditionOutput,
    Segment,
    audio_options,
    global_args,
    gop_frames,
    output_fps,
    peak_and_average_bitrate,
    read_media_playlist,
    video_codec_string,
    video_options,
)
from functions.shared.errors import MediaFailed

CHUNK_PATTERN = "c%05d.nut"
AUDIO_RENDITION = audio_pieces.RENDITION
_LIST_NAME = "chunks.csv"
# A chunk's last segment may run this much past the segment length rather than leave a sliver.
MIN_TAIL_SECONDS = 1.0
_EPSILON = 0.001


@dataclass(frozen=True)
class Chunk:
    """A span of the source's video: frames with ``start <= pts < end``.

    Split by copy (``name`` set): a NUT file of the span, timestamps as the segment muxer wrote them.
    Split by index (``name`` empty): no file; the worker reads the span from the source itself, and
    ``start``/``end`` are the source's raw timestamps (keyframes), ``offset`` the container's start
    time (a seek position is ``start - offset``), ``last`` says the span runs to the end of the file,
    and ``audio_origin`` is the player time of the audio's first sample (for the audio pieces).
    """

    index: int
    name: str  # file name, e.g. c00003.nut; "" when the span is read from the source (split by index)
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
        return cls(
            index=int(data["index"]),
            name=str(data.get("name") or ""),
            start=float(data["start"]),
            end=float(data["end"]),
            offset=float(data.get("offset") or 0.0),
            last=bool(data.get("last")),
            audio_origin=float(data.get("audio_origin") or 0.0),
        )


@dataclass(frozen=True)
class AudioOutput:
    bandwidth: int
    average_bandwidth: int
    playlist_path: Path


@dataclass(frozen=True)
class SplitResult:
    chunks: list[Chunk]
    audio: AudioOutput | None


def chunk_dir_name(index: int) -> str:
    return f"c{index:05d}"


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
        for key, value in audio_options(_audio_rung()).items():
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


# Containers whose demuxer seeks by an index (MP4 sample tables, Matroska cues): a seek lands on
# the keyframe a boundary names, so a worker can read its own span of the source. Others (MPEG-TS,
# AVI without an index...) are split by copy.
INDEXED_CONTAINERS = frozenset({"mov", "mp4", "matroska", "webm"})
PROBE_PROCESSES = 16  # ffprobe seeks in flight: each boundary is one ranged read after a seek
_TAIL_WITHOUT_CUT_S = 1.0  # no boundary this close to the end: no one-second last chunk


def indexed(probe: ProbeResult) -> bool:
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
    cuts = [k for k in found if start + _EPSILON < k < end - _TAIL_WITHOUT_CUT_S]
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


def _describe_audio(audio_dir: Path) -> AudioOutput:
    playlist = audio_dir / PLAYLIST_NAME
    if not playlist.is_file():
        raise MediaFailed("split_failed", "the audio encoder wrote no playlist")
    target, segments = read_media_playlist(playlist)
    if not segments:
        raise MediaFailed("split_failed", "the audio encoder wrote no segments")
    peak, average = peak_and_average_bitrate(target, segments)
    return AudioOutput(bandwidth=peak, average_bandwidth=average, playlist_path=playlist)


def keyframe_expression(chunk: Chunk, segment_seconds: int) -> str:
    """Keyframes on the chunk's first frame, then every ``segment_seconds`` of source time after
    the previous one, except in the last MIN_TAIL_SECONDS of the chunk (no sliver segments).

    Evaluated on timestamps (``-copyts``: source time), so 29.97 fps and VFR sources cut where
    the single-pass encode of the same span would.
    """
    no_tail = f"lt(t,{chunk.end - MIN_TAIL_SECONDS:.6f})"
    return f"expr:if(eq(n,0),1,gte(t,prev_forced_t+{segment_seconds - _EPSILON:.6f})*{no_tail})"


def seek_args(chunk: Chunk) -> list[str]:
    """Input options that read exactly the chunk's frames from the whole source (split by index).

    ``-ss`` lands on the keyframe the boundary names (boundaries are keyframe timestamps, written to
    the microsecond, which ffmpeg rounds to the nearest tick of the stream's time base); ``-to`` ends
    before the next chunk's first frame. With ``-copyts`` the frames keep their raw timestamps.
    """
    if not chunk.from_source:
        return []
    args: list[str] = []
    if chunk.index > 0:
        args += ["-ss", f"{chunk.start - chunk.offset:.6f}"]
    if not chunk.last:
        args += ["-to", f"{chunk.end - chunk.offset:.6f}"]
    return args


def build_chunk_command(
    source: str | Path,
    chunk: Chunk,
    out_dir: Path,
    rungs: Sequence[Rung],
    probe: ProbeResult,
    *,
    segment_seconds: int,
    x264_preset: str,
    ffmpeg: str = "ffmpeg",
) -> list[str]:
    """One decode of the chunk, split and scaled to every rung asked for, video only."""
    if probe.video is None:
        raise ValueError("the source has no video stream")
    if not rungs:
        raise ValueError("no rungs to encode")
    fps = output_fps(probe)
    gop = gop_frames(fps, segment_seconds)
    keyframes = keyframe_expression(chunk, segment_seconds)
    capped = presets.output_frame_rate(probe.video.fps)
    chain = f"fps=fps={capped:.6f}," if capped is not None else ""
    labels = [f"v{i}" for i in range(len(rungs))]
    graph = f"[0:v:0]{chain}split={len(rungs)}" + "".join(f"[{label}]" for label in labels)
    for i, rung in enumerate(rungs):
        graph += f";[{labels[i]}]scale={rung.width}:{rung.height},setsar=1[o{i}]"
    argv = [ffmpeg, *global_args(), "-copyts", *seek_args(chunk), *ffmpeg_input_args(str(source))]
    argv += ["-filter_complex", graph]
    for i, rung in enumerate(rungs):
        options = video_options(rung, fps, gop, segment_seconds, x264_preset, force_key_frames=keyframes)
        rung_dir = out_dir / rung.name
        argv += ["-map", f"[o{i}]"]
        for key, value in options.items():
            argv += [f"-{key}", str(value)]
        argv += [
            "-f", "hls", "-hls_time", str(segment_seconds), "-hls_playlist_type", "vod",
            "-hls_list_size", "0", "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
            "-hls_segment_filename", str(rung_dir / SEGMENT_PATTERN),
            "-map_metadata", "-1", "-map_chapters", "-1",
            str(rung_dir / PLAYLIST_NAME),
        ]  # fmt: skip
    return argv


def _run_encode(
    argv: list[str],
    *,
    what: str,
    duration: float,
    timeout: float,
    on_progress: Callable[[float], None] | None,
) -> None:
    tracker = ProgressTracker(duration, on_progress)
    ffmpeg_run.run_or_fail(
        argv, timeout=timeout, what=what, reason="transcode_failed",
        timeout_reason="transcode_timeout", on_progress_line=tracker.feed,
    )  # fmt: skip
    tracker.finish()


@dataclass(frozen=True)
class ChunkRendition:
    """What a chunk encoder wrote for one rung: enough for the stitcher, without reading segments."""

    rung: str
    codecs: str  # the video codec string read from the SPS
    target_duration: float
    segments: list[Segment]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rung": self.rung,
            "codecs": self.codecs,
            "target_duration": self.target_duration,
            "segments": [[s.uri, s.duration, s.size] for s in self.segments],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChunkRendition:
        return cls(
            rung=str(data["rung"]),
            codecs=str(data["codecs"]),
            target_duration=float(data["target_duration"]),
            segments=[Segment(uri=str(u), duration=float(d), size=int(z)) for u, d, z in data["segments"]],
        )


def encode_chunk(
    source: str | Path,
    chunk: Chunk,
    out_dir: Path,
    rungs: Sequence[Rung],
    probe: ProbeResult,
    *,
    segment_seconds: int,
    x264_preset: str,
    ffmpeg: str = "ffmpeg",
    timeout: float,
    on_progress: Callable[[float], None] | None = None,
) -> list[ChunkRendition]:
    """Encode one chunk to ``out_dir/<rung>/index.m3u8 + seg_*.ts`` and describe what was written."""
    argv = build_chunk_command(
        source, chunk, out_dir, rungs, probe,
        segment_seconds=segment_seconds, x264_preset=x264_preset, ffmpeg=ffmpeg,
    )  # fmt: skip
    for rung in rungs:
        (out_dir / rung.name).mkdir(parents=True, exist_ok=True)
    _run_encode(
        argv,
        what=f"encoding chunk {chunk.index}",
        duration=max(chunk.end - chunk.start, 0.001),
        timeout=timeout,
        on_progress=on_progress,
    )
    written: list[ChunkRendition] = []
    for rung in rungs:
        playlist = out_dir / rung.name / PLAYLIST_NAME
        if not playlist.is_file():
            raise MediaFailed("transcode_failed", f"chunk {chunk.index}: no playlist for {rung.name}")
        target, segments = read_media_playlist(playlist)
        if not segments:
            raise MediaFailed("transcode_failed", f"chunk {chunk.index}: no segments for {rung.name}")
        codec = video_codec_string(playlist.parent / segments[0].uri, rung, output_fps(probe))
        written.append(
            ChunkRendition(rung=rung.name, codecs=codec, target_duration=target, segments=segments)
        )
    return written


def encode_chunk_audio(
    source: str,
    chunk: Chunk,
    out_dir: Path,
    probe: ProbeResult,
    *,
    segment_seconds: int,
    ffmpeg: str = "ffmpeg",
    timeout: float,
) -> ChunkRendition:
    """The audio piece of a chunk read from the source (split by index): ``out_dir/seg_*.ts``."""
    if probe.audio is None:
        raise ValueError("the source has no audio stream")
    piece = audio_pieces.piece_for_span(
        chunk.start - chunk.offset,
        chunk.end - chunk.offset,
        first=chunk.index == 0,
        last=chunk.last,
        origin=chunk.audio_origin,
        source_rate=probe.audio.sample_rate,
    )
    written = audio_pieces.encode_piece(
        source, piece, out_dir, probe, segment_seconds=segment_seconds, ffmpeg=ffmpeg, timeout=timeout
    )
    return ChunkRendition(
        rung=AUDIO_RENDITION,
        codecs=presets.AUDIO_CODECS_TAG,
        target_duration=written.target_duration,
        segments=written.segments,
    )


def stitched_audio(parts: Sequence[ChunkRendition], playlist_path: Path) -> AudioOutput:
    """BANDWIDTH/AVERAGE-BANDWIDTH of the audio rendition stitched from its pieces."""
    peak, average = _stitched_bitrates(parts)
    return AudioOutput(bandwidth=peak, average_bandwidth=average, playlist_path=playlist_path)


def _stitched_bitrates(parts: Sequence[ChunkRendition]) -> tuple[int, int]:
    """Peak and average bitrate over every segment of a stitched playlist's parts."""
    segments = [s for part in parts for s in part.segments]
    target = max(math.ceil(s.duration - _EPSILON) for s in segments)
    return peak_and_average_bitrate(target, segments)


def _audio_rung() -> Rung:
    return Rung(AUDIO_RENDITION, 0, 0, 0, 0, 0, presets.AUDIO_BITRATE)


def stitch_playlist(parts: Sequence[tuple[str, ChunkRendition]]) -> str:
    """One rung's media playlist from its chunks' segment lists, in chunk order.

    ``parts`` pairs each chunk's folder (relative to the rung folder, e.g. ``c00003``) with what
    its encoder wrote. The target duration is the longest segment rounded up (RFC 8216 4.3.3.1).
    """
    if not parts:
        raise ValueError("nothing to stitch")
    longest = max(s.duration for _, part in parts for s in part.segments)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(longest - _EPSILON))}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for folder, part in parts:
        for seg in part.segments:
            lines.append(f"#EXTINF:{seg.duration:.6f},")
            lines.append(f"{folder}/{seg.uri}")
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def stitched_rendition(
    rung: Rung,
    parts: Sequence[ChunkRendition],
    playlist_path: Path,
    *,
    frame_rate: float,
    audio: AudioOutput | None,
) -> RenditionOutput:
    """BANDWIDTH/AVERAGE-BANDWIDTH/CODECS of a stitched rung, audio included when there is audio."""
    peak, average = _stitched_bitrates(parts)
    codecs = parts[0].codecs
    if audio is not None:
        peak += audio.bandwidth
        average += audio.average_bandwidth
        codecs = f"{codecs},{presets.AUDIO_CODECS_TAG}"
    return RenditionOutput(
        name=rung.name,
        width=rung.width,
        height=rung.height,
        bandwidth=peak,
        average_bandwidth=average,
        codecs=codecs,
        frame_rate=round(frame_rate, 3),
        playlist_path=playlist_path,
    )
