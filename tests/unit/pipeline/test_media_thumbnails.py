"""Poster and storyboard: right frame sizes, a sprite whose tiles match the WebVTT cues."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from functions.media import ffmpeg_run
from functions.pipeline.logic import thumbnails
from functions.pipeline.logic.thumbnails import jpeg_size, make_poster, make_storyboard
from functions.shared.errors import MediaFailed

CUE = re.compile(
    r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)"
)


def parse_vtt(text: str) -> list[tuple[float, float, str, tuple[int, int, int, int]]]:
    assert text.startswith("WEBVTT\n")
    cues = []
    for m in CUE.finditer(text):
        g = m.groups()
        start = int(g[0]) * 3600 + int(g[1]) * 60 + int(g[2]) + int(g[3]) / 1000
        end = int(g[4]) * 3600 + int(g[5]) * 60 + int(g[6]) + int(g[7]) / 1000
        cues.append((start, end, g[8], (int(g[9]), int(g[10]), int(g[11]), int(g[12]))))
    return cues


def test_poster_is_a_jpeg_no_larger_than_the_source(clip_av: Path, tmp_path: Path) -> None:
    # Given a 640x360 source and the default 1280 px poster width
    # When the poster is made
    poster = make_poster(str(clip_av), tmp_path / "poster.jpg", duration=4.0)

    # Then it is a 640x360 JPEG (never upscaled)
    assert poster.read_bytes()[:2] == b"\xff\xd8"
    assert jpeg_size(poster) == (640, 360)


def test_poster_is_scaled_down_to_the_requested_width(clip_av: Path, tmp_path: Path) -> None:
    poster = make_poster(str(clip_av), tmp_path / "poster.jpg", duration=4.0, width=321)
    # Then the width is capped (and even) and the aspect is kept
    assert jpeg_size(poster) == (320, 180)


def test_poster_of_a_rotated_source_is_upright(clip_rotated: Path, tmp_path: Path) -> None:
    poster = make_poster(str(clip_rotated), tmp_path / "poster.jpg", duration=2.0)
    assert jpeg_size(poster) == (240, 320)


def test_poster_falls_back_to_the_first_frame_when_the_offset_is_past_the_end(
    clip_av: Path, tmp_path: Path
) -> None:
    # Given a duration that overstates the stream, so the 10% offset lands after the last frame
    # When the poster is made
    poster = make_poster(str(clip_av), tmp_path / "poster.jpg", duration=3600.0)

    # Then it still has a frame
    assert jpeg_size(poster) == (640, 360)


def test_storyboard_sprite_and_vtt_agree(clip_av: Path, tmp_path: Path) -> None:
    # Given a 4 s source and the default interval (1 s for short videos)
    # When the storyboard is made with three columns
    board = make_storyboard(str(clip_av), tmp_path / "sb", duration=4.0, columns=3)

    # Then there are four 160x90 thumbnails on a 3x2 grid
    assert (board.interval, board.count, board.columns, board.rows) == (1.0, 4, 3, 2)
    assert (board.thumb_width, board.thumb_height) == (160, 90)
    assert jpeg_size(board.sprite_path) == (3 * 160, 2 * 90)
    # And one cue per thumbnail, contiguous, covering the video, each pointing inside the sprite
    cues = parse_vtt(board.vtt_path.read_text())
    assert len(cues) == board.count
    assert cues[0][0] == 0.0
    assert cues[-1][1] == pytest.approx(4.0)
    for (_, end, _, _), (start, _, _, _) in itertools.pairwise(cues):
        assert end == pytest.approx(start)
    positions = [xywh for _, _, _, xywh in cues]
    assert positions == [(0, 0, 160, 90), (160, 0, 160, 90), (320, 0, 160, 90), (0, 90, 160, 90)]
    assert {uri for _, _, uri, _ in cues} == {board.sprite_path.name}
    assert board.sprite_path.parent == board.vtt_path.parent


def test_storyboard_interval_keeps_long_videos_to_about_a_hundred_thumbnails() -> None:
    assert thumbnails.default_interval(4.0) == 1.0
    assert thumbnails.default_interval(60.0) == 1.0
    assert thumbnails.default_interval(3600.0) == 36.0
    # And the last cue ends at the duration, not past it
    cues = parse_vtt(thumbnails.storyboard_vtt(3, 2.0, 5.5, 10, 160, 90))
    assert [c[:2] for c in cues] == [(0.0, 2.0), (2.0, 4.0), (4.0, 5.5)]


def test_storyboard_of_a_rotated_source_has_portrait_tiles(clip_rotated: Path, tmp_path: Path) -> None:
    # Given a 2 s clip coded 320x240 that displays as 240x320
    # When a storyboard with a thumbnail a second is made
    board = make_storyboard(str(clip_rotated), tmp_path / "sb", duration=2.0, interval=1.0)

    # Then its tiles are portrait, 160 wide
    assert (board.count, board.thumb_width, board.thumb_height) == (2, 160, 212)
    assert jpeg_size(board.sprite_path) == (320, 212)


@pytest.mark.parametrize(("fixture", "keyframes_only"), [("clip_short_gop", True), ("clip_long_gop", False)])
def test_storyboard_decodes_keyframes_only_when_they_fill_every_slot(
    fixture: str,
    keyframes_only: bool,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a source with a keyframe every 0.5 s, or only one keyframe in 4 s
    source: Path = request.getfixturevalue(fixture)
    commands: list[list[str]] = []
    real_run = ffmpeg_run.run

    def spy(argv: list[str], **kwargs: object) -> ffmpeg_run.CompletedRun:
        commands.append(list(argv))
        return real_run(argv, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ffmpeg_run, "run", spy)

    # When a 1 s storyboard is made
    board = make_storyboard(str(source), tmp_path / "sb", duration=4.0, interval=1.0)

    # Then the cheap keyframe-only decode is used only when it gives every slot its own frame
    ffmpeg_cmd = next(c for c in commands if "-vf" in c)
    assert ("nokey" in ffmpeg_cmd) is keyframes_only
    # And either way the sprite is complete
    assert board.count == 4
    assert jpeg_size(board.sprite_path) == (4 * 160, 120)


def test_default_interval_stretches_to_two_second_keyframes(
    clip_two_second_gop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a 6 s source with a keyframe every 2 s (a common camera/OBS setting)
    commands: list[list[str]] = []
    real_run = ffmpeg_run.run

    def spy(argv: list[str], **kwargs: object) -> ffmpeg_run.CompletedRun:
        commands.append(list(argv))
        return real_run(argv, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ffmpeg_run, "run", spy)

    # When the storyboard interval is left to the default (1 s for 6 s)
    board = make_storyboard(str(clip_two_second_gop), tmp_path / "auto", duration=6.0)

    # Then it stretches to 2 s and stays on the cheap keyframe-only decode
    assert (board.interval, board.count) == (2.0, 3)
    assert "nokey" in next(c for c in commands if "-vf" in c)
    assert len(parse_vtt(board.vtt_path.read_text())) == 3

    # But an interval the caller asked for is kept, at the cost of a fuller decode
    commands.clear()
    board = make_storyboard(str(clip_two_second_gop), tmp_path / "fixed", duration=6.0, interval=1.0)
    assert (board.interval, board.count) == (1.0, 6)
    assert "nokey" not in next(c for c in commands if "-vf" in c)
    assert jpeg_size(board.sprite_path) == (6 * 160, 120)


def test_thumbnail_failure_is_reported(tmp_path: Path) -> None:
    # Given a source that is not media
    fake = tmp_path / "fake.mp4"
    fake.write_text("nope\n")

    # Then both poster and storyboard fail with thumbnail_failed
    with pytest.raises(MediaFailed) as poster_error:
        make_poster(str(fake), tmp_path / "p.jpg", duration=4.0)
    with pytest.raises(MediaFailed) as board_error:
        make_storyboard(str(fake), tmp_path / "sb", duration=4.0)
    assert poster_error.value.reason == board_error.value.reason == "thumbnail_failed"
