"""The embedded mode's corrections to moto behave as AWS does."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws
from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from infra.local import moto_patches


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
