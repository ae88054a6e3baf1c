"""The `vod` CLI as a user runs it: `local up` in the foreground, then token/upload/status/play."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from infra.local.emulator import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("cli-state")
    # PYTHONFAULTHANDLER: if it hangs, SIGABRT makes it print every thread's stack to stderr
    env = {
        **os.environ,
        "VOD_STATE_DIR": str(state),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PYTHONFAULTHANDLER": "1",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    stderr_path = state / "local-up.stderr"
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "local", "up", "--api-port", str(free_port()),
         "--cdn-port", str(free_port())],
        stdout=subprocess.PIPE, stderr=stderr_path.open("w"), text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while len(lines) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(("API ", "CDN ")):
            key, url = line.split()[:2]
            lines[key] = url
    assert set(lines) == {"API", "CDN"}, "vod local up did not print its API and CDN lines"
    yield {"api": lines["API"], "cdn": lines["CDN"], "state": str(state), "pid": str(proc.pid)}
    # Then a SIGTERM stops it cleanly, with exit code 0
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        proc.wait(timeout=30)
        pytest.fail("vod local up did not stop within 60 s of SIGTERM:\n" + stderr_path.read_text()[-12000:])
    assert code == 0
    assert not (state / "endpoints.json").exists()


def _vod(running: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VOD_STATE_DIR": running["state"]}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=check,
        timeout=300,
    )


def test_token_is_accepted_by_the_running_api(running: dict[str, str]) -> None:
    token = _vod(running, "token", "--role", "uploader", "--sub", "alice").stdout.strip()
    resp = requests.post(
        f"{running['api']}/v1/videos",
        json={"title": "t"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert resp.status_code == 201
    assert resp.json()["owner"] == "alice"
    viewer = _vod(running, "token", "--role", "viewer").stdout.strip()
    denied = requests.post(
        f"{running['api']}/v1/videos",
        json={"title": "t"},
        headers={"Authorization": f"Bearer {viewer}"},
        timeout=10,
    )
    assert denied.status_code == 403


def test_upload_wait_status_and_play(running: dict[str, str], small_clip: Path) -> None:
    # When a file is uploaded with --wait
    out = _vod(running, "upload", str(small_clip), "--title", "from the cli", "--wait").stdout
    # Then it reports the id and ends READY
    video_id = out.split()[1]
    assert "READY" in out.splitlines()[-1]
    status = json.loads(_vod(running, "status", video_id).stdout)
    assert status["status"] == "READY"
    assert status["title"] == "from the cli"
    url, session_line = _vod(running, "play", video_id).stdout.strip().splitlines()
    assert url.startswith(f"{running['cdn']}/videos/{video_id}/hls/master.m3u8?")
    assert requests.get(url, timeout=10).status_code == 200
    # And the playback opened a session (vod play prints its id), which vod history lists once watched
    assert re.fullmatch(r"session ses_[A-Za-z0-9_-]{22,}", session_line)
    assert _vod(running, "history").returncode == 0


def test_videos_lists_mine_and_delete_takes_one_down(running: dict[str, str], small_clip: Path) -> None:
    # Given two videos of one user (one uploaded, one awaiting its upload) and one of another's
    first = _vod(running, "upload", str(small_clip), "--title", "first of mine", "--sub", "cli-owner").stdout
    first_id = first.split()[1]
    second_id = _vod(
        running, "upload", str(small_clip), "--title", "second", "--sub", "cli-owner"
    ).stdout.split()[1]
    _vod(running, "upload", str(small_clip), "--title", "not mine", "--sub", "cli-other")

    # When the user lists their videos
    lines = _vod(running, "videos", "--sub", "cli-owner").stdout.splitlines()

    # Then each is one line: id, status, title, created; newest first, only theirs
    rows = [line.split("\t") for line in lines]
    assert [(r[0], r[2]) for r in rows] == [(second_id, "second"), (first_id, "first of mine")]
    assert all(len(r) == 4 and r[3].endswith("Z") for r in rows)
    # ... and `vod delete ID` takes one down; another user may not
    refused = _vod(running, "delete", first_id, "--sub", "cli-other", check=False)
    assert refused.returncode != 0 and "403" in refused.stderr
    out = _vod(running, "delete", first_id, "--sub", "cli-owner").stdout
    assert out.startswith(f"{first_id}  DELETED  (was ")
    assert "by cli-owner" in out
    assert _vod(running, "delete", first_id, "--sub", "cli-owner").returncode == 0  # harmless again
    statuses = {
        r.split("\t")[0]: r.split("\t")[1]
        for r in _vod(running, "videos", "--sub", "cli-owner").stdout.splitlines()
    }
    assert statuses[first_id] == "DELETED"


def test_cli_errors_are_clear(running: dict[str, str], tmp_path: Path) -> None:
    missing = _vod(running, "upload", str(tmp_path / "nope.mp4"), "--title", "x", check=False)
    assert missing.returncode != 0
    assert "no such file" in missing.stderr
    unknown = _vod(running, "status", "0" * 32, check=False)
    assert unknown.returncode != 0
    assert "404" in unknown.stderr


def test_vod_demo_runs_the_whole_path_and_prints_a_playable_url(tmp_path: Path) -> None:
    """What `make demo` runs (here with --exit and a short clip so it ends by itself)."""
    env = {**os.environ, "VOD_STATE_DIR": str(tmp_path)}
    env.pop("AWS_ENDPOINT_URL", None)
    demo = subprocess.run(
        [sys.executable, "-m", "infra.cli", "demo", "--exit", "--seconds", "4",
         "--api-port", str(free_port()), "--cdn-port", str(free_port())],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-2000:]
    lines = demo.stdout.splitlines()
    assert any(line.startswith("API http://") for line in lines)
    assert any(line.startswith("CDN http://") for line in lines)
    assert any(line.startswith("READY in ") for line in lines)
    [play] = [line.split(" ", 1)[1] for line in lines if line.startswith("PLAY ")]
    assert "Signature=" in play
    assert "master.m3u8" in play
