"""choose_ladder(): per-title rungs, never upscaled, orientation-aware, even dimensions."""

from __future__ import annotations

import pytest

from functions.media.codecs import avc1_codec_string
from functions.pipeline.logic.ladder import (
    AUDIO_BITRATE,
    PRESETS,
    choose_ladder,
    h264_level,
    output_frame_rate,
)


def sizes(width: int, height: int) -> list[tuple[int, int]]:
    return [(r.width, r.height) for r in choose_ladder(width, height)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ((1920, 1080), [(1920, 1080), (1280, 720), (854, 480), (640, 360)]),
        ((1280, 720), [(1280, 720), (854, 480), (640, 360)]),
        ((720, 1280), [(720, 1280), (480, 854), (360, 640)]),
        ((1080, 1920), [(1080, 1920), (720, 1280), (480, 854), (360, 640)]),
        ((320, 240), [(320, 240)]),
        ((3840, 2160), [(1920, 1080), (1280, 720), (854, 480), (640, 360)]),
    ],
)
def test_ladder_examples(source: tuple[int, int], expected: list[tuple[int, int]]) -> None:
    # Given a source of this displayed size
    # When the ladder is chosen
    # Then these are the rungs, highest first
    assert sizes(*source) == expected


def test_ladder_never_upscales_and_keeps_the_source_aspect() -> None:
    # Given a 4:3 source between two presets (short side 600)
    rungs = choose_ladder(800, 600)

    # Then only presets at or below the source are used, in 4:3
    assert [r.name for r in rungs] == ["480p", "360p"]
    assert [(r.width, r.height) for r in rungs] == [(640, 480), (480, 360)]


def test_small_source_gets_one_rung_at_its_own_even_size() -> None:
    # Given a source smaller than the smallest preset, with odd dimensions
    rungs = choose_ladder(321, 241)

    # Then there is one rung at (even) source size, with a bitrate below the smallest preset's
    assert len(rungs) == 1
    rung = rungs[0]
    assert (rung.width % 2, rung.height % 2) == (0, 0)
    assert abs(rung.width - 321) <= 1
    assert abs(rung.height - 241) <= 1
    assert 0 < rung.video_bitrate < PRESETS[-1].video_bitrate


@pytest.mark.parametrize(
    "source", [(1920, 1080), (1080, 1920), (1000, 562), (562, 1000), (2560, 1080), (1440, 1080)]
)
def test_every_rung_has_even_dimensions_and_a_consistent_rate_control(source: tuple[int, int]) -> None:
    # Given an assortment of sizes and orientations
    rungs = choose_ladder(*source)

    # Then every rung is even-sized, orientation preserved, bitrates decreasing, VBV sane
    assert rungs
    portrait = source[1] > source[0]
    for rung in rungs:
        assert rung.width % 2 == 0
        assert rung.height % 2 == 0
        assert (rung.height > rung.width) == portrait
        assert rung.video_bitrate < rung.maxrate < rung.bufsize
        assert rung.audio_bitrate == AUDIO_BITRATE
        # Aspect ratio within rounding of the source
        assert rung.width / rung.height == pytest.approx(source[0] / source[1], rel=0.01)
    bitrates = [r.video_bitrate for r in rungs]
    assert bitrates == sorted(bitrates, reverse=True)


def test_preset_table_matches_the_published_ladder() -> None:
    # The one table of encoding parameters: names, short sides and target bitrates
    assert [(p.name, p.short_side, p.video_bitrate) for p in PRESETS] == [
        ("1080p", 1080, 5_000_000),
        ("720p", 720, 3_000_000),
        ("480p", 480, 1_500_000),
        ("360p", 360, 800_000),
    ]


def test_invalid_size_is_refused() -> None:
    with pytest.raises(ValueError):
        choose_ladder(0, 720)


@pytest.mark.parametrize(
    ("size", "fps", "level"),
    [
        ((1920, 1080), 30.0, 40),
        ((1920, 1080), 60.0, 42),
        ((1280, 720), 30.0, 31),
        ((1280, 720), 60.0, 32),
        ((854, 480), 30.0, 31),  # 1620 macroblocks x 30 fps is just over 3.0's 40500/s
        ((854, 480), 25.0, 30),
        ((640, 360), 29.97, 30),
        ((1080, 1920), 30.0, 40),
    ],
)
def test_h264_level_is_the_lowest_that_fits(size: tuple[int, int], fps: float, level: int) -> None:
    # Given a rung of the standard ladder at this frame rate
    preset = next(p for p in PRESETS if p.short_side == min(size))

    # Then the declared level is the lowest whose macroblock and bitrate limits it fits
    assert h264_level(size[0], size[1], fps, preset.maxrate, preset.bufsize) == level


def test_avc1_codec_string() -> None:
    assert avc1_codec_string(100, 0, 40) == "avc1.640028"
    assert avc1_codec_string(100, 0, 31) == "avc1.64001f"
    assert avc1_codec_string(66, 0xC0, 30) == "avc1.42c01e"


@pytest.mark.parametrize(
    ("fps", "expected"), [(30.0, None), (59.94, None), (60.0, None), (120.0, 60.0), (100.0, 50.0)]
)
def test_frame_rate_above_60_is_halved_evenly(fps: float, expected: float | None) -> None:
    assert output_frame_rate(fps) == expected
