"""Every sample event in events/ runs through its handler against moto without a function error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.shared.keys import master_playlist_key, upload_key
from infra import spec
from infra.local.lambda_runtime import invoke
from tests.integration.conftest import Account

EVENTS = Path(__file__).resolve().parents[2] / "events"
VIDEO_ID = "0123456789abcdef0123456789abcdef"

CASES = {
    "api_health.json": "videos-api",
    "api_create_video.json": "videos-api",
    "api_get_video.json": "videos-api",
    "api_create_playback.json": "videos-api",
    "sqs_s3_object_created.json": "ingest-starter",
    "sqs_webhook_event.json": "webhook-dispatcher",
    "sfn_compensate_input.json": "pipeline-compensate",
    "eventbridge_execution_failed.json": "pipeline-safety-net",
    "function_url_playlist.json": "playlist-origin",
    "schedule_sessions_sweep.json": "sessions-sweeper",  # the schedule's constant input
}
MASTER_PLAYLIST = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360p/index.m3u8\n"


def _seed_video(account: Account, status: str) -> None:
    boto3.client("dynamodb").put_item(
        TableName=account.resources.videos_table,
        Item={
            "video_id": {"S": VIDEO_ID},
            "owner_sub": {"S": "user-1"},
            "title": {"S": "t"},
            "status": {"S": status},
            "created_at": {"S": "2026-11-21T00:00:00Z"},
            "updated_at": {"S": "2026-11-21T00:00:00Z"},
            "upload_key": {"S": upload_key(VIDEO_ID)},
        },
    )


def test_every_sample_event_file_is_covered() -> None:
    assert {p.name for p in EVENTS.glob("*.json")} == set(CASES) | {"sfn_probe_input.json"}


@pytest.mark.parametrize(("name", "function"), sorted(CASES.items()))
def test_sample_event_runs(name: str, function: str, account: Account) -> None:
    _seed_video(account, "AWAITING_UPLOAD" if function == "ingest-starter" else "PROCESSING")
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    if function == "playlist-origin":
        boto3.client("s3").put_object(
            Bucket=account.resources.media_bucket,
            Key=master_playlist_key(VIDEO_ID),
            Body=MASTER_PLAYLIST.encode(),
        )
    result, errored = invoke(spec.FUNCTIONS_BY_NAME[function], event)
    assert not errored, result
    if function == "videos-api":
        assert result["statusCode"] < 500
        assert result["statusCode"] in {200, 201, 409}
    if function == "ingest-starter":
        assert result == {"batchItemFailures": []}
    if function == "webhook-dispatcher":
        assert result == {"batchItemFailures": []}
    if function == "pipeline-compensate":
        assert result["status"] == "FAILED"
        assert result["reason"] == "transcode_failed"
    if function == "pipeline-safety-net":
        assert result == {"handled": True, "reason": "execution_timed_out"}
    if function == "sessions-sweeper":
        assert result == {"expired": 0}
    if function == "playlist-origin":
        assert result["statusCode"] == 200
        signed = "&".join(f"{k}={v}" for k, v in event["queryStringParameters"].items())
        assert f"360p/index.m3u8?{signed}" in result["body"].splitlines()
