"""Concurrent load on the embedded API: throughput, latency and, above all, cross-user answers.

Many users at once, each on a thread of its own, each request checked against what that user
alone may see:
  GET /v1/profiles           only the caller's own profiles (each user made one named after it);
  GET /v1/videos/{own id}    the caller's video, with the caller as owner;
  GET /v1/moderation/queue   403 for an uploader, 200 for an admin.
A request is a *leak* when it answers with another user's data (or an uploader gets the admin
queue), a *spurious 401* when a valid token is refused, an *error* when anything else is off.

``measure(tree)`` runs ``vod local up`` from the checkout ``tree`` (a subprocess, its own state
directory, free ports), so an older checkout is measured the same way as this one
(``python -m tests.bench.run --only concurrency`` measures the pre-isolation commit alongside).
Tokens come from the local issuer's key in that state directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
USERS = 24
ADMINS = 2
DURATION_S = 20.0


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    leaks: int = 0
    spurious_401: int = 0
    errors: int = 0
    examples: list[str] = field(default_factory=list)

    def note(self, kind: str, detail: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.examples) < 5:
            self.examples.append(f"{kind}: {detail}")


@contextmanager
def running_stack(tree: Path, state: Path, switch_interval_s: float = 0.005) -> Iterator[str]:
    """``vod local up`` from ``tree``: yields the API URL; stopped (SIGTERM, then KILL) after."""
    env = {
        **os.environ,
        "VOD_STATE_DIR": str(state),
        "PYTHONPATH": str(tree),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    argv = ["vod", "local", "up", "--api-port", "0", "--cdn-port", "0"]
    # The stack's own threads switch as often as ``switch_interval_s`` says (CPython's default is
    # 5 ms): a short interval makes a race between two requests in one process likely.
    launcher = (
        f"import runpy, sys; sys.setswitchinterval({switch_interval_s!r}); sys.argv = {argv!r}; "
        "runpy.run_module('infra.cli', run_name='__main__')"
    )
    cmd = [sys.executable, "-c", launcher]
    proc = subprocess.Popen(
        cmd, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        api = ""
        for line in proc.stdout:
            if line.startswith("API "):
                api = line.split()[1]
            if line.startswith("serving"):
                break
        if not api:
            raise RuntimeError(f"`vod local up` in {tree} did not start (exit {proc.poll()})")
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
        yield api
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _token(state: Path, sub: str, role: str) -> str:
    from infra.local.keys import LocalIssuer

    return LocalIssuer(state).issue(sub=sub, roles=[role])


@dataclass(frozen=True)
class User:
    sub: str
    role: str
    headers: dict[str, str]
    video_id: str = ""


def _set_up(api: str, state: Path, users: int, admins: int) -> list[User]:
    people = []
    for n in range(users):
        role = "admin" if n < admins else "uploader"
        sub = f"load-{role}-{n:02d}"
        headers = {"Authorization": f"Bearer {_token(state, sub, role)}"}
        made = requests.post(f"{api}/v1/profiles", json={"name": sub}, headers=headers, timeout=60)
        made.raise_for_status()
        video = requests.post(
            f"{api}/v1/videos",
            json={"title": f"clip of {sub}", "content_type": "video/mp4", "size_bytes": 1000},
            headers=headers,
            timeout=60,
        )
        video.raise_for_status()
        people.append(User(sub, role, headers, video.json()["id"]))
    return people


def _check(user: User, path: str, response: requests.Response, tally: Tally) -> None:
    status = response.status_code
    if status == 401:
        tally.note("spurious_401", f"{user.sub} {path}")
        return
    if path == "/v1/moderation/queue":
        expected = 200 if user.role == "admin" else 403
        if status != expected:
            kind = "leaks" if status == 200 else "errors"
            tally.note(kind, f"{user.sub} ({user.role}) {path} -> {status}")
        return
    if status != 200:
        tally.note("errors", f"{user.sub} {path} -> {status} {response.text[:120]}")
        return
    body = response.json()
    if path == "/v1/profiles":
        names = {p["name"] for p in body["items"]}
        if names != {user.sub}:
            tally.note("leaks", f"{user.sub} {path} -> {sorted(names)}")
    elif body.get("id") != user.video_id:
        tally.note("leaks", f"{user.sub} {path} -> video {body.get('id')}")


def _drive(api: str, user: User, until: float, tally: Tally, lock: threading.Lock) -> None:
    paths = ["/v1/profiles", f"/v1/videos/{user.video_id}", "/v1/moderation/queue"]
    session = requests.Session()
    mine = Tally()
    n = 0
    while time.monotonic() < until:
        path = paths[n % len(paths)]
        n += 1
        started = time.perf_counter()
        try:
            response = session.get(f"{api}{path}", headers=user.headers, timeout=60)
        except requests.RequestException as exc:
            mine.note("errors", f"{user.sub} {path}: {type(exc).__name__}")
            continue
        mine.latencies_ms.append((time.perf_counter() - started) * 1000)
        _check(user, path, response, mine)
    with lock:
        tally.latencies_ms += mine.latencies_ms
        tally.leaks += mine.leaks
        tally.spurious_401 += mine.spurious_401
        tally.errors += mine.errors
        tally.examples += mine.examples[: max(0, 5 - len(tally.examples))]


def load(
    api: str, state: Path, *, users: int = USERS, admins: int = ADMINS, seconds: float = DURATION_S
) -> dict[str, Any]:
    # No warm-up: all users start at once on a stack that has served only the set-up, as the
    # probe that found the leaks did (first uses build validators and import route code, long
    # stretches of Python in which a thread is preempted).
    people = _set_up(api, state, users, admins)
    tally, lock = Tally(), threading.Lock()
    started = time.monotonic()
    until = started + seconds
    threads = [threading.Thread(target=_drive, args=(api, u, until, tally, lock)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    lat = sorted(tally.latencies_ms)
    count = len(lat)
    return {
        "users": users,
        "seconds": round(elapsed, 1),
        "requests": count + tally.errors,
        "requests_per_second": round(count / elapsed, 1),
        "p50_ms": round(lat[count // 2], 1) if lat else None,
        "p99_ms": round(lat[min(count - 1, int(count * 0.99))], 1) if lat else None,
        "cross_user_answers": tally.leaks,
        "spurious_401": tally.spurious_401,
        "errors": tally.errors,
        "examples": tally.examples,
    }


def measure(tree: Path = ROOT, *, switch_interval_s: float = 0.005, **kwargs: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vod-load-") as tmp:
        state = Path(tmp)
        with running_stack(tree, state, switch_interval_s) as api:
            result = load(api, state, **kwargs)
    return {"switch_interval_s": switch_interval_s, **result}


SECTION = "concurrency"
BASELINE_COMMIT = "a31dd87"  # the last commit before execution environments (issue 12, point 2)
SWITCH_INTERVALS_S = (0.005, 1e-5)  # CPython's default, and one that makes a race show


def bench_section() -> dict[str, Any]:
    """Before (``BASELINE_COMMIT``) and after, measured the same way in this run, one at a time."""
    runs: list[dict[str, Any]] = []
    from tests.bench.import_bench import baseline_tree

    with baseline_tree(BASELINE_COMMIT) as before:
        for interval in SWITCH_INTERVALS_S:
            if before is not None:
                runs.append({"code": BASELINE_COMMIT, **measure(before, switch_interval_s=interval)})
            runs.append({"code": "this", **measure(ROOT, switch_interval_s=interval)})
    return {"users": USERS, "admins": ADMINS, "seconds_per_run": DURATION_S, "runs": runs}


def failures(result: dict[str, Any]) -> list[str]:
    """What is wrong with one run; for a section, with this code's runs (the before may leak)."""
    if "runs" in result:
        return [
            f"{run['switch_interval_s']}: {problem}"
            for run in result["runs"]
            if run["code"] == "this"
            for problem in failures(run)
        ]
    return [
        f"{name}: {result[name]}" for name in ("cross_user_answers", "spurious_401", "errors") if result[name]
    ]


if __name__ == "__main__":
    tree = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else 0.005
    print(json.dumps(measure(tree, switch_interval_s=interval), indent=2))
