"""Sessions bench: the heartbeat path in-process, 1,000 simulated viewers heartbeating against the
embedded API, and continue-watching/history pages, with DynamoDB calls per request.

- ``heartbeat_in_process``: the videos-api handler called in-process with API Gateway payload-2.0
  events against moto in-process (as tests/bench/catalog_bench.py does); every DynamoDB call
  counted by a botocore ``before-call`` hook. Budget: 1 call per heartbeat.
- ``viewers``: an embedded stack (``EmbeddedStack``: moto server, functions in execution
  environments of their own, the local HTTP front); 1,000 playbacks (1,000 accounts: the stream
  limit is per account), then each viewer heartbeats every 10 s for 60 s. The viewers are
  coroutines, in a process of their own, sharing a pool of keep-alive HTTP/1.1 connections (a
  thread or a socket per viewer would measure the load generator, not the API); latency is from
  the viewer's wish to send to the answer read, pool wait included. Budget: 0 errors.
- ``pages``: continue-watching and history pages (first and with a cursor) over 300 entries of one
  profile, in-process. Budget: 2 DynamoDB calls a page.

    .venv/bin/python -m tests.bench.sessions_bench          # or: make bench BENCH=sessions
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import statistics
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.bench.catalog_bench import DynamoCalls, InProcessApi, _percentile

SECTION = "sessions"
HEARTBEAT_BUDGET = 1
PAGE_BUDGET = 2
VIEWERS = 1000
INTERVAL_S = 10.0
DURATION_S = 60.0
CONNECTIONS = 48
IN_PROCESS_HEARTBEATS = 1000
HISTORY_ENTRIES = 300


def _latency_summary(latencies: list[float]) -> dict[str, Any]:
    if not latencies:
        return {"requests": 0}
    return {
        "requests": len(latencies),
        "p50_ms": round(_percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
    }


def _video_item(video_id: str, duration: float = 3600.0) -> dict[str, Any]:
    return {
        "video_id": {"S": video_id},
        "owner_sub": {"S": "bench-owner"},
        "title": {"S": "bench video"},
        "status": {"S": "READY"},
        "attempt": {"N": "1"},
        "created_at": {"S": "2026-01-01T00:00:00.000Z"},
        "updated_at": {"S": "2026-01-01T00:00:00.000Z"},
        "upload_key": {"S": f"uploads/{video_id}/source"},
        "visibility": {"S": "public"},
        "duration_seconds": {"N": str(duration)},
    }


# -- in-process: one heartbeat's path and the pages ---------------------------------------------
def _in_process(heartbeats: int, entries: int) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    import boto3
    from moto import mock_aws

    from infra import spec
    from infra.local import moto_patches, provision
    from infra.local.emulator import reset_function_caches
    from infra.local.keys import CloudFrontKeys, LocalIssuer

    env = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": provision.REGION, "AWS_REGION": provision.REGION,
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING", "MAX_CONCURRENT_STREAMS": "100",
    }  # fmt: skip
    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(env)
    moto_patches.install()
    try:
        with mock_aws(), tempfile.TemporaryDirectory() as tmp:
            keys = CloudFrontKeys(Path(tmp))
            res = provision.local_resources(cdn_base_url="https://cdn.bench", key_pair_id=keys.key_pair_id)
            fn = spec.FUNCTIONS_BY_NAME["videos-api"]
            os.environ.update({**spec.function_environment(fn, res, {}), **env})
            reset_function_caches()
            ddb = boto3.client("dynamodb", region_name=provision.REGION)
            provision.create_tables(ddb, res)
            provision.create_secret(
                boto3.client("secretsmanager", region_name=provision.REGION), res, keys.private_pem
            )
            api = InProcessApi(LocalIssuer(Path(tmp)))
            video_id = uuid.uuid4().hex
            ddb.put_item(TableName=res.videos_table, Item=_video_item(video_id))
            with DynamoCalls() as counter:
                beats = _heartbeats(api, counter, video_id, heartbeats)
                pages = _pages(api, counter, ddb, res.sessions_table, entries)
            return {"heartbeat_in_process": beats, "pages": pages}
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_function_caches()


def _heartbeats(api: InProcessApi, counter: DynamoCalls, video_id: str, total: int) -> dict[str, Any]:
    sessions = []
    for _ in range(20):
        status, body, _ = api("POST", f"/v1/videos/{video_id}/playback", body={}, sub="bench-hb")
        assert status == 200, body
        sessions.append({**body, "sequence": 0})
    states = ["playing"] * 8 + ["buffering", "paused"]
    latencies: list[float] = []
    calls: list[int] = []
    rng = random.Random(7)
    for i in range(total):
        session = sessions[i % len(sessions)]
        session["sequence"] += 1
        body = {
            "state": rng.choice(states),
            "position_seconds": session["sequence"] * 10.0,
            "sequence": session["sequence"],
            "cmcd": {"bl": 12000, "br": 3000, "mtp": 25000, "sid": session["session_id"]},
        }
        headers = {"authorization": f"Bearer {session['session_token']}"}
        with counter.counting() as made:
            started = time.perf_counter()
            status, answer, _ = api(
                "POST",
                f"/v1/sessions/{session['session_id']}/heartbeat",
                body=body,
                headers=headers,
                role="viewer",
            )
            latencies.append(time.perf_counter() - started)
        assert status == 200, answer
        calls.append(len(made))
    return {
        **_latency_summary(latencies),
        "dynamodb_calls_per_heartbeat_max": max(calls),
        "dynamodb_calls_per_heartbeat_mean": round(statistics.fmean(calls), 3),
        "budget": HEARTBEAT_BUDGET,
        "within_budget": max(calls) <= HEARTBEAT_BUDGET,
        "how": "videos-api handler in-process, API Gateway v2 events, moto in-process; one conditional "
        "UpdateItem per heartbeat, counted by a botocore before-call hook",
    }


def _pages(api: InProcessApi, counter: DynamoCalls, ddb: Any, table: str, entries: int) -> dict[str, Any]:
    # Seed one profile's history as the stream recorder writes it (functions/sessions/logic/recorder.py).
    from functions.sessions.dal.sessions import viewer_pk
    from functions.sessions.logic.recorder import entry_fields

    viewer = "bench-pages#-"
    base_ms = 1_790_000_000_000
    for i in range(entries):
        video_id = uuid.uuid4().hex
        fields = entry_fields(
            {
                "viewer": viewer,
                "video_id": video_id,
                "session_id": f"ses_{i:022d}",
                "video_title": f"video {i}",
                "position_seconds": float(10 + (i * 37) % 580),
                "duration_seconds": 600.0,
                "last_seen_ms": base_ms + i * 1000,
            }
        )
        item: dict[str, Any] = {"pk": {"S": viewer_pk(viewer)}, "sk": {"S": f"video#{video_id}"}}
        for name, value in fields.items():
            if value is None:
                continue
            if isinstance(value, bool):
                item[name] = {"BOOL": value}
            elif isinstance(value, int | float):
                item[name] = {"N": str(value)}
            else:
                item[name] = {"S": str(value)}
        item["watched_ms"] = {"N": str(base_ms + i * 1000)}
        ddb.put_item(TableName=table, Item=item)
    results: dict[str, Any] = {"entries_seeded": entries}
    for name, path in (("continue_watching", "/v1/me/continue-watching"), ("history", "/v1/me/history")):
        latencies, calls = [], []
        cursor = None
        for _ in range(100):
            query = {"limit": 20, **({"cursor": cursor} if cursor else {})}
            with counter.counting() as made:
                started = time.perf_counter()
                status, body, _ = api("GET", path, query=urlencode(query), sub="bench-pages")
                latencies.append(time.perf_counter() - started)
            assert status == 200, body
            calls.append(len(made))
            cursor = body.get("next_cursor")  # walk the pages, then start over
        results[name] = {
            **_latency_summary(latencies),
            "dynamodb_calls_per_page_max": max(calls),
            "budget": PAGE_BUDGET,
            "within_budget": max(calls) <= PAGE_BUDGET,
        }
    return results


# -- 1,000 viewers against the embedded stack ----------------------------------------------------
class _Pool:
    """Keep-alive HTTP/1.1 connections to one host, shared by the viewers."""

    def __init__(self, url: str, size: int):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.size = size
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)  # opened on first use
        self.reconnects = 0

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = await self._idle.get()
        try:
            for attempt in (1, 2):
                if conn is None:
                    conn = await asyncio.open_connection(self.host, self.port)
                    self.reconnects += 1
                reader, writer = conn
                head = [
                    f"POST {path} HTTP/1.1",
                    f"Host: {self.host}:{self.port}",
                    f"Content-Length: {len(body)}",
                ]
                head += [f"{k}: {v}" for k, v in headers.items()]
                try:
                    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                    await writer.drain()
                    status, answer, close = await _read_response(reader)
                except (ConnectionError, asyncio.IncompleteReadError):
                    writer.close()
                    conn = None
                    if attempt == 2:
                        raise
                    continue  # the server closed an idle connection before the request: reconnect
                if close:
                    writer.close()
                    conn = None
                return status, answer
            raise RuntimeError("unreachable")
        finally:
            self._idle.put_nowait(conn)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    status_line = await reader.readuntil(b"\r\n")
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length, close = 0, False
    while True:
        line = await reader.readuntil(b"\r\n")
        if line == b"\r\n":
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
        elif name.lower() == "connection" and value.strip().lower() == "close":
            close = True
    return status, await reader.readexactly(length), close


async def _simulate(
    url: str, sessions: list[dict[str, Any]], interval: float, duration: float
) -> dict[str, Any]:
    pool = _Pool(url, CONNECTIONS)
    latencies: list[float] = []
    errors: list[str] = []
    loop = asyncio.get_running_loop()
    begin = loop.time()
    rng = random.Random(11)

    async def viewer(session: dict[str, Any]) -> None:
        offset = rng.uniform(0, interval)  # viewers press play at different moments
        sequence = 0
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {session['session_token']}"}
        path = f"/v1/sessions/{session['session_id']}/heartbeat"
        while True:
            due = begin + offset + sequence * interval
            if due - begin >= duration:
                return
            await asyncio.sleep(max(0.0, due - loop.time()))
            sequence += 1
            body = json.dumps(
                {"state": "playing", "position_seconds": sequence * interval, "sequence": sequence}
            ).encode()
            started = loop.time()
            try:
                status, answer = await pool.post(path, body, headers)
            except Exception as exc:  # a dropped connection is an error too
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(loop.time() - started)
            if status != 200:
                errors.append(f"{status}: {answer[:200]!r}")

    await asyncio.gather(*(viewer(s) for s in sessions))
    elapsed = loop.time() - begin
    return {
        **_latency_summary(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "elapsed_s": round(elapsed, 1),
        "heartbeats_per_s": round(len(latencies) / elapsed, 1),
        "connections": CONNECTIONS,
        "connects": pool.reconnects,
    }


def _run_viewers(
    url: str, sessions: list[dict[str, Any]], interval: float, duration: float
) -> dict[str, Any]:
    return asyncio.run(_simulate(url, sessions, interval, duration))


def _viewers(viewers: int, interval: float, duration: float) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    import requests

    from infra.local.emulator import EmbeddedStack

    quiet = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
    state = Path(tempfile.mkdtemp(prefix="vod-bench-sessions-"))
    stack = EmbeddedStack(directory=state, overrides=quiet, persistent=False).start()
    try:
        assert stack.api is not None and stack.resources is not None
        url = stack.api.url
        video_id = uuid.uuid4().hex
        stack.client("dynamodb").put_item(TableName=stack.resources.videos_table, Item=_video_item(video_id))
        http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=8, pool_maxsize=8)
        http.mount("http://", adapter)

        def open_session(i: int) -> dict[str, Any]:
            token = stack.issuer.issue(sub=f"bench-viewer-{i}", roles=["viewer"])
            resp = http.post(
                f"{url}/v1/videos/{video_id}/playback",
                json={},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            resp.raise_for_status()
            return dict(resp.json())

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            sessions = list(pool.map(open_session, range(viewers)))
        playbacks_s = time.monotonic() - started
        # The viewers run in a process of their own: in this one they would share the GIL with
        # the moto server and the HTTP front they are measuring.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as viewers_process:
            load = viewers_process.submit(_run_viewers, url, sessions, interval, duration).result()
        return {
            "viewers": viewers,
            "interval_s": interval,
            "duration_s": duration,
            "playbacks_opened_s": round(playbacks_s, 1),
            **load,
            "within_budget": load["errors"] == 0,
            "load_average_1_5_15_min_at_end": [round(x, 2) for x in os.getloadavg()],
            "how": "embedded stack (moto server, videos-api in its execution environments, local HTTP "
            "front); viewers are asyncio coroutines in their own process on a shared pool of "
            "keep-alive connections",
        }
    finally:
        stack.stop()


def bench_section(*, viewers: int = VIEWERS, duration: float = DURATION_S) -> dict[str, Any]:
    results = _in_process(IN_PROCESS_HEARTBEATS, HISTORY_ENTRIES)
    results["viewers"] = _viewers(viewers, INTERVAL_S, duration)
    return results


def failures(results: dict[str, Any]) -> list[str]:
    problems = []
    beats = results["heartbeat_in_process"]
    if not beats["within_budget"]:
        problems.append(
            f"a heartbeat made {beats['dynamodb_calls_per_heartbeat_max']} DynamoDB calls (budget 1)"
        )
    for name in ("continue_watching", "history"):
        if not results["pages"][name]["within_budget"]:
            problems.append(f"a {name} page made more than {PAGE_BUDGET} DynamoDB calls")
    if results["viewers"]["errors"]:
        problems.append(f"{results['viewers']['errors']} heartbeats of the simulated viewers failed")
    return problems


if __name__ == "__main__":
    import sys

    figures = bench_section(
        viewers=int(os.environ.get("BENCH_VIEWERS", VIEWERS)),
        duration=float(os.environ.get("BENCH_SECONDS", DURATION_S)),
    )
    print(json.dumps(figures, indent=2))
    problems = failures(figures)
    for problem in problems:
        print(problem, file=sys.stderr)
    sys.exit(1 if problems else 0)
