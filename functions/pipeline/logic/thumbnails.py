"""Poster frame and storyboard (a sprite sheet plus a WebVTT index for scrubbing previews).

The storyboard is a preview, not a rendition, so it must cost a fraction of the transcode. Its
cost is almost all decoding; filtering (fps, then scale of the few kept frames) is negligible.
Measured on a 60 s 1080p30 H.264 source on 2 cores: a full decode takes about 7 s, decoding with
``-skip_frame noref -skip_loop_filter all`` about 3.5 s, decoding keyframes only (``-skip_frame
nokey``) about 0.3 s. Keyframes alone are only right when every storyboard slot has a keyframe
of its own; otherwise a slot repeats an earlier picture. So the keyframe times are read first
(demuxing only, no decoding: ~0.1 s) and the keyframe path is taken only when they are dense
enough. When the caller leaves the interval to us and the keyframes are a little sparser than
the default interval (cameras and OBS often use 2 s GOPs), the interval stretches to match, up to
MAX_KEYFRAME_STEP, rather than paying ten times more for a denser storyboard.
"""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.media import ffmpeg_run
from functions.media.probe import ffmpeg_input_args, input_protocols
from functions.shared.errors import MediaFailed

POSTER_QUALITY = 3  # mjpeg qscale: 2 (best) .. 31
SPRITE_QUALITY = 5
MAX_STORYBOARD_THUMBNAILS = 100
MAX_KEYFRAME_STEP = 2.0  # the longest default interval we accept to stay on keyframes
# Keyframes may be this much further apart than the interval and still fill every slot in practice
# (a 60-frame GOP at 29.97 fps lasts 2.002 s).
_GAP_TOLERANCE = 1.01
SPRITE_NAME = "storyboard.jpg"
VTT_NAME = "storyboard.vtt"
_MAX_POSTER_OFFSET = 5.0


@dataclass(frozen=True)
class Storyboard:
    sprite_path: Path
    vtt_path: Path
    interval: float
    count: int
    thumb_width: int
    thumb_height: int
    columns: int
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "sprite_path": str(self.sprite_path),
            "vtt_path": str(self.vtt_path),
            "interval": self.interval,
            "count": self.count,
            "thumb_width": self.thumb_width,
            "thumb_height": self.thumb_height,
            "columns": self.columns,
            "rows": self.rows,
        }


def poster_offset(duration: float) -> float:
    """Early enough to be representative, late enough to skip a black fade-in or a title card."""
    return max(0.0, min(duration * 0.1, _MAX_POSTER_OFFSET))


