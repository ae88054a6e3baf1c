"""The cold-start bench's gate (tests/bench/import_bench.py): absolute budget, or the issue's share
of the same run's before; a before from another run never excuses a slow import."""

from __future__ import annotations

from typing import Any

from tests.bench import import_bench


def _section(after_ms: float, before_ms: float | None, *, same_run: bool = True) -> dict[str, Any]:
    section: dict[str, Any] = {
        "handlers": {"videos-api": {"module": "m", "http_facing": True, "cpu_ms": after_ms}},
        "before_same_run": same_run and before_ms is not None,
    }
    if before_ms is not None:
        section["before"] = {"handlers": {"videos-api": {"cpu_ms": before_ms}}}
    return section


def test_within_the_absolute_budget_passes() -> None:
    assert import_bench.failures(_section(240, None)) == []


def test_above_the_budget_without_a_before_fails() -> None:
    assert len(import_bench.failures(_section(260, None))) == 1


def test_above_the_budget_but_within_the_share_of_the_same_run_before_passes() -> None:
    assert import_bench.failures(_section(377, 756)) == []  # 0.50 of before, the target is 0.56


def test_above_the_budget_and_the_share_fails() -> None:
    (problem,) = import_bench.failures(_section(450, 756))  # 0.60 of before
    assert "0.60 of its same-run before" in problem


def test_a_before_recorded_by_another_run_does_not_count() -> None:
    assert len(import_bench.failures(_section(377, 756, same_run=False))) == 1


def test_handlers_not_facing_http_have_no_budget() -> None:
    section = _section(900, None)
    section["handlers"]["videos-api"]["http_facing"] = False
    assert import_bench.failures(section) == []
