"""Multipart uploads with part checksums, and the domain events every terminal state emits."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from functions.shared.keys import upload_key
from infra.cli import upload_file
from infra.local.emulator import EmbeddedStack
from tests.conftest import make_clip
from tests.e2e.conftest import MULTIPART_THRESHOLD, Client

pytestmark = pytest.mark.e2e


def test_a_large_file_goes_up_in_checksummed_parts_and_starts_one_execution(
    stack: EmbeddedStack, client: Client, tmp_path: Path
) -> None:
    # Given a file above the multipart threshold
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(MULTIPART_THRESHOLD + 4 * 1024 * 1024))
    # When the CLI uploads it (presigned parts with SHA-256 checksums, then complete)
    created = upload_file(client.api, client.headers, big, "multipart")
    # Then it took the multipart path, S3 holds the exact bytes, and the pipeline started once
    assert created["upload"]["method"] == "MULTIPART"
    assert len(created["upload"]["parts"]) == 3
    assert stack.resources is not None
    body = (
        stack.client("s3")
        .get_object(Bucket=stack.resources.upload_bucket, Key=upload_key(created["id"]))["Body"]
        .read()
    )
    assert hashlib.sha256(body).digest() == hashlib.sha256(big.read_bytes()).digest()
    video = client.wait(created["id"], {"READY", "FAILED", "REJECTED"}, timeout=60)
    assert video["status"] == "REJECTED"  # random bytes are not media
    assert video["reason"] == "not_media"
    assert len(client.executions_for(created["id"])) == 1


def _event_queue(stack: EmbeddedStack) -> str:
    """Subscribe an SQS queue to the platform bus, as a downstream consumer would."""
    assert stack.resources is not None
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=f"observer-{time.monotonic_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = stack.client("events")
    name = f"observe-{time.monotonic_ns()}"
    events.put_rule(
        Name=name,
        EventBusName=stack.resources.event_bus_name,
        EventPattern=json.dumps({"source": ["vod.videos"]}),
    )
    events.put_targets(
        Rule=name, EventBusName=stack.resources.event_bus_name, Targets=[{"Id": "q", "Arn": arn}]
    )
    return str(url)


def _received(stack: EmbeddedStack, url: str, video_id: str, timeout: float = 30) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not found:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            event = json.loads(message["Body"])
            if event["detail"].get("video_id") == video_id:
                found.append(event)
    return found


def test_ready_and_failed_videos_emit_domain_events(
    stack: EmbeddedStack,
    client: Client,
    media_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_process: Callable[..., None],
) -> None:
    queue = _event_queue(stack)
    # A good clip -> video.ready with its renditions
    good = client.upload(make_clip(media_dir / "events.mp4", seconds=2, size="640x360"), "events")
    assert client.wait(good, {"READY", "FAILED", "REJECTED"})["status"] == "READY"
    [ready] = _received(stack, queue, good)
    assert ready["detail-type"] == "video.ready"
    assert ready["detail"]["renditions"][0]["playlist_key"].endswith("index.m3u8")
    # A broken transcode -> video.failed with the reason
    import functions.pipeline.handlers.handle_transcode as transcode_handler

    in_process("pipeline-transcode")

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(transcode_handler, "transcode_step", broken)
    bad = client.upload(make_clip(media_dir / "events2.mp4", seconds=2, size="640x360"), "events fail")
    assert client.wait(bad, {"READY", "FAILED", "REJECTED"})["status"] == "FAILED"
    [failed] = _received(stack, queue, bad)
    assert failed["detail-type"] == "video.failed"
    assert failed["detail"]["reason"] == "transcode_error"


def test_publish_emits_transcode_speed_and_upload_to_ready_metrics(
    client: Client, media_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a video through the whole pipeline (metrics are EMF lines on stdout, as in Lambda)
    video_id = client.upload(make_clip(media_dir / "metrics.mp4", seconds=4, size="640x360"), "metrics")
    assert client.wait(video_id, {"READY", "FAILED", "REJECTED"})["status"] == "READY"
    # Then the publish step emitted its business metrics with plausible values (READY is written
    # before the handler returns and flushes its metrics: give the flush a moment)
    emitted: dict[str, float] = {}
    deadline = time.monotonic() + 15
    while "VideosReady" not in emitted and time.monotonic() < deadline:
        for line in capsys.readouterr().out.splitlines():
            if not line.startswith('{"_aws"'):
                continue
            record = json.loads(line)
            for metric in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = record[metric["Name"]]
                emitted[metric["Name"]] = value[0] if isinstance(value, list) else value
        time.sleep(0.2)
    assert emitted["VideosReady"] == 1
    assert 0 < emitted["UploadToReadySeconds"] < 120
    assert 0 < emitted["TranscodeSecondsPerOutputMinute"] < 600
