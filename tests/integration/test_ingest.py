"""The starter against moto: UPLOADED + exactly one execution, whatever the delivery pattern."""

from __future__ import annotations

import json
from typing import Any

from functions.shared.keys import upload_key
from infra import spec
from infra.local.lambda_runtime import invoke
from tests.integration.conftest import Account, ApiCall, sqs_event

STARTER = spec.FUNCTIONS_BY_NAME["ingest-starter"]


def s3_message(bucket: str, key: str, sequencer: str = "0055AED6DCD90281E5", size: int = 1234) -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": bucket},
                        "object": {"key": key, "size": size, "eTag": "abc", "sequencer": sequencer},
                    },
                }
            ]
        }
    )


def executions(account: Account) -> list[dict[str, Any]]:
    sfn = account.client("stepfunctions")
    return sfn.list_executions(stateMachineArn=account.state_machines["media-pipeline"])["executions"]


def status(account: Account, video_id: str) -> dict[str, Any]:
    return account.client("dynamodb").get_item(
        TableName=account.resources.videos_table, Key={"video_id": {"S": video_id}}
    )["Item"]


def _new_video(api: ApiCall) -> str:
    resp = api("POST", "/v1/videos", body={"title": "t"})
    assert resp.status == 201
    return str(resp.body["id"])


def test_upload_moves_the_video_to_uploaded_and_starts_one_execution(api: ApiCall, account: Account) -> None:
    # Given
    video_id = _new_video(api)
    # When
    result, errored = invoke(
        STARTER, sqs_event(s3_message(account.resources.upload_bucket, upload_key(video_id)))
    )
    # Then
    assert not errored
    assert result == {"batchItemFailures": []}
    item = status(account, video_id)
    assert item["status"]["S"] == "UPLOADED"
    assert item["upload_version"]["S"] == "0055AED6DCD90281E5"
    runs = executions(account)
    assert len(runs) == 1
    assert runs[0]["name"].startswith(video_id)
    started = account.client("stepfunctions").describe_execution(executionArn=runs[0]["executionArn"])
    assert json.loads(started["input"])["key"] == upload_key(video_id)


def test_the_same_event_twice_in_one_batch_and_again_later_starts_one_execution(
    api: ApiCall, account: Account
) -> None:
    video_id = _new_video(api)
    message = s3_message(account.resources.upload_bucket, upload_key(video_id))
    invoke(STARTER, sqs_event(message, message))
    invoke(STARTER, sqs_event(message))
    assert len(executions(account)) == 1
    assert status(account, video_id)["status"]["S"] == "UPLOADED"


def test_a_second_upload_for_the_same_video_is_ignored(api: ApiCall, account: Account) -> None:
    video_id = _new_video(api)
    bucket = account.resources.upload_bucket
    invoke(STARTER, sqs_event(s3_message(bucket, upload_key(video_id), sequencer="AAA1")))
    invoke(STARTER, sqs_event(s3_message(bucket, upload_key(video_id), sequencer="BBB2")))
    assert len(executions(account)) == 1
    assert status(account, video_id)["upload_version"]["S"] == "AAA1"


