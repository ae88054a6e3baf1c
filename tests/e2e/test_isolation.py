"""Concurrent invocations never share a handler's state: each runs in an environment of its own.

Many users at once against the embedded API, each answer checked against what that user alone may
see (tests/bench/concurrency_bench.py). The stack's process switches threads every 10 µs for the
test (CPython's default is 5 ms), so that two requests interleaving in one process, if that could
happen, would interleave at every step: handlers running on the front's threads leaked other users'
profiles and the admin queue here, and refused valid tokens.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest
import requests

from infra.local import lambda_runtime
from infra.local.emulator import EmbeddedStack
from tests.bench import concurrency_bench


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_many_users_at_once_get_only_their_own_answers(
    stack: EmbeddedStack, frequent_thread_switches: None
) -> None:
    assert stack.api is not None
    result = concurrency_bench.load(stack.api.url, stack.directory, users=24, admins=2, seconds=6)
    assert result["requests"] > 200, result
    assert concurrency_bench.failures(result) == [], result


def test_concurrent_requests_get_environments_of_their_own_and_later_ones_reuse_them_warm(
    stack: EmbeddedStack,
) -> None:
    assert stack.api is not None
    token = stack.issuer.issue(sub="isolation-probe", roles=["uploader"])
    headers = {"Authorization": f"Bearer {token}"}
    # When 6 requests arrive at once
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def one() -> None:
        barrier.wait()
        statuses.append(requests.get(f"{stack.api.url}/v1/profiles", headers=headers, timeout=60).status_code)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    burst = lambda_runtime.stats("videos-api")
    # Then they were served by more than one environment, within the function's limit
    assert statuses == [200] * 6
    assert 2 <= burst["started"] <= burst["limit"] == lambda_runtime.MAX_ENVIRONMENTS
    # And requests one after another reuse the warm environments: no new process, no cold start
    for _ in range(6):
        assert requests.get(f"{stack.api.url}/v1/profiles", headers=headers, timeout=60).status_code == 200
    after = lambda_runtime.stats("videos-api")
    assert after["started"] == burst["started"]
    assert after["busy"] == 0 and after["idle"] == after["started"]
