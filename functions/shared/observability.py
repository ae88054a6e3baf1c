"""The one home of Logger, Tracer and Metrics, and of the decorator stack every handler wears."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

METRICS_NAMESPACE = "Vod"


class _UntracedSegment(BaseSegment):
    """What a disabled X-Ray SDK hands out too: a segment that records nothing."""

    def close(self, end_time: int | None = None) -> None: ...
    def add_subsegment(self, subsegment: Any) -> None: ...
    def remove_subsegment(self, subsegment: Any) -> None: ...
    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None: ...


class _Untraced(BaseProvider):
    """The provider of a Tracer that is disabled, so that it never imports the X-Ray SDK: importing
    ``aws_xray_sdk.core`` builds its recorder, and off Lambda that recorder creates botocore clients
    for centralized sampling, ~90 ms of every cold start for traces nobody sends
    (tests/bench/import_bench.py). A disabled Tracer's decorators still open subsegments; these
    are the SDK's dummies without the SDK."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _UntracedSegment()

    @asynccontextmanager
    async def in_subsegment_async(
        self, name: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[BaseSegment, None]:
        yield _UntracedSegment()

    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def patch(self, modules: Sequence[str]) -> None: ...
    def patch_all(self) -> None: ...


def _tracer() -> Tracer:
    # Powertools' own rule: tracing is off outside Lambda (no LAMBDA_TASK_ROOT), under SAM/Chalice
    # local, and with POWERTOOLS_TRACE_DISABLED. On Lambda the Tracer is the default one, built at
    # cold start as before: deferring the SDK would only move its cost into the first request.
    if Tracer._is_tracer_disabled():
        return Tracer(disabled=True, provider=_Untraced())
    return Tracer()


logger = Logger(utc=True)
tracer = _tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE)

Handler = Callable[[Any, Any], Any]


def observed(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """JSON logs with the correlation id (and ``video_id`` when the event names one, also as an
    X-Ray annotation), tracing, and EMF metrics flushed when the invocation ends."""

    def wrap(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def with_business_keys(event: Any, context: Any) -> Any:
            video_id = event.get("video_id") if isinstance(event, dict) else None
            if video_id:
                logger.append_keys(video_id=video_id)
                tracer.put_annotation("video_id", video_id)
            return fn(event, context)

        handler: Any = tracer.capture_lambda_handler(with_business_keys)
        handler = metrics.log_metrics(handler)
        handler = logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(
            handler
        )
        handler.__observed__ = True
        return handler  # type: ignore[no-any-return]

    return wrap
