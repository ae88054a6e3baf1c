"""A session's QoE, written once when it ends (``session.ended``), and its EMF metrics.

The sessions domain ends a session by an ``ended``/``error`` heartbeat, by its sweep after
silence or expiry, or by a takedown, and puts ``session.ended`` with the session's ``qoe`` block
(its counters, kept in the session item by the heartbeats). This writes that block beside the
CMCD the collector has gathered for the same session id, and emits the metrics once: a
redelivered event finds the end already written and changes nothing.

Metrics (namespace ``Vod``, EMF through Powertools): ``VideoStartupTime`` (Milliseconds, so that
CloudWatch gives p50/p95/p99 by the ``p50``/``p95``/``p99`` statistics), ``RebufferPercentage``
(Percent), ``PlaybackFailure`` and ``ExitBeforeVideoStart`` (1 or 0 per view: their Average is
the failure and EBVS rate); each once overall (the service dimension) and once per video
(dimension ``video_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from functions.qoe.dal import sessions as dal
from functions.qoe.logic.collect import retention_deadline
from functions.qoe.logic.metrics import ViewQoe, mux_watch_time_ms, rebuffer_percentage
from functions.qoe.models import SessionEnded
from functions.shared.observability import METRICS_NAMESPACE, logger, metrics


@dataclass(frozen=True)
class EndOutcome:
    session_id: str
    recorded: bool  # False: already recorded (a repeated event)
    view: ViewQoe


def view_of(detail: SessionEnded) -> ViewQoe:
    q = detail.qoe
    # Mux leaves views that never started out of startup time; an EBVS view has none.
    startup = None if q.exited_before_start else q.startup_time_ms
    return ViewQoe(
        startup_time_ms=startup,
        watch_time_ms=q.watch_time_ms,
        rebuffer_count=q.rebuffer_count,
        rebuffer_duration_ms=q.rebuffer_duration_ms,
        errored=q.errored or detail.end_reason == "error",
        exited_before_start=q.exited_before_start and not q.errored,
    )


def record_end(detail: SessionEnded) -> EndOutcome:
    view = view_of(detail)
    values: dict[str, Any] = {
        "video_id": detail.video_id,
        "user_id": detail.user_id,
        "profile_id": detail.profile_id,
        "started_at": detail.started_at,
        "ended_at": detail.ended_at,
        "end_reason": detail.end_reason,
        "final_state": detail.final_state,
        "position_seconds": detail.position_seconds,
        "duration_seconds": detail.duration_seconds,
        "startup_time_ms": view.startup_time_ms,
        "watch_time_ms": view.watch_time_ms,
        "rebuffer_count": view.rebuffer_count,
        "rebuffer_duration_ms": view.rebuffer_duration_ms,
        "errored": view.errored,
        "error_code": detail.qoe.error_code,
        "exited_before_start": view.exited_before_start,
    }
    recorded = dal.record_end(detail.session_id, values, expires_at=retention_deadline())
    if recorded:
        emit_metrics(detail.video_id, view)
    else:
        logger.info("session end already recorded", extra={"session_id": detail.session_id})
    return EndOutcome(session_id=detail.session_id, recorded=recorded, view=view)


def _values(view: ViewQoe) -> list[tuple[str, MetricUnit, float]]:
    out: list[tuple[str, MetricUnit, float]] = []
    if view.startup_time_ms is not None:
        out.append(("VideoStartupTime", MetricUnit.Milliseconds, float(view.startup_time_ms)))
    pct = rebuffer_percentage(view.rebuffer_duration_ms, mux_watch_time_ms(view))
    if pct is not None:
        out.append(("RebufferPercentage", MetricUnit.Percent, pct))
    out.append(("PlaybackFailure", MetricUnit.Count, 1.0 if view.errored else 0.0))
    out.append(("ExitBeforeVideoStart", MetricUnit.Count, 1.0 if view.exited_before_start else 0.0))
    return out


def emit_metrics(video_id: str, view: ViewQoe) -> None:
    """Overall (flushed with the invocation's metrics) and per video (one EMF document each)."""
    for name, unit, value in _values(view):
        metrics.add_metric(name=name, unit=unit, value=value)
        with single_metric(name=name, unit=unit, value=value, namespace=METRICS_NAMESPACE) as metric:
            metric.add_dimension(name="video_id", value=video_id)
