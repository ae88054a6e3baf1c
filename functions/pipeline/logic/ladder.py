"""The encoding ladder: the one table of presets, and the per-title choice of rungs.

Nothing else in the code base hard-codes an encoding parameter; the transcoder reads these
constants, so changing a bitrate or the audio format happens here and only here.
"""

from __future__ import annotations

from dataclasses import dataclass

# Video: H.264 High profile is what every HLS client (Safari, hls.js over MSE, Android, TVs)
# decodes in hardware; 4:2:0 8-bit is the only chroma format they all accept.
VIDEO_CODEC = "libx264"
H264_PROFILE = "high"
H264_PROFILE_IDC = 100  # profile_idc of High in the SPS, the "64" in avc1.64xxxx
# Levels are chosen per rung (see h264_level), never below 3.0, which every HLS device decodes.
H264_MIN_LEVEL = 30
PIX_FMT = "yuv420p"
# Players switch rungs well above 60 fps content poorly, and the level would jump to 5.x.
MAX_FRAME_RATE = 60.0

AUDIO_CODEC = "aac"
AUDIO_PROFILE = "aac_low"  # AAC-LC, the "mp4a.40.2" in CODECS
AUDIO_CODECS_TAG = "mp4a.40.2"
AUDIO_BITRATE = 128_000
AUDIO_CHANNELS = 2
AUDIO_SAMPLE_RATE = 48_000

# Peak rate a rung may reach (VBV) relative to its target, and the VBV buffer size.
MAXRATE_FACTOR = 1.07
BUFSIZE_FACTOR = 1.5


@dataclass(frozen=True)
class Preset:
    name: str
    short_side: int
    video_bitrate: int
    maxrate: int
    bufsize: int


def _preset(name: str, short_side: int, video_bitrate: int) -> Preset:
    return Preset(
        name=name,
        short_side=short_side,
        video_bitrate=video_bitrate,
        maxrate=round(video_bitrate * MAXRATE_FACTOR),
        bufsize=round(video_bitrate * BUFSIZE_FACTOR),
    )


# Highest first. The name is also the rendition's folder in the output.
PRESETS: tuple[Preset, ...] = (
    _preset("1080p", 1080, 5_000_000),
    _preset("720p", 720, 3_000_000),
    _preset("480p", 480, 1_500_000),
    _preset("360p", 360, 800_000),
)


@dataclass(frozen=True)
class Rung:
    name: str
    width: int
    height: int
    video_bitrate: int
    maxrate: int
    bufsize: int
    audio_bitrate: int


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def choose_ladder(display_width: int, display_height: int) -> list[Rung]:
    """The rungs for a source of this displayed size (after rotation), highest first.

    The short side picks the presets, so a portrait 720x1280 phone clip gets the same rungs as a
    landscape 1280x720 one; a preset above the source is skipped (upscaling spends bits on
    nothing). A source below the smallest preset gets one rung at its own size.
    """
    if display_width <= 0 or display_height <= 0:
        raise ValueError(f"invalid display size {display_width}x{display_height}")
    portrait = display_height > display_width
    short_side, long_side = sorted((display_width, display_height))
    aspect = long_side / short_side

    rungs: list[Rung] = []
    for preset in PRESETS:
        if preset.short_side > short_side:
            continue
        rungs.append(_rung(preset, preset.short_side, aspect, portrait))
    if not rungs:
        smallest = PRESETS[-1]
        # Bitrate scaled by pixel count from the smallest preset, so a 160x120 clip does not get
        # 800 kb/s; but not so low that x264 starves.
        pixels = display_width * display_height
        scale = min(1.0, pixels / (smallest.short_side * smallest.short_side * 16 / 9))
        bitrate = max(200_000, round(smallest.video_bitrate * scale))
        source_preset = _preset(f"{_even(short_side)}p", _even(short_side), bitrate)
        rungs.append(_rung(source_preset, _even(short_side), aspect, portrait))
    return rungs


def _rung(preset: Preset, short_side: int, aspect: float, portrait: bool) -> Rung:
    long_side = _even(short_side * aspect)
    width, height = (short_side, long_side) if portrait else (long_side, short_side)
    return Rung(
        name=preset.name,
        width=width,
        height=height,
        video_bitrate=preset.video_bitrate,
        maxrate=preset.maxrate,
        bufsize=preset.bufsize,
        audio_bitrate=AUDIO_BITRATE,
    )


# H.264 Annex A limits: (level_idc, max macroblocks per second, max frame size in macroblocks,
# max video bitrate in kb/s for Baseline/Main, max CPB size in kb for Baseline/Main).
_H264_LEVELS: tuple[tuple[int, int, int, int, int], ...] = (
    (30, 40_500, 1_620, 10_000, 10_000),
    (31, 108_000, 3_600, 14_000, 14_000),
    (32, 216_000, 5_120, 20_000, 20_000),
    (40, 245_760, 8_192, 20_000, 25_000),
    (41, 245_760, 8_192, 50_000, 62_500),
    (42, 522_240, 8_704, 50_000, 62_500),
    (50, 589_824, 22_080, 135_000, 135_000),
    (51, 983_040, 36_864, 240_000, 240_000),
    (52, 2_073_600, 36_864, 240_000, 240_000),
)
_HIGH_PROFILE_BITRATE_FACTOR = 1.25  # cpbBrVclFactor 1250 vs 1000 for Baseline/Main


def h264_level(width: int, height: int, fps: float, maxrate: int, bufsize: int) -> int:
    """The lowest level_idc (e.g. 40 for 4.0) whose limits this rung fits, at least 3.0.

    Declaring the lowest fitting level, rather than one fixed level, keeps small rungs playable on
    old devices and makes the CODECS attribute honest.
    """
    frame_mbs = ((width + 15) // 16) * ((height + 15) // 16)
    mbps = frame_mbs * max(fps, 1.0)
    for level_idc, max_mbps, max_fs, max_br_kbps, max_cpb_kb in _H264_LEVELS:
        if level_idc < H264_MIN_LEVEL:
            continue
        if (
            frame_mbs <= max_fs
            and mbps <= max_mbps
            and maxrate <= max_br_kbps * 1000 * _HIGH_PROFILE_BITRATE_FACTOR
            and bufsize <= max_cpb_kb * 1000 * _HIGH_PROFILE_BITRATE_FACTOR
        ):
            return level_idc
    return _H264_LEVELS[-1][0]


def output_frame_rate(source_fps: float) -> float | None:
    """The frame rate to force, or None to keep the source's timing.

    Above MAX_FRAME_RATE we drop to an integer fraction of the source (120 -> 60, 100 -> 50), so
    motion stays even instead of judder from an uneven drop pattern.
    """
    if source_fps <= MAX_FRAME_RATE:
        return None
    divisor = int(-(-source_fps // MAX_FRAME_RATE))
    return source_fps / divisor
