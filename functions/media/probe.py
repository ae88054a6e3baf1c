"""Probe an upload with ffprobe and decide early whether it is a video we accept.

Every rejection is a :class:`MediaRejected` with a stable reason code (the state machine and the
API show it to the uploader); anything that went wrong on our side (ffprobe missing, network
error reading the presigned URL, timeout) is a :class:`MediaFailed`, because the input may be
fine and a retry may succeed.
"""

from __future__ import annotations

import json
import math
import os
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from functions.media import ffmpeg_run
from functions.shared.errors import MediaFailed, MediaRejected

DEFAULT_VIDEO_CODECS: frozenset[str] = frozenset(
    {
        "h264",
        "hevc",
        "vp8",
        "vp9",
        "av1",
        "mpeg4",
        "mpeg2video",
        "mpeg1video",
        "prores",
        "mjpeg",
        "dnxhd",
        "vc1",
        "wmv3",
        "h263",
        "theora",
        "dvvideo",
    }
)

# Demuxers that are not a self-contained video: playlists and concat lists make ffmpeg open other
# URLs or local files named inside the upload (a classic SSRF / file disclosure trick), and still
# images or text renderers are not videos anyone meant to upload.
_INDIRECT_OR_NON_VIDEO_FORMATS = frozenset(
    {"hls", "applehttp", "dash", "concat", "tty", "image2", "lavfi", "ffmetadata", "sdp", "rtp", "rtsp"}
)

# Top-level ISO BMFF / QuickTime box types. ffprobe picks the mov demuxer for anything named
# .mp4, so "moov atom not found" alone cannot tell a cut-short MP4 from a text file named .mp4.
_ISO_BMFF_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"junk"})

# How far before the declared end the tail check starts reading, and how short of the declared
# end the last packet may stop (edit lists, audio priming) before we call the file truncated.
_TAIL_WINDOW_SECONDS = 2.0
_TAIL_TOLERANCE_SECONDS = 1.0


@dataclass(frozen=True)
class VideoStream:
    codec: str
    width: int
    height: int
    rotation: int  # clockwise degrees a player turns the coded picture: 0, 90, 180 or 270
    fps: float
    pix_fmt: str | None
    bit_rate: int | None
    profile: str | None
    index: int = 0  # stream index in the container, so ffmpeg maps exactly this stream
    sample_aspect_ratio: float = 1.0  # anamorphic sources (DV, DVD) have non-square pixels

    @property
    def _turned(self) -> bool:
        return self.rotation in (90, 270)

    @property
    def _square_width(self) -> int:
        # The width the picture has when its pixels are made square, which is what players show.
        if abs(self.sample_aspect_ratio - 1.0) < 1e-3:
            return self.width
        return max(2, round(self.width * self.sample_aspect_ratio))

    @property
    def display_width(self) -> int:
        return self.height if self._turned else self._square_width

    @property
    def display_height(self) -> int:
        return self._square_width if self._turned else self.height


@dataclass(frozen=True)
class AudioStream:
    codec: str
    channels: int
    sample_rate: int
    bit_rate: int | None
    index: int = 0


@dataclass(frozen=True)
class ProbeResult:
    duration: float
    container: str
    size_bytes: int | None
    bit_rate: int | None
    video: VideoStream | None
    audio: AudioStream | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only: this travels between Step Functions states."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResult:
        video = data.get("video")
        audio = data.get("audio")
        return cls(
            duration=float(data["duration"]),
            container=str(data["container"]),
            size_bytes=_opt_int(data.get("size_bytes")),
            bit_rate=_opt_int(data.get("bit_rate")),
            video=VideoStream(**video) if video else None,
            audio=AudioStream(**audio) if audio else None,
        )


@dataclass(frozen=True)
class ProbeLimits:
    max_duration_seconds: float
    max_size_bytes: int
    allowed_video_codecs: frozenset[str] = field(default=DEFAULT_VIDEO_CODECS)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def input_protocols(source: str) -> str:
    """The ``-protocol_whitelist`` for reading ``source``: a local file may not make ffmpeg fetch
    URLs, and a presigned URL may not make it read local files."""
    return "http,https,tls,tcp" if is_url(source) else "file"


