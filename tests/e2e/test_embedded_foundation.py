"""The embedded stack as a newcomer meets it: HTTP front, JWT, presigned upload, one execution."""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from functions.shared.keys import upload_key
from infra.local.emulator import EmbeddedStack
from tests.e2e.conftest import Client


def test_health_and_openapi_are_public_and_v1_needs_a_valid_token(stack: EmbeddedStack) -> None:
    assert stack.api is not None
    api = stack.api.url
    assert requests.get(f"{api}/health", timeout=10).json() == {"status": "ok"}
    assert "/v1/videos" in requests.get(f"{api}/v1/openapi.json", timeout=10).json()["paths"]
    no_token = requests.post(f"{api}/v1/videos", json={"title": "t"}, timeout=10)
    assert no_token.status_code == 401
    assert no_token.json()["error"]["code"] == "unauthorized"
    forged = requests.post(
        f"{api}/v1/videos", json={"title": "t"}, headers={"Authorization": "Bearer abc.def.ghi"}, timeout=10
    )
    assert forged.status_code == 401
    expired = stack.issuer.issue(sub="u", roles=["uploader"], ttl=-10)
    resp = requests.post(
        f"{api}/v1/videos", json={"title": "t"}, headers={"Authorization": f"Bearer {expired}"}, timeout=10
    )
    assert resp.status_code == 401
    assert requests.get(f"{api}/v2/nothing", timeout=10).status_code == 404


def test_upload_through_presigned_put_starts_exactly_one_execution(
    stack: EmbeddedStack, client: Client, small_clip: Path
) -> None:
    # Given a created video
    created = client.create("foundation")
    video_id = created["id"]
    # When the file is PUT to the presigned URL (S3 -> SQS -> starter, through moto's own paths)
    put = requests.put(
        created["upload"]["url"],
        data=small_clip.read_bytes(),
        headers=created["upload"]["headers"],
        timeout=30,
    )
    assert put.status_code == 200
    # Then the video leaves AWAITING_UPLOAD and exactly one execution exists
    deadline = time.monotonic() + 20
    while client.get(video_id)["status"] == "AWAITING_UPLOAD" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.get(video_id)["status"] in {"UPLOADED", "PROCESSING", "READY"}
    assert len(client.executions_for(video_id)) == 1

    # When the same S3 notification is delivered twice more
    assert stack.resources is not None
    s3 = stack.client("s3")
    head = s3.head_object(Bucket=stack.resources.upload_bucket, Key=upload_key(video_id))
    item = stack.client("dynamodb").get_item(
        TableName=stack.resources.videos_table, Key={"video_id": {"S": video_id}}, ConsistentRead=True
    )["Item"]
    message = json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": stack.resources.upload_bucket},
                        "object": {
                            "key": upload_key(video_id),
                            "size": head["ContentLength"],
                            "sequencer": item["upload_version"]["S"],
                        },
                    },
                }
            ]
        }
    )
    sqs = stack.client("sqs")
    for _ in range(2):
        sqs.send_message(QueueUrl=stack.queues["ingest"].url, MessageBody=message)
    # Then there is still exactly one execution
    time.sleep(1)
    assert len(client.executions_for(video_id)) == 1
