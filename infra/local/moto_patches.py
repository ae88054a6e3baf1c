"""Where moto differs from AWS in ways our correctness depends on, the embedded mode corrects it.

Step Functions: see ``make_stop_execution_wait_for_start``.

DynamoDB evaluates a write's condition and applies the write atomically; moto's server handles
requests on several threads and does not, so two concurrent conditional writes can both pass.
The platform relies on that atomicity (exactly one retry, one approval, one upload wins), so
writes are serialised here.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_WRITE_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_applied = False


def make_dynamodb_writes_atomic() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                return __original(*args, **kwargs)

        setattr(DynamoDBBackend, name, functools.wraps(original)(locked))
    _applied = True


_STOP_WAIT_SECONDS = 30.0
_stop_applied = False


def make_stop_execution_wait_for_start() -> None:
    """StopExecution on a just-started execution stops it, as on AWS, instead of a 500.

    moto's ASL interpreter builds an execution's environment on the execution's own thread, after
    parsing the definition; until then the worker's ``env`` is None and StopExecution raised
    AttributeError (a 500 to the caller). The patched stop waits for the environment first.
    """
    global _stop_applied
    if _stop_applied:
        return
    import time

    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker.stop

    def stop(self: Any, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + _STOP_WAIT_SECONDS
        while getattr(self, "env", None) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return original(self, *args, **kwargs)

    ExecutionWorker.stop = functools.wraps(original)(stop)  # type: ignore[method-assign]
    _stop_applied = True
