"""A thread pool whose tasks see the submitting thread's context (``contextvars``).

A handler's settings (``functions.shared.settings.get_settings``) are per invocation in the
embedded mode, held in a ContextVar, and a plain ThreadPoolExecutor's workers start from an empty
context: they would read the process's settings instead of their function's. On AWS the two are
the same; use this pool wherever a handler's work fans out to threads.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        # A copy per task: tasks running at once cannot share one Context (Context.run refuses).
        context = contextvars.copy_context()
        run: Callable[..., Any] = context.run
        return super().submit(run, fn, *args, **kwargs)
