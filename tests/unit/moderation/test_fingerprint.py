from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from functions.moderation.logic.fingerprint import (
    FingerprintIndex,
    check_copyright,
    covered_seconds,
    frame_hashes,
    hex_to_uint64,
    informative,
    match,
    popcount64,
    popcount64_swar,
)
from functions.moderation.logic.frames import SampledFrame

RNG = np.random.default_rng(20240611)


def _random_hashes(n: int, rng: np.random.Generator = RNG) -> list[str]:
    """Random 64-bit hashes with 20..44 bits set (informative ones)."""
    result: list[str] = []
    while len(result) < n:
        value = int(rng.integers(0, 2**64 - 1, dtype=np.uint64, endpoint=True))
        if 20 <= value.bit_count() <= 44:
            result.append(f"{value:016x}")
    return result


def _flip(hex_hash: str, bits: int, rng: np.random.Generator = RNG) -> str:
    value = int(hex_hash, 16)
    for bit in rng.choice(64, size=bits, replace=False):
        value ^= 1 << int(bit)
    return f"{value:016x}"


def _timed(hashes: list[str], start: float = 0.0, step: float = 1.0) -> list[tuple[float, str]]:
    return [(start + i * step, h) for i, h in enumerate(hashes)]


# --- hashing ----------------------------------------------------------------------------------


