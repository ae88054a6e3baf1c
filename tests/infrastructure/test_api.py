"""The HTTP API: every declared route, JWT from Cognito except where the spec says public."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.shared.auth import ROLES
from infra import spec
from tests.infrastructure.conftest import Synthesized

# The heartbeat is authenticated by the playback session's own token (a beacon cannot carry a JWT).
PUBLIC_ROUTES = {"GET /health", "GET /v1/openapi.json", "POST /v1/sessions/{session_id}/heartbeat"}


def _routes(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synthesized.of_type("AWS::ApiGatewayV2::Route").values()
    }


def _authorizer_id(synthesized: Synthesized) -> str:
    (authorizer_id,) = synthesized.of_type("AWS::ApiGatewayV2::Authorizer")
    return authorizer_id


def test_jwt_authorizer_trusts_the_user_pool_and_its_client(synthesized: Synthesized) -> None:
    api = synthesized.stack.api
    props = synthesized.resources[_authorizer_id(synthesized)]["Properties"]
    assert props["AuthorizerType"] == "JWT"
    assert props["IdentitySource"] == ["$request.header.Authorization"]
    assert props["JwtConfiguration"] == {
        "Audience": [{"Ref": synthesized.logical_id(api.user_pool_client)}],
        "Issuer": {
            "Fn::Join": [
                "",
                [
                    "https://cognito-idp.",
                    {"Ref": "AWS::Region"},
                    ".amazonaws.com/",
                    {"Ref": synthesized.logical_id(api.user_pool)},
                ],
            ]
        },
    }


def test_every_declared_route_exists_with_its_authorization(synthesized: Synthesized) -> None:
    routes = _routes(synthesized)
    integrations = synthesized.of_type("AWS::ApiGatewayV2::Integration")
    assert set(routes) == {f"{r.method} {r.path}" for r in spec.ROUTES}
    for route in spec.ROUTES:
        props = routes[f"{route.method} {route.path}"]
        if route.auth:
            assert props["AuthorizationType"] == "JWT"
            assert props["AuthorizerId"] == {"Ref": _authorizer_id(synthesized)}
        else:
            assert props["AuthorizationType"] == "NONE"
            assert "AuthorizerId" not in props
        integration_id = props["Target"]["Fn::Join"][1][1]["Ref"]
        assert integrations[integration_id]["Properties"]["IntegrationUri"] == {
            "Fn::GetAtt": [synthesized.function_id(route.function), "Arn"]
        }


def test_only_health_openapi_and_the_heartbeat_are_public(synthesized: Synthesized) -> None:
    for route_key, props in _routes(synthesized).items():
        path = route_key.split(" ", 1)[1]
        if route_key in PUBLIC_ROUTES:
            assert props["AuthorizationType"] == "NONE", route_key
        elif path.startswith("/v1"):
            assert props["AuthorizationType"] == "JWT", route_key
    assert set(_routes(synthesized)) >= PUBLIC_ROUTES


def test_default_stage_logs_json_and_throttles(synthesized: Synthesized) -> None:
    (stage,) = synthesized.of_type("AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default"
    assert props["AutoDeploy"] is True
    log_format = json.loads(props["AccessLogSettings"]["Format"])
    assert log_format["requestId"] == "$context.requestId"
    assert log_format["routeKey"] == "$context.routeKey"
    assert props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][1] == "Arn"
    config = synthesized.stack.config
    assert props["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": config.api_throttle_burst_limit,
        "ThrottlingRateLimit": config.api_throttle_rate_limit,
    }


def test_cors_preflight_allows_the_authorization_and_profile_headers(synthesized: Synthesized) -> None:
    (api,) = synthesized.of_type("AWS::ApiGatewayV2::Api").values()
    cors = api["Properties"]["CorsConfiguration"]
    assert {"Authorization", "Content-Type", "X-Profile-Id"} <= set(cors["AllowHeaders"])


def test_user_pool_is_invitation_only_with_mfa_and_the_platform_groups(synthesized: Synthesized) -> None:
    (pool,) = synthesized.of_type("AWS::Cognito::UserPool").values()
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Properties"]["MfaConfiguration"] == "ON"
    groups = {
        g["Properties"]["GroupName"] for g in synthesized.of_type("AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == set(ROLES)
    (client,) = synthesized.of_type("AWS::Cognito::UserPoolClient").values()
    assert client["Properties"]["GenerateSecret"] is False


def test_the_three_platform_roles_are_groups_of_the_api_user_pool(synthesized: Synthesized) -> None:
    # The roles functions/shared/authz.py decides on arrive as the cognito:groups claim of these groups.
    pool_ref = {"Ref": synthesized.logical_id(synthesized.stack.api.user_pool)}
    groups = {
        g["Properties"]["GroupName"]: g["Properties"]["UserPoolId"]
        for g in synthesized.of_type("AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == {"admin": pool_ref, "uploader": pool_ref, "viewer": pool_ref}


@pytest.mark.parametrize(
    "route", [r for r in spec.ROUTES if not r.auth], ids=lambda r: f"{r.method} {r.path}"
)
def test_public_routes_carry_a_written_nag_acknowledgment(
    synthesized: Synthesized, route: spec.RouteSpec
) -> None:
    route_id = synthesized.logical_id(synthesized.stack.api.routes[f"{route.method} {route.path}"])
    rules = synthesized.resources[route_id]["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert [r["id"] for r in rules] == ["AwsSolutions-APIG4"]


@pytest.mark.parametrize(
    "route_key", ["ANY /v1/moderation/{proxy+}", "ANY /v1/webhooks", "ANY /v1/webhooks/{proxy+}"]
)
def test_moderation_and_webhook_routes_reach_videos_api_with_a_jwt(
    synthesized: Synthesized, route_key: str
) -> None:
    props = _routes(synthesized)[route_key]
    assert props["AuthorizationType"] == "JWT"
    assert props["AuthorizerId"] == {"Ref": _authorizer_id(synthesized)}
    integration_id = props["Target"]["Fn::Join"][1][1]["Ref"]
    integration = synthesized.resources[integration_id]["Properties"]
    assert integration["IntegrationUri"] == {"Fn::GetAtt": [synthesized.function_id("videos-api"), "Arn"]}


def _stage(synthesized: Synthesized) -> dict[str, Any]:
    (stage,) = synthesized.of_type("AWS::ApiGatewayV2::Stage").values()
    return stage


@pytest.mark.parametrize("route", spec.ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_is_throttled_as_declared_capped_by_the_stage_default(
    synthesized: Synthesized, route: spec.RouteSpec
) -> None:
    config = synthesized.stack.config
    settings = _stage(synthesized)["Properties"]["RouteSettings"]
    assert settings[f"{route.method} {route.path}"] == {
        "ThrottlingRateLimit": min(route.throttle.rate_limit, config.api_throttle_rate_limit),
        "ThrottlingBurstLimit": min(route.throttle.burst_limit, config.api_throttle_burst_limit),
    }


def test_route_settings_name_only_declared_routes_and_wait_for_them(synthesized: Synthesized) -> None:
    stage = _stage(synthesized)
    assert set(stage["Properties"]["RouteSettings"]) == {f"{r.method} {r.path}" for r in spec.ROUTES}
    # CloudFormation refuses settings for a route key that does not exist yet.
    assert set(synthesized.of_type("AWS::ApiGatewayV2::Route")) <= set(stage.get("DependsOn", ()))


def test_costly_and_public_routes_get_tighter_budgets(synthesized: Synthesized) -> None:
    settings = _stage(synthesized)["Properties"]["RouteSettings"]
    default = settings["ANY /v1/webhooks"]
    for route_key in ["ANY /v1/videos", "GET /v1/search", "GET /health", "GET /v1/openapi.json"]:
        assert settings[route_key]["ThrottlingRateLimit"] < default["ThrottlingRateLimit"], route_key
        assert settings[route_key]["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"], route_key
