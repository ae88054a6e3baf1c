"""The moderation Saga end to end: each check saying no, the grey band held for an admin,
copyright registry, safe retry. Real executions of the state machine, real ffmpeg."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from functions.moderation.logic.classifier import FrameScore
from functions.pipeline.dal import slots as slots_table
from functions.shared import keys
from functions.shared.settings import get_settings
from infra.local.emulator import EmbeddedStack
from tests.conftest import make_clip
from tests.e2e.conftest import Client

pytestmark = pytest.mark.e2e
SETTLED = {"READY", "FAILED", "REJECTED", "IN_REVIEW"}


@pytest.fixture
def admin(stack: EmbeddedStack) -> Client:
    return Client(stack, sub="admin-1", role="admin")


def _post(client: Client, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{client.api}{path}", json=body, headers=client.headers, timeout=30)


class FixedClassifier:
    """Stands in for the ONNX model: the same score on every frame."""

    def __init__(self, label: str, score: float):
        self.label, self.score = label, score

    def classify(self, frames: list[Any]) -> list[FrameScore]:
        return [FrameScore(t=f.t, labels={self.label: self.score}) for f in frames]


def _use_classifier(monkeypatch: pytest.MonkeyPatch, in_process: Callable[..., None], score: float) -> None:
    import functions.moderation.logic.saga_step as saga_step

    in_process("pipeline-moderate", "pipeline-moderate-range")  # the functions that classify frames

    monkeypatch.setattr(saga_step, "_classifier", lambda: FixedClassifier("explicit_nudity", score))


def test_a_sensitive_word_rejects_with_the_text_reason_and_no_outputs(
    client: Client, small_clip: Path
) -> None:
    # The list holds "forbiddenword"; the title carries it in full-width capitals.
    video_id = client.upload(
        small_clip, "a title with \uff26\uff2f\uff32\uff22\uff29\uff24\uff24\uff25\uff2eWORD in it"
    )
    video = client.wait(video_id, SETTLED)
    assert video["status"] == "REJECTED"
    assert video["reason"] == "moderation_rejected"
    assert {"check": "text", "code": "sensitive_words", "evidence": None} in video["reasons"]
    assert client.objects_under(keys.output_prefix(video_id)) == []


def test_the_word_list_is_reloaded_without_a_restart(
    stack: EmbeddedStack, client: Client, small_clip: Path
) -> None:
    words = stack.directory / "sensitive-words.txt"
    original = words.read_text()
    try:
        words.write_text(original + "brandnewterm\n")
        time.sleep(1.1)  # the file source looks for changes at most once a second
        video_id = client.upload(small_clip, "brandnewterm")
        assert client.wait(video_id, SETTLED)["status"] == "REJECTED"
    finally:
        words.write_text(original)


def test_unsafe_frames_reject_and_admins_see_the_evidence(
    client: Client,
    admin: Client,
    small_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
) -> None:
    _use_classifier(monkeypatch, in_process, 0.95)
    video_id = client.upload(small_clip, "frames")
    video = client.wait(video_id, SETTLED)
    assert video["status"] == "REJECTED"
    assert [(r["check"], r["code"]) for r in video["reasons"]] == [("frames", "unsafe_frames")]
    assert video["reasons"][0]["evidence"] is None  # the uploader sees codes only
    seen_by_admin = admin.get(video_id)
    assert seen_by_admin["reasons"][0]["evidence"]
    assert client.objects_under(keys.output_prefix(video_id)) == []


def test_grey_band_holds_for_review_then_approval_publishes(
    client: Client,
    admin: Client,
    small_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
) -> None:
    _use_classifier(monkeypatch, in_process, 0.7)
    video_id = client.upload(small_clip, "grey")
    held = client.wait(video_id, SETTLED)
    assert held["status"] == "IN_REVIEW"
    assert not _holds_a_slot(client, video_id)  # given back before the wait (ReleaseSlotForReview)
    queue = requests.get(f"{admin.api}/v1/moderation/queue", headers=admin.headers, timeout=30).json()[
        "items"
    ]
    assert video_id in [v["id"] for v in queue]
    assert _post(client, f"/v1/videos/{video_id}/moderation", {"decision": "approve"}).status_code == 403
    approved = _post(admin, f"/v1/videos/{video_id}/moderation", {"decision": "approve"})
    assert approved.status_code == 200
    assert (
        _post(admin, f"/v1/videos/{video_id}/moderation", {"decision": "approve"}).status_code == 200
    )  # idempotent
    assert client.wait(video_id, {"READY", "FAILED", "REJECTED"})["status"] == "READY"
    assert len(client.executions_for(video_id)) == 1


def test_grey_band_rejected_by_an_admin_ends_rejected_with_outputs_removed(
    client: Client,
    admin: Client,
    small_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
) -> None:
    _use_classifier(monkeypatch, in_process, 0.7)
    video_id = client.upload(small_clip, "grey reject")
    assert client.wait(video_id, SETTLED)["status"] == "IN_REVIEW"
    assert client.objects_under(keys.output_prefix(video_id))  # encoded while waiting
    resp = _post(admin, f"/v1/videos/{video_id}/moderation", {"decision": "reject", "note": "not for us"})
    assert resp.status_code == 200
    video = client.wait(video_id, {"READY", "FAILED", "REJECTED"})
    assert video["status"] == "REJECTED"
    assert video["reason"] == "moderation_rejected_by_admin", video
    assert video["message"] == "not for us"
    # The Saga ends with its compensation, which removes what was encoded while waiting
    _wait_for_execution_end(client, video_id)
    assert client.objects_under(keys.output_prefix(video_id)) == []


def _holds_a_slot(client: Client, video_id: str) -> bool:
    [run] = client.executions_for(video_id)
    return any(run["name"] in (slots_table.holders(c) or {}) for c in ("standard", "priority"))


@pytest.fixture
def review_deadline_of_two_seconds(in_process: Callable[..., None]) -> Iterator[None]:
    """REVIEW_DEADLINE_SECONDS=2 for the functions (the starter reads it into each execution's
    input; run here, it sees this process's setting)."""
    in_process("ingest-starter")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REVIEW_DEADLINE_SECONDS", "2")
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


def test_a_held_video_whose_review_deadline_passes_ends_failed_review_timed_out(
    client: Client,
    admin: Client,
    small_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
    review_deadline_of_two_seconds: None,
) -> None:
    # Given a review deadline of 2 s
    _use_classifier(monkeypatch, in_process, 0.7)
    # When a grey-band video is held and nobody decides
    video_id = client.upload(small_clip, "grey, nobody decides")
    video = client.wait(video_id, {"READY", "FAILED", "REJECTED"})
    # Then it ends FAILED with the reason, its outputs removed, its slot given back before the wait
    assert (video["status"], video["reason"]) == ("FAILED", "review_timed_out"), video
    _wait_for_execution_end(client, video_id)
    sfn = client.stack.client("stepfunctions")
    [run] = client.executions_for(video_id)
    assert sfn.describe_execution(executionArn=run["executionArn"])["status"] == "FAILED"  # not TIMED_OUT
    events = sfn.get_execution_history(executionArn=run["executionArn"], maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    assert entered[entered.index("ReleaseSlotForReview") + 1 :][:3] == [
        "AwaitReview",
        "ReviewTimedOut",
        "AwaitReviewFailed",
    ]
    assert not _holds_a_slot(client, video_id)
    assert client.objects_under(keys.output_prefix(video_id)) == []
    # And an admin's late decision finds nothing to review
    late = _post(admin, f"/v1/videos/{video_id}/moderation", {"decision": "approve"})
    assert (late.status_code, late.json()["error"]["code"]) == (409, "not_reviewable")


def _wait_for_execution_end(client: Client, video_id: str, timeout: float = 60) -> None:
    sfn = client.stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [run] = client.executions_for(video_id)
        if sfn.describe_execution(executionArn=run["executionArn"])["status"] != "RUNNING":
            return
        time.sleep(0.2)
    raise AssertionError("the execution did not end")


def _reencode(source: Path, dest: Path) -> Path:
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-i", str(source), "-vf", "scale=480:-2",
         "-c:v", "libx264", "-crf", "35", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "64k", str(dest)],
        check=True,
    )  # fmt: skip
    return dest


