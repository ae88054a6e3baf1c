"""sample_range: moderation sampled in time ranges on one global grid of sample times.

The source is 20 s at 25 fps, x264 with B-frames and a keyframe every 1.48 s (never on a
multiple of 4 s): the ranges start at the keyframe at or before each multiple of 4 s, as the
split cuts them. The left quarters of the picture carry a time code (the frame number, readable
back from the JPEG); the right half cuts to white at 9.32 s (mid-range) and back to black at
14.8 s, which is a keyframe and a range boundary.
"""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from functions.media import ffmpeg_run
from functions.moderation.logic import frames as frames_module
from functions.moderation.logic.frames import (
    SampledFrame,
    range_select_expression,
    sample_frames,
    sample_range,
    sampling_interval,
)
from functions.shared.errors import MediaFailed
from tests.unit.moderation.conftest import ffmpeg

RATE = 25
SECONDS = 20
FRAME = 1 / RATE
CUT_IN, CUT_OUT = 9.32, 14.8  # first white frame, first black frame again
# Left quarter: 16 + 4 x (frame number mod 50, running backwards on odd fifties, so that no frame
# jumps in brightness); second quarter: 16 + 20 x (frame number // 50).
TIMECODE = (
    "color=c=black:s=320x240:r=25,format=yuv420p,geq=lum='"
    "if(lt(X\\,W/4)\\,16+4*if(mod(floor(N/50)\\,2)\\,49-mod(N\\,50)\\,mod(N\\,50))\\,"
    "if(lt(X\\,W/2)\\,16+20*floor(N/50)\\,if(between(T\\,9.3\\,14.79)\\,235\\,16)))':cb=128:cr=128"
)
X264_BFRAMES = ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-g", "37", "-keyint_min", "37",
                "-sc_threshold", "0", "-pix_fmt", "yuv420p"]  # fmt: skip


@dataclass(frozen=True)
class Source:
    path: Path
    offset: float  # format start_time
    duration: float
    frame_times: list[float]  # raw pts of every frame, sorted
    boundaries: list[float]  # raw: each range's start, then the last range's end

    @property
    def ranges(self) -> list[tuple[float, float]]:
        return list(zip(self.boundaries, self.boundaries[1:], strict=False))


