"""The embedded mode's corrections to moto behave as AWS does."""

from __future__ import annotations

import importlib.metadata
import json
import re
import socket
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from moto import mock_aws
from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from infra.local import lambda_runtime, moto_patches

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_checked_moto_version_is_the_one_pyproject_pins() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    requirements = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        requirements += extra
    pins = [r for r in requirements if re.match(r"moto\b", r)]
    assert pins == [moto_patches.MOTO_REQUIREMENT]
    assert moto_patches.MOTO_REQUIREMENT.endswith(f"=={moto_patches.MOTO_VERSION}")


def test_the_environment_has_the_pinned_moto() -> None:
    assert moto_patches.installed_moto_version() == moto_patches.MOTO_VERSION


@pytest.fixture
def corrections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which corrections ``install`` applies, in order (none of them really applied)."""
    applied: list[str] = []
    for name in (
        "make_dynamodb_writes_atomic",
        "make_stop_execution_wait_for_start",
        "make_s3_ranged_reads_lazy",
        "make_s3_presigned_signatures_checked",
        "make_s3_events_name_the_version",
        "make_update_expressions_parsed_once",
    ):
        monkeypatch.setattr(moto_patches, name, lambda name=name: applied.append(name))
    monkeypatch.setattr(lambda_runtime, "install", lambda: applied.append("lambda_runtime.install"))
    return applied


@pytest.mark.parametrize("found", ["5.2.6", "5.1.0", "6.0.0.dev1"])
def test_install_refuses_another_moto_release_and_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, corrections: list[str], found: str
) -> None:
    monkeypatch.setattr(importlib.metadata, "version", lambda name: found if name == "moto" else "0")
    with pytest.raises(RuntimeError) as refused:
        moto_patches.install()
    message = str(refused.value)
    assert f"moto {found} is installed" in message
    assert f"checked against moto {moto_patches.MOTO_VERSION}" in message
    assert "pip install 'moto[server,stepfunctions]==5.2.5'" in message
    assert "re-check each patch in infra/local/moto_patches.py" in message
    assert "update MOTO_VERSION" in message
    assert corrections == []


def test_install_refuses_when_moto_is_missing(
    monkeypatch: pytest.MonkeyPatch, corrections: list[str]
) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    with pytest.raises(RuntimeError, match="no moto is installed"):
        moto_patches.install()
    assert corrections == []


def test_install_applies_every_correction_with_the_pinned_moto(
    monkeypatch: pytest.MonkeyPatch, corrections: list[str]
) -> None:
    monkeypatch.setattr(importlib.metadata, "version", lambda name: moto_patches.MOTO_VERSION)
    moto_patches.install()
    assert corrections == [
        "lambda_runtime.install",
        "make_dynamodb_writes_atomic",
        "make_stop_execution_wait_for_start",
        "make_s3_ranged_reads_lazy",
        "make_s3_presigned_signatures_checked",
        "make_s3_events_name_the_version",
        "make_update_expressions_parsed_once",
    ]


def test_install_twice_patches_moto_once() -> None:
    from moto.awslambda.models import LambdaFunction
    from moto.dynamodb.models import DynamoDBBackend
    from moto.s3 import notifications
    from moto.s3.models import FakeKey
    from moto.s3.responses import S3Response

    UpdateExpressionParser: Any = importlib.import_module(
        "moto.dynamodb.parsing.expressions"
    ).UpdateExpressionParser
    Validator: Any = importlib.import_module("moto.dynamodb.parsing.validators").Validator

    def patched() -> list[Any]:
        return [
            LambdaFunction._invoke_lambda,
            DynamoDBBackend.put_item,
            ExecutionWorker.stop,
            S3Response.key_response,
            FakeKey.__dict__["value"],
            notifications._get_s3_event,
            UpdateExpressionParser.__dict__["make"],
            Validator.validate,
        ]

    moto_patches.install()
    first = patched()
    assert LambdaFunction._invoke_lambda is lambda_runtime._invoke_lambda
    assert all(hasattr(f, "__wrapped__") for f in first[1:4])  # functools.wraps of moto's own
    moto_patches.install()
    assert patched() == first
    assert not hasattr(first[1].__wrapped__, "__wrapped__")  # put_item is locked once, not twice


class _Env:
    """moto's Environment as StopExecution sees it: a stop before the program runs is ignored."""

    def __init__(self) -> None:
        self._program_state: object | None = None
        self.stopped: list[dict[str, Any]] = []

    def set_stop(self, **kwargs: Any) -> None:
        if self._program_state is not None:
            self.stopped.append(kwargs)


