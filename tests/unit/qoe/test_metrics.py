"""Mux Data's metric definitions with worked numbers (functions/qoe/logic/metrics.py)."""

from __future__ import annotations

import pytest

from functions.qoe.logic.metrics import (
    ViewQoe,
    mux_watch_time_ms,
    percentile,
    rebuffer_frequency,
    rebuffer_percentage,
    summarise,
)


def view(
    startup: int | None = 500,
    watch: int = 60_000,
    count: int = 0,
    rebuffer: int = 0,
    errored: bool = False,
    ebvs: bool = False,
) -> ViewQoe:
    return ViewQoe(
        startup_time_ms=startup,
        watch_time_ms=watch,
        rebuffer_count=count,
        rebuffer_duration_ms=rebuffer,
        errored=errored,
        exited_before_start=ebvs,
    )


def test_rebuffer_percentage_is_rebuffering_over_watch_time() -> None:
    # 3 s of stalls in 60 s of watch time (the watch time counts the stalls, as Mux's does)
    assert rebuffer_percentage(3_000, 60_000) == pytest.approx(5.0)
    assert mux_watch_time_ms(view(watch=57_000, rebuffer=3_000)) == 60_000
    assert rebuffer_percentage(0, 0) is None  # nothing watched: no percentage, not 0 %


def test_rebuffer_frequency_is_events_per_minute_of_watch_time() -> None:
    assert rebuffer_frequency(3, 90_000) == pytest.approx(2.0)
    assert rebuffer_frequency(1, 30_000) == pytest.approx(2.0)
    assert rebuffer_frequency(5, 0) is None


def test_percentile_is_nearest_rank() -> None:
    values = [100.0, 200.0, 300.0, 400.0]
    assert percentile(values, 50) == 200
    assert percentile(values, 95) == 400
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match="percentile"):
        percentile(values, 0)


def test_summary_of_four_views_with_worked_numbers() -> None:
    # Given: two clean views, one with two stalls, one that exited before start, one that failed
    views = [
        view(startup=400, watch=60_000),
        view(startup=800, watch=60_000),
        view(startup=1_200, watch=54_000, count=2, rebuffer=6_000),  # 60 s of Mux watch time
        view(startup=None, watch=0, ebvs=True),
        view(startup=None, watch=0, errored=True),
    ]
    # When
    s = summarise(views)
    # Then: startup over the three views that started
    assert s.views == 5
    assert s.startup_time_p50_ms == 800
    assert s.startup_time_p95_ms == 1_200
    assert s.startup_time_p99_ms == 1_200
    # 6 s rebuffering over 180 s of watch time (60 + 60 + 54 + 6)
    assert s.rebuffer_percentage == pytest.approx(100 * 6 / 180)
    # 2 events over 3 minutes
    assert s.rebuffer_frequency_per_minute == pytest.approx(2 / 3)
    assert s.rebuffer_duration_ms == pytest.approx(6_000 / 5)  # per view
    assert s.rebuffer_count == 2
    assert s.playback_failure_percentage == pytest.approx(20.0)
    assert s.exits_before_video_start_percentage == pytest.approx(20.0)


def test_a_failed_view_is_a_failure_not_an_exit_before_start() -> None:
    s = summarise([view(startup=None, watch=0, errored=True, ebvs=True)])
    assert s.playback_failure_percentage == 100.0
    assert s.exits_before_video_start_percentage == 0.0


def test_no_views_gives_no_numbers() -> None:
    s = summarise([])
    assert s.views == 0
    assert s.startup_time_p50_ms is None
    assert s.rebuffer_percentage is None
    assert s.playback_failure_percentage is None
