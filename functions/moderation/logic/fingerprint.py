"""Copyright check: perceptual hashes of sampled frames against a registry of protected videos.

Each sampled frame gets a 64-bit difference hash (``imagehash.dhash``, 8x8: the sign of the
brightness step between horizontally adjacent cells of a 9x8 grey thumbnail). It survives
re-encoding, rescaling and moderate colour changes, and needs only Pillow and numpy (``phash``
would pull in scipy). Frames with no structure (black, white, a flat colour) hash to the same
value whatever video they come from, so they are not fingerprinted at all.

A candidate frame matches a protected video when any frame of that video is within
``max_distance`` bits (Hamming). The matched duration is the union of ``[t, t + interval)``
over the matching candidate frames, so extra samples at scene changes do not count twice; a
video is reported when that reaches ``min_matched_seconds``. The comparison is all pairs,
vectorised: candidate x protected XOR, popcount, min per (candidate frame, protected video).
Hashes within ``max_distance / 2`` of all-zeros or all-ones are left out on both sides (see
:func:`informative`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import imagehash
import numpy as np
from PIL import Image

from functions.moderation.logic.frames import SampledFrame
from functions.moderation.logic.verdict import CheckResult, Finding

CHECK = "copyright"
CODE = "copyright_match"
HASH_SIZE = 8
HASH_HEX_CHARS = HASH_SIZE * HASH_SIZE // 4
# A frame whose 9x8 grey thumbnail varies less than this (standard deviation, 0..255) has no
# structure worth hashing: its dhash bits are JPEG noise, or all zero.
MIN_FRAME_CONTRAST = 2.0
MAX_PAIRS = 5
# Protected frames compared per numpy step: candidate_count x _CHUNK uint64 scratch (300 x 32k
# = 77 MB would be too much for a small Lambda; 300 x 8192 x 8 B = 20 MB).
_CHUNK = 8192


Hashes = list[tuple[float, str]]


def frame_hashes(frames: Iterable[SampledFrame]) -> Hashes:
    """``(t, 16-hex-digit dhash)`` of every frame with some structure, in the order given."""
    result: Hashes = []
    for frame in frames:
        with Image.open(frame.path) as image:
            grey = image.convert("L")
        if _is_flat(grey):
            continue
        result.append((frame.t, str(imagehash.dhash(grey, hash_size=HASH_SIZE))))
    return result


def _is_flat(grey: Image.Image) -> bool:
    thumb = np.asarray(grey.resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.LANCZOS), dtype=np.float64)
    return bool(thumb.std() < MIN_FRAME_CONTRAST)


def hex_to_uint64(hexes: Sequence[str]) -> np.ndarray:
    if not hexes:
        return np.zeros(0, dtype=np.uint64)
    for h in hexes:
        if len(h) != HASH_HEX_CHARS:
            raise ValueError(f"a {HASH_SIZE * HASH_SIZE}-bit hash has {HASH_HEX_CHARS} hex digits, not {h!r}")
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=">u8").astype(np.uint64)


def popcount64(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (``np.bitwise_count`` on numpy >= 2, SWAR bit tricks otherwise)."""
    if hasattr(np, "bitwise_count"):
        return np.asarray(np.bitwise_count(values), dtype=np.uint8)
    return popcount64_swar(values)


def popcount64_swar(values: np.ndarray) -> np.ndarray:
    v = values.astype(np.uint64, copy=True)
    v -= (v >> np.uint64(1)) & np.uint64(0x5555555555555555)
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return ((v * np.uint64(0x0101010101010101)) >> np.uint64(56)).astype(np.uint8)


@dataclass
class FingerprintIndex:
    """The registry as flat arrays: every protected frame's hash, time and video number.

    Build it once (``from_registry``) and reuse it for many candidates; ``match`` accepts the
    plain mapping too and builds one on the fly.
    """

    video_ids: list[str]
    hashes: np.ndarray  # uint64, one per protected frame
    times: np.ndarray  # float64
    owners: np.ndarray  # int32: index into video_ids

    @classmethod
    def from_registry(cls, protected: Mapping[str, Sequence[tuple[float, str]]]) -> FingerprintIndex:
        video_ids: list[str] = []
        hex_parts: list[str] = []
        times: list[float] = []
        owners: list[int] = []
        for video_id, frames in protected.items():
            if not frames:
                continue
            number = len(video_ids)
            video_ids.append(video_id)
            for t, h in frames:
                hex_parts.append(h)
                times.append(float(t))
                owners.append(number)
        return cls(
            video_ids=video_ids,
            hashes=hex_to_uint64(hex_parts),
            times=np.asarray(times, dtype=np.float64),
            owners=np.asarray(owners, dtype=np.int32),
        )

    def __len__(self) -> int:
        return int(self.hashes.shape[0])


@dataclass(frozen=True)
class CopyrightMatch:
    video_id: str
    matched_seconds: float
    distance_median: float
    pairs: list[tuple[float, float, int]] = field(default_factory=list)  # (t_candidate, t_protected, d)

    def to_dict(self) -> dict[str, Any]:
        return {
            "video_id": self.video_id,
            "matched_seconds": self.matched_seconds,
            "distance_median": self.distance_median,
            "pairs": [list(p) for p in self.pairs],
        }