def test_a_reencoded_copy_of_a_protected_video_is_rejected_and_an_unrelated_one_passes(
    client: Client, admin: Client, media_dir: Path
) -> None:
    # Given a protected video with content of its own (other tests upload testsrc2 clips)
    original = media_dir / "protected.mp4"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "mandelbrot=size=960x540:rate=25", "-t", "8",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(original)],
        check=True,
    )  # fmt: skip
    protected_id = client.upload(original, "the original")
    assert client.wait(protected_id, SETTLED)["status"] == "READY"
    registered = _post(admin, "/v1/moderation/protected", {"video_id": protected_id})
    assert registered.status_code == 201, registered.text
    try:
        _copy_rejected_unrelated_passes(client, original, media_dir)
    finally:
        from functions.moderation.dal import fingerprints

        fingerprints.unprotect(protected_id)  # leave the registry as other tests expect it


def _copy_rejected_unrelated_passes(client: Client, original: Path, media_dir: Path) -> None:
    # A copy at another bitrate and resolution
    copy_id = client.upload(_reencode(original, media_dir / "copy.mp4"), "a copy")
    copy = client.wait(copy_id, SETTLED)
    assert copy["status"] == "REJECTED"
    assert ("copyright", "copyright_match") in [(r["check"], r["code"]) for r in copy["reasons"]]
    # Something else entirely
    other = make_clip(media_dir / "other.mp4", seconds=8, size="960x540", rate=25)
    other_id = client.upload(other, "unrelated")
    assert client.wait(other_id, SETTLED)["status"] == "READY"


