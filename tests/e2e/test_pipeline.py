"""The media pipeline Saga executed for real in the embedded mode (moto's ASL interpreter + ffmpeg)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import m3u8
import pytest
import requests

from functions.playback.signing import sign_url
from functions.shared import keys
from infra import spec
from infra.local.emulator import EmbeddedStack
from tests.conftest import make_clip
from tests.e2e.conftest import Client

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ready_video(stack: EmbeddedStack, media_dir: Path) -> dict[str, Any]:
    """One 720p clip with audio through the whole pipeline, shared by the checks below."""
    clip = make_clip(media_dir / "hd.mp4", seconds=9, size="1280x720", rate=30)
    client = Client(stack, sub="owner-1")
    video_id = client.upload(clip, "happy path", visibility="public")  # other viewers play it too
    return client.wait(video_id, {"READY", "FAILED", "REJECTED"})


def test_happy_path_reaches_ready_with_renditions_poster_and_storyboard(
    ready_video: dict[str, Any], client: Client
) -> None:
    assert ready_video["status"] == "READY", ready_video
    assert ready_video["duration_seconds"] == pytest.approx(9, abs=0.2)
    assert (ready_video["width"], ready_video["height"]) == (1280, 720)
    assert [(r["width"], r["height"]) for r in ready_video["renditions"]] == [
        (1280, 720),
        (854, 480),
        (640, 360),
    ]
    assert all(
        r["bitrate"] > 0 and r["playlist_key"].endswith("index.m3u8") for r in ready_video["renditions"]
    )
    stored = set(client.objects_under(keys.output_prefix(ready_video["id"])))
    assert ready_video["poster_key"] in stored
    assert ready_video["storyboard_key"] in stored
    assert keys.master_playlist_key(ready_video["id"]) in stored
    assert len(client.executions_for(ready_video["id"])) == 1


def test_signed_url_plays_master_variants_and_segments_through_the_edge(
    ready_video: dict[str, Any], stack: EmbeddedStack, tmp_path: Path
) -> None:
    # Given a signed playback URL from the API (any signed-in viewer may play a public READY video)
    viewer = Client(stack, sub="viewer-1", role="viewer")
    resp = viewer.playback(ready_video["id"])
    assert resp.status_code == 200, resp.text
    url = resp.json()["hls_url"]
    # When a player fetches the master and follows its relative URIs
    master_resp = requests.get(url, timeout=10)
    assert master_resp.status_code == 200
    assert master_resp.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert master_resp.headers["access-control-allow-origin"] == "*"
    master = m3u8.loads(master_resp.text)
    assert master.is_variant and len(master.playlists) == 3
    for variant in master.playlists:
        info = variant.stream_info
        assert (
            info.bandwidth and info.average_bandwidth and info.resolution and info.codecs and info.frame_rate
        )
        playlist_url = urljoin(url, variant.uri)
        playlist_resp = requests.get(playlist_url, timeout=10)
        assert playlist_resp.status_code == 200
        playlist = m3u8.loads(playlist_resp.text)
        assert playlist.is_endlist and playlist.playlist_type == "vod"
        segment_url = urljoin(playlist_url, playlist.segments[0].uri)
        segment = requests.get(segment_url, timeout=10)
        assert segment.status_code == 200
        assert segment.headers["content-type"] == "video/mp2t"
        # Then ffprobe decodes a segment of every rung
        path = tmp_path / f"{info.resolution[1]}.ts"
        path.write_bytes(segment.content)
        decoded = subprocess.run(
            ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
             "stream=nb_read_frames,width,height", "-of", "json", str(path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        [stream] = json.loads(decoded.stdout)["streams"]
        assert (stream["width"], stream["height"]) == info.resolution
        assert int(stream["nb_read_frames"]) > 0


def test_a_real_hls_client_plays_the_signed_url_to_the_end(
    ready_video: dict[str, Any], client: Client
) -> None:
    """ffmpeg's HLS demuxer resolves relative URIs as players do: every request must be authorised."""
    url = client.playback(ready_video["id"]).json()["hls_url"]
    played = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", url, "-map", "0:v:0", "-map", "0:a:0", "-f", "null", "-"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert played.returncode == 0, played.stderr
    assert "403" not in played.stderr