def make_poster(
    source: str,
    out_path: Path,
    *,
    duration: float,
    ffmpeg: str = "ffmpeg",
    width: int = 1280,
    timeout: float = 60,
) -> Path:
    """Write one JPEG frame, ``width`` wide at most (never upscaled), in display orientation."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Width from the displayed (square-pixel) size, height from the display aspect ratio, both
    # even; setsar=1 so anamorphic sources do not come out stretched.
    scale = f"scale=w=2*trunc(min(iw*sar\\,{width})/2):h=2*trunc(ow/dar/2),setsar=1"
    offset = poster_offset(duration)
    for seek in (offset, 0.0) if offset > 0 else (0.0,):
        argv = [
            ffmpeg,
            *_common_args(),
            # Input seeking: jump to the keyframe before the offset instead of decoding from 0.
            "-ss",
            f"{seek:.3f}",
            *ffmpeg_input_args(source),
            "-map",
            "0:v:0",
            "-vf",
            scale,
            "-frames:v",
            "1",
            "-q:v",
            str(POSTER_QUALITY),
            "-f",
            "image2",
            str(out_path),
        ]
        _run(argv, timeout=timeout, what="poster")
        if out_path.is_file() and out_path.stat().st_size > 0:
            return out_path
        # A duration that overstates the stream can put the offset past the last frame.
    raise MediaFailed("thumbnail_failed", "ffmpeg produced no poster frame")


def default_interval(duration: float) -> float:
    return float(max(1, math.ceil(duration / MAX_STORYBOARD_THUMBNAILS)))


def make_storyboard(
    source: str,
    out_dir: Path,
    *,
    duration: float,
    ffmpeg: str = "ffmpeg",
    interval: float | None = None,
    columns: int = 10,
    thumb_width: int = 160,
    timeout: float = 120,
    ffprobe: str = "ffprobe",
) -> Storyboard:
    """Write ``storyboard.jpg`` (thumbnails every ``interval`` seconds, row by row) and
    ``storyboard.vtt`` (one cue per thumbnail pointing at its tile with a media fragment)."""
    if duration <= 0:
        raise MediaFailed("thumbnail_failed", "cannot make a storyboard of a video without duration")
    explicit = interval is not None and interval > 0
    step = interval if interval is not None and interval > 0 else default_interval(duration)
    gap = _max_keyframe_gap(source, ffprobe=ffprobe, timeout=timeout)
    keyframes_only = gap is not None and gap <= step * _GAP_TOLERANCE
    stretchable = not explicit and step < MAX_KEYFRAME_STEP
    if not keyframes_only and stretchable and gap is not None and gap <= MAX_KEYFRAME_STEP * _GAP_TOLERANCE:
        step, keyframes_only = MAX_KEYFRAME_STEP, True
    count = max(1, math.ceil(duration / step - 1e-6))
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    out_dir.mkdir(parents=True, exist_ok=True)
    sprite = out_dir / SPRITE_NAME
    vtt = out_dir / VTT_NAME

    decode_options = (
        ["-skip_frame", "nokey"]
        if keyframes_only
        # Non-reference frames and the deblocking filter cost a lot to decode and change nothing
        # visible at thumbnail size.
        else ["-skip_frame", "noref", "-skip_loop_filter", "all"]
    )
    graph = ",".join(
        [
            # eof_action=pass: a clip with a single (key)frame still yields its one thumbnail.
            f"fps=fps=1/{step:g}:eof_action=pass",
            f"trim=end_frame={count}",  # the fps filter may emit one slot more at the very end
            f"scale=w={thumb_width}:h=2*trunc({thumb_width}/dar/2)",
            "setsar=1",
            f"tile={columns}x{rows}",
        ]
    )
    argv = [
        ffmpeg,
        *_common_args(),
        *decode_options,
        *ffmpeg_input_args(source),
        "-map",
        "0:v:0",
        "-vf",
        graph,
        "-frames:v",
        "1",
        "-q:v",
        str(SPRITE_QUALITY),
        "-f",
        "image2",
        str(sprite),
    ]
    _run(argv, timeout=timeout, what="storyboard")
    if not sprite.is_file() or sprite.stat().st_size == 0:
        raise MediaFailed("thumbnail_failed", "ffmpeg produced no storyboard image")
    sprite_width, sprite_height = jpeg_size(sprite)
    thumb_height = sprite_height // rows
    if sprite_width != columns * thumb_width or thumb_height <= 0:
        raise MediaFailed("thumbnail_failed", f"unexpected storyboard size {sprite_width}x{sprite_height}")
    vtt.write_text(storyboard_vtt(count, step, duration, columns, thumb_width, thumb_height))
    return Storyboard(
        sprite_path=sprite,
        vtt_path=vtt,
        interval=step,
        count=count,
        thumb_width=thumb_width,
        thumb_height=thumb_height,
        columns=columns,
        rows=rows,
    )


def storyboard_vtt(
    count: int, interval: float, duration: float, columns: int, thumb_width: int, thumb_height: int
) -> str:
    lines = ["WEBVTT", ""]
    for i in range(count):
        start = i * interval
        end = min((i + 1) * interval, duration)
        x = (i % columns) * thumb_width
        y = (i // columns) * thumb_height
        lines += [
            f"{_timestamp(start)} --> {_timestamp(end)}",
            f"{SPRITE_NAME}#xywh={x},{y},{thumb_width},{thumb_height}",
            "",
        ]
    return "\n".join(lines)


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _max_keyframe_gap(source: str, *, ffprobe: str, timeout: float) -> float | None:
    """The longest stretch of the first video stream without a keyframe (the start and the end
    count as boundaries), from packet flags alone. None when unknown: any failure here only means
    we take the slower, always-correct path."""
    argv = [
        ffprobe,
        "-v",
        "error",
        "-protocol_whitelist",
        input_protocols(source),
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts_time,flags",
        "-print_format",
        "csv=p=0",
        source,
    ]
    try:
        result = ffmpeg_run.run(argv, timeout=timeout / 4, capture_stdout=True)
    except (ffmpeg_run.RunTimeout, OSError, OverflowError):
        return None
    if result.returncode != 0:
        return None
    keyframes: list[float] = []
    first: float | None = None
    last: float | None = None
    for line in result.stdout.decode("ascii", "replace").splitlines():
        pts_text, _, flags = line.partition(",")
        try:
            pts = float(pts_text)
        except ValueError:
            continue
        first = pts if first is None else min(first, pts)
        last = pts if last is None else max(last, pts)
        if "K" in flags:
            keyframes.append(pts)
    if not keyframes or first is None or last is None:
        return None
    boundaries = [first, *sorted(keyframes), last]
    return max(b - a for a, b in itertools.pairwise(boundaries))


def _common_args() -> list[str]:
    return ["-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats"]


def _run(argv: list[str], *, timeout: float, what: str) -> None:
    try:
        result = ffmpeg_run.run(argv, timeout=timeout)
    except ffmpeg_run.RunTimeout as exc:
        raise MediaFailed("thumbnail_failed", f"the {what} took longer than {timeout:g} s") from exc
    except OSError as exc:
        raise MediaFailed("thumbnail_failed", f"cannot run ffmpeg: {exc}") from exc
    if result.returncode != 0:
        last = result.stderr_tail.strip().splitlines()[-3:]
        raise MediaFailed(
            "thumbnail_failed", f"ffmpeg failed making the {what} ({result.returncode}): {' | '.join(last)}"
        )


_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def jpeg_size(path: Path) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame header, without an imaging library."""
    data = path.read_bytes()
    if data[:2] != b"\xff\xd8":
        raise MediaFailed("thumbnail_failed", f"{path.name} is not a JPEG")
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF_MARKERS and i + 9 <= len(data):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise MediaFailed("thumbnail_failed", f"{path.name} has no JPEG frame header")
