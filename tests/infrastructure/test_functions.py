"""One function per spec entry: its handler, environment, layers and a role with only its grants."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import spec
from tests.infrastructure.conftest import Synthesized

FUNCTIONS = pytest.mark.parametrize("fn", spec.FUNCTIONS, ids=lambda f: f.name)
TASK_TOKEN_ACTIONS = {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}
APPCONFIG_ACTIONS = {"appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"}
REKOGNITION_ACTION = "rekognition:DetectModerationLabels"


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


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _statements_with(
    synthesized: Synthesized, fn: spec.FunctionSpec, actions: set[str]
) -> list[dict[str, Any]]:
    return [s for s in _role_statements(synthesized, fn) if _actions(s) & actions]


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
def test_function_gets_the_deps_layer_its_extra_layers_and_one_layer_per_media_tool(
    synthesized: Synthesized, fn: spec.FunctionSpec
) -> None:
    functions = synthesized.stack.functions
    layers = [layer["Ref"] for layer in _props(synthesized, fn)["Layers"]]
    expected = [synthesized.logical_id(functions.deps_layer)]
    expected += [synthesized.logical_id(functions.extra_layers[extra]) for extra in fn.layers]
    expected += [synthesized.logical_id(functions.media_layers[tool]) for tool in fn.media_tools]
    # CDK orders layers by their ARN tokens (@aws-cdk/aws-lambda:recognizeLayerVersion); the
    # layers' files do not overlap (/opt/python packages, /opt/bin tools), so order is moot
    assert sorted(layers) == sorted(expected)
    assert len(layers) == 1 + len(fn.layers) + len(fn.media_tools)
    if fn.media:
        assert len(fn.media_tools) == 1  # deps + its one tool: together under Lambda's 250 MB limit


def test_each_extra_layer_goes_only_to_the_functions_that_list_it(synthesized: Synthesized) -> None:
    functions = synthesized.stack.functions
    assert set(functions.extra_layers) == {extra for fn in spec.FUNCTIONS for extra in fn.layers}
    for extra, layer in functions.extra_layers.items():
        layer_id = synthesized.logical_id(layer)
        users = {fn.name for fn in spec.FUNCTIONS if {"Ref": layer_id} in _props(synthesized, fn)["Layers"]}
        assert users == {fn.name for fn in spec.FUNCTIONS if extra in fn.layers}, extra


def test_moderation_layer_is_on_the_moderation_steps_only(synthesized: Synthesized) -> None:
    layer = {"Ref": synthesized.logical_id(synthesized.stack.functions.extra_layers["moderation"])}
    users = {fn.name for fn in spec.FUNCTIONS if layer in _props(synthesized, fn)["Layers"]}
    assert users == {"pipeline-moderate", "pipeline-moderate-range", "pipeline-moderate-verdict"}
    props = synthesized.resources[layer["Ref"]]["Properties"]
    assert props["CompatibleRuntimes"] == ["python3.12"]
    assert "without scipy" in props["Description"]


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
    if fn.starts_executions or fn.sends_task_tokens or fn.stops_executions:
        allowed.add(synthesized.logical_id(stack.pipeline_state_machine))
    if fn.invalidates_cdn:
        allowed.add(synthesized.logical_id(stack.cdn.distribution))
    if fn.puts_events:
        allowed.add(synthesized.logical_id(stack.events.bus))
    if fn.reads_cursor_secret:
        allowed.add(synthesized.logical_id(stack.cursor_secret))
    if fn.reads_moderation_config:
        config = stack.moderation_config
        allowed |= {
            stack.resolve(stack.get_logical_id(c))
            for c in (config.application, config.app_environment, config.profile)
        }
    queues = {
        synthesized.logical_id(stack.ingest.queues[q.name]) for q in spec.QUEUES if q.consumer == fn.name
    }
    allowed |= queues
    # A table stream consumer reads its table's stream and reports failed batches to its queue.
    for stream in (s for s in spec.TABLE_STREAMS if s.consumer == fn.name):
        allowed.add(synthesized.logical_id(stack.storage.tables[stream.table]))
        allowed.add(synthesized.logical_id(stack.streams.failure_queues[stream.table]))
    # A Kinesis stream consumer (the CMCD collector) reads its stream, reports to its queue.
    for kinesis in (s for s in spec.KINESIS_STREAMS if s.consumer == fn.name):
        allowed.add(synthesized.logical_id(stack.qoe.streams[kinesis.name]))
        allowed.add(synthesized.logical_id(stack.qoe.failure_queues[kinesis.name]))

    # Then its role's statements point at nothing else
    statements = _role_statements(synthesized, fn)
    referenced = set().union(*(_referenced_ids(s["Resource"]) for s in statements))
    assert referenced - {"AWS::Partition", "AWS::Region", "AWS::AccountId"} == allowed
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert ("states:StartExecution" in actions) == fn.starts_executions
    assert (actions >= TASK_TOKEN_ACTIONS) == fn.sends_task_tokens
    assert bool(TASK_TOKEN_ACTIONS & actions) == fn.sends_task_tokens
    assert (REKOGNITION_ACTION in actions) == fn.detects_moderation_labels
    assert (actions >= APPCONFIG_ACTIONS) == fn.reads_moderation_config
    assert bool(APPCONFIG_ACTIONS & actions) == fn.reads_moderation_config
    assert ("events:PutEvents" in actions) == fn.puts_events
    assert ("states:StopExecution" in actions) == fn.stops_executions
    assert ("cloudfront:CreateInvalidation" in actions) == fn.invalidates_cdn
    assert ("s3:ListBucketVersions" in actions) == (spec.PURGE in fn.grants.values())
    assert ("secretsmanager:GetSecretValue" in actions) == (fn.reads_secret or fn.reads_cursor_secret)


def test_the_catalog_cursor_key_is_a_generated_secret_of_its_own(synthesized: Synthesized) -> None:
    # Issue 12, point 10: the cursors' HMAC key was derived from the CloudFront private key.
    secret = synthesized.resources[synthesized.logical_id(synthesized.stack.cursor_secret)]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "GenerateSecretString" in secret["Properties"]
    assert "SecretString" not in secret["Properties"]  # no value in the template
    readers = [fn.name for fn in spec.FUNCTIONS if fn.reads_cursor_secret]
    assert readers == ["videos-api"]
    env = _props(synthesized, spec.FUNCTIONS_BY_NAME["videos-api"])["Environment"]["Variables"]
    assert env["CATALOG_CURSOR_SECRET"] != env["CLOUDFRONT_PRIVATE_KEY_SECRET"]


def test_the_new_functions_declare_what_they_are_granted() -> None:
    # The spec says what the moderation and webhook functions may do; the test above checks that
    # each role gets exactly that. This pins the declarations the stack was written against.
    by_name = spec.FUNCTIONS_BY_NAME
    assert by_name["videos-api"].starts_executions and by_name["videos-api"].sends_task_tokens
    moderate = by_name["pipeline-moderate"]
    assert moderate.detects_moderation_labels and moderate.reads_moderation_config
    assert moderate.layers == ("moderation",) and moderate.media_tools == ("ffmpeg",)
    assert [
        fn.name for fn in spec.FUNCTIONS if fn.detects_moderation_labels or fn.reads_moderation_config
    ] == ["pipeline-moderate", "pipeline-moderate-range", "pipeline-moderate-verdict"]
    # the fanned-out mode: a range classifies (Rekognition) but needs no word list, registry or
    # record; the verdict reads the word list and the registry, and records the findings
    moderate_range = by_name["pipeline-moderate-range"]
    assert moderate_range.detects_moderation_labels and not moderate_range.reads_moderation_config
    assert dict(moderate_range.grants) == {"upload_bucket": spec.READ, "media_bucket": spec.WRITE}
    verdict = by_name["pipeline-moderate-verdict"]
    assert verdict.reads_moderation_config and not verdict.detects_moderation_labels
    assert not verdict.media_tools
    assert dict(by_name["webhook-dispatcher"].grants) == {
        "platform_table": spec.READ_WRITE,
        "idempotency_table": spec.READ_WRITE,
    }  # no videos table: the events carry the owner the dispatcher scopes by
    assert "VIDEOS_TABLE" not in by_name["webhook-dispatcher"].env


@pytest.mark.parametrize("fn", [f for f in spec.FUNCTIONS if f.sends_task_tokens], ids=lambda f: f.name)
def test_task_token_sender_may_answer_the_pipeline_callbacks(
    synthesized: Synthesized, fn: spec.FunctionSpec
) -> None:
    # Given the statement with the task-token actions
    (statement,) = _statements_with(synthesized, fn, TASK_TOKEN_ACTIONS)

    # Then it allows all three on the pipeline state machine (IAM policy minimisation may merge
    # StartExecution, granted on the same ARN, into the statement), and nothing else
    assert statement["Effect"] == "Allow"
    assert _actions(statement) >= TASK_TOKEN_ACTIONS
    assert _actions(statement) - TASK_TOKEN_ACTIONS <= (
        {"states:StartExecution"} if fn.starts_executions else set()
    )
    assert statement["Resource"] == {"Ref": synthesized.logical_id(synthesized.stack.pipeline_state_machine)}


def test_videos_api_may_answer_review_callbacks_and_start_executions(synthesized: Synthesized) -> None:
    fn = spec.FUNCTIONS_BY_NAME["videos-api"]
    actions = set().union(*(_actions(s) for s in _role_statements(synthesized, fn)))
    assert TASK_TOKEN_ACTIONS | {"states:StartExecution"} <= actions


@pytest.mark.parametrize(
    "fn", [f for f in spec.FUNCTIONS if f.detects_moderation_labels], ids=lambda f: f.name
)
def test_moderation_labels_detector_calls_rekognition_and_says_why_on_resource_star(
    synthesized: Synthesized, fn: spec.FunctionSpec
) -> None:
    (statement,) = _statements_with(synthesized, fn, {REKOGNITION_ACTION})
    assert statement["Resource"] == "*"
    assert {a for a in _actions(statement) if not a.startswith("xray:")} == {REKOGNITION_ACTION}
    role_id = _props(synthesized, fn)["Role"]["Fn::GetAtt"][0]
    rules = synthesized.resources[role_id]["Metadata"]["cdk_nag"]["rules_to_suppress"]
    (star,) = [r for r in rules if r["id"] == "AwsSolutions-IAM5[Resource::*]"]
    assert "X-Ray" in star["reason"]
    assert "rekognition:DetectModerationLabels" in star["reason"]


@FUNCTIONS
def test_only_xray_and_declared_rekognition_use_a_wildcard_resource(
    synthesized: Synthesized, fn: spec.FunctionSpec
) -> None:
    # The role's IAM5 acknowledgment of Resource::* is for X-Ray (and Rekognition where the spec
    # declares detects_moderation_labels); nothing else may hide behind it
    allowed = {REKOGNITION_ACTION} if fn.detects_moderation_labels else set()
    if any(stream.consumer == fn.name for stream in spec.TABLE_STREAMS):
        allowed.add("dynamodb:ListStreams")  # Lambda's stream poller; no resource-level permission
    for statement in _role_statements(synthesized, fn):
        if statement["Resource"] == "*":
            assert all(a.startswith("xray:") or a in allowed for a in _actions(statement)), statement


# -- the takedown (issue 13) ----------------------------------------------------------------------
def test_only_the_takedown_worker_stops_executions_invalidates_and_purges() -> None:
    worker = spec.FUNCTIONS_BY_NAME["video-takedown"]
    assert [fn.name for fn in spec.FUNCTIONS if fn.stops_executions] == ["video-takedown"]
    assert [fn.name for fn in spec.FUNCTIONS if fn.invalidates_cdn] == ["video-takedown"]
    assert [fn.name for fn in spec.FUNCTIONS if spec.PURGE in fn.grants.values()] == ["video-takedown"]
    assert dict(worker.grants) == {
        "videos_table": spec.READ_WRITE,
        "upload_bucket": spec.PURGE,
        "media_bucket": spec.PURGE,
    }
    assert not worker.puts_events and not worker.starts_executions


def test_the_takedown_worker_stops_only_the_pipelines_executions(synthesized: Synthesized) -> None:
    fn = spec.FUNCTIONS_BY_NAME["video-takedown"]
    (statement,) = _statements_with(synthesized, fn, {"states:StopExecution"})
    assert _actions(statement) == {"states:DescribeExecution", "states:StopExecution"}
    machine = synthesized.logical_id(synthesized.stack.pipeline_state_machine)
    resource = json.dumps(statement["Resource"])
    assert ":execution:" in resource and machine in resource  # the pipeline's execution ARNs only


def test_the_takedown_worker_invalidates_the_one_distribution(synthesized: Synthesized) -> None:
    fn = spec.FUNCTIONS_BY_NAME["video-takedown"]
    (statement,) = _statements_with(synthesized, fn, {"cloudfront:CreateInvalidation"})
    assert _actions(statement) == {"cloudfront:CreateInvalidation"}
    assert _referenced_ids(statement["Resource"]) - {"AWS::Partition", "AWS::AccountId"} == {
        synthesized.logical_id(synthesized.stack.cdn.distribution)
    }
    env = _props(synthesized, fn)["Environment"]["Variables"]
    assert env["CDN_DISTRIBUTION_ID"] == {"Ref": synthesized.logical_id(synthesized.stack.cdn.distribution)}


def test_the_takedown_worker_may_delete_versions_but_read_no_object(synthesized: Synthesized) -> None:
    fn = spec.FUNCTIONS_BY_NAME["video-takedown"]
    actions = set().union(*(_actions(s) for s in _role_statements(synthesized, fn)))
    assert {
        "s3:DeleteObjectVersion",
        "s3:AbortMultipartUpload",
        "s3:ListBucketVersions",
        "s3:ListBucketMultipartUploads",
    } <= actions or {"s3:DeleteObject*", "s3:AbortMultipartUpload", "s3:ListBucketVersions"} <= actions
    assert not {a for a in actions if a.startswith(("s3:GetObject", "s3:PutObject"))}
    for bucket in (synthesized.stack.storage.upload_bucket, synthesized.stack.storage.media_bucket):
        bucket_id = synthesized.logical_id(bucket)
        listing = [s for s in _role_statements(synthesized, fn) if "s3:ListBucketVersions" in _actions(s)]
        assert any(bucket_id in _referenced_ids(s["Resource"]) for s in listing)
