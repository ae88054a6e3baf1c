"""Mux Data's QoE metrics, as pure functions over per-view numbers.

The definitions follow Mux Data's published metric guides (mux.com/docs/guides, "Startup Time",
"Smoothness" and "Playback Success"; and the "Recover from Rebuffering: Mux Metrics Explained"
article), so that the numbers mean what an operator who knows Mux expects:

- **Video Startup Time**: "the time that the viewer waits for the video to play after the page is
  loaded and the player is ready": from the moment the player is told to play (by the user or by
  autoplay) until the first frame shows and the playhead progresses. Views that exited before the
  video started, or failed before it started, have no startup time and are left out.
- **Rebuffer Percentage**: "the amount of time video spent rebuffering, as a percentage of the
  total time video was requested" (watch time). Mux's watch time counts the rebuffering too, so
  here: rebuffer duration / (time playing + time rebuffering).
- **Rebuffer Frequency**: how often rebuffering happens: rebuffer events per minute of watch time.
- **Rebuffer Duration**: how long viewers wait for rebuffering, per view.
- **Playback Failure Percentage**: the share of views that end in a fatal playback error.
- **Exits Before Video Start** (EBVS): the share of views where the viewer asked for playback but
  left before the first frame, without an error (a failed start counts as a failure, not an EBVS).

A "view" here is one playback session (``session.ended``'s ``qoe`` block). Aggregates over many
views are computed from totals (total rebuffering over total watch time), not as an average of
per-view percentages, so that a 10 s clip with one stall does not weigh as much as a film.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MS_PER_MINUTE = 60_000


@dataclass(frozen=True)
class ViewQoe:
    """What one view (session) measured; times in milliseconds."""

    startup_time_ms: int | None
    watch_time_ms: int  # time in ``playing``
    rebuffer_count: int
    rebuffer_duration_ms: int
    errored: bool
    exited_before_start: bool

    @property
    def started(self) -> bool:
        return self.startup_time_ms is not None and not self.exited_before_start


def mux_watch_time_ms(view: ViewQoe) -> int:
    """Mux's watch time: playing plus rebuffering (the time the viewer wanted to be watching)."""
    return max(0, view.watch_time_ms) + max(0, view.rebuffer_duration_ms)


def rebuffer_percentage(rebuffer_duration_ms: float, watch_time_ms: float) -> float | None:
    """Rebuffering as a percentage of watch time (``watch_time_ms`` includes the rebuffering);
    None when nothing was watched. E.g. 3 s of stalls in 60 s of watch time -> 5.0."""
    if watch_time_ms <= 0:
        return None
    return 100.0 * max(0.0, rebuffer_duration_ms) / watch_time_ms


def rebuffer_frequency(rebuffer_count: int, watch_time_ms: float) -> float | None:
    """Rebuffer events per minute of watch time; None when nothing was watched.
    E.g. 3 stalls in 90 s -> 2.0 per minute."""
    if watch_time_ms <= 0:
        return None
    return max(0, rebuffer_count) / (watch_time_ms / MS_PER_MINUTE)


def percentage(part: int, whole: int) -> float | None:
    return None if whole <= 0 else 100.0 * part / whole


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile (the smallest value with at least ``p`` % of the values at or
    below it), which is always one of the measured values; None for no values.
    E.g. p50 of [100, 200, 300, 400] -> 200, p95 -> 400."""
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError("percentile p must be in (0, 100]")
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


@dataclass(frozen=True)
class Summary:
    views: int
    startup_time_p50_ms: float | None
    startup_time_p95_ms: float | None
    startup_time_p99_ms: float | None
    rebuffer_percentage: float | None
    rebuffer_frequency_per_minute: float | None
    rebuffer_duration_ms: float | None  # per view, on average
    rebuffer_count: int
    playback_failure_percentage: float | None
    exits_before_video_start_percentage: float | None


def summarise(views: Iterable[ViewQoe]) -> Summary:
    """Mux's metrics over many views (see the module docstring)."""
    items = list(views)
    startups = [float(v.startup_time_ms) for v in items if v.started and v.startup_time_ms is not None]
    watch = sum(mux_watch_time_ms(v) for v in items)
    rebuffer_ms = sum(max(0, v.rebuffer_duration_ms) for v in items)
    rebuffers = sum(max(0, v.rebuffer_count) for v in items)
    failed = sum(1 for v in items if v.errored)
    ebvs = sum(1 for v in items if v.exited_before_start and not v.errored)
    return Summary(
        views=len(items),
        startup_time_p50_ms=percentile(startups, 50),
        startup_time_p95_ms=percentile(startups, 95),
        startup_time_p99_ms=percentile(startups, 99),
        rebuffer_percentage=rebuffer_percentage(rebuffer_ms, watch),
        rebuffer_frequency_per_minute=rebuffer_frequency(rebuffers, watch),
        rebuffer_duration_ms=(rebuffer_ms / len(items)) if items else None,
        rebuffer_count=rebuffers,
        playback_failure_percentage=percentage(failed, len(items)),
        exits_before_video_start_percentage=percentage(ebvs, len(items)),
    )
