"""The embedded mode gives each invocation only its function's declared environment: a function
reading a resource it did not declare fails locally exactly as it would on AWS, even though the
process hosting it (here, the test process) can name every resource."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from functions.shared.settings import MissingSetting, get_settings, invocation
from functions.shared.table_binding import TableBinding
from functions.shared.threads import ContextThreadPoolExecutor
from infra import spec
from infra.local import lambda_runtime, provision

HERE = __name__
RESOURCES = provision.local_resources(cdn_base_url="https://cdn.example.test", key_pair_id="K1")


def _function(name: str, handler: str, *env: str) -> spec.FunctionSpec:
    return spec.FunctionSpec(name=name, handler=f"{HERE}.{handler}", service="test", description="", env=env)


# -- handlers the tests invoke --------------------------------------------------------------------
def read_videos_table(event: Any, context: Any) -> str:
    return get_settings().videos_table


def report_resources(event: Any, context: Any) -> dict[str, str]:
    """Waits until every concurrent invocation has started, then says which resources it sees."""
    event_barrier: threading.Barrier = _BARRIERS[event["barrier"]]
    event_barrier.wait(timeout=10)
    settings = get_settings()
    seen = {}
    for variable, attr in spec.RESOURCE_ENV.items():
        with contextlib.suppress(MissingSetting):
            seen[variable] = getattr(settings, attr)
    return seen


def read_in_worker_threads(event: Any, context: Any) -> list[str]:
    with ContextThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda _: get_settings().media_bucket, range(4)))


_BARRIERS: dict[str, threading.Barrier] = {}


@pytest.fixture
def configured() -> Iterator[None]:
    # Given a deployment: every resource exists, and the process environment names them all
    assert os.environ.get("VIDEOS_TABLE"), "tests/conftest.py names every resource for test code"
    lambda_runtime.configure(RESOURCES, {"WORK_DIR": "/tmp/invocation-test"})
    yield
    lambda_runtime.deconfigure()


# -- fail fast --------------------------------------------------------------------------------------
def test_a_function_reading_a_resource_it_did_not_declare_fails_naming_the_variable(
    configured: None,
) -> None:
    # Given a function whose declared environment lacks VIDEOS_TABLE
    undeclared = _function("no-videos", "read_videos_table", "MEDIA_BUCKET")

    # When it is invoked as Lambda would invoke it and reads the videos table's name
    result, errored = lambda_runtime.invoke(undeclared, {})

    # Then it fails with a function error naming the variable and where to declare it
    assert errored
    assert result["errorType"] == "MissingSetting"
    assert "VIDEOS_TABLE" in result["errorMessage"]
    assert "FunctionSpec.env" in result["errorMessage"]


def test_the_same_function_with_the_declaration_reads_its_resource(configured: None) -> None:
    declared = _function("videos", "read_videos_table", "VIDEOS_TABLE")
    assert lambda_runtime.invoke(declared, {}) == (RESOURCES.videos_table, False)


def test_deployer_settings_reach_the_invocation_and_the_process_keeps_its_own(configured: None) -> None:
    # Then the deployer's settings are the function's, and outside the invocation nothing changed
    with invocation(lambda_runtime.environment_of(_function("x", "read_videos_table")) or {}) as inner:
        assert inner.work_dir == "/tmp/invocation-test"
        with pytest.raises(MissingSetting, match="UPLOAD_BUCKET"):
            _ = inner.upload_bucket
    assert get_settings().upload_bucket == os.environ["UPLOAD_BUCKET"]


def test_concurrent_invocations_of_different_functions_each_see_only_their_own_environment(
    configured: None,
) -> None:
    # Given two functions with different declarations, invoked at the same time in one process
    videos_only = _function("videos-only", "report_resources", "VIDEOS_TABLE")
    media_only = _function("media-only", "report_resources", "MEDIA_BUCKET", "CDN_BASE_URL")
    _BARRIERS["both"] = threading.Barrier(2)
    results: dict[str, Any] = {}

    def run(fn: spec.FunctionSpec) -> None:
        results[fn.name] = lambda_runtime.invoke(fn, {"barrier": "both"})

    threads = [threading.Thread(target=run, args=(fn,)) for fn in (videos_only, media_only)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)

    # Then each saw exactly its own resources while the other was running
    assert results["videos-only"] == ({"VIDEOS_TABLE": RESOURCES.videos_table}, False)
    assert results["media-only"] == (
        {"MEDIA_BUCKET": RESOURCES.media_bucket, "CDN_BASE_URL": RESOURCES.cdn_base_url},
        False,
    )


def test_threads_a_handler_starts_see_its_settings(configured: None) -> None:
    fn = _function("fan-out", "read_in_worker_threads", "MEDIA_BUCKET")
    assert lambda_runtime.invoke(fn, {}) == ([RESOURCES.media_bucket] * 4, False)


def test_unconfigured_invocations_see_the_process_settings() -> None:
    # Given no deployment configured (unit tests of a handler): the process's environment holds
    lambda_runtime.deconfigure()
    fn = _function("plain", "read_videos_table")
    assert lambda_runtime.invoke(fn, {}) == (os.environ["VIDEOS_TABLE"], False)


# -- settings objects and table bindings ----------------------------------------------------------
def test_an_environment_gives_one_settings_object_and_bindings_stay_bound(configured: None) -> None:
    from functions.videos.dal.videos import _BINDING

    api = spec.FUNCTIONS_BY_NAME["videos-api"]
    ingest = spec.FUNCTIONS_BY_NAME["ingest-starter"]
    env_api = lambda_runtime.environment_of(api)
    env_ingest = lambda_runtime.environment_of(ingest)
    assert env_api is not None and env_ingest is not None
    binding: TableBinding = _BINDING
    binding.reset()
    # When two functions naming the same videos table take turns
    with invocation(env_api) as first:
        connection = binding.bind()
    with invocation(env_api) as again:
        assert again is first  # cached per environment
    with invocation(env_ingest):
        # Then the binding keeps its connection (no rebind per call or per function)
        assert binding.bind() is connection
    # And a function that does not name the table cannot bind it
    projector = lambda_runtime.environment_of(spec.FUNCTIONS_BY_NAME["catalog-projector"]) or {}
    with invocation(projector), pytest.raises(MissingSetting, match="VIDEOS_TABLE"):
        binding.bind()
    binding.reset()
