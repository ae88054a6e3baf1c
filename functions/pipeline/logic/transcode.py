"""Encode a source into an HLS ladder with one ffmpeg process and one decode.

Decoding (and rotating) the source once and fanning it out with ``split`` to one scaler and
encoder per rung is what makes a 4-rung ladder affordable: separate processes would decode the
source four times. Every rung gets keyframes forced at the same timestamps (multiples of the
segment length) and the same segmenter settings, so segment N of every rung covers the same
time span and a player can switch rungs at any segment boundary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_lib  # ffmpeg-python builds the filter graph and argv; ffmpeg_run runs it

from functions.media import codecs, ffmpeg_run
from functions.media.probe import ProbeResult, input_protocols
from functions.pipeline.logic import ladder as presets
from functions.pipeline.logic.ladder import Rung
from functions.shared.errors import MediaFailed

PLAYLIST_NAME = "index.m3u8"
SEGMENT_PATTERN = "seg_%05d.ts"
MASTER_NAME = "master.m3u8"
_STDERR_LINES_IN_ERROR = 8


@dataclass(frozen=True)
class RenditionOutput:
    name: str
    width: int
    height: int
    bandwidth: int  # peak segment bit rate (RFC 8216 definition), audio included
    average_bandwidth: int
    codecs: str
    frame_rate: float
    playlist_path: Path

    def describe(self, playlist_key: str) -> dict[str, Any]:
        """The rendition as the transcode and stitch steps report it to the Saga (``playlist_key``:
        its playlist's object key); the video record keeps ``videos.models.rendition_record`` of it."""
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "bitrate": self.bandwidth,
            "average_bitrate": self.average_bandwidth,
            "codecs": self.codecs,
            "frame_rate": self.frame_rate,
            "playlist_key": playlist_key,
        }


def gop_frames(fps: float, segment_seconds: int) -> int:
    return max(1, round((fps or 30.0) * segment_seconds))


def output_fps(probe: ProbeResult) -> float:
    assert probe.video is not None
    capped = presets.output_frame_rate(probe.video.fps)
    return capped if capped is not None else probe.video.fps


def _level_text(level_idc: int) -> str:
    return f"{level_idc // 10}.{level_idc % 10}"


def build_ladder_command(
    source: str,
    out_dir: Path,
    ladder: list[Rung],
    probe: ProbeResult,
    *,
    segment_seconds: int,
    x264_preset: str,
    ffmpeg: str = "ffmpeg",
) -> list[str]:
    """The argv of the single ffmpeg run that writes ``out_dir/<rung>/index.m3u8`` for every rung.

    Pure: creates nothing on disk (``run_ladder`` makes the folders).
    """
    if probe.video is None:
        raise ValueError("the source has no video stream")
    if not ladder:
        raise ValueError("the ladder is empty")
    fps = output_fps(probe)
    gop = gop_frames(fps, segment_seconds)

    # ffmpeg autorotates decoded frames by the display matrix before they enter the filter graph;
    # encoded outputs of a filter graph do not inherit the input's side data, and MPEG-TS has no
    # place for a display matrix anyway, so the output is upright with nothing left to rotate.
    source_input = ffmpeg_input(source)
    video: Any = source_input[str(probe.video.index)]
    capped = presets.output_frame_rate(probe.video.fps)
    if capped is not None:
        video = video.filter("fps", fps=f"{capped:.6f}")
    branches = video.split()

    outputs = []
    for i, rung in enumerate(ladder):
        scaled = branches[i].filter("scale", rung.width, rung.height).filter("setsar", 1)
        streams: list[Any] = [scaled]
        options: dict[str, Any] = video_options(rung, fps, gop, segment_seconds, x264_preset)
        if probe.audio is not None:
            streams.append(source_input[str(probe.audio.index)])
            options.update(audio_options(rung))
        rung_dir = out_dir / rung.name
        options.update(
            {
                "f": "hls",
                "hls_time": segment_seconds,
                "hls_playlist_type": "vod",
                "hls_list_size": 0,
                "hls_flags": "independent_segments",
                "hls_segment_type": "mpegts",
                "hls_segment_filename": str(rung_dir / SEGMENT_PATTERN),
                # Phones put the recording location into the container; it must not reach viewers.
                "map_metadata": -1,
                "map_chapters": -1,
            }
        )
        outputs.append(ffmpeg_lib.output(*streams, str(rung_dir / PLAYLIST_NAME), **options))

    compiled: list[str] = ffmpeg_lib.merge_outputs(*outputs).compile(cmd=ffmpeg)
    return [ffmpeg, *global_args(), *compiled[1:]]


def ffmpeg_input(source: str) -> Any:
    return ffmpeg_lib.input(source, protocol_whitelist=input_protocols(source))


