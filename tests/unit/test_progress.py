"""Progress records: bounded to 0..100, per rendition, with an ETA once it can be estimated."""

from __future__ import annotations

import pytest

from functions.pipeline.logic.media_steps import progress_record

RUNGS = ["720p", "480p", "360p"]


def test_progress_is_per_rendition_with_an_eta_from_the_rate_so_far() -> None:
    record = progress_record(stage="transcode", fraction=0.25, elapsed_s=10.0, rungs=RUNGS)
    assert record == {
        "stage": "transcode",
        "percent": 25.0,
        "renditions": {"720p": 25.0, "480p": 25.0, "360p": 25.0},
        "eta_seconds": 30.0,
    }


def test_no_eta_until_there_is_something_to_extrapolate_from() -> None:
    assert "eta_seconds" not in progress_record(stage="transcode", fraction=0.01, elapsed_s=1.0, rungs=RUNGS)


@pytest.mark.parametrize(("fraction", "percent", "eta"), [(1.2, 100.0, 0.0), (1.0, 100.0, 0.0)])
def test_the_end_is_100_percent_and_no_time_left(fraction: float, percent: float, eta: float) -> None:
    record = progress_record(stage="transcode", fraction=fraction, elapsed_s=40.0, rungs=RUNGS)
    assert record["percent"] == percent
    assert record["eta_seconds"] == eta


def test_negative_fractions_are_clamped() -> None:
    assert progress_record(stage="transcode", fraction=-0.5, elapsed_s=1.0, rungs=[])["percent"] == 0.0
