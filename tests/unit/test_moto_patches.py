"""The embedded mode's corrections to moto behave as AWS does."""

from __future__ import annotations

import threading
import time
from typing import Any

from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from infra.local import moto_patches


class _Env:
    def __init__(self) -> None:
        self.stopped: list[dict[str, Any]] = []

    def set_stop(self, **kwargs: Any) -> None:
        self.stopped.append(kwargs)


def test_stop_on_an_execution_whose_environment_is_not_built_yet_waits_and_stops_it() -> None:
    moto_patches.make_stop_execution_wait_for_start()
    worker = ExecutionWorker.__new__(ExecutionWorker)
    worker.env = None
    env = _Env()

    def build_later() -> None:
        time.sleep(0.3)
        worker.env = env  # type: ignore[assignment]

    threading.Thread(target=build_later).start()
    worker.stop(stop_date=None, error="Operator", cause="test")  # type: ignore[arg-type]
    assert env.stopped == [{"stop_date": None, "cause": "test", "error": "Operator"}]


def test_the_patch_is_applied_once() -> None:
    moto_patches.make_stop_execution_wait_for_start()
    patched = ExecutionWorker.stop
    moto_patches.make_stop_execution_wait_for_start()
    assert ExecutionWorker.stop is patched
