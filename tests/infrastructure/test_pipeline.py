"""The Saga state machine comes from its ASL file, with every placeholder bound to its function;
the safety-net rule watches the executions that end badly."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra import spec
from tests.infrastructure.conftest import Synthesized

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def _state_machine(synthesized: Synthesized, name: str) -> dict[str, Any]:
    resource: dict[str, Any] = synthesized.resources[
        synthesized.logical_id(synthesized.stack.pipeline.state_machines[name])
    ]
    return resource


@pytest.mark.parametrize("machine", spec.STATE_MACHINES, ids=lambda m: m.name)
def test_definition_is_the_asl_file_with_every_placeholder_bound(
    synthesized: Synthesized, machine: spec.StateMachineSpec
) -> None:
    # Given the state machine: DefinitionBody.from_file ships the file as an asset and lets
    # CloudFormation substitute the placeholders (DefinitionS3Location + DefinitionSubstitutions)
    props = _state_machine(synthesized, machine.name)["Properties"]
    staged = synthesized.assembly_dir / f"asset.{props['DefinitionS3Location']['Key']}"
    text = staged.read_text()

    # Then the shipped definition is the repository's file, byte for byte
    assert text == machine.path.read_text()

    # And each placeholder is bound to its function's ARN, none left over
    substitutions = props["DefinitionSubstitutions"]
    assert set(PLACEHOLDER.findall(text)) == set(substitutions) == set(machine.function_substitutions)
    for placeholder, fn_name in machine.function_substitutions.items():
        assert substitutions[placeholder] == {"Fn::GetAtt": [synthesized.function_id(fn_name), "Arn"]}
    for placeholder in substitutions:
        text = text.replace("${" + placeholder + "}", f"arn:aws:lambda:::function:{placeholder}")
    assert "${" not in text
    json.loads(text)


@pytest.mark.parametrize("machine", spec.STATE_MACHINES, ids=lambda m: m.name)
def test_state_machine_may_invoke_exactly_its_functions(
    synthesized: Synthesized, machine: spec.StateMachineSpec
) -> None:
    role_ref = _state_machine(synthesized, machine.name)["Properties"]["RoleArn"]
    statements = [
        s
        for p in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_ref["Fn::GetAtt"][0]} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "lambda:InvokeFunction"
    ]
    invoked = {r["Fn::GetAtt"][0] for s in statements for r in s["Resource"] if "Fn::GetAtt" in r} | {
        r["Fn::Join"][1][0]["Fn::GetAtt"][0] for s in statements for r in s["Resource"] if "Fn::Join" in r
    }
    assert invoked == {synthesized.function_id(name) for name in machine.function_substitutions.values()}


@pytest.mark.parametrize("machine", spec.STATE_MACHINES, ids=lambda m: m.name)
def test_state_machine_is_standard_logs_everything_and_traces(
    synthesized: Synthesized, machine: spec.StateMachineSpec
) -> None:
    props = _state_machine(synthesized, machine.name)["Properties"]
    assert props.get("StateMachineType", "STANDARD") == "STANDARD"  # status-change events need STANDARD
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert props["TracingConfiguration"] == {"Enabled": True}


@pytest.mark.parametrize("machine", spec.STATE_MACHINES, ids=lambda m: m.name)
def test_execution_timeout_of_the_spec_is_in_the_definition(machine: spec.StateMachineSpec) -> None:
    assert json.loads(machine.path.read_text()).get("TimeoutSeconds") == machine.timeout_s


@pytest.mark.parametrize("rule", spec.EXECUTION_RULES, ids=lambda r: r.name)
def test_execution_failed_rule_on_the_default_bus(
    synthesized: Synthesized, rule: spec.ExecutionFailedRuleSpec
) -> None:
    # Given the rule
    props = synthesized.resources[synthesized.logical_id(synthesized.stack.pipeline.rules[rule.name])][
        "Properties"
    ]
    sm_id = synthesized.logical_id(synthesized.stack.pipeline.state_machines[rule.state_machine])

    # Then it listens on the default bus (where Step Functions sends status changes)
    assert "EventBusName" not in props
    # And matches the spec's pattern for this state machine, the three statuses included
    assert props["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": list(rule.statuses), "stateMachineArn": [{"Ref": sm_id}]},
    }
    assert set(props["EventPattern"]["detail"]["status"]) == {"FAILED", "TIMED_OUT", "ABORTED"}
    # And delivers to the safety net with retries and a dead-letter queue
    (target,) = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [synthesized.function_id(rule.target), "Arn"]}
    dlq_id = synthesized.logical_id(synthesized.stack.pipeline.dead_letter_queues[rule.name])
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


@pytest.mark.parametrize("machine", spec.STATE_MACHINES, ids=lambda m: m.name)
def test_failed_executions_raise_an_alarm(synthesized: Synthesized, machine: spec.StateMachineSpec) -> None:
    sm_id = synthesized.logical_id(synthesized.stack.pipeline.state_machines[machine.name])
    alarms = [
        a["Properties"]
        for a in synthesized.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "ExecutionsFailed"
        and a["Properties"]["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": sm_id}}]
    ]
    assert len(alarms) == 1
    assert alarms[0]["Threshold"] == 1
    assert alarms[0]["AlarmActions"] == [{"Ref": synthesized.logical_id(synthesized.stack.monitoring.topic)}]
