"""The one home of Logger, Tracer and Metrics, and of the decorator stack every handler wears."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

METRICS_NAMESPACE = "Vod"

logger = Logger(utc=True)
tracer = Tracer()
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