def global_args() -> list[str]:
    return ["-hide_banner", "-nostdin", "-y", "-loglevel", "warning", "-nostats", "-progress", "pipe:1"]


def video_options(
    rung: Rung,
    fps: float,
    gop: int,
    segment_seconds: int,
    x264_preset: str,
    *,
    force_key_frames: str | None = None,
) -> dict[str, Any]:
    level = presets.h264_level(rung.width, rung.height, fps, rung.maxrate, rung.bufsize)
    return {
        "c:v": presets.VIDEO_CODEC,
        "preset": x264_preset,
        "profile:v": presets.H264_PROFILE,
        "level:v": _level_text(level),
        "pix_fmt": presets.PIX_FMT,
        "b:v": rung.video_bitrate,
        "maxrate": rung.maxrate,
        "bufsize": rung.bufsize,
        "g": gop,
        "keyint_min": gop,
        "sc_threshold": 0,
        # Keyframes exactly on segment boundaries whatever the frame rate (29.97, VFR phone clips):
        # the expression is evaluated on timestamps, not frame counts.
        "force_key_frames": force_key_frames or f"expr:gte(t,n_forced*{segment_seconds})",
        "forced-idr": 1,
        "flags": "+cgop",
        "threads": 0,  # x264 picks its thread count from the cores it sees
    }


def audio_options(rung: Rung) -> dict[str, Any]:
    return {
        "c:a": presets.AUDIO_CODEC,
        "profile:a": presets.AUDIO_PROFILE,
        "b:a": rung.audio_bitrate,
        "ac": presets.AUDIO_CHANNELS,
        "ar": presets.AUDIO_SAMPLE_RATE,
    }


def run_ladder(
    source: str,
    out_dir: Path,
    ladder: list[Rung],
    probe: ProbeResult,
    *,
    segment_seconds: int,
    x264_preset: str,
    ffmpeg: str = "ffmpeg",
    timeout: float,
    on_progress: Callable[[float], None] | None = None,
) -> list[RenditionOutput]:
    """Encode the ladder and describe what was written, measured from the files themselves.

    Raises MediaFailed("transcode_timeout") when ``timeout`` passes (the ffmpeg process group is
    killed) and MediaFailed("transcode_failed") when ffmpeg fails or writes nothing usable.
    """
    argv = build_ladder_command(
        source,
        out_dir,
        ladder,
        probe,
        segment_seconds=segment_seconds,
        x264_preset=x264_preset,
        ffmpeg=ffmpeg,
    )
    for rung in ladder:
        (out_dir / rung.name).mkdir(parents=True, exist_ok=True)

    tracker = ProgressTracker(probe.duration, on_progress)
    try:
        result = ffmpeg_run.run(argv, timeout=timeout, on_progress_line=tracker.feed)
    except ffmpeg_run.RunTimeout as exc:
        raise MediaFailed(
            "transcode_timeout", f"encoding did not finish within {timeout:g} s (reached {tracker.last:.0%})"
        ) from exc
    except OSError as exc:
        raise MediaFailed("transcode_failed", f"cannot run ffmpeg: {exc}") from exc
    if result.returncode != 0:
        tail = "\n".join(result.stderr_tail.splitlines()[-_STDERR_LINES_IN_ERROR:])
        raise MediaFailed("transcode_failed", f"ffmpeg exited with status {result.returncode}: {tail}")
    tracker.finish()

    fps = output_fps(probe)
    renditions = [
        describe_rendition(out_dir, rung, fps, has_audio=probe.audio is not None) for rung in ladder
    ]
    return renditions


class ProgressTracker:
    """Turns ``-progress`` key=value lines into monotonic fractions of the source duration."""

    def __init__(self, duration: float, callback: Callable[[float], None] | None):
        self._duration = duration
        self._callback = callback
        self.last = 0.0

    def feed(self, line: str) -> None:
        key, _, value = line.partition("=")
        if key == "out_time_us":
            # (out_time_ms carries the same microseconds, a historical misnomer; one is enough.)
            try:
                seconds = int(value) / 1_000_000
            except ValueError:
                return  # "N/A" before the first frame is out
            if self._duration > 0:
                self._report(min(1.0, max(0.0, seconds / self._duration)))
        elif key == "progress" and value == "end":
            self._report(1.0)

    def finish(self) -> None:
        self._report(1.0)

    def _report(self, fraction: float) -> None:
        if fraction <= self.last:
            return
        self.last = fraction
        if self._callback is not None:
            self._callback(fraction)


@dataclass(frozen=True)
class Segment:
    uri: str
    duration: float
    size: int