def test_the_source_is_the_version_first_uploaded_and_a_later_one_is_recorded_and_deleted(
    api: ApiCall, account: Account
) -> None:
    # Given a video whose key was written twice in the versioned upload bucket
    video_id = _new_video(api)
    bucket, key = account.resources.upload_bucket, upload_key(video_id)
    s3 = account.client("s3")
    first = s3.put_object(Bucket=bucket, Key=key, Body=b"checked")
    second = s3.put_object(Bucket=bucket, Key=key, Body=b"another file")
    assert first["VersionId"] != second["VersionId"]

    def message(put: dict[str, Any], sequencer: str) -> str:
        body = json.loads(s3_message(bucket, key, sequencer=sequencer))
        body["Records"][0]["s3"]["object"].update(versionId=put["VersionId"], eTag=put["ETag"].strip('"'))
        return json.dumps(body)

    # When the first upload's event arrives, again (a redelivery), and then the second's
    invoke(STARTER, sqs_event(message(first, "AAA1")))
    invoke(STARTER, sqs_event(message(first, "AAA1")))
    result, errored = invoke(STARTER, sqs_event(message(second, "BBB2")))
    # Then one execution reads the first version; the second is on the record and gone from S3
    assert not errored and result == {"batchItemFailures": []}
    [run] = executions(account)
    started = account.client("stepfunctions").describe_execution(executionArn=run["executionArn"])
    assert json.loads(started["input"])["version_id"] == first["VersionId"]
    item = status(account, video_id)
    assert item["source_version_id"]["S"] == first["VersionId"]
    assert item["source_etag"]["S"] == first["ETag"].strip('"')
    [ignored] = item["ignored_uploads"]["L"]
    assert ignored["M"]["reason"]["S"] == "source_already_fixed"
    assert ignored["M"]["status"]["S"] == "UPLOADED"
    assert ignored["M"]["size_bytes"]["N"] == "1234"
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert [v["VersionId"] for v in versions] == [first["VersionId"]]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"checked"
    # ... and the API shows it to the owner
    shown = api("GET", f"/v1/videos/{video_id}").body["ignored_uploads"]
    assert [(u["reason"], u["status"]) for u in shown] == [("source_already_fixed", "UPLOADED")]


def test_two_events_of_one_object_version_start_one_execution(api: ApiCall, account: Account) -> None:
    # Given one object version whose ObjectCreated arrives twice with different sequencers
    video_id = _new_video(api)
    bucket, key = account.resources.upload_bucket, upload_key(video_id)
    put = account.client("s3").put_object(Bucket=bucket, Key=key, Body=b"checked")
    for sequencer in ("AAA1", "AAA2"):
        body = json.loads(s3_message(bucket, key, sequencer=sequencer))
        body["Records"][0]["s3"]["object"]["versionId"] = put["VersionId"]
        invoke(STARTER, sqs_event(json.dumps(body)))
    # Then one execution runs, named from the first
    [run] = executions(account)
    assert "AAA1" in run["name"]
    assert "ignored_uploads" not in status(account, video_id)


def test_ignored_uploads_kept_on_the_record_are_bounded(api: ApiCall, account: Account) -> None:
    from functions.videos.logic import lifecycle

    video_id = _new_video(api)
    bucket = account.resources.upload_bucket
    invoke(STARTER, sqs_event(s3_message(bucket, upload_key(video_id), sequencer="AAA1")))
    for n in range(lifecycle.IGNORED_UPLOADS_KEPT + 3):
        invoke(STARTER, sqs_event(s3_message(bucket, upload_key(video_id), sequencer=f"B{n:04d}")))
    assert len(status(account, video_id)["ignored_uploads"]["L"]) == lifecycle.IGNORED_UPLOADS_KEPT
    assert len(executions(account)) == 1


def test_s3_test_events_unknown_keys_and_unknown_videos_are_ignored(account: Account) -> None:
    bucket = account.resources.upload_bucket
    event = sqs_event(
        json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": bucket}),
        s3_message(bucket, "somewhere/else.mp4"),
        s3_message(bucket, upload_key("0" * 32)),
    )
    result, errored = invoke(STARTER, event)
    assert not errored
    assert result == {"batchItemFailures": []}
    assert executions(account) == []


def test_a_malformed_message_is_reported_as_a_partial_batch_failure(api: ApiCall, account: Account) -> None:
    # Given one good record and one that is not JSON
    video_id = _new_video(api)
    good = s3_message(account.resources.upload_bucket, upload_key(video_id))
    event = sqs_event(good, "{not json")
    # When
    result, errored = invoke(STARTER, event)
    # Then only the bad record is retried (and, after maxReceiveCount, dead-lettered)
    assert not errored
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert len(executions(account)) == 1