def test_edge_refuses_expired_tampered_wrong_ip_and_wrong_path(
    ready_video: dict[str, Any], stack: EmbeddedStack
) -> None:
    assert stack.edge is not None
    base = stack.edge.url
    video_id = ready_video["id"]
    master = f"{base}/{keys.master_playlist_key(video_id)}"

    def signed(*, expires_in: int = 600, ip: str | None = None, resource: str | None = None) -> str:
        return sign_url(
            url=master,
            resource=resource or f"{base}/{keys.hls_prefix(video_id)}*",
            key_pair_id=stack.cloudfront.key_pair_id,
            private_pem=stack.cloudfront.private_pem,
            expires_at=int(time.time()) + expires_in,
            source_ip=ip,
        )

    assert requests.get(signed(), timeout=10).status_code == 200
    assert requests.get(signed(ip="127.0.0.1"), timeout=10).status_code == 200
    assert requests.get(master, timeout=10).status_code == 403  # unsigned
    assert requests.get(signed(expires_in=-5), timeout=10).status_code == 403
    assert requests.get(signed(ip="198.51.100.7"), timeout=10).status_code == 403
    tampered = signed().replace("Signature=", "Signature=A")
    assert requests.get(tampered, timeout=10).status_code == 403
    other = signed(resource=f"{base}/videos/{'f' * 32}/hls/*")
    assert requests.get(other, timeout=10).status_code == 403


def test_edge_serves_ranges_and_thumbnail_types(ready_video: dict[str, Any], stack: EmbeddedStack) -> None:
    assert stack.edge is not None
    base = stack.edge.url
    video_id = ready_video["id"]

    def signed(key: str) -> str:
        return sign_url(
            url=f"{base}/{key}",
            resource=f"{base}/{keys.output_prefix(video_id)}*",
            key_pair_id=stack.cloudfront.key_pair_id,
            private_pem=stack.cloudfront.private_pem,
            expires_at=int(time.time()) + 600,
            source_ip=None,
        )

    poster = requests.get(signed(ready_video["poster_key"]), timeout=10)
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert poster.content[:2] == b"\xff\xd8"
    vtt = requests.get(signed(ready_video["storyboard_key"]), timeout=10)
    assert vtt.status_code == 200 and vtt.headers["content-type"] == "text/vtt"
    assert vtt.text.startswith("WEBVTT")
    ranged = requests.get(signed(ready_video["poster_key"]), headers={"Range": "bytes=0-99"}, timeout=10)
    assert ranged.status_code == 206
    assert len(ranged.content) == 100
    assert ranged.headers["content-range"] == f"bytes 0-99/{len(poster.content)}"
    assert ranged.content == poster.content[:100]


def test_playback_before_ready_is_409(client: Client) -> None:
    video_id = client.create("not yet")["id"]
    resp = client.playback(video_id)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "video_not_ready"


# -- bad inputs -----------------------------------------------------------------------------------
def _truncated_mp4(media_dir: Path) -> Path:
    whole = make_clip(media_dir / "whole.mp4", seconds=3)  # moov at the end (no faststart)
    data = whole.read_bytes()
    cut = media_dir / "truncated.mp4"
    cut.write_bytes(data[: len(data) // 2])
    return cut


def _audio_only(media_dir: Path) -> Path:
    path = media_dir / "audio.m4a"
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=2",
            "-c:a",
            "aac",
            str(path),
        ],
        check=True,
    )
    return path


def _text_file(media_dir: Path) -> Path:
    path = media_dir / "notes.mp4"
    path.write_text("this is not a video\n" * 20)
    return path


def _empty(media_dir: Path) -> Path:
    path = media_dir / "empty.mp4"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_empty, "empty_file"),
        (_text_file, "not_media"),
        (_truncated_mp4, "truncated"),
        (_audio_only, "no_video_stream"),
    ],
)
def test_bad_inputs_end_rejected_with_their_reason(
    make: Callable[[Path], Path], reason: str, client: Client, media_dir: Path
) -> None:
    video_id = client.upload(make(media_dir), f"bad {reason}")
    video = client.wait(video_id, {"READY", "FAILED", "REJECTED"}, timeout=60)
    assert video["status"] == "REJECTED"
    assert video["reason"] == reason
    assert video["message"]
    assert client.objects_under(keys.output_prefix(video_id)) == []


