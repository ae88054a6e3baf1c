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
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.pipeline.logic import ffmpeg_run
from functions.pipeline.logic import ladder as presets
from functions.pipeline.logic.ladder import Rung
from functions.pipeline.logic.probe import ProbeResult, input_protocols
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
AUDIO_RENDITION = "audio"
_LIST_NAME = "chunks.csv"
# A chunk's last segment may run this much past the segment length rather than leave a sliver.
MIN_TAIL_SECONDS = 1.0
_EPSILON = 0.001
_STDERR_LINES_IN_ERROR = 8


@dataclass(frozen=True)
class Chunk:
    index: int
    name: str  # file name, e.g. c00003.nut
    start: float  # seconds on the source timeline (the first keyframe of the chunk)
    end: float

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(
            index=int(data["index"]),
            name=str(data["name"]),
            start=float(data["start"]),
            end=float(data["end"]),
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


def _fail(what: str, result: ffmpeg_run.CompletedRun, reason: str) -> MediaFailed:
    tail = "\n".join(result.stderr_tail.splitlines()[-_STDERR_LINES_IN_ERROR:])
    return MediaFailed(reason, f"{what}: ffmpeg exited with status {result.returncode}: {tail}")


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
    try:
        result = ffmpeg_run.run(argv, timeout=timeout, on_progress_line=tracker.feed)
    except ffmpeg_run.RunTimeout as exc:
        raise MediaFailed("split_timeout", f"splitting did not finish within {timeout:g} s") from exc
    except OSError as exc:
        raise MediaFailed("split_failed", f"cannot run ffmpeg: {exc}") from exc
    if result.returncode != 0:
        raise _fail("splitting the source", result, "split_failed")
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


def keyframe_expression(chunk: Chunk, segment_seconds: int) -> str:
    """Keyframes on the chunk's first frame, then every ``segment_seconds`` of source time after
    the previous one, except in the last MIN_TAIL_SECONDS of the chunk (no sliver segments).

    Evaluated on timestamps (``-copyts``: source time), so 29.97 fps and VFR sources cut where
    the single-pass encode of the same span would.
    """
    no_tail = f"lt(t,{chunk.end - MIN_TAIL_SECONDS:.6f})"
    return f"expr:if(eq(n,0),1,gte(t,prev_forced_t+{segment_seconds - _EPSILON:.6f})*{no_tail})"


def build_chunk_command(
    chunk_path: Path,
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
    argv = [ffmpeg, *global_args(), "-copyts", "-i", str(chunk_path), "-filter_complex", graph]
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
    try:
        result = ffmpeg_run.run(argv, timeout=timeout, on_progress_line=tracker.feed)
    except ffmpeg_run.RunTimeout as exc:
        raise MediaFailed("transcode_timeout", f"{what} did not finish within {timeout:g} s") from exc
    except OSError as exc:
        raise MediaFailed("transcode_failed", f"cannot run ffmpeg: {exc}") from exc
    if result.returncode != 0:
        raise _fail(what, result, "transcode_failed")
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
    chunk_path: Path,
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
        chunk_path, chunk, out_dir, rungs, probe,
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
    segments = [s for part in parts for s in part.segments]
    target = max(math.ceil(s.duration - _EPSILON) for s in segments)
    peak, average = peak_and_average_bitrate(target, segments)
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
