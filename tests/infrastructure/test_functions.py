"""One function per spec entry: its handler, environment, layers and a role with only its grants."""

from __future__ import annotations

from typing import Any

import pytest

from infra import spec
from tests.infrastructure.conftest import Synthesized

FUNCTIONS = pytest.mark.parametrize("fn", spec.FUNCTIONS, ids=lambda f: f.name)


def _props(synthesized: Synthesized, fn: spec.FunctionSpec) -> dict[str, Any]:
    props: dict[str, Any] = synthesized.resources[synthesized.function_id(fn.name)]["Properties"]
    return props


def _role_statements(synthesized: Synthesized, fn: spec.FunctionSpec) -> list[dict[str, Any]]:
    role_id = _props(synthesized, fn)["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _referenced_ids(value: Any) -> set[str]:
    """Logical ids a policy resource points at (Ref / Fn::GetAtt, at any depth)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return {value["Ref"]}
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        return set().union(*(_referenced_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_referenced_ids(v) for v in value)) if value else set()
    return set()


@FUNCTIONS
def test_function_runs_the_declared_handler_with_its_sizes(
    synthesized: Synthesized, fn: spec.FunctionSpec
) -> None:
    props = _props(synthesized, fn)
    assert props["Handler"] == fn.handler
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == [synthesized.stack.config.architecture]
    assert props["MemorySize"] == fn.memory_mb
    assert props["Timeout"] == fn.timeout_s
    assert props["EphemeralStorage"] == {"Size": fn.ephemeral_storage_mb}
    assert props["TracingConfig"] == {"Mode": "Active"}


@FUNCTIONS
def test_function_environment_is_the_spec_environment(
    synthesized: Synthesized, fn: spec.FunctionSpec
) -> None:
    env = _props(synthesized, fn)["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == fn.service
    assert {"POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"} <= set(env)
    assert set(fn.env) <= set(env)
    # resources are never given to a function that did not declare them
    assert not (set(spec.RESOURCE_ENV) - set(fn.env)) & set(env)
    for tool in fn.media_tools:
        assert env[f"{tool.upper()}_PATH"] == f"/opt/bin/{tool}"
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"  # signed URLs stay out of traces


@FUNCTIONS
def test_function_gets_the_deps_layer_and_one_layer_per_media_tool(
    synthesized: Synthesized, fn: spec.FunctionSpec
) -> None:
    functions = synthesized.stack.functions
    layers = [layer["Ref"] for layer in _props(synthesized, fn)["Layers"]]
    expected = [synthesized.logical_id(functions.deps_layer)]
    expected += [synthesized.logical_id(functions.media_layers[tool]) for tool in fn.media_tools]
    assert layers == expected
    if fn.media:
        assert len(layers) == 2  # deps + its one tool: together under Lambda's 250 MB limit
    else:
        assert len(layers) == 1


def test_each_function_has_its_own_role_and_log_group(synthesized: Synthesized) -> None:
    roles = {_props(synthesized, fn)["Role"]["Fn::GetAtt"][0] for fn in spec.FUNCTIONS}
    log_groups = {_props(synthesized, fn)["LoggingConfig"]["LogGroup"]["Ref"] for fn in spec.FUNCTIONS}
    assert len(roles) == len(log_groups) == len(spec.FUNCTIONS)
    for log_group in log_groups:
        assert synthesized.resources[log_group]["Properties"]["RetentionInDays"] == 30
    for role in roles:
        assert "ManagedPolicyArns" not in synthesized.resources[role]["Properties"]


@FUNCTIONS
def test_role_reaches_only_what_the_spec_grants(synthesized: Synthesized, fn: spec.FunctionSpec) -> None:
    # Given what the function may touch according to its spec
    stack = synthesized.stack
    allowed = {synthesized.logical_id(stack.buckets.get(r) or stack.tables[r]) for r in fn.grants}
    allowed.add(_props(synthesized, fn)["LoggingConfig"]["LogGroup"]["Ref"])
    if fn.starts_executions:
        allowed.add(synthesized.logical_id(stack.pipeline_state_machine))
    if fn.puts_events:
        allowed.add(synthesized.logical_id(stack.events.bus))
    queues = {
        synthesized.logical_id(stack.ingest.queues[q.name]) for q in spec.QUEUES if q.consumer == fn.name
    }
    allowed |= queues

    # Then its role's statements point at nothing else
    statements = _role_statements(synthesized, fn)
    referenced = set().union(*(_referenced_ids(s["Resource"]) for s in statements))
    assert referenced - {"AWS::Partition", "AWS::Region", "AWS::AccountId"} == allowed
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert ("states:StartExecution" in actions) == fn.starts_executions
    assert ("events:PutEvents" in actions) == fn.puts_events
    assert ("secretsmanager:GetSecretValue" in actions) == fn.reads_secret


def test_secret_reader_reads_the_named_secret_only(synthesized: Synthesized) -> None:
    name = synthesized.stack.config.cloudfront_private_key_secret_name
    for fn in (f for f in spec.FUNCTIONS if f.reads_secret):
        (statement,) = [
            s for s in _role_statements(synthesized, fn) if "secretsmanager:GetSecretValue" in s["Action"]
        ]
        rendered = str(statement["Resource"])
        assert f":secret:{name}-??????" in rendered


@FUNCTIONS
def test_only_xray_uses_a_wildcard_resource(synthesized: Synthesized, fn: spec.FunctionSpec) -> None:
    # The role's IAM5 acknowledgment of Resource::* is for X-Ray; nothing else may hide behind it
    for statement in _role_statements(synthesized, fn):
        if statement["Resource"] == "*":
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all(action.startswith("xray:") for action in actions), statement
