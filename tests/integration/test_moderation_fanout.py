"""Moderation fanned out over time ranges (the chunked path), against moto, through the handlers.

Each range worker samples its range of the source on the video's global grid, classifies and
hashes its frames and leaves a result under ``work/``; the verdict reads them all and decides as
the single-pass step does. The frame classifier is replaced by a stand-in (as in
tests/e2e/test_moderation_saga.py) and the word list is a file; ffmpeg reads the source from a
local copy of the S3 object (moto in-process serves no HTTP to ffmpeg).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from functions.media import storage
from functions.media.probe import ProbeLimits, probe
from functions.moderation.dal import fingerprints
from functions.moderation.logic import saga_step
from functions.moderation.logic.classifier import FrameScore
from functions.moderation.logic.frames import SampledFrame
from functions.moderation.logic.text import FileWordListSource
from functions.shared import keys
from functions.videos.dal import videos as dal
from infra import spec
from infra.local.lambda_runtime import invoke
from tests.conftest import make_clip
from tests.integration.conftest import Account

SECONDS = 12
KEYFRAMES = ["-g", "37", "-keyint_min", "37", "-sc_threshold", "0", "-bf", "3"]  # every 1.48 s
RANGE = spec.FUNCTIONS_BY_NAME["pipeline-moderate-range"]
VERDICT = spec.FUNCTIONS_BY_NAME["pipeline-moderate-verdict"]
SINGLE = spec.FUNCTIONS_BY_NAME["pipeline-moderate"]


class ScoreByTime:
    """Stands in for the frame classifier: ``score`` on frames in ``[start, end)``, 0.1 elsewhere;
    remembers what it was asked to look at."""

    def __init__(self, score: float = 0.1, start: float = 0.0, end: float = float("inf")):
        self.score, self.start, self.end = score, start, end
        self.calls: list[list[float]] = []

    def classify(self, frames: list[SampledFrame]) -> list[FrameScore]:
        self.calls.append([f.t for f in frames])
        return [
            FrameScore(t=f.t, labels={"explicit_nudity": self.score if self.start <= f.t < self.end else 0.1})
            for f in frames
        ]


@pytest.fixture
def moderation(account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Word list file; ffmpeg reads a local copy of the S3 object; returns a classifier setter."""
    words = tmp_path / "words.txt"
    words.write_text("forbiddenword\n")
    source = FileWordListSource(words)
    monkeypatch.setattr(saga_step, "_word_source", lambda: source)

    def local_copy(bucket: str, key: str, expires: int = 3600, *, version_id: str | None = None) -> str:
        dest = tmp_path / "sources" / key.replace("/", "_")
        dest.parent.mkdir(exist_ok=True)
        extra = {"VersionId": version_id} if version_id else {}
        body = storage.client("s3").get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
        dest.write_bytes(body)
        return str(dest)

    monkeypatch.setattr(storage, "presigned_get", local_copy)
    fingerprints.reset()

    def use(classifier: ScoreByTime) -> None:
        monkeypatch.setattr(saga_step, "_classifier", lambda: classifier)

    use(ScoreByTime())
    return use


@dataclass
class Upload:
    video_id: str
    bucket: str
    key: str
    probe: dict[str, Any]
    chunks: list[dict[str, Any]]


def _ffprobe(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, str(path)], check=True,
                         capture_output=True).stdout  # fmt: skip
    result: dict[str, Any] = json.loads(out)
    return result


