"""A real client: a stock hls.js 1.6 (tests/browser/package-lock.json) in Debian's headless
Chromium, driven by playwright-core, plays a published video through the local edge with CMCD in
query-argument mode. The page reports the playback session's heartbeats (playing, then a final
``ended`` sendBeacon with the token in a text/plain body). Then: the CMCD it sent reached the
collector through the edge's real-time log records, and the session's QoE (GET
/v1/videos/{id}/qoe) shows its startup time.

Every wait polls for its condition with a deadline: the chain (edge -> Kinesis -> collector;
beacon -> sessions table stream -> session.ended -> bus -> queue -> recorder) is asynchronous,
and a previous attempt that slept a fixed time failed under load.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pytest
import requests

from functions.qoe.logic.cmcd import encode_payload, parse_query
from infra.local.emulator import EmbeddedStack
from tests.conftest import make_clip
from tests.e2e.conftest import Client

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
CHROMIUM = "/usr/bin/chromium"
OWNER = "qoe-owner"
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.25) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def page_server() -> Iterator[str]:
    """tests/browser/ (the page and the installed hls.js) over loopback HTTP."""
    assert (BROWSER_DIR / "node_modules" / "hls.js" / "dist" / "hls.min.js").exists(), (
        "hls.js is not installed: run `make browser-deps` (make test does)"
    )
    handler = functools.partial(_QuietHandler, directory=str(BROWSER_DIR))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="browser-page", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def play_in_chromium(page_url: str, home: Path, timeout_s: float = 120) -> dict[str, Any]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium (make test does)"
    node = shutil.which("node")
    assert node, "Node.js is needed (make system-deps)"
    done = subprocess.run(
        [node, str(BROWSER_DIR / "play.mjs"), page_url, str(int(timeout_s * 1000))],
        cwd=BROWSER_DIR,
        capture_output=True,
        text=True,
        timeout=timeout_s + 60,
        env={
            "PATH": "/usr/bin:/bin",
            "CHROMIUM_PATH": CHROMIUM,
            "HOME": str(home),
        },  # Chromium's profile files,
    )
    assert done.returncode == 0, f"the browser run failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["driver_log"] = done.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def published(stack: EmbeddedStack, media_dir: Path) -> str:
    """One READY public video (any viewer may play it), shared by the tests below."""
    owner = Client(stack, sub=OWNER)
    clip = make_clip(media_dir / "qoe.mp4", seconds=6, size="640x360", rate=25)
    video_id = owner.upload(clip, "qoe in the browser", visibility="public")
    assert owner.wait(video_id, {"READY", "FAILED", "REJECTED"})["status"] == "READY"
    return video_id


def session_qoe(
    stack: EmbeddedStack, video_id: str, session_id: str, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """The video's QoE summary once it lists ``session_id`` in the state ``ready`` asks for (its
    end recorded, the CMCD records of interest counted: they arrive in batches of their own)."""
    assert stack.api is not None
    got = requests.get(
        f"{stack.api.url}/v1/videos/{video_id}/qoe",
        headers=Client(stack, sub=OWNER).headers,
        params={"limit": 10},
        timeout=30,
    )
    assert got.status_code == 200, got.text
    for item in got.json()["sessions"]:
        if item["session_id"] == session_id and ready(item):
            return {"summary": got.json(), "session": item}
    return None


def test_hlsjs_in_chromium_sends_cmcd_that_reaches_the_session_qoe(
    stack: EmbeddedStack, published: str, page_server: str, tmp_path: Path
) -> None:
    # Given a published video and a viewer's playback session
    video_id = published
    viewer = Client(stack, sub="qoe-viewer", role="viewer")
    resp = viewer.playback(video_id)
    assert resp.status_code == 200, resp.text
    playback = resp.json()
    session_id, token = playback["session_id"], playback["session_token"]

    # When the stock player plays it in Chromium with CMCD on (query mode)
    assert stack.api is not None
    query = urlencode(
        {
            "hls": playback["hls_url"],
            "api": stack.api.url,
            "session_id": session_id,
            "token": token,
            "video_id": video_id,
            "watch_seconds": "2",
        }
    )
    result = play_in_chromium(f"{page_server}/qoe_page.html?{query}", home=tmp_path)

    # Then the page played and reported: a startup time, the final beacon queued
    assert result.get("state") == "ended", result
    assert result["hls_version"].startswith("1.6."), result["hls_version"]
    assert isinstance(result["startup_time_ms"], int) and result["startup_time_ms"] >= 0
    assert result["beacon_queued"] is True
    assert result["heartbeat_statuses"] == [200], result  # "playing" (the beacon's is not readable)
    answered = (result["heartbeats_answered"], result["heartbeats_failed"])
    assert answered == (result["heartbeats_sent"], 0), result["driver_log"]
    # hls.js sent CMCD on its playlist and segment requests: our session id and the video id
    urls = result["cmcd_urls"]
    assert any("/hls/" in u and ".m3u8" not in u for u in urls), urls
    for url in urls:
        cmcd = parse_query(urlsplit(url).query)
        assert cmcd is not None and cmcd.values["sid"] == session_id and cmcd.values["cid"] == video_id, url
        assert not [d for d in cmcd.dropped if d.key in ("sid", "cid", "ot", "br", "bl")], cmcd.dropped
    segment_cmcd = [parse_query(urlsplit(u).query) for u in urls if ".m3u8" not in urlsplit(u).path]
    assert any(c is not None and c.values.get("ot") in ("av", "v") and "br" in c.values for c in segment_cmcd)

    # And the session's QoE summary shows the startup time and the CMCD the edge collected
    found = eventually(
        lambda: session_qoe(stack, video_id, session_id, lambda item: bool(item["bitrates_kbps"])),
        timeout=90,
        what="the session's QoE with the CMCD of its segments",
    )
    session, summary = found["session"], found["summary"]
    assert session["startup_time_ms"] == result["startup_time_ms"]
    assert session["end_reason"] == "ended"
    assert session["exited_before_start"] is False and session["errored"] is False
    assert session["bitrates_kbps"] and session["average_bitrate_kbps"] > 0
    assert summary["count"] >= 1
    assert summary["startup_time_p50_ms"] is not None
    assert summary["playback_failure_percentage"] == 0.0


def test_cmcd_and_heartbeats_without_a_browser_reach_the_summary(
    stack: EmbeddedStack, published: str
) -> None:
    """The same chain driven by plain HTTP: a player's CMCD requests through the edge (the
    signature checked with CMCD present), an error heartbeat, and the failure in the summary."""
    assert stack.api is not None
    viewer = Client(stack, sub="qoe-viewer-2", role="viewer")
    playback = viewer.playback(published).json()
    sid, master = playback["session_id"], playback["hls_url"]

    def cmcd(**values: str | int | bool) -> str:
        return "CMCD=" + quote(encode_payload({"sid": sid, "cid": published, "sf": "h", **values}), safe="")

    # When the player fetches the master, a variant and a segment with CMCD appended
    got = requests.get(f"{master}&{cmcd(ot='m', su=True)}", timeout=30)
    assert got.status_code == 200, got.text
    assert "CMCD" not in got.text  # never copied into child URIs
    variant = next(line for line in got.text.splitlines() if line and not line.startswith("#"))
    variant_url = urljoin(master, variant)
    got = requests.get(f"{variant_url}&{cmcd(ot='m')}", timeout=30)
    assert got.status_code == 200, got.text
    segment = next(line for line in got.text.splitlines() if line and not line.startswith("#"))
    got = requests.get(f"{urljoin(variant_url, segment)}&{cmcd(ot='av', br=960, bl=0, bs=True)}", timeout=30)
    assert got.status_code == 200
    # and a forged signature with CMCD is still refused
    assert (
        requests.get(f"{master.replace('Signature=', 'Signature=x')}&{cmcd(ot='m')}", timeout=30).status_code
        == 403
    )
    # and the session fails: an error heartbeat before it ever played (the token in the body)
    beat = requests.post(
        f"{stack.api.url}/v1/sessions/{sid}/heartbeat",
        data=json.dumps(
            {
                "state": "error",
                "position_seconds": 0,
                "token": playback["session_token"],
                "error": {"code": "MEDIA_ERR_DECODE", "message": "decode"},
            }
        ),
        headers={"content-type": "text/plain"},
        timeout=30,
    )
    assert beat.status_code == 200, beat.text

    # Then the session is a failure with its CMCD (one starvation) in the summary
    found = eventually(
        lambda: session_qoe(stack, published, sid, lambda item: item["buffer_starvations"] >= 1),
        timeout=90,
        what="the failed session's QoE with its segment's CMCD",
    )
    session = found["session"]
    assert session["errored"] is True and session["end_reason"] == "error"
    assert session["exited_before_start"] is False  # a failure, not an exit before start
    assert session["startup_time_ms"] is None
    assert session["buffer_starvations"] == 1 and session["bitrates_kbps"] == [960]
    assert found["summary"]["playback_failure_percentage"] > 0
