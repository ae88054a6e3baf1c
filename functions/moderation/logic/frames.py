"""Sample frames of a video for moderation: at a steady rate, plus at scene changes, in one pass.

One ffmpeg run decodes the video once and keeps a frame when (a) it is the first one, (b) at
least one sampling interval has passed since the last kept frame, or (c) the scene-change score
against the previous decoded frame exceeds the threshold (a cut, a flash) and a minimum gap has
passed. Kept frames are scaled down (never up) and written as JPEGs.

Timestamps: the kept frames go through ``settb=1/1000`` (pts in milliseconds) and the
``metadata`` filter in print mode, which writes one ``frame:N pts:P`` record per kept frame to a
file; ``-fps_mode passthrough`` makes the image2 muxer write exactly one JPEG per filtered frame,
so the n-th record belongs to the n-th file. (``-frame_pts`` names files by pts in the encoder's
time base, which ffmpeg picks itself; ``showinfo`` writes to stderr, of which only a tail is
kept.) Times are relative to the start of the file, as a player shows them.

The cap: the sampling interval is stretched to ``duration / max_samples`` for long videos, scene
frames must be at least that far from the previous kept frame as well, and ``-frames:v`` stops
ffmpeg at ``max_samples`` whatever the container claims its duration is.

Cost is decoding: every frame is decoded (``-skip_frame nokey``/``noref`` would skip the very
frames a scene change or a flash sits in), with ``-skip_loop_filter all`` (no deblocking: ~15%
less CPU, invisible at 320 px) and the decoder's frame threads. Measured on a 60 s 1920x1080
30 fps H.264 High (8 Mb/s) source on 2 cores: about 10.5 s of CPU, 6 s wall (12.5 s and
7.3 s with the loop filter on).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.pipeline.logic import ffmpeg_run
from functions.pipeline.logic.probe import ffmpeg_input_args
from functions.shared.errors import MediaFailed

REASON = "frame_sampling_failed"
JPEG_QUALITY = 3  # mjpeg qscale: 2 (best) .. 31
FRAME_PATTERN = "frame_%05d.jpg"
_FRAME_GLOB = "frame_*.jpg"
_META_NAME = "frames.meta"
_META_KEY = "vod.sample"
# Added to every comparison of elapsed time so that float rounding of frame times never pushes a
# sample one frame late (30 fps: 1.0 - 0.9999999 must count as a full second).
_EPSILON = 1e-3
_RECORD = re.compile(r"^frame:\s*(\d+)\s+pts:\s*(-?\d+)")


@dataclass(frozen=True)
class SampledFrame:
    t: float  # seconds from the start of the video
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "path": str(self.path)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampledFrame:
        return cls(t=float(data["t"]), path=Path(data["path"]))


def sampling_interval(duration: float | None, *, fps: float, max_samples: int) -> float:
    """Seconds between steady samples: ``1/fps``, stretched so ``max_samples`` cover the video.

    This is also the ``sample_interval`` the copyright matcher needs.
    """
    if fps <= 0:
        raise ValueError("fps must be positive")
    if max_samples < 1:
        raise ValueError("max_samples must be at least 1")
    interval = 1.0 / fps
    if duration is not None and duration > 0 and math.isfinite(duration):
        interval = max(interval, duration / max_samples)
    return interval


def select_expression(interval: float, *, scene_threshold: float, scene_min_gap: float) -> str:
    """The ``select`` filter expression (commas escaped for the filtergraph)."""
    steady = f"gte(t-prev_selected_t\\,{interval - _EPSILON:.6f})"
    parts = ["isnan(prev_selected_t)", steady]
    if scene_threshold < 1:
        scene = f"gt(scene\\,{scene_threshold:.6f})"
        if scene_min_gap > _EPSILON:
            scene += f"*gte(t-prev_selected_t\\,{scene_min_gap - _EPSILON:.6f})"
        parts.append(scene)
    return "+".join(parts)


def sample_frames(
    source: str,
    out_dir: Path,
    *,
    duration: float | None,
    fps: float,
    scene_threshold: float,
    max_samples: int,
    width: int = 320,
    ffmpeg: str = "ffmpeg",
    timeout: float = 300,
    min_scene_gap: float = 0.25,
    threads: int = 0,
    skip_loop_filter: bool = True,
) -> list[SampledFrame]:
    """Decode ``source`` (local path or http(s) URL) once; write and return the sampled frames.

    ``duration`` (seconds, from the probe) sets the cap on the rate; ``scene_threshold`` is the
    ``select`` filter's scene score (0..1; 1 disables scene sampling); scene frames come no
    closer than ``min_scene_gap`` seconds (a strobe must not turn every frame into a sample),
    nor closer than ``duration / max_samples``. ``threads``: decoder threads, 0 for one per core.
    Frames are ``width`` pixels wide at most, in display orientation with square pixels.
    Raises :class:`MediaFailed` ``frame_sampling_failed`` on any failure, timeout included.
    """
    if width < 2:
        raise ValueError("width must be at least 2")
    interval = sampling_interval(duration, fps=fps, max_samples=max_samples)
    cap_gap = duration / max_samples if duration is not None and duration > 0 else 0.0
    scene_gap = max(min_scene_gap, cap_gap)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(_FRAME_GLOB):
        stale.unlink()
    meta = out_dir / _META_NAME
    meta.unlink(missing_ok=True)

    select = select_expression(interval, scene_threshold=scene_threshold, scene_min_gap=scene_gap)
    graph = ",".join(
        [
            f"select='{select}'",
            # Display size with square pixels, never wider than the source, even dimensions.
            f"scale=w=2*trunc(min(iw*sar\\,{width})/2):h=2*trunc(ow/dar/2)",
            "setsar=1",
            "settb=1/1000",
            f"metadata=mode=add:key={_META_KEY}:value=1",
            f"metadata=mode=print:key={_META_KEY}:file={escape_filter_value(str(meta))}",
        ]
    )
    argv = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-nostats",
        "-threads",
        str(threads),
        *(["-skip_loop_filter", "all"] if skip_loop_filter else []),
        *ffmpeg_input_args(source),
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-vf",
        graph,
        "-fps_mode",
        "passthrough",
        "-frames:v",
        str(max_samples),
        "-q:v",
        str(JPEG_QUALITY),
        "-start_number",
        "0",
        "-f",
        "image2",
        str(out_dir / FRAME_PATTERN),
    ]
    try:
        result = ffmpeg_run.run(argv, timeout=timeout)
    except ffmpeg_run.RunTimeout as exc:
        raise MediaFailed(REASON, f"frame sampling took longer than {timeout:g} s") from exc
    except OSError as exc:
        raise MediaFailed(REASON, f"cannot run ffmpeg: {exc}") from exc
    if result.returncode != 0:
        last = result.stderr_tail.strip().splitlines()[-3:]
        raise MediaFailed(REASON, f"ffmpeg failed sampling frames ({result.returncode}): {' | '.join(last)}")

    files = sorted(out_dir.glob(_FRAME_GLOB))
    times = _read_times(meta)
    if not files:
        raise MediaFailed(REASON, "ffmpeg decoded no video frame")
    # ``-frames:v`` stops the encoder, not the filters: one more frame may have been timed.
    if len(times) < len(files):
        raise MediaFailed(REASON, f"ffmpeg wrote {len(files)} frames but {len(times)} timestamps")
    return [SampledFrame(t=t, path=path) for t, path in zip(times, files, strict=False)]


def _read_times(meta: Path) -> list[float]:
    try:
        text = meta.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    times: list[float] = []
    for line in text.splitlines():
        match = _RECORD.match(line)
        if match:
            times.append(max(0, int(match.group(2))) / 1000.0)
    return times


def escape_filter_value(value: str) -> str:
    """Escape an option value for a filter inside a filtergraph: first for the filter's
    ``key=value`` parser (``\\ ' :``), then for the graph parser (``\\ ' [ ] , ;``)."""
    first = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", first)
