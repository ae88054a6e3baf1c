"""A crash of `vod local up` keeps what the stack held: kill -9 mid-transcode, then a restart on the
same state directory finds every video, title, webhook and profile again, the READY video still
plays through the edge, the video that was in flight is FAILED with a retry that works, and the
work folders the killed run left behind are gone (infra/local/persist.py, README "The embedded
mode")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from infra.local import persist
from infra.local.emulator import free_port
from infra.local.keys import LocalIssuer
from tests.conftest import make_clip

pytestmark = pytest.mark.e2e


class LocalUp:
    """One `vod local up` process on ``state``: its printed lines, read as they come."""

    def __init__(self, state: Path):
        env = {**os.environ, "VOD_STATE_DIR": str(state), "POWERTOOLS_LOG_LEVEL": "WARNING"}
        env.pop("AWS_ENDPOINT_URL", None)
        self.state = state
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "local", "up", "--api-port", str(free_port()),
             "--cdn-port", str(free_port())],
            stdout=subprocess.PIPE, stderr=(state.parent / f"local-up-{time.time_ns()}.stderr").open("w"),
            text=True, env=env,
        )  # fmt: skip
        self._serving = threading.Event()
        # Drained for the process's whole life: a full pipe would block the stack's logging.
        threading.Thread(target=self._read, daemon=True).start()
        if not self._serving.wait(120):
            self.proc.kill()
            pytest.fail(f"vod local up did not start: {self.lines}")
        self.api = self._url("API")
        self.cdn = self._url("CDN")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("serving"):
                self._serving.set()

    def _url(self, name: str) -> str:
        return next(line.split()[1] for line in self.lines if line.startswith(f"{name} "))

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=30) == -signal.SIGKILL

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=90)


class Caller:
    def __init__(self, stack: LocalUp, *, sub: str, role: str):
        self.stack = stack
        self.headers = {"Authorization": f"Bearer {LocalIssuer(stack.state).issue(sub=sub, roles=[role])}"}

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        resp = requests.request(method, f"{self.stack.api}{path}", headers=headers, timeout=30, **kwargs)
        assert resp.status_code == expect, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp

    def upload(self, clip: Path, title: str) -> str:
        created = self.call("POST", "/v1/videos", json={"title": title}, expect=201).json()
        put = requests.put(
            created["upload"]["url"], data=clip.read_bytes(), headers=created["upload"]["headers"], timeout=60
        )
        assert put.status_code == 200, put.text
        return str(created["id"])

    def wait(self, video_id: str, statuses: set[str], timeout: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            video: dict[str, Any] = self.call("GET", f"/v1/videos/{video_id}").json()
            if video["status"] in statuses:
                return video
            assert time.monotonic() < deadline, f"{video_id} stuck in {video['status']}: {video}"
            time.sleep(0.25)

    def listed(self, path: str) -> list[str]:
        return [item["id"] for item in self.call("GET", path).json()["items"]]


def _plays(caller: Caller, video_id: str) -> None:
    """A signed playback URL, then master -> a variant playlist -> a segment, all through the edge."""
    url = caller.call("POST", f"/v1/videos/{video_id}/playback", json={}).json()["hls_url"]
    assert url.startswith(f"{caller.stack.cdn}/")
    master = requests.get(url, timeout=10)
    assert master.status_code == 200 and master.text.startswith("#EXTM3U"), master.text[:200]
    variant_uri = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
    variant = requests.get(urljoin(url, variant_uri), timeout=10)
    assert variant.status_code == 200 and "#EXTINF" in variant.text, variant.text[:200]
    segment_uri = next(line for line in variant.text.splitlines() if line and not line.startswith("#"))
    segment = requests.get(urljoin(variant.url, segment_uri), timeout=10)
    assert segment.status_code == 200, segment.status_code
    assert len(segment.content) > 1000


def _eventually(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.2)


def test_kill_9_and_restart_keeps_a_ready_video_playable(
    tmp_path: Path, small_clip: Path, media_dir: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    first = LocalUp(state)
    alice = Caller(first, sub="alice", role="uploader")
    viewer = Caller(first, sub="bob", role="viewer")

    # Given a READY video bound to a published movie, a webhook and a viewer profile
    ready_id = alice.upload(small_clip, "kept")
    alice.wait(ready_id, {"READY"})
    title = alice.call(
        "POST", "/v1/titles", json={"kind": "movie", "title": "Kept Movie", "video_id": ready_id}, expect=201
    )
    title_id = title.json()["id"]
    alice.call("POST", f"/v1/titles/{title_id}/publish", headers={"If-Match": title.headers["ETag"]})
    _eventually(lambda: title_id in viewer.listed("/v1/titles"))
    webhook_id = alice.call(
        "POST", "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, expect=201
    ).json()["id"]
    kids = viewer.call("POST", "/v1/profiles", json={"name": "Kids", "age_ceiling": 7}, expect=201)
    profile_id = kids.json()["id"]
    # ... and a video mid-transcode: PROCESSING, its work folder on disk, and a snapshot taken since
    busy = make_clip(media_dir / "persist-busy.mp4", seconds=45, size="1280x720")
    busy_id = alice.upload(busy, "in flight")
    work = state / "work"

    def mid_step() -> bool:
        """A step's work folder that outlives a snapshot interval (Probe's own comes and goes)."""
        if not any(work.glob(f"{busy_id}-*")):
            return False
        time.sleep(persist.INTERVAL_S * 2.5)
        status = alice.call("GET", f"/v1/videos/{busy_id}").json()["status"]
        return status == "PROCESSING" and any(work.glob(f"{busy_id}-*"))

    _eventually(mid_step, timeout=180)

    # When the stack is killed (nothing runs at exit) and started again on the same state directory
    first.kill()
    left_behind = sorted(p.name for p in work.iterdir())
    orphan = work / "orphan-from-a-crash"
    orphan.mkdir()
    (orphan / "partial.ts").write_bytes(b"\0" * 100_000)
    second = LocalUp(state)
    try:
        alice, viewer = Caller(second, sub="alice", role="uploader"), Caller(second, sub="bob", role="viewer")
        # Then the work folders the killed run left behind are gone
        assert left_behind
        assert not any((work / name).exists() for name in [*left_behind, orphan.name])
        # ... the READY video still plays: master, a variant playlist and a segment through the edge
        assert alice.call("GET", f"/v1/videos/{ready_id}").json()["status"] == "READY"
        _plays(alice, ready_id)
        # ... the titles, webhooks and profiles are all listed again (videos have no listing: each is read)
        assert title_id in viewer.listed("/v1/titles")
        assert viewer.call("GET", f"/v1/titles/{title_id}").json()["video_id"] == ready_id
        assert webhook_id in alice.listed("/v1/webhooks")
        assert profile_id in viewer.listed("/v1/profiles")
        # ... the video that was in flight is FAILED with a retryable reason, and says so at start
        failed = alice.call("GET", f"/v1/videos/{busy_id}").json()
        assert failed["status"] == "FAILED"
        assert failed["reason"] == "execution_aborted"
        assert any(line.startswith(f"video {busy_id} was in flight") for line in second.lines)
        # ... and a retry re-runs it from the kept upload, to READY
        retried = alice.call(
            "POST",
            f"/v1/videos/{busy_id}/retry",
        ).json()
        assert retried["status"] == "UPLOADED"
        assert alice.wait(busy_id, {"READY", "FAILED", "REJECTED"}, timeout=400)["status"] == "READY"
        _plays(alice, busy_id)

        # A second stack on the same state directory is refused while this one runs
        env = {**os.environ, "VOD_STATE_DIR": str(state)}
        env.pop("AWS_ENDPOINT_URL", None)
        refused = subprocess.run(
            [sys.executable, "-m", "infra.cli", "local", "up", "--api-port", str(free_port()),
             "--cdn-port", str(free_port())],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert refused.returncode != 0
        assert "in use by another embedded stack" in refused.stderr
    finally:
        assert second.stop() == 0