def ffmpeg_input_args(source: str) -> list[str]:
    """``-i source`` for ffmpeg, always with its protocol whitelist (never one without the other)."""
    return ["-protocol_whitelist", input_protocols(source), "-i", source]


def probe(
    source: str,
    *,
    ffprobe: str = "ffprobe",
    size_bytes: int | None,
    limits: ProbeLimits,
    timeout: float = 60,
) -> ProbeResult:
    """Describe ``source`` (a local path or an http(s) URL) or reject it with a reason.

    ``size_bytes`` is the object size the caller already knows (S3 HEAD); when None it is taken
    from the local file, or from what ffprobe reports for a URL.
    """
    if size_bytes is None and not is_url(source):
        try:
            size_bytes = os.path.getsize(source)
        except OSError as exc:
            raise MediaFailed("probe_failed", f"cannot read the source: {exc}") from exc
    _check_size(size_bytes, limits)

    # One budget for the whole probe (it is the step's time limit), however many runs it takes.
    deadline = time.monotonic() + timeout
    info = _ffprobe_json(source, ffprobe=ffprobe, timeout=timeout)
    fmt = info.get("format") or {}
    streams: list[dict[str, Any]] = info.get("streams") or []
    container = str(fmt.get("format_name") or "")
    if size_bytes is None:
        size_bytes = _opt_int(fmt.get("size"))
        _check_size(size_bytes, limits)

    if not container or not streams:
        raise MediaRejected("not_media", "the file contains no audio or video streams")
    if container in _INDIRECT_OR_NON_VIDEO_FORMATS or container.endswith("_pipe"):
        raise MediaRejected("not_media", f"the file is not a video (detected format: {container})")

    video = _pick_video(streams)
    audio = _pick_audio(streams)
    if video is None:
        if audio is not None:
            raise MediaRejected("no_video_stream", "the file has audio but no video stream")
        raise MediaRejected("not_media", "the file contains no audio or video streams")
    if video.width <= 0 or video.height <= 0:
        raise MediaRejected("not_media", "the video stream has no readable picture size")

    duration = _duration(fmt, streams)
    if duration is None or duration <= 0:
        # Containers that carry an index always know their duration; not knowing it means the
        # index (or the header holding it) never made it into the file.
        raise MediaRejected(
            "truncated", "the duration of the video cannot be read; the file looks incomplete"
        )
    if duration > limits.max_duration_seconds:
        raise MediaRejected(
            "too_long",
            f"the video is {_clock(duration)} long; the limit is {_clock(limits.max_duration_seconds)}",
        )
    if video.codec not in limits.allowed_video_codecs:
        raise MediaRejected("unsupported_codec", f"the video codec '{video.codec}' is not supported")

    start = _opt_float(fmt.get("start_time")) or 0.0
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise MediaFailed("probe_timeout", f"probing did not finish within {timeout:g} s")
    _check_tail(source, ffprobe=ffprobe, start=start, duration=duration, timeout=remaining)

    return ProbeResult(
        duration=duration,
        container=container,
        size_bytes=size_bytes,
        bit_rate=_opt_int(fmt.get("bit_rate")),
        video=video,
        audio=audio,
    )


def _check_size(size_bytes: int | None, limits: ProbeLimits) -> None:
    if size_bytes is None:
        return
    if size_bytes == 0:
        raise MediaRejected("empty_file", "the uploaded file is empty (0 bytes)")
    if size_bytes > limits.max_size_bytes:
        raise MediaRejected(
            "too_large",
            f"the file is {_human_bytes(size_bytes)}; the limit is {_human_bytes(limits.max_size_bytes)}",
        )