def _chunks(path: Path, duration: float, every: float = 4.0) -> list[dict[str, Any]]:
    """As the split by index cuts them: at the keyframe at or before each multiple of ``every``."""
    offset = float(_ffprobe(path, "-show_entries", "format=start_time")["format"]["start_time"])
    packets = _ffprobe(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags")["packets"]
    keyframes = [float(p["pts_time"]) for p in packets if "K" in p["flags"]]
    targets = [offset + every * m for m in range(1, int(duration / every) + 1) if every * m < duration - 1]
    cuts = sorted({max(k for k in keyframes if k <= t) for t in targets} - {offset})
    edges = [offset, *cuts, offset + duration]
    return [
        {
            "index": i,
            "name": "",
            "start": edges[i],
            "end": edges[i + 1],
            "offset": offset,
            "last": i == len(edges) - 2,
        }
        for i in range(len(edges) - 1)
    ]


def _upload(account: Account, path: Path, title: str = "a clip") -> Upload:
    video_id = uuid.uuid4().hex
    key = keys.upload_key(video_id)
    dal.create(video_id=video_id, owner_sub="user-1", title=title, description="", tags=[], upload_key=key)
    bucket = account.resources.upload_bucket
    account.client("s3").upload_file(str(path), bucket, key)
    info = probe(
        str(path), size_bytes=None, limits=ProbeLimits(max_duration_seconds=600, max_size_bytes=10**9)
    )
    return Upload(video_id, bucket, key, info.to_dict(), _chunks(path, info.duration))


def _call(fn: spec.FunctionSpec, event: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    result, errored = invoke(fn, event)
    return result, errored


def _fan_out(up: Upload, *, override: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
    """The Map (one range worker per chunk) then the verdict, as the state machine passes them."""
    ranges = []
    source = {"video_id": up.video_id, "bucket": up.bucket, "key": up.key, "probe": up.probe}
    for chunk in up.chunks:
        result, errored = _call(RANGE, {**source, "chunk": chunk})
        assert not errored, result
        ranges.append(result)
    verdict, errored = _call(
        VERDICT,
        {
            "video_id": up.video_id,
            "count": len(up.chunks),
            "probe": up.probe,
            "moderation_override": override,
        },
    )
    return ranges, verdict, errored


def _single(up: Upload) -> tuple[dict[str, Any], bool]:
    event = {"video_id": up.video_id, "bucket": up.bucket, "key": up.key, "probe": up.probe,
             "moderation_override": False}  # fmt: skip
    return _call(SINGLE, event)


def _reasons(video_id: str) -> list[dict[str, Any]]:
    return [r.as_dict() if hasattr(r, "as_dict") else dict(r) for r in dal.get(video_id).reasons or []]


def _range_result(account: Account, video_id: str, index: int) -> dict[str, Any]:
    result: dict[str, Any] = storage.get_json(
        account.resources.media_bucket, keys.moderation_range_key(video_id, index)
    )
    return result


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fanout") / "clip.mp4"
    return make_clip(path, seconds=SECONDS, size="320x240", rate=25, extra=KEYFRAMES)


def test_range_workers_write_small_results_and_the_verdict_passes_a_clean_video(
    account: Account, moderation: Callable[..., None], clip: Path
) -> None:
    # Given a clean 12 s video cut into three ranges at keyframes (not at multiples of 4 s)
    classifier = ScoreByTime(0.1)
    moderation(classifier)
    up = _upload(account, clip)
    assert [round(c["start"], 2) for c in up.chunks] == [0.0, 2.96, 7.4]

    # When the ranges are moderated, then the verdict
    ranges, verdict, errored = _fan_out(up)

    # Then every worker answers with its index and count only (Map results stay small) ...
    assert [r["index"] for r in ranges] == [0, 1, 2]
    assert all(set(r) == {"index", "frames"} and len(json.dumps(r)) < 64 for r in ranges)
    # ... together the 1 s grid of the whole video, once each (FRAME_SAMPLE_FPS 1, cap 300)
    assert sum(r["frames"] for r in ranges) == SECONDS
    assert sorted(t for call in classifier.calls for t in call) == [float(s) for s in range(SECONDS)]
    # ... and leaves its frames' scores and hashes in the media bucket
    for r in ranges:
        stored = _range_result(account, up.video_id, r["index"])
        assert stored["index"] == r["index"] and stored["frames"] == r["frames"] == len(stored["scores"])
        assert len(stored["hashes"]) == r["frames"]  # testsrc2 frames all have structure
        chunk = up.chunks[r["index"]]
        assert all(
            chunk["start"] - chunk["offset"] <= s["t"] <= chunk["end"] - chunk["offset"]
            for s in stored["scores"]
        )
    # The verdict passes, records no reason, and stores the video's fingerprints on the grid
    assert not errored, verdict
    assert verdict == {"verdict": "pass", "reasons": [], "frames": SECONDS}
    assert _reasons(up.video_id) == []
    saved = fingerprints.load_fingerprints(up.video_id)
    assert saved is not None and saved.interval == 1.0
    assert [t for t, _ in saved.hashes] == [float(s) for s in range(SECONDS)]


@pytest.mark.parametrize(
    ("title", "classifier", "verdict", "codes"),
    [
        ("a clip", ScoreByTime(0.1), "pass", []),
        # flagged frames in the middle range only
        ("a clip", ScoreByTime(0.95, 5.0, 6.5), "reject", [("frames", "unsafe_frames")]),
        ("a clip", ScoreByTime(0.7), "review", [("frames", "needs_review")]),  # the grey band
        ("forbiddenword in the title", ScoreByTime(0.1), "reject", [("text", "sensitive_words")]),
    ],
    ids=["clean", "flagged-frames", "grey-band", "sensitive-title"],
)
def test_the_verdict_decides_as_the_single_pass_step(
    account: Account, moderation: Callable[..., None], clip: Path, title: str, classifier: ScoreByTime,
    verdict: str, codes: list[tuple[str, str]],
) -> None:  # fmt: skip
    moderation(classifier)
    # Given the same video moderated in one pass and fanned out
    single_up, fanned_up = _upload(account, clip, title), _upload(account, clip, title)
    single, single_errored = _single(single_up)
    _, fanned, fanned_errored = _fan_out(fanned_up)

    # Then both say the same, for the same reasons and with the same evidence
    assert fanned_errored == single_errored == (verdict == "reject")
    if verdict == "reject":
        assert fanned["errorType"] == single["errorType"] == "MediaRejected"
        assert fanned["errorMessage"] == single["errorMessage"]
        assert fanned["errorMessage"].startswith("moderation_rejected")
    else:
        assert fanned == single
        assert fanned["verdict"] == verdict
    reasons = _reasons(fanned_up.video_id)
    assert reasons == _reasons(single_up.video_id)
    assert [(r["check"], r["code"]) for r in reasons] == codes
    if codes == [("frames", "unsafe_frames")]:
        assert [f["t"] for f in reasons[0]["evidence"]["frames"]] == [5.0, 6.0]


def test_an_admin_override_passes_the_findings_as_overridden(
    account: Account, moderation: Callable[..., None], clip: Path
) -> None:
    moderation(ScoreByTime(0.95))
    up = _upload(account, clip)
    _, verdict, errored = _fan_out(up, override=True)
    assert not errored, verdict
    assert verdict["verdict"] == "pass"
    assert verdict["reasons"] == [{"check": "frames", "code": "unsafe_frames"}]
    assert [r["overridden"] for r in _reasons(up.video_id)] == [True]


def test_a_copy_of_a_protected_video_is_matched_across_two_ranges(
    account: Account, moderation: Callable[..., None], tmp_path: Path
) -> None:
    # Given a protected video (its fingerprints from the single-pass step, then registered)
    original = tmp_path / "protected.mp4"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "mandelbrot=size=320x180:rate=25",
         "-t", str(SECONDS), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *KEYFRAMES,
         str(original)],
        check=True,
    )  # fmt: skip
    protected = _upload(account, original, "the original")
    result, errored = _single(protected)
    assert not errored and result["verdict"] == "pass", result
    assert fingerprints.protect(protected.video_id, by="admin-1") == SECONDS

    # When a re-encoded, smaller copy is moderated in ranges
    copy = tmp_path / "copy.mp4"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-i", str(original), "-vf", "scale=240:-2", "-c:v", "libx264",
         "-crf", "35", "-preset", "ultrafast", *KEYFRAMES, str(copy)],
        check=True,
    )  # fmt: skip
    up = _upload(account, copy, "a copy")
    ranges, verdict, errored = _fan_out(up)

    # Then the frames came from several ranges, and the verdict rejects with the match
    assert sum(1 for r in ranges if r["frames"]) >= 2
    assert errored and verdict["errorType"] == "MediaRejected", verdict
    [reason] = _reasons(up.video_id)
    assert (reason["check"], reason["code"]) == ("copyright", "copyright_match")
    assert reason["evidence"]["video_id"] == protected.video_id
    assert reason["evidence"]["matched_seconds"] >= 5
    matched = [s["t"] for s in reason["evidence"]["samples"]]
    boundary = up.chunks[1]["start"] - up.chunks[1]["offset"]
    assert min(matched) < boundary <= max(matched)  # frames of the first range and the next
    # ... and the copy's own fingerprints are stored, in time order, on the grid interval
    saved = fingerprints.load_fingerprints(up.video_id)
    assert saved is not None and saved.interval == 1.0
    times = [t for t, _ in saved.hashes]
    assert times == sorted(times) and len(times) == sum(r["frames"] for r in ranges)


