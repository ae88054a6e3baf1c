"""The embedded stack, started once per test worker, and helpers to drive it over HTTP."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from functions.shared.settings import get_settings
from infra import spec
from infra.local import lambda_runtime
from infra.local.emulator import EmbeddedStack
from tests import scan_guard

MULTIPART_THRESHOLD = 8 * 1024 * 1024
CHUNKING = {
    "CHUNK_THRESHOLD_SECONDS": "24",
    "CHUNK_TARGET_SECONDS": "8",
    "INLINE_MAP_MAX_CHUNKS": "4",
    "MAP_MAX_CONCURRENCY": "2",
}


@pytest.fixture(autouse=True)
def _no_scan_in_request_paths() -> Iterator[None]:
    """A DynamoDB Scan issued by the platform's code fails the test (tests/scan_guard.py)."""
    with scan_guard.scans_forbidden():
        yield


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    # A low multipart threshold so a 12 MB test file takes the multipart path (parts >= 5 MiB).
    embedded = EmbeddedStack(
        directory=tmp_path_factory.mktemp("vod-state"),
        overrides={
            "MULTIPART_THRESHOLD_BYTES": str(MULTIPART_THRESHOLD),
            "MULTIPART_PART_BYTES": str(5 * 1024 * 1024),
            # The chunked path for clips above 24 s, in 8 s chunks; Distributed Map above 4 chunks
            # (tests/e2e/test_chunked.py); shorter clips keep the single-pass path.
            **CHUNKING,
        },
    ).start()
    # The test's own code (setup, assertions through the DALs) runs outside any function: it may
    # name every resource. The stack's functions still get only their declared ones.
    assert embedded.resources is not None
    names = {key: getattr(embedded.resources, attr) for key, attr in spec.RESOURCE_ENV.items()}
    saved = {key: os.environ.get(key) for key in names}
    os.environ.update(names)
    get_settings.cache_clear()
    yield embedded
    embedded.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def in_process(stack: EmbeddedStack) -> Iterator[Callable[..., None]]:
    """``in_process(*function_names)``: those functions run in this process until the test ends.

    The stack runs every function in execution environments of its own (processes, as Lambda:
    infra/local/lambda_runtime.py), out of ``monkeypatch``'s reach; a test that replaces a
    function's code here, to inject a fault, names the functions that must see the change."""
    with contextlib.ExitStack() as exits:
        yield lambda *names: exits.enter_context(lambda_runtime.inline(*names))


class Client:
    def __init__(
        self,
        stack: EmbeddedStack,
        *,
        sub: str = "e2e-user",
        role: str = "uploader",
        plans: tuple[str, ...] = (),
    ):
        assert stack.api is not None
        self.stack = stack
        self.api = stack.api.url
        # plans: Cognito groups beside the role, e.g. "priority" (functions/shared/auth.py PLANS)
        token = stack.issuer.issue(sub=sub, roles=[role, *plans])
        self.headers = {"Authorization": f"Bearer {token}"}

    def create(self, title: str = "clip", **extra: Any) -> dict[str, Any]:
        resp = requests.post(
            f"{self.api}/v1/videos", json={"title": title, **extra}, headers=self.headers, timeout=30
        )
        assert resp.status_code == 201, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def upload(self, path: Path, title: str = "clip", **extra: Any) -> str:
        created = self.create(title, **extra)
        put = requests.put(
            created["upload"]["url"], data=path.read_bytes(), headers=created["upload"]["headers"], timeout=60
        )
        assert put.status_code == 200, put.text
        return str(created["id"])

    def get(self, video_id: str) -> dict[str, Any]:
        resp = requests.get(f"{self.api}/v1/videos/{video_id}", headers=self.headers, timeout=30)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def wait(self, video_id: str, statuses: set[str], timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        video = self.get(video_id)
        while video["status"] not in statuses:
            if time.monotonic() > deadline:
                raise AssertionError(f"{video_id} stuck in {video['status']}: {video}")
            time.sleep(0.25)
            video = self.get(video_id)
        return video

    def playback(self, video_id: str, **body: Any) -> requests.Response:
        return requests.post(
            f"{self.api}/v1/videos/{video_id}/playback", json=body, headers=self.headers, timeout=30
        )

    def executions_for(self, video_id: str) -> list[dict[str, Any]]:
        sfn = self.stack.client("stepfunctions")
        arn = self.stack.state_machines["media-pipeline"]
        runs = sfn.list_executions(stateMachineArn=arn)["executions"]
        return [r for r in runs if r["name"].startswith(video_id)]

    def objects_under(self, prefix: str) -> list[str]:
        assert self.stack.resources is not None
        s3 = self.stack.client("s3")
        resp = s3.list_objects_v2(Bucket=self.stack.resources.media_bucket, Prefix=prefix)
        return [o["Key"] for o in resp.get("Contents", [])]


@pytest.fixture
def client(stack: EmbeddedStack) -> Client:
    return Client(stack)
