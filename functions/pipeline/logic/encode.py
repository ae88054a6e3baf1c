"""Encode one chunk of the chunked path (one Map iteration): one ffmpeg, one decode, every rung of a pass.

* **Reading the span** with ``-copyts``, so the chunk's frames keep their source timestamps and
  segment N of chunk K carries exactly the timestamps the single-pass encode would have given it.
  Split by index, the worker reads its span straight from the whole source (:func:`seek_args`:
  ``-ss`` on the chunk's first keyframe, ``-to`` before the next chunk's first frame); split by
  copy, it reads its NUT file whole.
* **Keyframes** (:func:`keyframe_expression`) are forced on the chunk's first frame and then every
  segment length of source time, except in the chunk's last MIN_TAIL_SECONDS (no sliver segment).
  Every rung of a chunk gets the same keyframes, so segments line up across rungs; closed GOPs and
  IDR keyframes make every segment, and so every chunk, decodable on its own.
* **Audio**, split by index: the first pass also encodes the chunk's audio piece, a second ffmpeg
  beside the video (:func:`encode_chunk_audio`; how pieces splice exactly is ``audio_pieces``').
  Split by copy, the audio was encoded whole by the split.

What a worker wrote for each rung is a :class:`ChunkRendition` (segment durations and sizes, the
codec string read from the SPS): all the stitcher needs, without reading a segment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.media import ffmpeg_run
from functions.media.probe import ProbeResult, ffmpeg_input_args
from functions.pipeline.logic import audio_pieces
from functions.pipeline.logic import ladder as presets
from functions.pipeline.logic.ladder import Rung
from functions.pipeline.logic.split import EPSILON, Chunk
from functions.pipeline.logic.transcode import (
    PLAYLIST_NAME,
    SEGMENT_PATTERN,
    ProgressTracker,
    Segment,
    global_args,
    gop_frames,
    output_fps,
    read_media_playlist,
    video_codec_string,
    video_options,
)
from functions.shared.errors import MediaFailed

# A chunk's last segment may run this much past the segment length rather than leave a sliver.
MIN_TAIL_SECONDS = 1.0


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


def keyframe_expression(chunk: Chunk, segment_seconds: int) -> str:
    """Keyframes on the chunk's first frame, then every ``segment_seconds`` of source time after
    the previous one, except in the last MIN_TAIL_SECONDS of the chunk (no sliver segments).

    Evaluated on timestamps (``-copyts``: source time), so 29.97 fps and VFR sources cut where
    the single-pass encode of the same span would.
    """
    no_tail = f"lt(t,{chunk.end - MIN_TAIL_SECONDS:.6f})"
    return f"expr:if(eq(n,0),1,gte(t,prev_forced_t+{segment_seconds - EPSILON:.6f})*{no_tail})"


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
        rung=audio_pieces.RENDITION,
        codecs=presets.AUDIO_CODECS_TAG,
        target_duration=written.target_duration,
        segments=written.segments,
    )
