"""The chunked path end to end on the embedded stack: split, Map (inline and Distributed),
stitch, viewable first, compensation of chunk outputs, and retries of a transient chunk failure.

tests/e2e/conftest.py sets the chunking thresholds: clips above 24 s are split into ~8 s chunks,
and more than 4 chunks take the Distributed Map.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import m3u8
import pytest
import requests

from functions.pipeline.logic import chunked_steps
from functions.shared.errors import TransientError
from infra.local.emulator import EmbeddedStack
from tests.conftest import make_clip
from tests.e2e.conftest import Client

pytestmark = pytest.mark.xdist_group("chunked")

TERMINAL = {"READY", "FAILED", "REJECTED"}


@pytest.fixture(scope="module")
def long_clip(media_dir: Path) -> Path:
    # 854x480 -> two rungs (480p, 360p): a preview pass and a rest pass. 34 s -> 5 chunks.
    return make_clip(media_dir / "long.mp4", seconds=34, size="854x480", rate=25, extra=["-g", "25"])


@pytest.fixture(scope="module")
def medium_clip(media_dir: Path) -> Path:
    # 25.5 s -> cuts at 8, 16 and 24 s: 4 chunks, the inline Map.
    return make_clip(media_dir / "medium.mp4", seconds=25.5, size="854x480", rate=25, extra=["-g", "25"])


def _wrap_encode(
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
    before: Callable[[Any, list[Any]], None],
) -> list[tuple[int, str]]:
    """Run ``before(chunk, rungs)`` ahead of every chunk encode; record every attempt (index, rungs)."""
    in_process("pipeline-split", "pipeline-encode-chunk")  # the functions that encode chunks
    original = chunked_steps.encode_chunk
    calls: list[tuple[int, str]] = []

    def wrapper(source: Path, chunk: Any, out: Path, rungs: list[Any], *args: Any, **kwargs: Any) -> Any:
        calls.append((chunk.index, ",".join(r.name for r in rungs)))  # attempts, failed ones too
        before(chunk, rungs)
        return original(source, chunk, out, rungs, *args, **kwargs)

    monkeypatch.setattr(chunked_steps, "encode_chunk", wrapper)
    return calls


def _play(url: str) -> m3u8.M3U8:
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200, resp.text
    return m3u8.loads(resp.text)


def test_long_video_is_playable_while_higher_rungs_are_pending_then_ready(
    client: Client,
    stack: EmbeddedStack,
    long_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
) -> None:
    release = threading.Event()

    def hold_rest_pass(chunk: Any, rungs: list[Any]) -> None:
        if any(r.name == "480p" for r in rungs):
            release.wait(timeout=120)  # the higher rung waits until the test has played the preview

    calls = _wrap_encode(monkeypatch, in_process, hold_rest_pass)
    video_id = client.upload(long_clip, "long")
    try:
        video = client.wait(video_id, {"VIEWABLE", *TERMINAL}, timeout=180)
        assert video["status"] == "VIEWABLE", video
        assert video["renditions_pending"] == ["480p"]
        assert [r["name"] for r in video["renditions"]] == ["360p"]
        assert video["viewable_at"]
        assert video["progress"]["renditions"]["360p"] == 100.0
        assert video["progress"]["renditions"]["480p"] < 100.0
        # Playable through the signed URL now, while the 480p rung is still encoding.
        url = client.playback(video_id).json()["hls_url"]
        master = _play(url)
        assert [p.stream_info.resolution for p in master.playlists] == [(640, 360)]
        assert [m.type for m in master.media] == ["AUDIO"]
        playlist = _play(urljoin(url, master.playlists[0].uri))
        assert playlist.is_endlist
        assert sum(s.duration for s in playlist.segments) == pytest.approx(34, abs=0.1)
        segment = requests.get(
            urljoin(urljoin(url, master.playlists[0].uri), playlist.segments[-1].uri), timeout=10
        )
        assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
        # Audio: one rendition stitched from the first pass's pieces, covering the whole clip.
        audio_url = urljoin(url, master.media[0].uri)
        audio = _play(audio_url)
        assert audio.is_endlist and all(s.uri.startswith("c0000") for s in audio.segments)
        assert {s.uri.split("/")[0] for s in audio.segments} == {f"c{i:05d}" for i in range(5)}
        assert sum(s.duration for s in audio.segments) == pytest.approx(34, abs=0.1)
        # Split by index: no chunk was copied; the workers read their spans from the source.
        assert client.objects_under(f"videos/{video_id}/work/chunks/") == []
        assert client.get(video_id)["status"] == "VIEWABLE"  # still: the rest pass is held
    finally:
        release.set()
    video = client.wait(video_id, TERMINAL, timeout=240)
    assert video["status"] == "READY", video
    assert sorted(r["name"] for r in video["renditions"]) == ["360p", "480p"]
    assert video["renditions_pending"] == []
    # The master was rewritten with every rung; the chunk sources and per-chunk results are gone.
    master = _play(client.playback(video_id).json()["hls_url"])
    assert sorted(p.stream_info.resolution for p in master.playlists) == [(640, 360), (854, 480)]
    assert client.objects_under(f"videos/{video_id}/work/") == []
    # Five chunks (Distributed Map: more than INLINE_MAP_MAX_CHUNKS), each encoded once per pass.
    assert sorted(calls) == sorted([(i, "360p") for i in range(5)] + [(i, "480p") for i in range(5)])
    deadline = time.monotonic() + 20
    while any(e["status"] == "RUNNING" for e in client.executions_for(video_id)):
        assert time.monotonic() < deadline
        time.sleep(0.2)  # Publish has written READY; the execution finishes its last states
    assert [e["status"] for e in client.executions_for(video_id)] == ["SUCCEEDED"]


def test_a_chunk_failing_after_its_retries_fails_the_video_and_removes_all_chunk_outputs(
    client: Client,
    medium_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
) -> None:
    def chunk_one_of_the_rest_pass_keeps_failing(chunk: Any, rungs: list[Any]) -> None:
        if chunk.index == 1 and any(r.name == "480p" for r in rungs):
            raise TransientError("S3 slow down (injected)")

    calls = _wrap_encode(monkeypatch, in_process, chunk_one_of_the_rest_pass_keeps_failing)
    video_id = client.upload(medium_clip, "chunk fails")
    video = client.wait(video_id, TERMINAL, timeout=240)
    assert video["status"] == "FAILED", video
    assert video["reason"] == "transcode_error"
    assert calls.count((1, "480p")) == 4  # the attempt and its 3 retries (MaxAttempts 3), then given up
    deadline = time.monotonic() + 10
    while client.objects_under(f"videos/{video_id}/") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.objects_under(f"videos/{video_id}/") == []


def test_a_transient_chunk_failure_is_retried_and_the_video_still_reaches_ready(
    client: Client,
    medium_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
) -> None:
    failed: list[int] = []

    def chunk_two_fails_once(chunk: Any, rungs: list[Any]) -> None:
        if chunk.index == 2 and not failed:
            failed.append(chunk.index)
            raise TransientError("connection reset (injected)")

    calls = _wrap_encode(monkeypatch, in_process, chunk_two_fails_once)
    video_id = client.upload(medium_clip, "chunk retried")
    video = client.wait(video_id, TERMINAL, timeout=240)
    assert video["status"] == "READY", video
    assert failed == [2]
    assert calls.count((2, "360p")) == 2  # the failed attempt and its retry
    # Inline Map (at most INLINE_MAP_MAX_CHUNKS chunks): the stitched rung covers the whole clip.
    master = _play(client.playback(video_id).json()["hls_url"])
    assert len(master.playlists) == 2


def _states_entered(client: Client, video_id: str) -> list[str]:
    sfn = client.stack.client("stepfunctions")
    [execution] = client.executions_for(video_id)
    events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def test_a_long_video_is_moderated_range_by_range_and_rejected_before_any_encoding(
    client: Client,
    long_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
) -> None:
    import functions.moderation.logic.saga_step as saga_step
    from functions.moderation.logic.classifier import FrameScore

    class Unsafe:
        def classify(self, frames: list[Any]) -> list[FrameScore]:
            return [FrameScore(t=f.t, labels={"explicit_nudity": 0.95}) for f in frames]

    in_process("pipeline-moderate", "pipeline-moderate-range")
    monkeypatch.setattr(saga_step, "_classifier", lambda: Unsafe())
    calls = _wrap_encode(monkeypatch, in_process, lambda chunk, rungs: None)
    video_id = client.upload(long_clip, "long and unsafe")
    video = client.wait(video_id, TERMINAL, timeout=240)
    assert video["status"] == "REJECTED", video
    assert {r["check"] for r in video["reasons"]} >= {"frames"}
    assert calls == []  # rejected before the first chunk was encoded
    deadline = time.monotonic() + 20
    while any(e["status"] == "RUNNING" for e in client.executions_for(video_id)):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    entered = _states_entered(client, video_id)
    # Five chunks: more than INLINE_MAP_MAX_CHUNKS, so the Distributed Map; the single Moderate
    # step (short sources) never ran.
    assert "ModerateRangesDistributed" in entered and "ModerateVerdict" in entered
    assert "Moderate" not in entered and "EncodePreviewDistributed" not in entered
    assert client.objects_under(f"videos/{video_id}/") == []
