"""Fails a test when the platform's code issues a DynamoDB Scan (no request path may read a table whole).

Every botocore client created after this module is imported (boto3's and PynamoDB's: PynamoDB makes
its own botocore session per thread) gets a ``before-call.dynamodb.Scan`` hook. The hook refuses the
call when a frame of the platform's code (a module under ``functions``) is on the calling stack, and
records it so that the test fails at teardown even if a handler swallowed the error into a 500.
Scans from test code itself (counting what is left in a table) are not the platform's and pass.

Maintenance commands that do read a table whole (a projection rebuild) run inside ``allow_scan()``.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.session

PLATFORM_PACKAGES = ("functions",)
EVENT = "before-call.dynamodb.Scan"


class ScanInRequestPath(AssertionError):
    """A Scan issued by the platform's code outside ``allow_scan()``."""


@dataclass
class _State:
    violations: list[str] = field(default_factory=list)
    allowed: int = 0  # allow_scan() depth; process-wide: handlers run on the embedded front's threads
    lock: threading.Lock = field(default_factory=threading.Lock)


STATE = _State()


def _platform_frame() -> str | None:
    """Where in the platform's code the current call comes from (innermost frame), if anywhere."""
    frame = sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] in PLATFORM_PACKAGES:
            return f"{module}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _table_name(request: dict[str, Any]) -> str:
    """before-call carries the serialized request: the table name is in its JSON body."""
    try:
        return str(json.loads(request.get("body") or b"{}").get("TableName", "?"))
    except ValueError:
        return "?"


def _refuse_scan(params: dict[str, Any] | None = None, **_: Any) -> None:
    if STATE.allowed:
        return
    origin = _platform_frame()
    if origin is None:
        return
    table = _table_name(params or {})
    stack = "".join(traceback.format_stack(limit=12)[:-1])
    message = f"DynamoDB Scan of {table} from {origin}: list with a Query on a key or an index\n{stack}"
    with STATE.lock:
        STATE.violations.append(message)
    raise ScanInRequestPath(message)


_original_create_client = botocore.session.Session.create_client


def _create_client_with_guard(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
    client = _original_create_client(self, *args, **kwargs)
    client.meta.events.register(EVENT, _refuse_scan, unique_id="tests.scan_guard")
    return client


def install() -> None:
    """Idempotent; done on import, before any test creates a client."""
    if botocore.session.Session.create_client is not _create_client_with_guard:
        botocore.session.Session.create_client = _create_client_with_guard  # type: ignore[method-assign]


@contextmanager
def allow_scan() -> Iterator[None]:
    """For maintenance commands that read a table whole on purpose (e.g. a projection rebuild)."""
    with STATE.lock:
        STATE.allowed += 1
    try:
        yield
    finally:
        with STATE.lock:
            STATE.allowed -= 1


@contextmanager
def scans_forbidden() -> Iterator[None]:
    """Wraps one test: fails it if the platform's code issued a Scan while it ran."""
    with STATE.lock:
        STATE.violations.clear()
    try:
        yield
    finally:
        with STATE.lock:
            found, STATE.violations[:] = list(STATE.violations), []
        if found:
            raise ScanInRequestPath(f"{len(found)} Scan(s) in a request path:\n" + "\n".join(found))


install()