def _ffprobe(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)], check=True, capture_output=True
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def _describe(path: Path) -> Source:
    fmt = _ffprobe(path, "-show_entries", "format=start_time,duration")["format"]
    offset, duration = float(fmt["start_time"]), float(fmt["duration"])
    packets = _ffprobe(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags")["packets"]
    times = sorted(float(p["pts_time"]) for p in packets)
    keyframes = sorted(float(p["pts_time"]) for p in packets if "K" in p["flags"])
    cuts = sorted({max(k for k in keyframes if k <= offset + m) for m in range(4, SECONDS, 4)})
    # as the split makes them: the first range from the container's start, the last to its end
    return Source(path, offset, duration, times, [offset, *cuts, offset + duration])


@pytest.fixture(scope="module")
def source(moderation_media: Path) -> Source:
    path = moderation_media / "ranges.mp4"
    ffmpeg("-f", "lavfi", "-i", TIMECODE, "-t", str(SECONDS), *X264_BFRAMES, str(path))
    described = _describe(path)
    assert described.offset == 0.0
    # keyframes not on the 4 s grid, so the ranges are uneven
    assert described.boundaries[1:-1] == pytest.approx([2.96, 7.4, 11.84, 14.8])
    return described


@pytest.fixture(scope="module")
def shifted(source: Source, moderation_media: Path) -> Source:
    """The same video in MPEG-TS with a non-zero start time (no re-encode)."""
    path = moderation_media / "ranges-shifted.ts"
    ffmpeg("-i", str(source.path), "-c", "copy", "-output_ts_offset", "1.5", str(path))
    described = _describe(path)
    assert described.offset > 1.4
    return described


def _frame_number(frame: SampledFrame) -> int:
    """The time code: JPEG luma is full range, (Y - 16) * 255 / 219."""
    with Image.open(frame.path) as image:
        grey = np.asarray(image.convert("L"), dtype=np.float64) * 219 / 255
    quarter = grey.shape[1] // 4
    fine = round(grey[:, 4 : quarter - 4].mean() / 4)
    coarse = round(grey[:, quarter + 4 : 2 * quarter - 4].mean() / 20)
    return 50 * coarse + (49 - fine if coarse % 2 else fine)


def _right_is_white(frame: SampledFrame) -> bool:
    with Image.open(frame.path) as image:
        grey = np.asarray(image.convert("L"), dtype=np.float64)
    return bool(grey[:, grey.shape[1] // 2 + 4 :].mean() > 128)


def _whole(src: Source, out: Path, **kw: Any) -> list[SampledFrame]:
    """The reference: one global-grid sampler over the whole video (a single range)."""
    return sample_range(
        str(src.path), out, start=src.frame_times[0], end=src.boundaries[-1] + 1,
        offset=src.offset, first=True, duration=src.duration, timeout=60, **kw,
    )  # fmt: skip


def _by_range(src: Source, out: Path, **kw: Any) -> list[list[SampledFrame]]:
    return [
        sample_range(
            str(src.path),
            out / f"r{i}",
            start=start,
            end=end,
            offset=src.offset,
            first=i == 0,
            duration=src.duration,
            timeout=60,
            **kw,
        )
        for i, (start, end) in enumerate(src.ranges)
    ]


def _grid_frames(src: Source, interval: float) -> list[float]:
    """Independent oracle: the first frame at or after each grid point, in player time."""
    player = [t - src.offset for t in src.frame_times]
    kept: list[float] = []
    for j in range(math.ceil(src.duration / interval)):
        at_or_after = [t for t in player if t + 1e-3 >= j * interval]
        if at_or_after and (not kept or kept[-1] != at_or_after[0]):
            kept.append(at_or_after[0])
    return kept


@pytest.mark.parametrize(
    ("fps", "max_samples"),
    [
        (10, 19),  # the cap stretches the interval to 20/19 s (> 1/fps); a grid point at 7.39 s
        # falls between the last frame of a range (7.36) and the first of the next (7.40)
        (1, 300),  # 1 s grid, every grid point on a frame
    ],
)
def test_ranges_together_keep_the_global_grid_frames_once_each(
    source: Source, tmp_path: Path, fps: float, max_samples: int
) -> None:
    # Given the sampling settings, without scene samples
    kw: dict[str, Any] = {"fps": fps, "scene_threshold": 1.0, "max_samples": max_samples}
    interval = sampling_interval(source.duration, fps=fps, max_samples=max_samples)

    # When the video is sampled whole and range by range
    whole = _whole(source, tmp_path / "whole", **kw)
    ranges = _by_range(source, tmp_path, **kw)
    union = sorted(f.t for r in ranges for f in r)

    # Then the ranges keep exactly the frames of the whole-video grid sampler, none twice
    assert union == [f.t for f in whole]
    assert len(set(union)) == len(union)
    # ... which are the first frames at or after each grid point j * I
    assert union == pytest.approx(_grid_frames(source, interval), abs=1e-6)
    assert len(union) == math.ceil(source.duration / interval) == min(max_samples, SECONDS * fps)
    for j, t in enumerate(union):
        assert 0 <= t - j * interval < FRAME + 1e-3
    # ... and each JPEG is the frame its time says
    for frame in (f for r in ranges for f in r):
        assert _frame_number(frame) == round(frame.t * RATE), frame


def test_a_grid_point_just_before_a_boundary_is_kept_by_the_range_before_it(
    source: Source, tmp_path: Path
) -> None:
    # Given an interval that puts the grid point 7 x 20/19 = 7.368 s between the last frame of the
    # range [2.96, 7.4) (7.36 s) and the first frame of the next one (7.40 s)
    ranges = _by_range(source, tmp_path, fps=10, scene_threshold=1.0, max_samples=19)
    # Then the earlier range, which reads one frame past its end, keeps the 7.40 s frame
    (before, after) = ranges[1], ranges[2]
    assert before[-1].t == pytest.approx(7.4)
    assert all(f.t > 7.4 for f in after)
    assert _frame_number(before[-1]) == 185


def test_a_range_with_no_grid_point_and_no_scene_change_keeps_nothing(source: Source, tmp_path: Path) -> None:
    # Given a 10 s grid (0, 10): the range [2.96, 7.4) holds no grid point and no cut
    (start, end) = source.ranges[1]
    kept = sample_range(
        str(source.path), tmp_path, start=start, end=end, offset=0.0, first=False, duration=20, fps=1,
        scene_threshold=0.3, max_samples=2, timeout=60,
    )  # fmt: skip
    assert kept == []
    # while the first range keeps the first frame (grid point 0)
    (start, end) = source.ranges[0]
    first = sample_range(
        str(source.path), tmp_path, start=start, end=end, offset=0.0, first=True, duration=20, fps=1,
        scene_threshold=0.3, max_samples=2, timeout=60,
    )  # fmt: skip
    assert [f.t for f in first] == [0.0]


def test_scene_cuts_are_kept_mid_range_and_at_a_range_boundary(source: Source, tmp_path: Path) -> None:
    # Given a 1 s grid plus scene samples
    kw: dict[str, Any] = {"fps": 1, "scene_threshold": 0.3, "max_samples": 300}
    whole = _whole(source, tmp_path / "whole", **kw)
    ranges = _by_range(source, tmp_path, **kw)
    union = sorted(f.t for r in ranges for f in r)

    # Then both cuts are sampled: 9.32 s inside a range, 14.8 s (a keyframe where a range starts)
    # by the range before it, which sees the frame before the cut
    grid = [float(s) for s in range(SECONDS)]
    assert union == [f.t for f in whole] == sorted([*grid, CUT_IN, CUT_OUT])
    assert [f.t for f in ranges[3]][-1] == CUT_OUT
    cut_frames = {f.t: f for r in ranges for f in r if f.t in (CUT_IN, CUT_OUT)}
    assert _right_is_white(cut_frames[CUT_IN]) and not _right_is_white(cut_frames[CUT_OUT])
    assert _frame_number(cut_frames[CUT_IN]) == 233
    # ... as the single sampler samples them
    single = sample_frames(str(source.path), tmp_path / "single", duration=20, timeout=60, **kw)
    assert {CUT_IN, CUT_OUT} <= {f.t for f in single}


def test_scene_frames_keep_their_distance_from_the_range_start(source: Source, tmp_path: Path) -> None:
    # Given a range starting at 7.4 s with a 4 s scene gap (20 s / 5 samples): the cut at 9.32 s
    # is 1.92 s after the range's start, and the range cannot know whether the previous range
    # kept the 7.4 s frame: it counts the gap from its start and leaves the cut out
    (start, end) = source.ranges[2]
    kept = sample_range(
        str(source.path), tmp_path, start=start, end=end, offset=0.0, first=False, duration=20, fps=1,
        scene_threshold=0.3, max_samples=5, timeout=60,
    )  # fmt: skip
    assert [f.t for f in kept] == [8.0]  # the grid point 8.0 (I = 4 s), no scene frame


def test_times_are_player_times_when_the_container_starts_late(
    source: Source, shifted: Source, tmp_path: Path
) -> None:
    # Given the same video in a container whose timestamps start at ~2.9 s
    kw: dict[str, Any] = {"fps": 10, "scene_threshold": 0.3, "max_samples": 19}
    reference = sorted(f.t for r in _by_range(source, tmp_path / "mp4", **kw) for f in r)

    # When its ranges are given in raw timestamps with the offset
    ranges = _by_range(shifted, tmp_path / "ts", **kw)
    # Then the frames and their times are those of the unshifted video
    assert sorted(f.t for r in ranges for f in r) == reference
    for frame in (f for r in ranges for f in r):
        assert _frame_number(frame) == round(frame.t * RATE), frame
    # ... and so they are when the ranges come in player time without an offset (split by copy)
    by_copy = Source(
        shifted.path, 0.0, shifted.duration, [t - shifted.offset for t in shifted.frame_times],
        [b - shifted.offset for b in shifted.boundaries],
    )  # fmt: skip
    assert sorted(f.t for r in _by_range(by_copy, tmp_path / "copy", **kw) for f in r) == reference


def test_the_last_range_can_run_to_the_end_of_the_file(source: Source, tmp_path: Path) -> None:
    # Given a last range whose stated end (16 s) falls short of the frames (to 19.96 s)
    kw: dict[str, Any] = {"offset": 0.0, "first": False, "duration": 20, "fps": 1, "scene_threshold": 1.0,
                          "max_samples": 300, "timeout": 60}  # fmt: skip
    short = sample_range(str(source.path), tmp_path / "short", start=14.8, end=16.0, **kw)
    # When it is read to the end of the file instead, every frame is seen
    open_ended = sample_range(str(source.path), tmp_path / "open", start=14.8, end=math.inf, **kw)
    assert [f.t for f in short] == [15.0, 16.0]
    assert [f.t for f in open_ended] == [15.0, 16.0, 17.0, 18.0, 19.0]
    assert "lt(t" not in range_select_expression(
        start=14.8, end=math.inf, interval=1.0, scene_threshold=1.0, scene_min_gap=0.25, first=False
    )


def test_a_range_that_decodes_nothing_is_a_media_failure(source: Source, tmp_path: Path) -> None:
    with pytest.raises(MediaFailed) as info:
        sample_range(
            str(source.path), tmp_path, start=100.0, end=104.0, offset=0.0, first=False, duration=20,
            fps=1, scene_threshold=0.3, max_samples=10, timeout=60,
        )  # fmt: skip
    assert info.value.reason == "frame_sampling_failed"
    assert "decoded no video frame" in str(info.value)


def test_a_range_must_end_after_it_starts(source: Source, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ends after"):
        sample_range(
            str(source.path), tmp_path, start=4.0, end=4.0, offset=0.0, first=False, duration=20,
            fps=1, scene_threshold=0.3, max_samples=10, timeout=60,
        )  # fmt: skip


def test_the_range_is_read_with_input_seeking_on_player_times(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: Any) -> ffmpeg_run.CompletedRun:
        seen.append(list(argv))
        return ffmpeg_run.CompletedRun(returncode=1, stderr_tail="boom")

    monkeypatch.setattr(frames_module.ffmpeg_run, "run", fake_run)
    with pytest.raises(MediaFailed, match="boom"):
        sample_range(
            "https://bucket.example/key?X-Amz-Signature=abc", tmp_path, start=12.4, end=16.4,
            offset=1.4, first=False, duration=60, fps=1, scene_threshold=0.4, max_samples=300, timeout=5,
        )  # fmt: skip
    (argv,) = seen
    before_input = argv[: argv.index("-i")]
    assert {"-copyts", "-start_at_zero"} <= set(before_input)
    assert before_input[before_input.index("-ss") + 1] == "11.000000"
    assert before_input[before_input.index("-to") + 1] == "15.001000"  # one frame past the end too
    assert argv[argv.index("-protocol_whitelist") + 1] == "http,https,tls,tcp"
    assert argv[argv.index("-frames:v") + 1] == "300"
    # the last range, read to the end of the file: no -to
    with pytest.raises(MediaFailed):
        sample_range(
            "/tmp/local.mp4", tmp_path, start=12.4, end=math.inf, offset=1.4, first=False, duration=60,
            fps=1, scene_threshold=0.4, max_samples=300, timeout=5,
        )  # fmt: skip
    assert "-to" not in seen[1]


def test_range_select_expression_shape() -> None:
    kw: dict[str, Any] = {
        "start": 4.0,
        "end": 8.0,
        "interval": 1.0,
        "scene_threshold": 0.4,
        "scene_min_gap": 0.25,
    }
    later = range_select_expression(first=False, **kw)
    first = range_select_expression(first=True, **kw)
    # a later range leaves its first frame (at its start) to the range before it
    assert later.startswith("gt(t\\,(4.001000))*lt(t\\,(8.001000))*")
    assert "if(isnan(prev_t)\\,(4.000000)\\,prev_t)" in later
    # the first range decides its first frame, which owns the grid points up to it
    assert first.startswith("gte(t\\,(3.999000))*lt(t\\,(8.001000))*")
    assert "if(isnan(prev_t)\\,(3.000000)\\,prev_t)" in first
    assert "not(isnan(prev_t))*gt(scene\\,0.400000)" in later
    assert "scene" not in range_select_expression(first=False, **{**kw, "scene_threshold": 1.0})
