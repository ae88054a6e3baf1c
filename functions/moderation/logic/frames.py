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

Long videos are sampled in ranges instead (:func:`sample_range`, one Lambda per range of the
chunked path, docs/moderation.md): every range keeps the frames of one global grid of sample
times (``j * interval`` for the whole video), so together they keep about as many frames as one
run would, not a first frame per range. Its frames keep their own timestamps (``-copyts``, less
the container's start time) rather than ones relative to the seek, so that the ranges agree on
where the grid points fall.

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

from functions.media import ffmpeg_run
from functions.media.probe import ffmpeg_input_args
from functions.shared.errors import MediaFailed

REASON = "frame_sampling_failed"
JPEG_QUALITY = 3  # mjpeg qscale: 2 (best) .. 31
FRAME_PATTERN = "frame_%05d.jpg"
_FRAME_GLOB = "frame_*.jpg"
_META_NAME = "frames.meta"
_META_KEY = "vod.sample"
_DECODED_META_NAME = "decoded.meta"
_DECODED_KEY = "vod.decoded"
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


def _scene_gap(duration: float | None, *, max_samples: int, min_scene_gap: float) -> float:
    """How close a scene frame may come to the previous kept frame: ``min_scene_gap``, and never
    closer than ``duration / max_samples`` (a strobe must not blow the cap)."""
    cap_gap = duration / max_samples if duration is not None and duration > 0 else 0.0
    return max(min_scene_gap, cap_gap)


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
    interval = sampling_interval(duration, fps=fps, max_samples=max_samples)
    scene_gap = _scene_gap(duration, max_samples=max_samples, min_scene_gap=min_scene_gap)
    select = select_expression(interval, scene_threshold=scene_threshold, scene_min_gap=scene_gap)
    kept, _ = _run_sampler(
        source,
        out_dir,
        select=select,
        max_frames=max_samples,
        width=width,
        ffmpeg=ffmpeg,
        timeout=timeout,
        threads=threads,
        skip_loop_filter=skip_loop_filter,
    )
    if not kept:
        raise MediaFailed(REASON, "ffmpeg decoded no video frame")
    return [SampledFrame(t=max(0, pts_ms) / 1000.0, path=path) for pts_ms, path in kept]


def range_select_expression(
    *,
    start: float,
    end: float,
    interval: float,
    scene_threshold: float,
    scene_min_gap: float,
    first: bool,
) -> str:
    """The ``select`` expression of :func:`sample_range` (commas escaped for the filtergraph).

    Everything is in player time (``t``, and ``start``/``end`` of the range; ``end`` may be
    infinite). A frame is *decided* by this range when ``start < t <= end`` (the first range also
    decides its frame at ``start``); it is a grid sample when a grid point ``j * interval`` lies
    in ``(prev_t, t]``, ``prev_t`` being the frame decoded before it, and a scene sample as in
    :func:`select_expression`, with the range's start standing in for the previous kept frame
    until the range has kept one.
    """
    eps = _EPSILON

    def num(value: float) -> str:
        return f"({value:.6f})"

    def grid(x: str) -> str:  # index of the last grid point at or before x (within eps)
        return f"floor(({x}+{eps})/{num(interval)})"

    decided = f"gte(t\\,{num(start - eps)})" if first else f"gt(t\\,{num(start + eps)})"
    if math.isfinite(end):
        decided += f"*lt(t\\,{num(end + eps)})"
    # Nothing decoded before this frame: the first range owns every grid point up to its first
    # frame; any other range leaves the points up to its start to the previous range, which
    # reads one frame past its end for that.
    missing_prev = num(start - interval) if first else num(start)
    prev = f"if(isnan(prev_t)\\,{missing_prev}\\,prev_t)"
    parts = [f"gt({grid('t')}\\,{grid(prev)})"]
    if scene_threshold < 1:
        since = f"t-if(isnan(prev_selected_t)\\,{num(start)}\\,prev_selected_t)"
        scene = f"gt(scene\\,{scene_threshold:.6f})*gte({since}\\,{num(scene_min_gap - eps)})"
        parts.append(f"not(isnan(prev_t))*{scene}")
    return f"{decided}*({'+'.join(parts)})"


def sample_range(
    source: str,
    out_dir: Path,
    *,
    start: float,
    end: float,
    offset: float,
    first: bool,
    duration: float,
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
    """Sample one time range of ``source`` on the video's global grid of sample times.

    ``start``/``end``: the range in the source's raw timestamps (ffprobe ``pts_time``), ``start``
    on a frame (the keyframe the split cut at); ``offset``: the container's ``start_time``, so
    that ``raw - offset`` is player time; ``first``: the range starts the video; ``end`` may be
    ``math.inf`` for the last range (to the end of the file, whatever the probe said). The grid is
    ``j * I`` in player time, ``I`` = :func:`sampling_interval` of the whole video's
    ``duration``: the same grid for every range.

    Ownership, so that the ranges together keep exactly the grid frames one sampler over the
    whole video keeps: a range decides the frames with ``start < t <= end`` (the first range
    also the one at ``start``), and keeps a frame when a grid point lies in ``(t_prev, t]``,
    ``t_prev`` being the frame before it. It therefore reads one frame past its end (the next
    range's first frame, a keyframe: one more decoded frame) and decides that frame, grid and
    scene change alike, with its true predecessor; the next range, which has no predecessor for
    it, never keeps its own first frame. Scene frames are as in :func:`sample_frames` (score
    above ``scene_threshold``, at least ``max(min_scene_gap, duration / max_samples)`` after the
    previous kept frame), except that a range does not know the previous range's kept frames:
    until it has kept one it counts the gap from its start (never closer than the single run).
    At most ``max_samples`` frames per range.

    Returns the kept frames with ``t`` in player time; ``[]`` when the range owns no grid point
    and has no scene change (short ranges of a long video). Raises :class:`MediaFailed`
    ``frame_sampling_failed`` when ffmpeg fails or decodes no frame of the range at all.
    """
    if end <= start:
        raise ValueError("a range ends after it starts")
    if duration <= 0 or not math.isfinite(duration):
        raise ValueError("the grid needs the video's duration")
    interval = sampling_interval(duration, fps=fps, max_samples=max_samples)
    begin, stop = start - offset, end - offset  # player time
    select = range_select_expression(
        start=begin,
        end=stop,
        interval=interval,
        scene_threshold=scene_threshold,
        scene_min_gap=_scene_gap(duration, max_samples=max_samples, min_scene_gap=min_scene_gap),
        first=first,
    )
    kept, decoded = _run_sampler(
        source,
        out_dir,
        select=select,
        max_frames=max_samples,
        width=width,
        ffmpeg=ffmpeg,
        timeout=timeout,
        threads=threads,
        skip_loop_filter=skip_loop_filter,
        # -ss/-to are player times. -copyts -start_at_zero: every frame keeps its own timestamp
        # minus the container's start time (player time) rather than one relative to the seek.
        # ``stop + eps``: the frame at ``end`` (the next range's first) is read too.
        seek=[
            *("-copyts", "-start_at_zero", "-ss", f"{max(0.0, begin):.6f}"),
            *(("-to", f"{stop + _EPSILON:.6f}") if math.isfinite(stop) else ()),
        ],
        count_decoded=True,
    )
    if not decoded:
        raise MediaFailed(REASON, f"ffmpeg decoded no video frame in [{start:.3f}, {end:.3f}) s")
    return [SampledFrame(t=max(0, pts_ms) / 1000.0, path=path) for pts_ms, path in kept]


def _run_sampler(
    source: str,
    out_dir: Path,
    *,
    select: str,
    max_frames: int,
    width: int,
    ffmpeg: str,
    timeout: float,
    threads: int,
    skip_loop_filter: bool,
    seek: list[str] | None = None,
    count_decoded: bool = False,
) -> tuple[list[tuple[int, Path]], int]:
    """One ffmpeg run: ``select`` frames, write them as JPEGs; ``(pts in ms, path)`` per kept
    frame, and how many frames reached the filter (``count_decoded``; 0 otherwise)."""
    if width < 2:
        raise ValueError("width must be at least 2")
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(_FRAME_GLOB):
        stale.unlink()
    meta = out_dir / _META_NAME
    decoded_meta = out_dir / _DECODED_META_NAME
    meta.unlink(missing_ok=True)
    decoded_meta.unlink(missing_ok=True)

    filters = []
    if count_decoded:
        filters += [
            f"metadata=mode=add:key={_DECODED_KEY}:value=1",
            f"metadata=mode=print:key={_DECODED_KEY}:file={escape_filter_value(str(decoded_meta))}",
        ]
    filters += [
        f"select='{select}'",
        # Display size with square pixels, never wider than the source, even dimensions.
        f"scale=w=2*trunc(min(iw*sar\\,{width})/2):h=2*trunc(ow/dar/2)",
        "setsar=1",
        "settb=1/1000",
        f"metadata=mode=add:key={_META_KEY}:value=1",
        f"metadata=mode=print:key={_META_KEY}:file={escape_filter_value(str(meta))}",
    ]
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
        *(seek or []),
        *ffmpeg_input_args(source),
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-vf",
        ",".join(filters),
        "-fps_mode",
        "passthrough",
        "-frames:v",
        str(max_frames),
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
    times = _read_pts(meta)
    # ``-frames:v`` stops the encoder, not the filters: one more frame may have been timed.
    if len(times) < len(files):
        raise MediaFailed(REASON, f"ffmpeg wrote {len(files)} frames but {len(times)} timestamps")
    decoded = len(_read_pts(decoded_meta)) if count_decoded else 0
    return list(zip(times, files, strict=False)), decoded


def _read_pts(meta: Path) -> list[int]:
    """The ``pts`` of every record the ``metadata`` filter printed, in order."""
    try:
        text = meta.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return [int(match.group(2)) for match in map(_RECORD.match, text.splitlines()) if match]


def escape_filter_value(value: str) -> str:
    """Escape an option value for a filter inside a filtergraph: first for the filter's
    ``key=value`` parser (``\\ ' :``), then for the graph parser (``\\ ' [ ] , ;``)."""
    first = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", first)