def _picture(path: Path, size: tuple[int, int], *, flat: bool = False) -> SampledFrame:
    image = Image.new("RGB", size, (30, 30, 30))
    if not flat:
        draw = ImageDraw.Draw(image)
        w, h = size
        draw.ellipse((w * 0.1, h * 0.2, w * 0.5, h * 0.9), fill=(230, 200, 40))
        draw.rectangle((w * 0.6, h * 0.1, w * 0.9, h * 0.5), fill=(40, 90, 220))
        draw.line((0, h, w, 0), fill=(255, 255, 255), width=max(1, w // 40))
    image.save(path, quality=90)
    return SampledFrame(t=float(size[0]), path=path)


def test_frame_hashes_are_64_bit_hex_and_survive_rescaling(tmp_path: Path) -> None:
    big = _picture(tmp_path / "big.jpg", (640, 360))
    small = _picture(tmp_path / "small.jpg", (160, 90))
    hashes = frame_hashes([big, small])
    assert [t for t, _ in hashes] == [640.0, 160.0]
    assert all(len(h) == 16 and int(h, 16) >= 0 for _, h in hashes)
    a, b = hex_to_uint64([h for _, h in hashes])
    assert int(popcount64(np.asarray([a ^ b]))[0]) <= 4


def test_flat_frames_are_not_fingerprinted(tmp_path: Path) -> None:
    flat = _picture(tmp_path / "flat.jpg", (320, 180), flat=True)
    busy = _picture(tmp_path / "busy.jpg", (320, 180))
    assert [t for t, _ in frame_hashes([flat, busy])] == [busy.t]


def test_popcount_paths_agree() -> None:
    values = RNG.integers(0, 2**64 - 1, size=10_000, dtype=np.uint64, endpoint=True)
    values[:3] = [0, 2**64 - 1, 1 << 63]
    expected = np.asarray([int(v).bit_count() for v in values], dtype=np.uint8)
    assert np.array_equal(popcount64_swar(values), expected)
    assert np.array_equal(popcount64(values), expected)


def test_informative_excludes_hashes_near_all_zeros_or_all_ones() -> None:
    hashes = hex_to_uint64(
        ["0000000000000000", "000000000000001f", "000000000000003f", "ffffffffffffffc0", "ffffffffffffffe0"]
    )
    assert informative(hashes, 10).tolist() == [False, False, True, True, False]


# --- matching ---------------------------------------------------------------------------------


def test_covered_seconds_is_the_union_of_sample_spans() -> None:
    assert covered_seconds([], 1.0) == 0
    assert covered_seconds([0, 1, 2], 1.0) == 3
    assert covered_seconds([0, 0.3, 1, 5], 1.0) == 3  # the scene sample at 0.3 adds nothing
    assert covered_seconds([4, 0], 0.5) == 1


def test_a_copy_matches_and_unrelated_videos_do_not() -> None:
    original = _random_hashes(10)
    protected = {"orig": _timed(original), "other": _timed(_random_hashes(10))}
    candidate = _timed([_flip(h, 4) for h in original[2:9]], start=100)  # 7 s of it, 4 bits off
    [found] = match(candidate, protected, max_distance=6, min_matched_seconds=5, sample_interval=1.0)
    assert found.video_id == "orig"
    assert found.matched_seconds == 7
    assert found.distance_median == 4
    assert found.pairs[:2] == [(100.0, 2.0, 4), (101.0, 3.0, 4)]
    assert len(found.pairs) == 5


def test_too_few_matching_seconds_is_not_a_match() -> None:
    original = _random_hashes(10)
    candidate = _timed(original[:4] + _random_hashes(6))
    assert (
        match(candidate, {"orig": _timed(original)}, max_distance=6, min_matched_seconds=5, sample_interval=1)
        == []
    )
    [found] = match(
        candidate, {"orig": _timed(original)}, max_distance=6, min_matched_seconds=4, sample_interval=1
    )
    assert found.matched_seconds == 4


def test_distance_over_the_limit_does_not_match() -> None:
    original = _random_hashes(8)
    candidate = _timed([_flip(h, 11) for h in original])
    protected = {"orig": _timed(original)}
    assert match(candidate, protected, max_distance=10, min_matched_seconds=1, sample_interval=1) == []
    assert match(candidate, protected, max_distance=11, min_matched_seconds=1, sample_interval=1) != []


def test_each_candidate_frame_takes_its_closest_protected_frame() -> None:
    target = _random_hashes(1)[0]
    protected = {"v": [(0.0, _flip(target, 5)), (7.0, target), (9.0, _flip(target, 2))]}
    [found] = match([(3.0, target)], protected, max_distance=10, min_matched_seconds=1, sample_interval=1)
    assert found.pairs == [(3.0, 7.0, 0)]


def test_featureless_hashes_never_match() -> None:
    dark = [(float(i), "0000000000000001") for i in range(10)]
    protected = {"fade": [(float(i), "0000000000000000") for i in range(10)]}
    assert match(dark, protected, max_distance=10, min_matched_seconds=1, sample_interval=1) == []


def test_several_protected_videos_are_ordered_by_matched_time() -> None:
    a, b = _random_hashes(10), _random_hashes(10)
    candidate = _timed(a[:6] + b[:8])
    protected = {"a": _timed(a), "b": _timed(b), "c": _timed(_random_hashes(5))}
    found = match(candidate, protected, max_distance=3, min_matched_seconds=5, sample_interval=1)
    assert [(m.video_id, m.matched_seconds) for m in found] == [("b", 8), ("a", 6)]


def test_check_copyright_rejects_with_evidence_and_can_exclude_itself() -> None:
    original = _random_hashes(8)
    protected = {"orig": _timed(original)}
    candidate = _timed(original)
    result = check_copyright(candidate, protected, max_distance=10, min_matched_seconds=5, sample_interval=1)
    assert result.check == "copyright"
    assert result.verdict == "reject"
    [finding] = result.findings
    assert finding.code == "copyright_match"
    assert finding.evidence["video_id"] == "orig"
    assert finding.evidence["matched_seconds"] == 8
    assert finding.evidence["samples"][0] == {"t": 0.0, "t_protected": 0.0, "distance": 0}
    excluded = check_copyright(
        candidate,
        protected,
        max_distance=10,
        min_matched_seconds=5,
        sample_interval=1,
        exclude_video_id="orig",
    )
    assert excluded.verdict == "pass"
    empty = check_copyright([], protected, max_distance=10, min_matched_seconds=5, sample_interval=1)
    assert (empty.verdict, empty.findings) == ("pass", [])


def test_300_candidate_frames_against_100k_protected_frames_is_fast() -> None:
    rng = np.random.default_rng(7)
    protected = {f"video{v:03d}": _timed(_random_hashes(250, rng)) for v in range(400)}
    source = protected["video123"]
    candidate = _timed([_flip(h, 3, rng) for _, h in source[:100]] + _random_hashes(200, rng))
    index = FingerprintIndex.from_registry(protected)
    assert len(index) == 100_000
    started = time.perf_counter()
    found = match(candidate, index, max_distance=10, min_matched_seconds=5, sample_interval=1)
    elapsed = time.perf_counter() - started
    assert [(m.video_id, m.matched_seconds) for m in found] == [("video123", 100)]
    assert elapsed < 3.0, f"{elapsed:.2f} s"  # ~0.1 s on 2 cores; generous for a busy CI machine


def test_malformed_hashes_are_refused() -> None:
    with pytest.raises(ValueError, match="16 hex digits"):
        match(
            [(0.0, "abc")], {"v": [(0.0, "0" * 16)]}, max_distance=1, min_matched_seconds=0, sample_interval=1
        )
