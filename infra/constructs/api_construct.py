"""Who may call what: the Cognito user pool, and the HTTP API whose routes come from the spec."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions.shared.auth import ROLES
from infra import spec
from infra.constructs.nag import suppress
from infra.constructs.naming import construct_id

# HTTP API ($context variables of HTTP APIs, not REST APIs), one JSON object per line.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "httpMethod": "$context.httpMethod",
    "path": "$context.path",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "sub": "$context.authorizer.claims.sub",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class AccessLogSettings:
    def __init__(self, destination: apigwv2.IAccessLogDestination, log_format: apigw.AccessLogFormat) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


class ApiConstruct(Construct):
    """Exposes ``user_pool``, ``user_pool_client``, ``http_api``, ``stage``, ``url`` and ``routes``
    (by ``"METHOD /path"``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        route_specs: Sequence[spec.RouteSpec],
        functions: Mapping[str, lambda_.IFunction],
        cors_origins: Sequence[str],
        throttle_rate_limit: float,
        throttle_burst_limit: int,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, construct_id_)
        self._user_pool()

        region = Stack.of(self).region
        authorizer = authorizers.HttpJwtAuthorizer(
            "CognitoAuthorizer",
            jwt_issuer=f"https://cognito-idp.{region}.amazonaws.com/{self.user_pool.user_pool_id}",
            jwt_audience=[self.user_pool_client.user_pool_client_id],
            authorizer_name="cognito",
        )

        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="Video platform API (routes from infra/spec)",
            create_default_stage=False,
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=list(cors_origins),
                allow_methods=[apigwv2.CorsHttpMethod.ANY],
                # X-Profile-Id: the viewer profile a request browses or plays as (functions/shared/authz.py)
                allow_headers=["Authorization", "Content-Type", "X-Profile-Id"],
                max_age=Duration.hours(1),
            ),
        )
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=throttle_rate_limit, burst_limit=throttle_burst_limit
            ),
            access_log_settings=AccessLogSettings(
                apigwv2.LogGroupLogDestination(access_logs),
                apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":"))),
            ),
        )
        self.url = self.http_api.api_endpoint

        lambda_integrations: dict[str, integrations.HttpLambdaIntegration] = {}
        self.routes: dict[str, apigwv2.HttpRoute] = {}
        for route in route_specs:
            if route.function not in lambda_integrations:
                lambda_integrations[route.function] = integrations.HttpLambdaIntegration(
                    f"{construct_id(route.function)}Integration", functions[route.function]
                )
            route_key = f"{route.method} {route.path}"
            (created,) = self.http_api.add_routes(
                path=route.path,
                methods=[apigwv2.HttpMethod[route.method]],
                integration=lambda_integrations[route.function],
                authorizer=authorizer if route.auth else apigwv2.HttpNoneAuthorizer(),
            )
            self.routes[route_key] = created
            if not route.auth:
                suppress(
                    created,
                    "APIG4",
                    f"{route_key} is declared public (auth=False) in infra/spec ROUTES: a read-only "
                    "endpoint (health check or the OpenAPI document) that returns no user data.",
                )
        self._throttle_routes(route_specs, ceiling=spec.Throttle(throttle_rate_limit, throttle_burst_limit))

    def _throttle_routes(self, route_specs: Sequence[spec.RouteSpec], *, ceiling: spec.Throttle) -> None:
        """Each route's throttle from the spec, capped by the stage default: the stage's RouteSettings
        (the L2 HttpStage sets only the default route settings)."""
        self.route_throttles = {
            f"{r.method} {r.path}": spec.Throttle(
                min(r.throttle.rate_limit, ceiling.rate_limit),
                min(r.throttle.burst_limit, ceiling.burst_limit),
            )
            for r in route_specs
        }
        stage = self.stage.node.default_child
        assert isinstance(stage, apigwv2.CfnStage)
        stage.route_settings = {
            key: {"ThrottlingRateLimit": t.rate_limit, "ThrottlingBurstLimit": t.burst_limit}
            for key, t in self.route_throttles.items()
        }
        # CloudFormation refuses settings for a route key that does not exist yet.
        for route in self.routes.values():
            stage.node.add_dependency(route)

    def _user_pool(self) -> None:
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,  # accounts are created by an admin, who assigns the groups
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            removal_policy=RemovalPolicy.RETAIN,
        )
        suppress(
            self.user_pool,
            "COG8",
            "The Plus feature plan (threat protection) is billed per monthly active user; the platform "
            "ships on Essentials with self sign-up off and TOTP MFA required. Deployers who want "
            "adaptive authentication switch feature_plan to PLUS.",
        )
        self.user_pool_client = self.user_pool.add_client(
            "SpaClient",
            generate_secret=False,  # a browser app cannot keep a secret
            auth_flows=cognito.AuthFlow(user_srp=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        for role in ROLES:
            cognito.UserPoolGroup(
                self,
                f"{construct_id(role)}Group",
                user_pool=self.user_pool,
                group_name=role,
                description=f"Platform role '{role}' (cognito:groups claim, read by functions/shared/auth)",
            )