def match(
    candidate: Sequence[tuple[float, str]],
    protected: Mapping[str, Sequence[tuple[float, str]]] | FingerprintIndex,
    *,
    max_distance: int,
    min_matched_seconds: float,
    sample_interval: float,
) -> list[CopyrightMatch]:
    """Protected videos sharing at least ``min_matched_seconds`` of frames with ``candidate``,
    most matched first. ``sample_interval``: seconds between the candidate's steady samples."""
    if isinstance(protected, FingerprintIndex):
        index = protected
    else:
        index = FingerprintIndex.from_registry(protected)
    if not candidate or not len(index):
        return []
    cand_times = np.asarray([float(t) for t, _ in candidate], dtype=np.float64)
    cand = hex_to_uint64([h for _, h in candidate])
    keep = informative(cand, max_distance)
    cand_times, cand = cand_times[keep], cand[keep]
    usable = np.nonzero(informative(index.hashes, max_distance))[0]
    protected_hashes = index.hashes[usable]
    if cand.size == 0 or usable.size == 0:
        return []
    # Close pairs are rare (two unrelated frames agree on ~32 of 64 bits); keep only those, and
    # of those only the closest per (candidate frame, protected video), chunk by chunk, so that
    # even a registry of near-identical frames cannot blow the memory up.
    videos = len(index.video_ids)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, usable.size, _CHUNK):
        distances = popcount64(cand[:, None] ^ protected_hashes[None, start : start + _CHUNK])
        rows, cols = np.nonzero(distances <= max_distance)
        if rows.size:
            found.append(_closest(rows, usable[cols + start], distances[rows, cols], index, videos))
    if not found:
        return []
    rows, cols, dist = _closest(
        np.concatenate([f[0] for f in found]),
        np.concatenate([f[1] for f in found]),
        np.concatenate([f[2] for f in found]),
        index,
        videos,
    )
    owners = index.owners[cols]

    results: list[CopyrightMatch] = []
    for v in np.unique(owners):
        mine = np.nonzero(owners == v)[0]
        seconds = covered_seconds(cand_times[rows[mine]], sample_interval)
        if seconds + 1e-9 < min_matched_seconds:
            continue
        mine = mine[np.argsort(cand_times[rows[mine]], kind="stable")]
        pairs = [
            (round(float(cand_times[rows[i]]), 3), round(float(index.times[cols[i]]), 3), int(dist[i]))
            for i in mine[:MAX_PAIRS]
        ]
        results.append(
            CopyrightMatch(
                video_id=index.video_ids[int(v)],
                matched_seconds=round(float(seconds), 3),
                distance_median=float(statistics.median(int(x) for x in dist[mine])),
                pairs=pairs,
            )
        )
    results.sort(key=lambda m: (-m.matched_seconds, m.distance_median, m.video_id))
    return results


def informative(hashes: np.ndarray, max_distance: int) -> np.ndarray:
    """Mask of the hashes that can take part in matching: more than ``max_distance / 2`` bits
    away from both all-zeros and all-ones. Featureless frames (a fade, a smooth left-to-right
    gradient such as a sky) hash to near-all-zeros or near-all-ones whatever video they come
    from, and two hashes within ``max_distance / 2`` of the same corner always "match" each
    other. (Excluding everything within ``max_distance`` of a corner would also drop real dark
    frames: a night scene with a few edges has 10 bits set.)"""
    bits = popcount64(hashes).astype(np.int64)
    margin = max_distance // 2
    return (bits > margin) & (bits < HASH_SIZE * HASH_SIZE - margin)


def _closest(
    rows: np.ndarray, cols: np.ndarray, dist: np.ndarray, index: FingerprintIndex, videos: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of pairs (candidate row, protected col, distance), the closest protected frame (then the
    earliest) for each (candidate row, protected video)."""
    dist = dist.astype(np.int64)
    key = rows.astype(np.int64) * videos + index.owners[cols]
    order = np.lexsort((index.times[cols], dist, key))
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    pick = order[first]
    return rows[pick], cols[pick], dist[pick]


def covered_seconds(times: Iterable[float], interval: float) -> float:
    """Length of the union of ``[t, t + interval)`` over ``times``."""
    total = 0.0
    end = float("-inf")
    for t in sorted(float(x) for x in times):
        start = max(t, end)
        stop = t + interval
        if stop > start:
            total += stop - start
            end = stop
    return total


def check_copyright(
    candidate: Sequence[tuple[float, str]],
    registry_entries: Mapping[str, Sequence[tuple[float, str]]] | FingerprintIndex,
    *,
    max_distance: int,
    min_matched_seconds: float,
    sample_interval: float,
    exclude_video_id: str | None = None,
) -> CheckResult:
    """Reject (``copyright_match``) when the candidate shares enough frames with a protected
    video; one finding per such video, evidence ``{video_id, matched_seconds, samples}``.

    ``exclude_video_id``: the candidate's own id, should it be protected already (a re-run).
    """
    matches = match(
        candidate,
        registry_entries,
        max_distance=max_distance,
        min_matched_seconds=min_matched_seconds,
        sample_interval=sample_interval,
    )
    findings = [
        Finding(
            check=CHECK,
            code=CODE,
            evidence={
                "video_id": m.video_id,
                "matched_seconds": m.matched_seconds,
                "distance_median": m.distance_median,
                "samples": [{"t": tc, "t_protected": tp, "distance": d} for tc, tp, d in m.pairs],
            },
        )
        for m in matches
        if m.video_id != exclude_video_id
    ]
    return CheckResult(check=CHECK, verdict="reject" if findings else "pass", findings=findings)
