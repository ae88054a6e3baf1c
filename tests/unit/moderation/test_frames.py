from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from functions.media import ffmpeg_run
from functions.moderation.logic import frames as frames_module
from functions.moderation.logic.frames import (
    SampledFrame,
    escape_filter_value,
    sample_frames,
    sampling_interval,
    select_expression,
)
from functions.shared.errors import MediaFailed


def _frame_number(frame: SampledFrame) -> int:
    """Read the time code back: left-half luma 16 + 5 N comes out of the JPEG as ~5.82 N."""
    with Image.open(frame.path) as image:
        grey = np.asarray(image.convert("L"), dtype=np.float64)
    left = grey[:, : grey.shape[1] // 2 - 4].mean()
    return round(left * 219 / 255 / 5)


def _right_is_white(frame: SampledFrame) -> bool:
    with Image.open(frame.path) as image:
        grey = np.asarray(image.convert("L"), dtype=np.float64)
    return bool(grey[:, grey.shape[1] // 2 + 4 :].mean() > 128)


def test_steady_samples_plus_the_scene_cut_with_exact_timestamps(timecode_clip: Path, tmp_path: Path) -> None:
    sampled = sample_frames(
        str(timecode_clip), tmp_path, duration=4.0, fps=2, scene_threshold=0.3, max_samples=300, timeout=60
    )
    times = [f.t for f in sampled]
    # every 0.5 s from the first frame; the cut at 2.3 s restarts the rhythm
    assert times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.3, 2.8, 3.3, 3.8])
    for frame in sampled:
        assert frame.path.is_file()
        assert _frame_number(frame) == round(frame.t * 10), frame
        assert _right_is_white(frame) == (frame.t >= 2.3)


def test_scene_threshold_one_disables_scene_samples(timecode_clip: Path, tmp_path: Path) -> None:
    sampled = sample_frames(
        str(timecode_clip), tmp_path, duration=4.0, fps=1, scene_threshold=1.0, max_samples=300, timeout=60
    )
    assert [f.t for f in sampled] == pytest.approx([0.0, 1.0, 2.0, 3.0])
    assert [_frame_number(f) for f in sampled] == [0, 10, 20, 30]


def test_long_videos_get_a_lower_rate_so_the_cap_holds(timecode_clip: Path, tmp_path: Path) -> None:
    assert sampling_interval(4.0, fps=10, max_samples=3) == pytest.approx(4 / 3)
    assert sampling_interval(4.0, fps=1, max_samples=300) == 1.0
    assert sampling_interval(None, fps=4, max_samples=3) == 0.25
    sampled = sample_frames(
        str(timecode_clip), tmp_path, duration=4.0, fps=10, scene_threshold=0.3, max_samples=3, timeout=60
    )
    assert [f.t for f in sampled] == pytest.approx([0.0, 1.4, 2.8])


def test_the_cap_holds_even_when_the_duration_is_wrong(timecode_clip: Path, tmp_path: Path) -> None:
    sampled = sample_frames(
        str(timecode_clip), tmp_path, duration=None, fps=10, scene_threshold=0.3, max_samples=5, timeout=60
    )
    assert [f.t for f in sampled] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert sorted(p.name for p in tmp_path.glob("frame_*.jpg")) == [f"frame_{i:05d}.jpg" for i in range(5)]


def test_frames_are_scaled_down_never_up_and_stale_frames_are_removed(
    timecode_clip: Path, tmp_path: Path
) -> None:
    (tmp_path / "frame_00099.jpg").write_bytes(b"stale")
    small = sample_frames(
        str(timecode_clip),
        tmp_path,
        duration=4,
        fps=1,
        scene_threshold=1,
        max_samples=2,
        width=64,
        timeout=60,
    )
    assert not (tmp_path / "frame_00099.jpg").exists()
    with Image.open(small[0].path) as image:
        assert image.size == (64, 48)
    big = sample_frames(
        str(timecode_clip),
        tmp_path,
        duration=4,
        fps=1,
        scene_threshold=1,
        max_samples=1,
        width=1000,
        timeout=60,
    )
    with Image.open(big[0].path) as image:
        assert image.size == (160, 120)


def test_an_awkward_output_directory_name_is_escaped(timecode_clip: Path, tmp_path: Path) -> None:
    odd = tmp_path / "a,b:c'd [x];e\\f"
    sampled = sample_frames(
        str(timecode_clip), odd, duration=4, fps=1, scene_threshold=1, max_samples=2, timeout=60
    )
    assert [f.t for f in sampled] == [0.0, 2.0]
    assert all(f.path.parent == odd for f in sampled)
    # level 1 (option value): ":" -> "\:", "'" -> "\'"; level 2 (graph): "\" -> "\\", "," -> "\,"
    assert escape_filter_value("a,b:c'd") == r"a\,b\\:c\\\'d"


def test_select_expression_shape() -> None:
    expr = select_expression(0.5, scene_threshold=0.4, scene_min_gap=0.25)
    assert expr == (
        "isnan(prev_selected_t)+gte(t-prev_selected_t\\,0.499000)"
        "+gt(scene\\,0.400000)*gte(t-prev_selected_t\\,0.249000)"
    )
    assert "scene" not in select_expression(1.0, scene_threshold=1.0, scene_min_gap=0.25)


def test_missing_source_is_a_media_failure(tmp_path: Path) -> None:
    with pytest.raises(MediaFailed) as info:
        sample_frames(
            str(tmp_path / "nope.mp4"), tmp_path / "out", duration=1, fps=1, scene_threshold=0.4,
            max_samples=10, timeout=30,
        )  # fmt: skip
    assert info.value.reason == "frame_sampling_failed"


def test_not_a_video_is_a_media_failure(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.mp4"
    bogus.write_bytes(b"this is not a video" * 100)
    with pytest.raises(MediaFailed, match="frame_sampling_failed"):
        sample_frames(
            str(bogus), tmp_path / "out", duration=1, fps=1, scene_threshold=0.4, max_samples=10, timeout=30
        )


def test_a_local_playlist_cannot_make_ffmpeg_fetch_urls(timecode_clip: Path, tmp_path: Path) -> None:
    playlist = tmp_path / "evil.m3u8"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nhttp://127.0.0.1:9/segment.ts\n#EXT-X-ENDLIST\n"
    )
    with pytest.raises(MediaFailed, match="frame_sampling_failed"):
        sample_frames(
            str(playlist), tmp_path / "out", duration=4, fps=1, scene_threshold=0.4, max_samples=5, timeout=30
        )


def test_the_protocol_whitelist_follows_the_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: Any) -> ffmpeg_run.CompletedRun:
        seen.append(list(argv))
        return ffmpeg_run.CompletedRun(returncode=1, stderr_tail="boom")

    monkeypatch.setattr(frames_module.ffmpeg_run, "run", fake_run)
    for source in ("https://bucket.example/key?X-Amz-Signature=abc", "/tmp/local.mp4"):
        with pytest.raises(MediaFailed):
            sample_frames(
                source, tmp_path, duration=10, fps=1, scene_threshold=0.4, max_samples=10, timeout=5
            )
    assert seen[0][seen[0].index("-protocol_whitelist") + 1] == "http,https,tls,tcp"
    assert seen[1][seen[1].index("-protocol_whitelist") + 1] == "file"
    for argv in seen:
        assert "-an" in argv
        assert "nokey" not in argv
        assert argv[argv.index("-frames:v") + 1] == "10"


def test_a_timeout_is_a_media_failure(timecode_clip: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaFailed, match="longer than"):
        sample_frames(
            str(timecode_clip),
            tmp_path,
            duration=4,
            fps=1,
            scene_threshold=0.4,
            max_samples=10,
            timeout=0.001,
        )