def test_a_failing_moderation_step_ends_failed_and_retry_reaches_ready(
    client: Client,
    small_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
) -> None:
    import functions.moderation.handlers.handle_moderate as handler

    in_process("pipeline-moderate")
    real = handler.moderate_step
    monkeypatch.setattr(
        handler, "moderate_step", lambda **kw: (_ for _ in ()).throw(RuntimeError("model crashed"))
    )
    video_id = client.upload(small_clip, "retry me")
    failed = client.wait(video_id, SETTLED)
    assert failed["status"] == "FAILED"
    assert failed["reason"] == "moderate_error"
    assert client.objects_under(keys.output_prefix(video_id)) == []
    monkeypatch.setattr(handler, "moderate_step", real)
    # Two concurrent retries: one wins, one is refused
    codes: list[int] = []

    def retry() -> None:
        codes.append(_post(client, f"/v1/videos/{video_id}/retry", {}).status_code)

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    final = client.wait(video_id, {"READY", "FAILED", "REJECTED"})
    assert final["status"] == "READY", (
        final["reason"],
        final["message"],
        final["attempt"],
        client.executions_for(video_id),
    )
    assert len(client.executions_for(video_id)) == 2  # the failed attempt and the retry
    assert _post(client, f"/v1/videos/{video_id}/retry", {}).status_code == 409  # READY is not FAILED


def test_an_admin_approval_of_a_rejected_video_re_runs_it_to_ready(
    client: Client, admin: Client, small_clip: Path
) -> None:
    # Given a video the text check rejected
    video_id = client.upload(small_clip, "forbiddenword but a false positive")
    assert client.wait(video_id, SETTLED)["status"] == "REJECTED"
    _wait_for_execution_end(client, video_id)
    # When an admin approves it (twice: the second is a no-op)
    assert _post(admin, f"/v1/videos/{video_id}/moderation", {"decision": "approve"}).status_code == 200
    # Then (the approval moved it back to UPLOADED before answering) a second attempt runs with
    # the findings recorded as overridden, and publishes
    video = client.wait(video_id, {"READY", "FAILED", "REJECTED"}, timeout=120)
    assert video["status"] == "READY"
    assert video["attempt"] == 2
    assert len(client.executions_for(video_id)) == 2
    assert _post(admin, f"/v1/videos/{video_id}/moderation", {"decision": "approve"}).status_code == 200