def test_stop_on_an_execution_that_has_not_started_running_waits_and_stops_it() -> None:
    moto_patches.make_stop_execution_wait_for_start()
    worker = ExecutionWorker.__new__(ExecutionWorker)
    worker.env = None
    env = _Env()

    def start_later() -> None:
        time.sleep(0.2)
        worker.env = env  # type: ignore[assignment]  # the environment is built ...
        time.sleep(0.2)
        env._program_state = ProgramRunning()  # ... and then the first state is entered

    threading.Thread(target=start_later).start()
    worker.stop(stop_date=None, error="Operator", cause="test")  # type: ignore[arg-type]
    assert env.stopped == [{"stop_date": None, "cause": "test", "error": "Operator"}]


def test_a_stopped_execution_stays_stopped_when_its_running_task_then_fails() -> None:
    # Given a program stopped (StopExecution) while a task ran
    import datetime

    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped

    moto_patches.make_stopped_executions_stay_stopped()

    class Stopped:
        _program_state = ProgramStopped(stop_date=datetime.datetime.now(datetime.UTC), cause="c", error="e")

    env = Stopped()
    # When the task's error (or a timeout) reaches the environment
    Environment.set_error(env, error={"error": "States.Runtime", "cause": "next state of a stopped program"})  # type: ignore[arg-type]
    Environment.set_timed_out(env)  # type: ignore[arg-type]
    # Then it is still stopped (ABORTED), not failed
    assert isinstance(env._program_state, ProgramStopped)
    assert not isinstance(env._program_state, ProgramError)


def test_the_patch_is_applied_once() -> None:
    moto_patches.make_stop_execution_wait_for_start()
    patched = ExecutionWorker.stop
    moto_patches.make_stop_execution_wait_for_start()
    assert ExecutionWorker.stop is patched


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    moto_patches.make_s3_ranged_reads_lazy()
    moto_patches.make_s3_presigned_signatures_checked()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


BODY = bytes(range(256)) * 4096  # 1 MiB, every offset's byte is offset % 256


@pytest.fixture(scope="module")
def object_url(moto_server: str) -> str:
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="ranges-bucket")
    s3.put_object(Bucket="ranges-bucket", Key="source.bin", Body=BODY)
    return str(
        s3.generate_presigned_url("get_object", Params={"Bucket": "ranges-bucket", "Key": "source.bin"})
    )


@pytest.mark.parametrize(
    ("header", "status", "expected", "content_range"),
    [
        ("bytes=1000-2000", 206, BODY[1000:2001], f"bytes 1000-2000/{len(BODY)}"),
        ("bytes=1000-", 206, BODY[1000:], f"bytes 1000-{len(BODY) - 1}/{len(BODY)}"),
        ("bytes=-500", 206, BODY[-500:], f"bytes {len(BODY) - 500}-{len(BODY) - 1}/{len(BODY)}"),
        ("bytes=0-99999999", 206, BODY, f"bytes 0-{len(BODY) - 1}/{len(BODY)}"),
        ("bytes=0-1,5-6", 200, BODY, None),  # S3 answers a multi-range GET with the whole object
        (None, 200, BODY, None),
    ],
)
def test_ranged_gets_through_the_server_return_what_s3_would(
    object_url: str, header: str | None, status: int, expected: bytes, content_range: str | None
) -> None:
    response = requests.get(object_url, headers={"Range": header} if header else {}, timeout=30)
    assert response.status_code == status
    assert response.content == expected
    assert int(response.headers["Content-Length"]) == len(expected)
    assert response.headers.get("Content-Range") == content_range


def test_a_range_past_the_end_is_refused_as_on_s3(object_url: str) -> None:
    response = requests.get(object_url, headers={"Range": f"bytes={len(BODY)}-"}, timeout=30)
    assert response.status_code == 416
    assert b"InvalidRange" in response.content


def test_a_ranged_get_does_not_read_the_whole_object(
    object_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole_reads: list[int] = []
    whole = moto_patches._whole_value

    def counting(key: Any) -> Any:
        whole_reads.append(1)
        return whole(key)

    monkeypatch.setattr(moto_patches, "_whole_value", counting)
    with requests.get(object_url, headers={"Range": "bytes=10-"}, stream=True, timeout=30) as response:
        assert response.raw.read(5) == BODY[10:15]
    assert whole_reads == []
    assert requests.get(object_url, timeout=30).content == BODY
    assert whole_reads == [1]


def test_in_process_mocks_keep_plain_bytes_for_ranged_gets() -> None:
    moto_patches.make_s3_ranged_reads_lazy()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="in-process")
        s3.put_object(Bucket="in-process", Key="k", Body=BODY)
        got = s3.get_object(Bucket="in-process", Key="k", Range="bytes=3-9")["Body"].read()
    assert got == BODY[3:10]


def _s3(moto_server: str, secret: str = "testing") -> Any:  # noqa: S107 (moto's fake credentials)
    return boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key=secret,
        config=Config(signature_version="s3v4"),
    )


@pytest.fixture(scope="module")
def put_bucket(moto_server: str) -> str:
    _s3(moto_server).create_bucket(Bucket="signed-puts")
    return "signed-puts"


