"""Exactly-once effects under at-least-once delivery, against moto."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from functions.shared.keys import upload_key
from infra import spec
from infra.local.lambda_runtime import invoke
from tests.integration.conftest import Account, ApiCall, sqs_event
from tests.integration.test_ingest import executions, s3_message, status

STARTER = spec.FUNCTIONS_BY_NAME["ingest-starter"]


def _concurrently(n: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = target()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_the_same_s3_event_delivered_five_times_concurrently_starts_one_execution(
    api: ApiCall, account: Account
) -> None:
    # Given a created video and the S3 notification of its upload
    video_id = api("POST", "/v1/videos", body={"title": "dup"}).body["id"]
    message = s3_message(account.resources.upload_bucket, upload_key(video_id))
    # When five deliveries race
    results = _concurrently(5, lambda: invoke(STARTER, sqs_event(message)))
    # Then none failed, the record moved once and one execution exists
    assert all(not errored for _, errored in results)
    assert status(account, video_id)["status"]["S"] == "UPLOADED"
    assert len(executions(account)) == 1


def test_a_redelivery_after_a_crash_between_the_write_and_the_start_starts_the_execution(
    api: ApiCall, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functions.videos.logic.ingest as ingest

    video_id = api("POST", "/v1/videos", body={"title": "crash"}).body["id"]
    message = s3_message(account.resources.upload_bucket, upload_key(video_id))
    real = ingest.start_execution
    monkeypatch.setattr(ingest, "start_execution", lambda **kw: (_ for _ in ()).throw(RuntimeError("crash")))
    # When the first delivery crashes after marking UPLOADED
    result, errored = invoke(STARTER, sqs_event(message))
    # (every record of the batch failed: Powertools fails the invocation, so SQS redelivers it)
    assert errored
    assert result["errorType"] == "BatchProcessingError"
    assert status(account, video_id)["status"]["S"] == "UPLOADED"
    assert executions(account) == []
    # Then SQS redelivers it and the execution starts, once
    monkeypatch.setattr(ingest, "start_execution", real)
    invoke(STARTER, sqs_event(message))
    invoke(STARTER, sqs_event(message))
    assert len(executions(account)) == 1


def test_two_uploads_racing_for_one_video_leave_one_execution_and_one_version(
    api: ApiCall, account: Account
) -> None:
    video_id = api("POST", "/v1/videos", body={"title": "race"}).body["id"]
    bucket = account.resources.upload_bucket
    messages = [s3_message(bucket, upload_key(video_id), sequencer=f"SEQ{i}") for i in range(4)]
    _concurrently(4, lambda: None)  # warm the thread machinery
    results = _concurrently(4, lambda: invoke(STARTER, sqs_event(messages.pop())))
    assert all(not errored for _, errored in results)
    runs = executions(account)
    assert len(runs) == 1
    assert status(account, video_id)["upload_version"]["S"] in runs[0]["name"]


def test_poison_messages_move_to_the_dlq_after_the_configured_receives(account: Account) -> None:
    # The redrive policy comes from spec.QUEUES (the same numbers CDK deploys).
    sqs = account.client("sqs")
    queue = account.queues["ingest"]
    max_receives = next(q.max_receive_count for q in spec.QUEUES if q.name == "ingest")
    sqs.send_message(QueueUrl=queue.url, MessageBody="{not json")
    for _ in range(max_receives):
        got = sqs.receive_message(QueueUrl=queue.url, VisibilityTimeout=0, WaitTimeSeconds=0)
        assert len(got.get("Messages", [])) == 1  # received, not deleted: a failure
    assert sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=0).get("Messages") is None
    dead = sqs.receive_message(QueueUrl=queue.dlq_url, WaitTimeSeconds=0)["Messages"]
    assert dead[0]["Body"] == "{not json"
