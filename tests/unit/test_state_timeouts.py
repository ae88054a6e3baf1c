"""No state may wait longer than its execution: every TimeoutSeconds, and the largest value a
TimeoutSecondsPath can read (the bound of the setting behind it), fits in the execution's
TimeoutSeconds, in nested Map and Parallel states too. Otherwise the execution times out first
and the state's own timeout (its Catch, its reason) never fires: a video ends TIMED_OUT through
the safety net instead (issue 11, "review waits done right")."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import annotated_types
import pytest

from functions.pipeline.logic import saga
from functions.shared.settings import (
    PIPELINE_EXECUTION_TIMEOUT_SECONDS,
    PIPELINE_OUTSIDE_REVIEW_SECONDS,
    REVIEW_DEADLINE_MAX_SECONDS,
    Settings,
)
from functions.videos.logic import ingest, lifecycle
from infra import spec

# Each TimeoutSecondsPath of any definition -> the setting whose value the starter puts there.
PATH_SETTINGS = {"$.review_deadline_seconds": "review_deadline_seconds"}


def _definition(machine: spec.StateMachineSpec) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(machine.path.read_text())
    return definition


MACHINES = [pytest.param(m, id=m.name) for m in spec.STATE_MACHINES]


def walk(states: dict[str, Any], where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, with its path, inside Map item processors (or the older Iterator) and
    Parallel branches too."""
    for name, state in states.items():
        path = f"{where}{name}"
        yield path, state
        for processor in (state.get("ItemProcessor"), state.get("Iterator")):
            if processor:
                yield from walk(processor["States"], f"{path}/")
        for i, branch in enumerate(state.get("Branches", [])):
            yield from walk(branch["States"], f"{path}[{i}]/")


def setting_bound(name: str) -> int:
    """The largest value the setting accepts (its ``le``): a timeout read from it needs one."""
    for constraint in Settings.model_fields[name].metadata:
        if isinstance(constraint, annotated_types.Le):
            return int(constraint.le)
        if isinstance(constraint, annotated_types.Lt):
            return int(constraint.lt) - 1
    raise AssertionError(f"setting {name} has no upper bound: a timeout read from it is unbounded")


def longest_wait(state: dict[str, Any]) -> int | None:
    """The longest this state may run by its own timeout, if it has one."""
    if "TimeoutSeconds" in state:
        return int(state["TimeoutSeconds"])
    if "TimeoutSecondsPath" in state:
        path = state["TimeoutSecondsPath"]
        assert path in PATH_SETTINGS, f"{path}: which setting bounds it? add it to PATH_SETTINGS"
        return setting_bound(PATH_SETTINGS[path])
    return None


@pytest.mark.parametrize("machine", MACHINES)
def test_no_state_waits_longer_than_its_execution(machine: spec.StateMachineSpec) -> None:
    definition = _definition(machine)
    execution = definition["TimeoutSeconds"]
    assert execution == machine.timeout_s
    too_long = {
        path: wait
        for path, state in walk(definition["States"])
        if (wait := longest_wait(state)) is not None and wait >= execution
    }
    assert too_long == {}, f"execution TimeoutSeconds {execution}"


@pytest.mark.parametrize("machine", MACHINES)
def test_a_review_deadline_leaves_room_for_the_queue_and_the_processing(
    machine: spec.StateMachineSpec,
) -> None:
    definition = _definition(machine)
    states = dict(walk(definition["States"]))
    if "AwaitReview" not in states:
        pytest.skip("no review wait")
    assert definition["TimeoutSeconds"] == PIPELINE_EXECUTION_TIMEOUT_SECONDS
    deadline = longest_wait(states["AwaitReview"])
    assert deadline == REVIEW_DEADLINE_MAX_SECONDS
    # Before the review: at worst the whole AcquireSlot wait (every poll at its longest delay)
    [wait, *_] = states["AcquireSlot"]["Retry"]
    queue = wait["MaxAttempts"] * wait["MaxDelaySeconds"]
    assert queue < PIPELINE_OUTSIDE_REVIEW_SECONDS
    assert definition["TimeoutSeconds"] - deadline >= PIPELINE_OUTSIDE_REVIEW_SECONDS


def test_the_walk_finds_states_in_maps_and_parallel_branches() -> None:
    states = {
        "M": {"Type": "Map", "ItemProcessor": {"States": {"T": {"TimeoutSeconds": 5}}}},
        "P": {"Type": "Parallel", "Branches": [{"States": {"U": {"TimeoutSecondsPath": "$.x"}}}]},
    }
    assert [p for p, _ in walk(states)] == ["M", "M/T", "P", "P[0]/U"]


def test_the_review_deadline_setting_is_bounded_and_defaults_to_a_week() -> None:
    assert setting_bound("review_deadline_seconds") == REVIEW_DEADLINE_MAX_SECONDS == 14 * 86400
    assert Settings().review_deadline_seconds == 7 * 86400
    assert Settings(REVIEW_DEADLINE_SECONDS=2).review_deadline_seconds == 2  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="less than or equal"):
        Settings(REVIEW_DEADLINE_SECONDS=REVIEW_DEADLINE_MAX_SECONDS + 1)  # type: ignore[call-arg]


def test_the_await_review_deadline_is_what_the_starter_puts_in_the_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    [machine] = [m for m in spec.STATE_MACHINES if m.name == "media-pipeline"]
    await_review = _definition(machine)["States"]["AwaitReview"]
    assert "TimeoutSeconds" not in await_review
    started: list[dict[str, Any]] = []

    class FakeStepFunctions:
        class exceptions:  # boto3's shape
            class ExecutionAlreadyExists(Exception):
                pass

        def start_execution(self, **kwargs: Any) -> None:
            started.append(json.loads(kwargs["input"]))

    monkeypatch.setattr(ingest, "client", lambda service: FakeStepFunctions())
    monkeypatch.setenv("REVIEW_DEADLINE_SECONDS", "3600")
    monkeypatch.setattr(ingest, "get_settings", lambda: Settings.from_environ(os.environ))
    ingest.start_execution(
        video_id="v" * 32,
        bucket="b",
        key="k",
        version_id="ver",
        upload_version="s",
        attempt=1,
        priority_class="standard",
    )
    [payload] = started
    assert await_review["TimeoutSecondsPath"] == "$.review_deadline_seconds"
    assert payload["review_deadline_seconds"] == 3600


def test_a_passed_deadline_is_recorded_by_its_own_move() -> None:
    # The ReviewTimedOut state's error -> compensation's review_timed_out move (tests of the move
    # itself: tests/integration/test_lifecycle.py; end to end: tests/e2e/test_moderation_saga.py)
    [machine] = [m for m in spec.STATE_MACHINES if m.name == "media-pipeline"]
    marker = _definition(machine)["States"]["ReviewTimedOut"]["Result"]
    assert marker["Error"] == saga.REVIEW_TIMED_OUT_ERROR
    assert marker["Cause"].startswith(f"{lifecycle.REVIEW_TIMED_OUT}: ")
