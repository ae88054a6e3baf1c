"""End to end: a re-encoded copy of a protected video is caught, unrelated videos are not.

The protected clip is a Mandelbrot zoom (structure at every scale; 10x in 20 s, so every second
looks different) at 1280x720, 4 Mb/s. The copy is re-encoded to 640x360 at CRF 35 capped at 300 kb/s: another
resolution, another bitrate, visibly blocky. Unrelated clips: an elementary cellular automaton
and ffmpeg's testsrc2 pattern, at the copy's size and rate. The thresholds are the defaults of
``Settings`` (COPYRIGHT_MAX_HAMMING_DISTANCE, COPYRIGHT_MIN_MATCHED_SECONDS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from functions.moderation.dal import fingerprints
from functions.moderation.logic.fingerprint import check_copyright, frame_hashes, hex_to_uint64, popcount64
from functions.moderation.logic.frames import sample_frames, sampling_interval
from functions.shared.settings import Settings
from tests.unit.moderation.conftest import X264_FAST, ffmpeg, lavfi

SETTINGS = Settings()
SECONDS = 8
Hashes = list[tuple[float, str]]


@pytest.fixture(scope="session")
def protected_clip(moderation_media: Path) -> Path:
    return lavfi(
        "mandelbrot=size=320x180:rate=10:maxiter=256:end_pts=20,scale=1280:720",
        SECONDS,
        moderation_media / "protected.mp4",
        *X264_FAST,
        "-b:v",
        "4M",
    )


def _reencode(source: Path, out: Path, *before_input: str) -> Path:
    ffmpeg(
        *before_input,
        "-i",
        str(source),
        "-vf",
        "scale=640:360",
        *X264_FAST,
        "-crf",
        "35",
        "-maxrate",
        "300k",
        "-bufsize",
        "600k",
        str(out),
    )
    return out


@pytest.fixture(scope="session")
def copy_clip(protected_clip: Path, moderation_media: Path) -> Path:
    return _reencode(protected_clip, moderation_media / "copy.mp4")


@pytest.fixture(scope="session")
def excerpt_clip(protected_clip: Path, moderation_media: Path) -> Path:
    """The last 6 s of the protected clip, re-encoded the same way."""
    return _reencode(protected_clip, moderation_media / "excerpt.mp4", "-ss", "2")


@pytest.fixture(scope="session")
def unrelated_clips(moderation_media: Path) -> list[Path]:
    return [
        lavfi("cellauto=size=320x180:rate=10:seed=7:rule=110,scale=640:360:flags=neighbor", SECONDS,
              moderation_media / "cellauto.mp4"),
        lavfi("testsrc2=size=640x360:rate=10", SECONDS, moderation_media / "testsrc2.mp4"),
    ]  # fmt: skip


def _fingerprint(clip: Path, out: Path, duration: float = SECONDS) -> Hashes:
    frames = sample_frames(
        str(clip),
        out,
        duration=duration,
        fps=SETTINGS.frame_sample_fps,
        scene_threshold=SETTINGS.frame_scene_threshold,
        max_samples=SETTINGS.frame_max_samples,
        timeout=60,
    )
    return frame_hashes(frames)


@pytest.fixture(scope="session")
def protected_hashes(protected_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Hashes:
    hashes = _fingerprint(protected_clip, tmp_path_factory.mktemp("protected-frames"))
    assert len(hashes) == SECONDS  # one a second, every frame has structure
    return hashes


def _check(candidate: Hashes, registry: dict[str, Hashes], duration: float = SECONDS) -> Any:
    return check_copyright(
        candidate,
        registry,
        max_distance=SETTINGS.copyright_max_distance,
        min_matched_seconds=SETTINGS.copyright_min_matched_seconds,
        sample_interval=sampling_interval(
            duration, fps=SETTINGS.frame_sample_fps, max_samples=SETTINGS.frame_max_samples
        ),
    )


def _distances(a: Hashes, b: Hashes) -> np.ndarray:
    left = hex_to_uint64([h for _, h in a])
    right = hex_to_uint64([h for _, h in b])
    return popcount64(left[:, None] ^ right[None, :]).astype(int)


def test_a_reencoded_copy_matches_the_protected_video(
    protected_hashes: Hashes, copy_clip: Path, tmp_path: Path, platform_table: Any
) -> None:
    protected_id = "c0ffee" + "0" * 26
    fingerprints.save_fingerprints(protected_id, protected_hashes, 1.0)
    assert fingerprints.protect(protected_id, by="admin") == SECONDS
    registry = fingerprints.registry()

    candidate = _fingerprint(copy_clip, tmp_path)
    result = _check(candidate, registry)
    assert result.verdict == "reject"
    [finding] = result.findings
    assert finding.code == "copyright_match"
    assert finding.evidence["video_id"] == protected_id
    assert finding.evidence["matched_seconds"] >= SETTINGS.copyright_min_matched_seconds
    assert finding.evidence["matched_seconds"] == SECONDS
    # same instants: the copy's frame at t matches the protected frame at t, with room to spare
    assert all(s["t"] == s["t_protected"] for s in finding.evidence["samples"])
    same_instant = np.diag(_distances(candidate, protected_hashes))
    assert same_instant.max() <= SETTINGS.copyright_max_distance - 2, same_instant


def test_an_excerpt_of_the_protected_video_matches(
    protected_hashes: Hashes, excerpt_clip: Path, tmp_path: Path
) -> None:
    candidate = _fingerprint(excerpt_clip, tmp_path, duration=SECONDS - 2)
    result = _check(candidate, {"protected": protected_hashes}, duration=SECONDS - 2)
    assert result.verdict == "reject"
    [finding] = result.findings
    assert finding.evidence["matched_seconds"] == SECONDS - 2
    assert [(s["t"], s["t_protected"]) for s in finding.evidence["samples"]][:3] == [(0, 2), (1, 3), (2, 4)]


def test_unrelated_videos_do_not_match(
    protected_hashes: Hashes, unrelated_clips: list[Path], tmp_path: Path
) -> None:
    for n, clip in enumerate(unrelated_clips):
        candidate = _fingerprint(clip, tmp_path / str(n))
        assert candidate, clip
        result = _check(candidate, {"protected": protected_hashes})
        assert (result.verdict, result.findings) == ("pass", []), clip
        # not a near miss either: every frame pair is clearly further apart than the limit
        closest = int(_distances(candidate, protected_hashes).min())
        assert closest >= SETTINGS.copyright_max_distance + 3, (clip, closest)
