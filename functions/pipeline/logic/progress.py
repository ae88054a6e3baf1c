"""Encoding progress shared by both paths: the ETA extrapolated from the rate so far.

The single pass (media_steps.progress_record) and the chunked path (chunked_steps._progress)
measure how far along they are differently, but estimate the time left the same way.
"""

from __future__ import annotations

from typing import Any

# Below this fraction done there is too little to extrapolate from: no ETA yet.
MIN_FRACTION_FOR_ETA = 0.02


def eta_seconds(fraction: float, elapsed_s: float) -> float | None:
    """Seconds left at the rate so far (``fraction`` done in ``elapsed_s``); 0 when done, None
    until there is enough to extrapolate from."""
    if fraction >= 1.0:
        return 0.0
    if fraction >= MIN_FRACTION_FOR_ETA and elapsed_s > 0:
        return round(elapsed_s * (1 - fraction) / fraction, 1)
    return None


def with_eta(record: dict[str, Any], fraction: float, elapsed_s: float) -> dict[str, Any]:
    """``record`` with its ``eta_seconds`` when there is one."""
    eta = eta_seconds(fraction, elapsed_s)
    if eta is not None:
        record["eta_seconds"] = eta
    return record