# -- failures injected into each step --------------------------------------------------------------
class Boom(Exception):
    """A bug, not a transient error: the state machine must not retry it."""


def _fail_after(original: Callable[..., Any]) -> Callable[..., Any]:
    """Run the real step (so it writes its outputs), then fail: compensation must clean up."""

    def wrapper(**kwargs: Any) -> Any:
        original(**kwargs)
        raise Boom("injected failure")

    return wrapper


@pytest.mark.parametrize(
    ("module", "attribute", "reason"),
    [
        ("functions.pipeline.handlers.handle_probe", "probe_step", "probe_error"),
        ("functions.pipeline.handlers.handle_transcode", "transcode_step", "transcode_error"),
        ("functions.pipeline.handlers.handle_thumbnails", "thumbnails_step", "thumbnails_error"),
        ("functions.pipeline.handlers.handle_publish", "publish", "publish_error"),
    ],
)
def test_a_failure_in_each_step_ends_failed_with_no_outputs_left(
    module: str,
    attribute: str,
    reason: str,
    client: Client,
    small_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
) -> None:
    import importlib

    handler_module = importlib.import_module(module)
    in_process(*(fn.name for fn in spec.FUNCTIONS if fn.module == module))
    original = getattr(handler_module, attribute)
    if attribute == "publish":
        # Publishing is the last step: fail before it marks READY (after would be a success).
        def failing(**kwargs: Any) -> Any:
            raise Boom("injected failure")

        monkeypatch.setattr(handler_module, attribute, failing)
    else:
        monkeypatch.setattr(handler_module, attribute, _fail_after(original))
    video_id = client.upload(small_clip, f"inject {reason}")
    video = client.wait(video_id, {"READY", "FAILED", "REJECTED"}, timeout=120)
    assert video["status"] == "FAILED"
    assert video["reason"] == reason
    # The owner reads the platform's sentence for the reason, never the exception's own text
    assert reason in video["message"] and "injected failure" not in video["message"]
    assert client.objects_under(keys.output_prefix(video_id)) == []
    assert len(client.executions_for(video_id)) == 1


def test_an_aborted_execution_is_marked_failed_by_the_safety_net(
    client: Client,
    stack: EmbeddedStack,
    small_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
) -> None:
    import functions.pipeline.handlers.handle_probe as probe_handler

    in_process("pipeline-probe")
    original = probe_handler.probe_step
    probing = threading.Event()

    def slow(**kwargs: Any) -> Any:
        probing.set()
        time.sleep(2)
        return original(**kwargs)

    monkeypatch.setattr(probe_handler, "probe_step", slow)
    video_id = client.upload(small_clip, "aborted")
    # Stop it while a task is running, as an operator would. (moto, unlike AWS, can end an
    # execution stopped at the very moment a task starts FAILED instead of ABORTED.)
    assert probing.wait(60), "the execution never reached Probe"
    [run] = client.executions_for(video_id)
    stack.client("stepfunctions").stop_execution(
        executionArn=run["executionArn"], error="Operator", cause="test"
    )
    video = client.wait(video_id, {"READY", "FAILED", "REJECTED"}, timeout=60)
    assert video["status"] == "FAILED"
    assert video["reason"] == "execution_aborted"


def test_progress_per_rendition_and_eta_are_visible_while_encoding(client: Client, media_dir: Path) -> None:
    clip = make_clip(media_dir / "progress.mp4", seconds=20, size="1280x720", rate=30)
    video_id = client.upload(clip, "progress")
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 240
    video = client.get(video_id)
    while video["status"] not in {"READY", "FAILED", "REJECTED"} and time.monotonic() < deadline:
        progress = video.get("progress") or {}
        if video["status"] == "PROCESSING" and progress.get("stage") == "transcode":
            seen.append(progress)
        time.sleep(0.1)
        video = client.get(video_id)
    assert video["status"] == "READY"
    with_eta = [p for p in seen if "eta_seconds" in p]
    assert with_eta, seen
    assert set(with_eta[-1]["renditions"]) == {"720p", "480p", "360p"}
    percents = [p["percent"] for p in seen]
    assert percents == sorted(percents)  # never goes backwards