def _ffprobe_json(source: str, *, ffprobe: str, timeout: float) -> dict[str, Any]:
    argv = [
        ffprobe,
        "-v",
        "error",
        "-protocol_whitelist",
        input_protocols(source),
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        source,
    ]
    result = _run_ffprobe(argv, timeout=timeout)
    if result.returncode != 0:
        _classify_open_failure(source, result.stderr_tail, timeout=timeout)
    try:
        parsed = json.loads(result.stdout or b"{}")
    except ValueError as exc:
        raise MediaFailed("probe_failed", "ffprobe printed something that is not JSON") from exc
    if not isinstance(parsed, dict):
        raise MediaFailed("probe_failed", "ffprobe printed something that is not a JSON object")
    return parsed


def _run_ffprobe(argv: list[str], *, timeout: float) -> ffmpeg_run.CompletedRun:
    try:
        return ffmpeg_run.run(argv, timeout=timeout, capture_stdout=True)
    except ffmpeg_run.RunTimeout as exc:
        raise MediaFailed("probe_timeout", f"ffprobe did not finish within {timeout:g} s") from exc
    except OSError as exc:  # ffprobe missing or not executable: our problem, not the upload's
        raise MediaFailed("probe_failed", "cannot run ffprobe") from exc


def _classify_open_failure(source: str, stderr: str, *, timeout: float) -> None:
    """ffprobe could not open the input: decide whose fault that is. Always raises."""
    lowered = stderr.lower()
    markers = ("invalid data found", "moov atom not found", "error reading header")
    if any(marker in lowered for marker in markers):
        if _looks_like_iso_bmff(source, timeout=timeout):
            raise MediaRejected(
                "truncated",
                "the file starts like an MP4/MOV but its index is missing or damaged; "
                "it was probably cut short during upload",
            )
        raise MediaRejected("not_media", "the file is not a recognised audio or video format")
    from functions.shared.observability import logger
    from functions.shared.redact import redact

    # stderr echoes the presigned URL: it goes to the log redacted, never into the exception.
    logger.error("ffprobe could not read the source", extra={"stderr": redact(stderr[-2000:])})
    raise MediaFailed("probe_failed", "ffprobe could not read the source")


def _looks_like_iso_bmff(source: str, *, timeout: float) -> bool:
    head = _read_head(source, 16, timeout=timeout)
    return len(head) >= 8 and head[4:8] in _ISO_BMFF_BOXES


