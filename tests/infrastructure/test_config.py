"""The moderation word list in AppConfig: the resources, the reader's environment and its IAM scope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnElement

from functions.moderation.logic.text import _word_list_from_document
from infra import spec
from infra.app import build_app
from infra.constructs.config_construct import INITIAL_WORD_LIST, WORD_LIST_SCHEMA
from tests.infrastructure.conftest import Synthesized, public_key_pem

APPCONFIG_ACTIONS = {"appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"}
ENV_NAMES = (
    "MODERATION_APPCONFIG_APPLICATION",
    "MODERATION_APPCONFIG_ENVIRONMENT",
    "MODERATION_APPCONFIG_PROFILE",
)
READERS = [fn for fn in spec.FUNCTIONS if fn.reads_moderation_config]
OTHERS = [fn for fn in spec.FUNCTIONS if not fn.reads_moderation_config]


def _cfn_id(synthesized: Synthesized, resource: CfnElement) -> str:
    """The logical id of an L1 resource (``Synthesized.logical_id`` takes its L2 wrapper)."""
    logical_id: str = synthesized.stack.resolve(synthesized.stack.get_logical_id(resource))
    return logical_id


def _one(synthesized: Synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = synthesized.of_type(resource_type).items()
    logical_id, resource = item
    props: dict[str, Any] = resource["Properties"]
    return logical_id, props


def _ids(synthesized: Synthesized) -> tuple[str, str, str]:
    config = synthesized.stack.moderation_config
    app, env, profile = (
        _cfn_id(synthesized, c) for c in (config.application, config.app_environment, config.profile)
    )
    return app, env, profile


def _env(synthesized: Synthesized, fn: spec.FunctionSpec) -> dict[str, Any]:
    variables: dict[str, Any] = synthesized.resources[synthesized.function_id(fn.name)]["Properties"][
        "Environment"
    ]["Variables"]
    return variables


def _appconfig_statements(synthesized: Synthesized, fn: spec.FunctionSpec) -> list[dict[str, Any]]:
    role_id = synthesized.resources[synthesized.function_id(fn.name)]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = []
    for policy in synthesized.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("appconfig:") for a in actions):
                statements.append(statement)
    return statements


def test_one_application_environment_and_hosted_freeform_profile(synthesized: Synthesized) -> None:
    app, env, profile = _ids(synthesized)
    assert _one(synthesized, "AWS::AppConfig::Application")[0] == app
    env_id, env_props = _one(synthesized, "AWS::AppConfig::Environment")
    assert env_id == env
    assert env_props["ApplicationId"] == {"Ref": app}
    profile_id, profile_props = _one(synthesized, "AWS::AppConfig::ConfigurationProfile")
    assert profile_id == profile
    assert profile_props["ApplicationId"] == {"Ref": app}
    assert profile_props["LocationUri"] == "hosted"
    assert profile_props["Type"] == "AWS.Freeform"


def test_profile_validator_is_a_json_schema_requiring_a_list_of_string_terms(
    synthesized: Synthesized,
) -> None:
    # Given the profile's one validator
    (validator,) = _one(synthesized, "AWS::AppConfig::ConfigurationProfile")[1]["Validators"]
    assert validator["Type"] == "JSON_SCHEMA"
    schema = json.loads(validator["Content"])

    # Then it is the construct's schema: an object with a required "terms" array of strings
    assert schema == WORD_LIST_SCHEMA
    assert schema["type"] == "object"
    assert schema["required"] == ["terms"]
    assert schema["properties"]["terms"] == {"type": "array", "items": {"type": "string"}}
    assert "draft-04" in schema["$schema"]  # the JSON Schema version AppConfig validates with


def test_validator_accepts_what_the_function_reads_and_refuses_the_rest() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft4Validator(WORD_LIST_SCHEMA)
    good: Any
    bad: Any
    for good in ({"terms": []}, {"terms": ["spam", "scam"]}, {"terms": ["x"], "note": "kept"}):
        assert validator.is_valid(good), good
        _word_list_from_document(good)  # the function reads it too
    for bad in ({}, {"terms": "spam"}, {"terms": [1]}, {"terms": None}, ["spam"], {"words": ["spam"]}):
        assert not validator.is_valid(bad), bad


def test_seed_version_is_an_empty_json_list_deployed_all_at_once(synthesized: Synthesized) -> None:
    app, env, profile = _ids(synthesized)
    # Given the hosted version the stack creates
    version_id, version = _one(synthesized, "AWS::AppConfig::HostedConfigurationVersion")
    assert version["ApplicationId"] == {"Ref": app}
    assert version["ConfigurationProfileId"] == {"Ref": profile}
    assert version["ContentType"] == "application/json"
    assert json.loads(version["Content"]) == INITIAL_WORD_LIST == {"terms": []}
    assert len(_word_list_from_document(json.loads(version["Content"]))) == 0

    # Then it is deployed to the environment with a strategy that neither ramps nor bakes
    strategy_id, strategy = _one(synthesized, "AWS::AppConfig::DeploymentStrategy")
    assert strategy["DeploymentDurationInMinutes"] == 0
    assert strategy["FinalBakeTimeInMinutes"] == 0
    assert strategy["GrowthFactor"] == 100
    _, deployment = _one(synthesized, "AWS::AppConfig::Deployment")
    assert deployment == {
        "ApplicationId": {"Ref": app},
        "EnvironmentId": {"Ref": env},
        "ConfigurationProfileId": {"Ref": profile},
        "ConfigurationVersion": {"Ref": version_id},
        "DeploymentStrategyId": {"Ref": strategy_id},
        "Description": deployment["Description"],
    }


@pytest.mark.parametrize("fn", READERS, ids=lambda f: f.name)
def test_reader_finds_the_configuration_by_the_ids_of_the_stacks_resources(
    synthesized: Synthesized, fn: spec.FunctionSpec
) -> None:
    env = _env(synthesized, fn)
    assert [env[name] for name in ENV_NAMES] == [{"Ref": logical_id} for logical_id in _ids(synthesized)]


@pytest.mark.parametrize("fn", READERS, ids=lambda f: f.name)
def test_reader_may_read_exactly_that_configuration(synthesized: Synthesized, fn: spec.FunctionSpec) -> None:
    # Given the AppConfig statement of the function's role
    (statement,) = _appconfig_statements(synthesized, fn)

    # Then it allows the two data-plane calls on the configuration ARN built from the three IDs
    app, env, profile = _ids(synthesized)
    assert statement["Effect"] == "Allow"
    assert set(statement["Action"]) == APPCONFIG_ACTIONS
    assert statement["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":appconfig:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":application/",
                {"Ref": app},
                "/environment/",
                {"Ref": env},
                "/configuration/",
                {"Ref": profile},
            ],
        ]
    }


def test_the_moderate_functions_read_the_configuration() -> None:
    # the single-pass step and the fanned-out mode's verdict run the text check; its ranges do not
    assert [fn.name for fn in READERS] == ["pipeline-moderate", "pipeline-moderate-verdict"]


@pytest.mark.parametrize("fn", OTHERS, ids=lambda f: f.name)
def test_no_other_function_gets_appconfig_access_or_ids(
    synthesized: Synthesized, fn: spec.FunctionSpec
) -> None:
    assert _appconfig_statements(synthesized, fn) == []
    assert not set(ENV_NAMES) & set(_env(synthesized, fn))


def test_no_other_policy_mentions_appconfig(synthesized: Synthesized) -> None:
    reader_roles = {
        synthesized.resources[synthesized.function_id(fn.name)]["Properties"]["Role"]["Fn::GetAtt"][0]
        for fn in READERS
    }
    for logical_id, policy in synthesized.of_type("AWS::IAM::Policy").items():
        if "appconfig:" in json.dumps(policy["Properties"]["PolicyDocument"]):
            assert {r["Ref"] for r in policy["Properties"]["Roles"]} <= reader_roles, logical_id


def test_outputs_name_what_an_operator_needs_to_deploy_a_word_list(synthesized: Synthesized) -> None:
    outputs = synthesized.template.to_json()["Outputs"]
    config = synthesized.stack.moderation_config
    expected = {
        "ModerationConfigApplicationId": config.application,
        "ModerationConfigEnvironmentId": config.app_environment,
        "ModerationConfigProfileId": config.profile,
        "ModerationConfigDeploymentStrategyId": config.deployment_strategy,
    }
    for output, resource in expected.items():
        assert outputs[output]["Value"] == {"Ref": _cfn_id(synthesized, resource)}, output


def test_deployer_settings_may_not_override_the_ids(tmp_path: Path) -> None:
    # Given a deployer who still names the configuration in function_settings
    context = {
        "aws:cdk:bundling-stacks": [],
        "cloudfront_public_key_pem": public_key_pem(),
        "function_settings": {"MODERATION_APPCONFIG_APPLICATION": "vod"},
    }

    # Then the stack refuses: its IDs would silently lose to the setting, and IAM would not match
    with pytest.raises(ValueError, match="MODERATION_APPCONFIG_APPLICATION"):
        build_app(context, outdir=str(tmp_path))
