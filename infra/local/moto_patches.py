"""Where moto differs from AWS in ways our correctness depends on, the embedded mode corrects it.

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