def _presigned_put(moto_server: str, key: str, *, length: int, secret: str = "testing") -> str:  # noqa: S107
    params = {"Bucket": "signed-puts", "Key": key, "ContentLength": length, "IfNoneMatch": "*"}
    return str(_s3(moto_server, secret).generate_presigned_url("put_object", Params=params))


def test_a_presigned_put_takes_only_the_signed_length_once(moto_server: str, put_bucket: str) -> None:
    url = _presigned_put(moto_server, "uploads/a b+c/source", length=100)
    refused = requests.put(url, data=b"x" * 4096, headers={"If-None-Match": "*"}, timeout=30)
    assert refused.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in refused.text
    assert requests.put(url, data=b"x" * 100, headers={"If-None-Match": "*"}, timeout=30).status_code == 200
    # a second PUT with the signed header is refused by the object's existence (moto does this)
    assert requests.put(url, data=b"y" * 100, headers={"If-None-Match": "*"}, timeout=30).status_code == 412
    # and one that drops the signed header does not get past the signature
    assert requests.put(url, data=b"y" * 100, timeout=30).status_code == 403
    body = _s3(moto_server).get_object(Bucket=put_bucket, Key="uploads/a b+c/source")["Body"].read()
    assert body == b"x" * 100


def test_a_presigned_url_signed_with_another_secret_or_altered_is_refused(
    moto_server: str, put_bucket: str
) -> None:
    forged = _presigned_put(moto_server, "k1", length=3, secret="not-the-secret")
    assert requests.put(forged, data=b"abc", headers={"If-None-Match": "*"}, timeout=30).status_code == 403
    altered = _presigned_put(moto_server, "k2", length=3).replace("k2?", "k3?")
    assert requests.put(altered, data=b"abc", headers={"If-None-Match": "*"}, timeout=30).status_code == 403
    later = _presigned_put(moto_server, "k4", length=3).replace("X-Amz-Expires=3600", "X-Amz-Expires=9999")
    assert requests.put(later, data=b"abc", headers={"If-None-Match": "*"}, timeout=30).status_code == 403


def test_s3_events_name_the_version_and_a_sequencer_as_s3_does() -> None:
    moto_patches.install()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue = sqs.create_queue(QueueName="events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for bucket, versioned in (("versioned", True), ("plain", False)):
            s3.create_bucket(Bucket=bucket)
            if versioned:
                s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_notification_configuration(
                Bucket=bucket,
                NotificationConfiguration={
                    "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
                },
            )
        first = s3.put_object(Bucket="versioned", Key="k", Body=b"same")
        second = s3.put_object(Bucket="versioned", Key="k", Body=b"same")
        s3.put_object(Bucket="plain", Key="k", Body=b"same")
        records = []
        while len(records) < 3:
            for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
                body = json.loads(message["Body"])
                records += [r["s3"]["object"] for r in body.get("Records", [])]
    # One object version per event (the same bytes twice are two versions, not one upload)
    assert [r.get("versionId") for r in records] == [first["VersionId"], second["VersionId"], None]
    sequencers = [r["sequencer"] for r in records]
    assert len(set(sequencers)) == 3
    assert sequencers == sorted(sequencers)


def test_update_expressions_parsed_once_still_refuse_what_dynamodb_refuses() -> None:
    """The memoised parse and the skipped shape checks change speed only: an expression that
    passed once is refused when its names now point at the key, a bad one is refused every time,
    and updates still apply."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    moto_patches.make_update_expressions_parsed_once()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        key = {"pk": {"S": "a"}}

        def update(expression: str, names: dict[str, str], value: int) -> None:
            ddb.update_item(
                TableName="t",
                Key=key,
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":v": {"N": str(value)}},
            )

        for value in (1, 2):  # the second call takes the memoised, already checked expression
            update("SET #a = :v, #n = if_not_exists(#n, :v) + :v", {"#a": "a", "#n": "n"}, value)
        item = ddb.get_item(TableName="t", Key=key)["Item"]
        assert (item["a"], item["n"]) == ({"N": "2"}, {"N": "4"})  # n: 1 + 1, then 2 + 2
        with pytest.raises(ClientError, match="key"):  # same expression, names now at the hash key
            update("SET #a = :v, #n = if_not_exists(#n, :v) + :v", {"#a": "pk", "#n": "n"}, 3)
        for _ in range(2):  # overlapping paths: refused, and refused again
            with pytest.raises(ClientError, match=r"[Oo]verlap|conflict"):
                update("SET #a = :v, #a = :v", {"#a": "a"}, 4)
        for _ in range(2):  # a syntax error, twice
            with pytest.raises(ClientError, match=r"[Ss]yntax|Invalid"):
                update("SET #a = = :v", {"#a": "a"}, 5)
        assert ddb.get_item(TableName="t", Key=key)["Item"]["a"] == {"N": "2"}