def test_a_range_without_grid_point_writes_an_empty_result_and_classifies_nothing(
    account: Account, moderation: Callable[..., None], clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two samples for the whole video: a 6 s grid (0 s and 6 s), and no cut in the clip
    monkeypatch.setenv("FRAME_MAX_SAMPLES", "2")
    from functions.shared.settings import get_settings

    get_settings.cache_clear()
    classifier = ScoreByTime(0.1)
    moderation(classifier)
    up = _upload(account, clip)
    ranges, verdict, errored = _fan_out(up)
    get_settings.cache_clear()

    # Then the middle range [2.96, 7.4) keeps 6.0 s, the last one nothing
    assert [r["frames"] for r in ranges] == [1, 1, 0]
    assert _range_result(account, up.video_id, 2) == {"index": 2, "frames": 0, "scores": [], "hashes": []}
    assert classifier.calls == [[0.0], [6.0]]  # no call for the empty range
    assert not errored and verdict["frames"] == 2


def test_the_verdict_fails_when_a_range_left_no_result(
    account: Account, moderation: Callable[..., None], clip: Path
) -> None:
    up = _upload(account, clip)
    _fan_out(up)
    event: dict[str, Any] = {
        "video_id": up.video_id,
        "count": len(up.chunks) + 1,
        "probe": up.probe,
        "moderation_override": False,
    }
    result, errored = _call(VERDICT, event)
    assert errored and result["errorType"] == "MediaFailed"
    assert result["errorMessage"].startswith("moderation_incomplete")


def test_the_verdict_fails_when_no_range_sampled_anything(
    account: Account, moderation: Callable[..., None], clip: Path
) -> None:
    # The first range always keeps the video's first frame: results with no frame at all mean
    # something went wrong, not a clean video
    up = _upload(account, clip)
    empty = {"index": 0, "frames": 0, "scores": [], "hashes": []}
    storage.put_json(account.resources.media_bucket, keys.moderation_range_key(up.video_id, 0), empty)
    event = {"video_id": up.video_id, "count": 1, "probe": up.probe, "moderation_override": False}
    result, errored = _call(VERDICT, event)
    assert errored and result["errorType"] == "MediaFailed"
    assert result["errorMessage"] == "moderation_incomplete: no frame was sampled in any range"
    assert _reasons(up.video_id) == []
