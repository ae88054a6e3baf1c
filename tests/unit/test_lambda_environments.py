"""Execution environments of the embedded mode (infra/local/lambda_runtime.py, isolation="process").

Each function's invocations run in processes of their own, one invocation at a time each, reused
while warm, with exactly the function's declared environment; a timeout kills the environment, a
crash loses only it. The handlers below are imported by those processes (this module is their
code), so they must need nothing but the standard library and the function's environment.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from infra import spec
from infra.local import lambda_runtime, provision

HERE = __name__
RESOURCES = provision.local_resources(cdn_base_url="https://cdn.example.test", key_pair_id="K1")
_LAST_EVENT: dict[str, Any] = {}


def _function(name: str, handler: str, *env: str, **fields: Any) -> spec.FunctionSpec:
    return spec.FunctionSpec(
        name=name, handler=f"{HERE}.{handler}", service="test", description="", env=env, **fields
    )


# -- handlers (run in the environments' processes) ----------------------------------------------
def remember_then_answer(event: Any, context: Any) -> dict[str, Any]:
    """Keeps the event in a module global, as Powertools' resolver keeps the current event, then
    answers from the global after a pause: two invocations sharing a process would mix."""
    _LAST_EVENT["value"] = event["who"]
    time.sleep(0.2)
    return {"who": _LAST_EVENT["value"], "pid": os.getpid()}


def report_environ(event: Any, context: Any) -> dict[str, Any]:
    return {"keys": sorted(os.environ), "request_id": context.aws_request_id}


def sleep_for(event: Any, context: Any) -> str:
    time.sleep(event["seconds"])
    return "woke"


def crash(event: Any, context: Any) -> None:
    os._exit(3)


def say_hello_on_stdout(event: Any, context: Any) -> str:
    print(f"hello from {context.function_name}")
    return "said"


def fail(event: Any, context: Any) -> None:
    raise ValueError("the handler's own error")


@pytest.fixture
def environments() -> Iterator[None]:
    lambda_runtime.configure(RESOURCES, {"WORK_DIR": "/tmp/environments-test"}, isolation="process")
    yield
    lambda_runtime.deconfigure()


def _concurrently(fn: spec.FunctionSpec, events: list[Any]) -> list[tuple[Any, bool]]:
    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        return list(pool.map(lambda e: lambda_runtime.invoke(fn, e), events))


def test_concurrent_invocations_never_share_a_handlers_global_state(environments: None) -> None:
    fn = _function("remember", "remember_then_answer")
    results = _concurrently(fn, [{"who": f"user-{n}"} for n in range(6)])
    assert [r["who"] for r, errored in results] == [f"user-{n}" for n in range(6)]
    assert len({r["pid"] for r, _ in results}) == 6  # six at once: six environments
    assert lambda_runtime.stats("remember")["started"] == 6


def test_inline_invocations_do_share_it_which_is_why_the_stack_never_runs_inline(
    environments: None,
) -> None:
    fn = _function("remember-inline", "remember_then_answer")
    lambda_runtime.register(fn)
    with lambda_runtime.inline(fn.name):
        results = _concurrently(fn, [{"who": f"user-{n}"} for n in range(6)])
    assert [r["who"] for r, _ in results] != [f"user-{n}" for n in range(6)]


def test_a_warm_environment_is_reused_one_invocation_at_a_time(environments: None) -> None:
    fn = _function("warm", "remember_then_answer")
    pids = {lambda_runtime.invoke(fn, {"who": n})[0]["pid"] for n in range(4)}
    assert len(pids) == 1 and pids != {os.getpid()}
    assert lambda_runtime.stats("warm") == {"started": 1, "idle": 1, "busy": 0, "limit": 8}


def test_reserved_concurrency_bounds_the_environments(environments: None) -> None:
    fn = _function("serialised", "remember_then_answer", reserved_concurrency=1)
    results = _concurrently(fn, [{"who": n} for n in range(3)])
    assert [r["who"] for r, _ in results] == [0, 1, 2]
    assert len({r["pid"] for r, _ in results}) == 1


def test_the_process_environment_is_exactly_the_functions_own(
    environments: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test process names every resource (tests/conftest.py) and something of its own
    monkeypatch.setenv("ONLY_IN_THE_TEST_PROCESS_RESOURCE", "x")
    fn = _function("environ", "report_environ", "VIDEOS_TABLE")
    result, errored = lambda_runtime.invoke(fn, {})
    assert not errored
    keys = set(result["keys"])
    assert "VIDEOS_TABLE" in keys and "WORK_DIR" in keys
    assert not (set(spec.RESOURCE_ENV) - {"VIDEOS_TABLE"}) & keys  # no other function's resource
    assert result["request_id"]


def test_an_invocation_past_its_timeout_is_killed_and_the_next_gets_a_fresh_environment(
    environments: None,
) -> None:
    fn = _function("slow", "sleep_for", timeout_s=1)
    started = time.monotonic()
    result, errored = lambda_runtime.invoke(fn, {"seconds": 30})
    assert errored and result["errorType"] == "Sandbox.Timedout"
    assert "1.00 seconds" in result["errorMessage"]
    assert time.monotonic() - started < 5
    assert lambda_runtime.invoke(fn, {"seconds": 0}) == ("woke", False)
    assert lambda_runtime.stats("slow")["started"] == 2


def test_a_crash_loses_that_environment_only(environments: None) -> None:
    crashing = _function("crashing", "crash")
    result, errored = lambda_runtime.invoke(crashing, {})
    assert errored and result["errorType"] == "Runtime.ExitError"
    assert lambda_runtime.stats("crashing")["idle"] == 0


def test_a_handler_error_is_reported_as_lambda_reports_it_and_the_environment_stays_warm(
    environments: None,
) -> None:
    fn = _function("failing", "fail")
    for _ in range(2):
        result, errored = lambda_runtime.invoke(fn, {})
        assert errored and result["errorType"] == "ValueError"
        assert result["errorMessage"] == "the handler's own error"
    assert lambda_runtime.stats("failing")["started"] == 1


def test_a_module_that_cannot_be_imported_fails_every_invocation_with_its_init_error(
    environments: None,
) -> None:
    fn = spec.FunctionSpec(name="broken", handler="no_such_module_here.handler", service="t", description="")
    result, errored = lambda_runtime.invoke(fn, {})
    assert errored and result["errorType"] == "ModuleNotFoundError"


def test_what_a_handler_prints_reaches_this_processs_stdout(
    environments: None, capsys: pytest.CaptureFixture[str]
) -> None:
    fn = _function("chatty", "say_hello_on_stdout")
    assert lambda_runtime.invoke(fn, {}) == ("said", False)
    deadline = time.monotonic() + 5
    out = ""
    while "hello from chatty" not in out and time.monotonic() < deadline:
        time.sleep(0.05)
        out += capsys.readouterr().out
    assert "hello from chatty" in out


def test_stopping_kills_busy_environments_and_their_invocations_fail(environments: None) -> None:
    fn = _function("busy", "sleep_for", timeout_s=60)
    outcome: list[tuple[Any, bool]] = []
    worker = threading.Thread(target=lambda: outcome.append(lambda_runtime.invoke(fn, {"seconds": 30})))
    worker.start()
    deadline = time.monotonic() + 10
    while lambda_runtime.stats("busy")["busy"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    lambda_runtime.close_environments()
    worker.join(timeout=10)
    assert not worker.is_alive()
    [(result, errored)] = outcome
    assert errored and result["errorType"] == "Runtime.ExitError"