def read_media_playlist(playlist_path: Path) -> tuple[float, list[Segment]]:
    """(target duration, segments with their on-disk sizes) of a media playlist we wrote."""
    target = 0.0
    segments: list[Segment] = []
    pending: float | None = None
    for raw in playlist_path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = float(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            pending = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line and not line.startswith("#") and pending is not None:
            size = (playlist_path.parent / line).stat().st_size
            segments.append(Segment(uri=line, duration=pending, size=size))
            pending = None
    return target, segments


def peak_and_average_bitrate(target_duration: float, segments: Sequence[Segment]) -> tuple[int, int]:
    """BANDWIDTH and AVERAGE-BANDWIDTH as RFC 8216 section 4.3.4.2 defines them.

    The peak is the highest rate of any run of consecutive segments lasting 0.5 to 1.5 target
    durations; taking single segments instead would let a short final segment (a keyframe and
    little else) inflate the peak and push players to a lower rung than they could play.
    """
    total_bits = sum(s.size for s in segments) * 8
    total_seconds = sum(s.duration for s in segments)
    if total_seconds <= 0:
        return 0, 0
    average = total_bits / total_seconds
    low, high = 0.5 * target_duration, 1.5 * target_duration
    peak = 0.0
    for start in range(len(segments)):
        bits = 0
        seconds = 0.0
        for seg in segments[start:]:
            bits += seg.size * 8
            seconds += seg.duration
            if seconds > high:
                break
            if seconds >= low:
                peak = max(peak, bits / seconds)
    if peak == 0.0:  # the whole video is shorter than half a target duration
        peak = average
    return math.ceil(peak), math.ceil(average)


def video_codec_string(segment: Path, rung: Rung, fps: float) -> str:
    """The codec string the encoder declared in the segment's SPS or, should there be none (not
    expected with x264), the one the rung's settings ask for."""
    declared = codecs.sps_codec_string(segment)
    if declared is not None:
        return declared
    level = presets.h264_level(rung.width, rung.height, fps, rung.maxrate, rung.bufsize)
    return codecs.avc1_codec_string(presets.H264_PROFILE_IDC, 0, level)


def describe_rendition(out_dir: Path, rung: Rung, fps: float, *, has_audio: bool) -> RenditionOutput:
    playlist = out_dir / rung.name / PLAYLIST_NAME
    if not playlist.is_file():
        raise MediaFailed("transcode_failed", f"ffmpeg wrote no playlist for {rung.name}")
    try:
        target, segments = read_media_playlist(playlist)
    except (OSError, ValueError) as exc:
        raise MediaFailed("transcode_failed", f"the {rung.name} playlist is unreadable: {exc}") from exc
    if not segments:
        raise MediaFailed("transcode_failed", f"ffmpeg wrote no segments for {rung.name}")
    peak, average = peak_and_average_bitrate(target, segments)

    video_codec = video_codec_string(playlist.parent / segments[0].uri, rung, fps)
    codecs = f"{video_codec},{presets.AUDIO_CODECS_TAG}" if has_audio else video_codec
    return RenditionOutput(
        name=rung.name,
        width=rung.width,
        height=rung.height,
        bandwidth=peak,
        average_bandwidth=average,
        codecs=codecs,
        frame_rate=round(fps, 3),
        playlist_path=playlist,
    )


AUDIO_GROUP = "audio"


def master_playlist_text(renditions: Sequence[RenditionOutput], *, audio_uri: str | None = None) -> str:
    """The master playlist listing the renditions, highest bandwidth first.

    With ``audio_uri`` the audio is a separate rendition (EXT-X-MEDIA, one group every variant
    refers to): the chunked path encodes it apart from the video chunks (whole, or in pieces spliced
    on the AAC frame grid), so no chunk boundary cuts it. The variants' BANDWIDTH and CODECS then
    already include the audio (see stitch.stitched_rendition).
    """
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:4" if audio_uri else "#EXT-X-VERSION:3",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    if audio_uri:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="default",DEFAULT=YES,'
            f'AUTOSELECT=YES,URI="{audio_uri}"'
        )
    for r in sorted(renditions, key=lambda r: r.bandwidth, reverse=True):
        attributes = [
            f"BANDWIDTH={r.bandwidth}",
            f"AVERAGE-BANDWIDTH={r.average_bandwidth}",
            f"RESOLUTION={r.width}x{r.height}",
            f'CODECS="{r.codecs}"',
        ]
        if r.frame_rate > 0:
            attributes.append(f"FRAME-RATE={r.frame_rate:.3f}")
        if audio_uri:
            attributes.append(f'AUDIO="{AUDIO_GROUP}"')
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attributes))
        # Relative, so the same playlists work behind any CDN path and with signed cookies.
        lines.append(f"{r.playlist_path.parent.name}/{r.playlist_path.name}")
    return "\n".join(lines) + "\n"


def write_master_playlist(out_dir: Path, renditions: list[RenditionOutput]) -> Path:
    """Write ``out_dir/master.m3u8`` listing the renditions, highest bandwidth first."""
    path = out_dir / MASTER_NAME
    path.write_text(master_playlist_text(renditions))
    return path
