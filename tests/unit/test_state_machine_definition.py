"""The Saga's definition: every task retried on transient errors, caught, compensated, timed out."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from functions.pipeline.logic import saga
from functions.shared.errors import parse_step_error
from functions.videos.logic import lifecycle
from infra import spec

TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientError",
}


@pytest.fixture(params=spec.STATE_MACHINES, ids=lambda m: m.name)
def machine(request: pytest.FixtureRequest) -> spec.StateMachineSpec:
    machine: spec.StateMachineSpec = request.param
    return machine


def _states(machine: spec.StateMachineSpec) -> dict[str, Any]:
    states: dict[str, Any] = json.loads(machine.path.read_text())["States"]
    return states


FORWARD = ("Probe", "Moderate", "Transcode", "Thumbnails", "AwaitReview", "Publish")
WAIT_FOR_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"


def _function_of(state: dict[str, Any], machine: spec.StateMachineSpec) -> spec.FunctionSpec:
    target = state["Parameters"]["FunctionName"] if state["Resource"] == WAIT_FOR_TOKEN else state["Resource"]
    placeholder = re.fullmatch(r"\$\{(\w+)\}", target)
    assert placeholder, target
    return spec.FUNCTIONS_BY_NAME[machine.function_substitutions[placeholder.group(1)]]


def test_placeholders_are_exactly_the_declared_substitutions(machine: spec.StateMachineSpec) -> None:
    text = machine.path.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(machine.function_substitutions)
    arns = {fn.name: f"arn:aws:lambda:us-east-1:1:function:{fn.name}" for fn in spec.FUNCTIONS}
    assert "${" not in machine.definition(arns)


def test_the_definition_uses_jsonpath_only(machine: spec.StateMachineSpec) -> None:
    definition = json.loads(machine.path.read_text())
    assert definition.get("QueryLanguage", "JSONPath") == "JSONPath"
    assert "{%" not in machine.path.read_text()


def test_forward_tasks_retry_transient_errors_with_the_required_backoff(
    machine: spec.StateMachineSpec,
) -> None:
    for name in FORWARD:
        [retry] = _states(machine)[name]["Retry"]
        assert set(retry["ErrorEquals"]) == TRANSIENT
        assert (retry["IntervalSeconds"], retry["BackoffRate"], retry["MaxAttempts"]) == (1, 3, 3)


def test_every_forward_task_is_caught_and_routed_to_compensation(machine: spec.StateMachineSpec) -> None:
    states = _states(machine)
    steps = {"AwaitReview": "review"}
    for name in FORWARD:
        catch = states[name]["Catch"][-1]  # AwaitReview first catches its deadline (below)
        assert catch["ErrorEquals"] == ["States.ALL"]
        assert catch["ResultPath"] == "$.error"
        marker = states[catch["Next"]]
        assert marker["Result"] == steps.get(name, name.lower())
        assert marker["Next"] == "Compensate"


def test_compensation_is_retried_and_ends_rejected_or_failed(machine: spec.StateMachineSpec) -> None:
    states = _states(machine)
    [retry] = states["Compensate"]["Retry"]
    assert retry["ErrorEquals"] == ["States.ALL"]
    assert retry["MaxAttempts"] >= 3
    outcome = states[states["Compensate"]["Next"]]
    assert outcome["Type"] == "Choice"
    assert states[outcome["Choices"][0]["Next"]]["Type"] == "Succeed"
    assert states[outcome["Default"]]["Type"] == "Fail"


def test_every_task_has_a_timeout_longer_than_its_function(machine: spec.StateMachineSpec) -> None:
    tasks = {n: s for n, s in _states(machine).items() if s["Type"] == "Task"}
    assert tasks
    for name, state in tasks.items():
        fn = _function_of(state, machine)
        if state["Resource"] == WAIT_FOR_TOKEN:
            # The function only stores the token; the timeout bounds the wait for a person: the
            # execution's own deadline (tests/unit/test_state_timeouts.py bounds it).
            assert state["TimeoutSecondsPath"] == "$.review_deadline_seconds", name
        else:
            assert fn.timeout_s < state["TimeoutSeconds"] <= fn.timeout_s + 60, name


def test_order_of_the_saga(machine: spec.StateMachineSpec) -> None:
    states = _states(machine)
    assert states["Probe"]["Next"] == "ChoosePath"
    assert states["ChoosePath"]["Default"] == "Moderate"
    assert states["ChoosePath"]["Choices"][0]["Next"] == "Split"
    assert states["Moderate"]["Next"] == "Transcode"
    assert states["Transcode"]["Next"] == "Thumbnails"
    # The chunked path: moderated range by range before anything is encoded, viewable after the
    # lowest rung, complete after the rest, then rejoins.
    assert states["Split"]["Next"] == "ModerateFanOut"
    fan_out = states["ModerateFanOut"]
    assert {c["Next"] for c in fan_out["Choices"]} | {fan_out["Default"]} == {
        "ModerateRangesInline",
        "ModerateRangesDistributed",
    }
    assert states["ModerateRangesInline"]["Next"] == states["ModerateRangesDistributed"]["Next"]
    assert states["ModerateRangesInline"]["Next"] == "ModerateVerdict"
    assert states["ModerateVerdict"]["ResultPath"] == "$.moderation"  # what ReviewGate reads
    assert states["ModerateVerdict"]["Parameters"]["count.$"] == "$.split.count"
    assert states["ModerateVerdict"]["Next"] == "PreviewFanOut"
    for fan_out, inline, distributed in (
        ("PreviewFanOut", "EncodePreviewInline", "EncodePreviewDistributed"),
        ("RestFanOut", "EncodeRestInline", "EncodeRestDistributed"),
    ):
        targets = {c["Next"] for c in states[fan_out]["Choices"]} | {states[fan_out]["Default"]}
        assert {inline, distributed} <= targets
    assert (
        states["EncodePreviewInline"]["Next"] == states["EncodePreviewDistributed"]["Next"] == "StitchPreview"
    )
    assert states["StitchPreview"]["Parameters"]["stage"] == "preview"
    assert states["StitchPreview"]["Next"] == "RestFanOut"
    assert states["RestFanOut"]["Default"] == "StitchFinal"
    assert states["EncodeRestInline"]["Next"] == states["EncodeRestDistributed"]["Next"] == "StitchFinal"
    assert states["StitchFinal"]["Parameters"]["stage"] == "final"
    assert states["StitchFinal"]["ResultPath"] == "$.transcode"
    assert states["StitchFinal"]["Next"] == "Thumbnails"
    assert states["Thumbnails"]["Next"] == "ReviewGate"
    gate = states["ReviewGate"]
    assert gate["Choices"] == [
        {"Variable": "$.moderation.verdict", "StringEquals": "review", "Next": "ReleaseSlotForReview"}
    ]
    assert gate["Default"] == "Publish"
    # A held video gives its pipeline slot back before the wait (a failed release does not stop it)
    release = states["ReleaseSlotForReview"]
    assert release["Parameters"]["operation"] == "release_for_review"
    assert release["Next"] == release["Catch"][0]["Next"] == "AwaitReview"
    assert states["AwaitReview"]["Next"] == "Publish"


def test_a_passed_review_deadline_is_compensated_as_review_timed_out(machine: spec.StateMachineSpec) -> None:
    states = _states(machine)
    first, last = states["AwaitReview"]["Catch"]
    assert (first["ErrorEquals"], first["ResultPath"]) == (["States.Timeout"], "$.error")
    marker = states[first["Next"]]
    assert marker["Type"] == "Pass" and marker["ResultPath"] == "$.error"
    assert marker["Next"] == last["Next"] == "AwaitReviewFailed"
    name, reason, _ = parse_step_error(marker["Result"])
    assert (name, reason) == (saga.REVIEW_TIMED_OUT_ERROR, lifecycle.REVIEW_TIMED_OUT)


def test_the_execution_has_an_overall_timeout(machine: spec.StateMachineSpec) -> None:
    assert json.loads(machine.path.read_text())["TimeoutSeconds"] == machine.timeout_s


MAPS = ("EncodePreviewInline", "EncodePreviewDistributed", "EncodeRestInline", "EncodeRestDistributed")
MODERATION_MAPS = ("ModerateRangesInline", "ModerateRangesDistributed")


def test_the_chunk_maps_share_one_processor_and_differ_only_in_mode(machine: spec.StateMachineSpec) -> None:
    states = _states(machine)
    processors = []
    for name in MAPS:
        state = states[name]
        assert state["Type"] == "Map"
        assert state["MaxConcurrencyPath"] == "$.split.max_concurrency"  # configurable, not hard-coded
        assert state["ResultPath"] is None  # a thousand chunk results must not grow the payload
        assert state["Catch"][0]["Next"] == "EncodeChunksFailed"
        mode = state["ItemProcessor"]["ProcessorConfig"]["Mode"]
        assert mode == ("DISTRIBUTED" if name.endswith("Distributed") else "INLINE")
        if mode == "DISTRIBUTED":
            assert state["ItemReader"]["Parameters"] == {
                "Bucket.$": "$.split.bucket",
                "Key.$": "$.split.manifest_key",
            }
            # No tolerated failures (the default): one failed chunk fails the Map and the video.
            assert "ToleratedFailurePercentage" not in state and "ToleratedFailureCount" not in state
        else:
            assert state["ItemsPath"] == "$.split.items"
        processors.append(json.dumps(state["ItemProcessor"]["States"], sort_keys=True))
        assert state["ItemSelector"]["pass"] == ("preview" if "Preview" in name else "rest")
        # A chunk split by index is read from the source itself.
        assert state["ItemSelector"]["bucket.$"] == "$.bucket" and state["ItemSelector"]["key.$"] == "$.key"
    assert len(set(processors)) == 1
    task = states[MAPS[0]]["ItemProcessor"]["States"]["EncodeChunk"]
    fn = _function_of(task, machine)
    assert fn.name == "pipeline-encode-chunk"
    assert fn.timeout_s < task["TimeoutSeconds"] <= fn.timeout_s + 60
    retried = {e for r in task["Retry"] for e in r["ErrorEquals"]}
    assert {"TransientError", "Lambda.TooManyRequestsException"} <= retried  # transient chunk failures retry
    assert "MediaFailed" not in retried


def test_the_moderation_maps_run_one_range_task_and_fail_into_moderate_failed(
    machine: spec.StateMachineSpec,
) -> None:
    states = _states(machine)
    processors = []
    for name in MODERATION_MAPS:
        state = states[name]
        assert state["Type"] == "Map"
        assert state["MaxConcurrencyPath"] == "$.split.max_concurrency"
        assert state["ResultPath"] is None
        assert state["Catch"][0]["Next"] == "ModerateFailed"
        assert state["ItemSelector"]["chunk.$"] == "$$.Map.Item.Value.chunk"
        mode = state["ItemProcessor"]["ProcessorConfig"]["Mode"]
        assert mode == ("DISTRIBUTED" if name.endswith("Distributed") else "INLINE")
        if mode == "DISTRIBUTED":
            assert state["ItemReader"]["Parameters"]["Key.$"] == "$.split.manifest_key"
            assert "ToleratedFailurePercentage" not in state and "ToleratedFailureCount" not in state
        processors.append(json.dumps(state["ItemProcessor"]["States"], sort_keys=True))
    assert len(set(processors)) == 1
    task = states[MODERATION_MAPS[0]]["ItemProcessor"]["States"]["ModerateRange"]
    assert _function_of(task, machine).name == "pipeline-moderate-range"
    assert {"TransientError"} <= {e for r in task["Retry"] for e in r["ErrorEquals"]}
    verdict = states["ModerateVerdict"]
    assert _function_of(verdict, machine).name == "pipeline-moderate-verdict"
    assert verdict["Catch"][0]["Next"] == "ModerateFailed"