def _read_head(source: str, n: int, *, timeout: float) -> bytes:
    try:
        if is_url(source):
            request = urllib.request.Request(source, headers={"Range": f"bytes=0-{n - 1}"})  # noqa: S310
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
                return bytes(response.read(n))
        with open(source, "rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise MediaFailed("probe_failed", f"cannot read the start of the source: {exc}") from exc


def _check_tail(source: str, *, ffprobe: str, start: float, duration: float, timeout: float) -> None:
    """Reject a file whose header promises more media than the file holds.

    An MP4 written with +faststart has its index (moov) first, so a file cut anywhere in the media
    data (mdat) still opens and reports the full duration. The cheap, container-agnostic check is
    to seek to just before the declared end and demux the tail (no decoding): a complete file
    yields packets up to the declared end; a cut one yields none there (or the mov demuxer logs
    "partial file"). Over HTTP this costs one ranged read of the last seconds, never a download
    of the whole object. Formats without an index (MPEG-TS, raw streams) estimate their duration
    from their size, so for them a cut file simply is a shorter video, which is harmless.
    """
    seek_to = max(0.0, start + duration - _TAIL_WINDOW_SECONDS)
    argv = [
        ffprobe,
        "-v",
        "error",
        "-protocol_whitelist",
        input_protocols(source),
        "-read_intervals",
        f"{seek_to:.3f}%",
        "-show_entries",
        "packet=pts_time,dts_time,duration_time",
        "-print_format",
        "compact=nokey=1:item_sep=|",
        source,
    ]
    result = _run_ffprobe(argv, timeout=timeout)
    last_end = _last_packet_end(result.stdout.decode("utf-8", "replace"))
    stderr = result.stderr_tail.lower()
    expected_end = start + duration
    if "partial file" in stderr or last_end is None or last_end < expected_end - _TAIL_TOLERANCE_SECONDS:
        reached = "nothing" if last_end is None else _clock(max(0.0, last_end - start))
        raise MediaRejected(
            "truncated",
            f"the file declares {_clock(duration)} of media but its data ends at {reached}; "
            "it was probably cut short during upload",
        )


def _last_packet_end(compact: str) -> float | None:
    last: float | None = None
    for line in compact.splitlines():
        parts = line.split("|")
        if len(parts) < 4 or parts[0] != "packet":
            continue
        pts = _opt_float(parts[1])
        if pts is None:
            pts = _opt_float(parts[2])
        if pts is None:
            continue
        end = pts + (_opt_float(parts[3]) or 0.0)
        last = end if last is None else max(last, end)
    return last


def _pick_video(streams: list[dict[str, Any]]) -> VideoStream | None:
    for s in streams:
        if s.get("codec_type") != "video":
            continue
        # Cover art in an audio file shows up as a one-frame video stream; it is not a video.
        if (s.get("disposition") or {}).get("attached_pic"):
            continue
        return VideoStream(
            codec=str(s.get("codec_name") or "unknown"),
            width=int(s.get("width") or 0),
            height=int(s.get("height") or 0),
            rotation=_rotation(s),
            fps=_fps(s),
            pix_fmt=s.get("pix_fmt"),
            bit_rate=_opt_int(s.get("bit_rate")),
            profile=s.get("profile"),
            index=int(s.get("index") or 0),
            sample_aspect_ratio=_sar(s.get("sample_aspect_ratio")),
        )
    return None


def _pick_audio(streams: list[dict[str, Any]]) -> AudioStream | None:
    for s in streams:
        if s.get("codec_type") == "audio":
            return AudioStream(
                codec=str(s.get("codec_name") or "unknown"),
                channels=int(s.get("channels") or 0),
                sample_rate=int(s.get("sample_rate") or 0),
                bit_rate=_opt_int(s.get("bit_rate")),
                index=int(s.get("index") or 0),
            )
    return None


def _rotation(stream: dict[str, Any]) -> int:
    """Clockwise rotation, normalised to 0/90/180/270.

    The display matrix's ``rotation`` (ffprobe >= 5) is counter-clockwise, which is why iPhone
    portrait clips show -90 there; the legacy ``rotate`` tag (older muxers) is clockwise.
    """
    degrees: float | None = None
    for side in stream.get("side_data_list") or []:
        if side.get("side_data_type") == "Display Matrix" and side.get("rotation") is not None:
            degrees = -float(side["rotation"])
            break
    if degrees is None:
        tag = (stream.get("tags") or {}).get("rotate")
        degrees = _opt_float(tag)
    if degrees is None or math.isnan(degrees):
        return 0
    return (round(degrees / 90.0) * 90) % 360


def _fps(stream: dict[str, Any]) -> float:
    for key in ("avg_frame_rate", "r_frame_rate"):
        rate = _ratio(stream.get(key))
        if rate and 0 < rate < 1000:
            return round(rate, 6)
    return 0.0


def _sar(value: Any) -> float:
    ratio = _ratio(value)
    return ratio if ratio and ratio > 0 else 1.0


def _ratio(value: Any) -> float | None:
    if not value or not isinstance(value, str):
        return None
    try:
        num, _, den = value.partition(":") if ":" in value else value.partition("/")
        if not den:
            return float(num)
        if float(den) == 0:
            return None
        return float(Fraction(int(num), int(den)))
    except (ValueError, ZeroDivisionError):
        return None


def _duration(fmt: dict[str, Any], streams: list[dict[str, Any]]) -> float | None:
    value = _opt_float(fmt.get("duration"))
    if value is not None and value > 0:
        return value
    durations = [d for s in streams if (d := _opt_float(s.get("duration"))) is not None and d > 0]
    return max(durations) if durations else None


def _opt_int(value: Any) -> int | None:
    if value is None or value == "N/A":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None


def _opt_float(value: Any) -> float | None:
    if value is None or value == "N/A":
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(result) or math.isinf(result) else result


def _clock(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"
