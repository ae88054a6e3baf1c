"""Priority classes on the embedded stack: with the standard budget used up and standard uploads
queued behind it, a priority upload starts at once and reaches READY; freeing a standard slot lets
a queued standard upload proceed. (Issue 5: "with standard work queued, a priority upload starts
within its budget".)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.pipeline.dal import slots as slots_table
from functions.shared.settings import get_settings
from infra.local.emulator import EmbeddedStack
from tests.conftest import make_clip
from tests.e2e.conftest import Client

pytestmark = pytest.mark.e2e

OCCUPANT = "e2e-occupant-"
# The priority upload must leave UPLOADED this fast: it never waits for a slot (its budget is free).
PRIORITY_START_S = 10.0
# A freed slot is noticed within AcquireSlot's longest retry interval (MaxDelaySeconds 15).
STANDARD_RESUME_S = 25.0


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.2)
    return time.monotonic() - started


class Occupants:
    """Stand-in executions holding standard slots (as if long uploads were being encoded)."""

    def __init__(self, budget: int):
        slots_table.create("standard")
        self.names = [f"{OCCUPANT}{n}" for n in range(budget)]
        for name in self.names:
            assert slots_table.take("standard", name, budget=budget, now=time.time()) is not None

    def free_one(self) -> None:
        assert slots_table.give_back("standard", self.names.pop())

    def free_all(self) -> None:
        while self.names:
            slots_table.give_back("standard", self.names.pop())


@pytest.fixture
def standard_budget_in_use(stack: EmbeddedStack) -> Iterator[Occupants]:
    """Every slot of the standard budget held by a stand-in; all given back at the end."""
    # Executions of earlier tests give their slots back as they end: start from a quiet budget
    _wait_until(lambda: not (slots_table.holders("standard") or {}), 60, "earlier executions to end")
    occupants = Occupants(get_settings().pipeline_budget_standard)  # the handlers run in this process
    yield occupants
    occupants.free_all()


def _queued(video: dict[str, Any]) -> bool:
    return video["status"] == "UPLOADED" and (video.get("progress") or {}).get("stage") == "queued"


def test_a_priority_upload_overtakes_queued_standard_uploads(
    stack: EmbeddedStack, media_dir: Path, standard_budget_in_use: Occupants
) -> None:
    clip = make_clip(media_dir / "priority-tiny.mp4", seconds=1, size="160x120")
    standard = Client(stack, sub="standard-creator")
    vip = Client(stack, sub="priority-creator", plans=("priority",))
    waiting: list[str] = []
    try:
        # Given two standard uploads queued behind the full standard budget
        waiting = [standard.upload(clip, f"standard {n}") for n in range(2)]
        _wait_until(lambda: all(standard.executions_for(v) for v in waiting), 15, "the standard executions")
        assert all(_queued(standard.get(v)) for v in waiting)

        # When a priority upload arrives
        uploaded_at = time.monotonic()
        fast = vip.upload(clip, "priority", priority_class="priority")
        # Then it starts at once (its own budget) and reaches READY
        started_in = _wait_until(
            lambda: vip.get(fast)["status"] != "UPLOADED", PRIORITY_START_S, "priority start"
        )
        ready = vip.wait(fast, {"READY", "FAILED", "REJECTED"}, timeout=60)
        ready_in = time.monotonic() - uploaded_at
        assert ready["status"] == "READY", ready
        assert ready["priority_class"] == "priority"
        # ...and gave its slot back when it published
        _wait_until(lambda: not slots_table.holders("priority"), 5, "the priority slot to be given back")
        # while the standard uploads are still queued, each execution running and waiting for a slot
        for video_id in waiting:
            assert _queued(standard.get(video_id)), standard.get(video_id)
            [execution] = standard.executions_for(video_id)
            assert execution["status"] == "RUNNING"

        # When one standard slot frees up
        standard_budget_in_use.free_one()
        # Then exactly one queued standard upload proceeds (the budget is full again behind it)
        resumed_in = _wait_until(
            lambda: any(not _queued(standard.get(v)) for v in waiting), STANDARD_RESUME_S, "a standard upload"
        )
        assert sum(not _queued(standard.get(v)) for v in waiting) == 1
        print(
            f"priority: started {started_in:.1f}s and READY {ready_in:.1f}s after its upload; "
            f"standard resumed {resumed_in:.1f}s after a slot freed"
        )
    finally:
        # Leave nothing running for the next test: free the budget, let the standard uploads finish
        standard_budget_in_use.free_all()
        for video_id in waiting:
            standard.wait(video_id, {"READY", "FAILED", "REJECTED"}, timeout=90)
