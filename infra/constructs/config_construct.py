"""The moderation configuration in AWS AppConfig: the sensitive-word list the moderation function
reads through Powertools (``functions/moderation/logic/text.py``, ``AppConfigWordListSource``).

An application, one environment, a hosted freeform profile whose validator refuses anything but
``{"terms": [<string>, ...]}``, a first version holding an empty list, and its deployment. The
stack creates these once; operators then publish new word lists as new hosted versions and
deploy them (README, "Deploying to AWS"), without redeploying the stack or the function.

The seed version and the deployment are never meant to change: AppConfig versions are immutable
and every property of ``AWS::AppConfig::Deployment`` requires replacement, so editing either here
would make CloudFormation deploy the empty seed list again over whatever operators published.

Deleting the stack: AppConfig refuses to delete a profile that still holds hosted versions, and
CloudFormation deletes only the seed one; delete the versions operators created first.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_appconfig as appconfig
from aws_cdk import aws_iam as iam
from constructs import Construct

from functions.shared.settings import Settings

# What the function accepts (text.py, _word_list_from_document): a JSON object whose "terms" is
# a list of strings. AppConfig checks every new version against it before it can be deployed.
WORD_LIST_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["terms"],
    "properties": {"terms": {"type": "array", "items": {"type": "string"}}},
}
INITIAL_WORD_LIST: dict[str, Any] = {"terms": []}
CONTENT_TYPE = "application/json"

# The Settings fields through which the function finds the configuration, in ARN order.
ID_FIELDS = ("moderation_appconfig_app", "moderation_appconfig_env", "moderation_appconfig_profile")


def env_name(field_name: str) -> str:
    """The environment variable behind a Settings field (``MODERATION_APPCONFIG_APPLICATION``)."""
    alias = Settings.model_fields[field_name].alias
    assert alias is not None, f"Settings.{field_name} has no environment name"
    return alias


class ConfigConstruct(Construct):
    """Exposes the L1 resources (``application``, ``environment``, ``profile``, ``initial_version``,
    ``deployment_strategy``, ``deployment``), their IDs, ``configuration_arn``,
    ``reader_environment`` (the three IDs under the names Settings reads) and :meth:`grant_read`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        application_name: str,
        environment_name: str = "prod",
        profile_name: str = "moderation",
    ) -> None:
        super().__init__(scope, construct_id_)
        self.application = appconfig.CfnApplication(
            self,
            "Application",
            name=application_name,
            description="vod-platform runtime configuration (the moderation sensitive-word list)",
        )
        self.app_environment = appconfig.CfnEnvironment(
            self,
            "Environment",
            application_id=self.application.ref,
            name=environment_name,
            description="What the deployed functions read",
        )
        self.profile = appconfig.CfnConfigurationProfile(
            self,
            "WordListProfile",
            application_id=self.application.ref,
            name=profile_name,
            location_uri="hosted",
            type="AWS.Freeform",
            description='Sensitive words for the moderation text check: {"terms": ["...", ...]}',
            validators=[
                appconfig.CfnConfigurationProfile.ValidatorsProperty(
                    type="JSON_SCHEMA", content=json.dumps(WORD_LIST_SCHEMA, sort_keys=True)
                )
            ],
        )
        self.initial_version = appconfig.CfnHostedConfigurationVersion(
            self,
            "InitialWordList",
            application_id=self.application.ref,
            configuration_profile_id=self.profile.ref,
            content=json.dumps(INITIAL_WORD_LIST),
            content_type=CONTENT_TYPE,
            description="Seed: an empty list (operators deploy the real one)",
        )
        # All at once, no bake time: the predefined AppConfig.AllAtOnce bakes for 10 minutes, during
        # which the environment accepts no other deployment (a quick correction included). Also the
        # strategy operators pass to start-deployment.
        self.deployment_strategy = appconfig.CfnDeploymentStrategy(
            self,
            "AllAtOnceStrategy",
            name=f"{application_name}-all-at-once",
            description="Whole fleet at once, no bake time",
            deployment_duration_in_minutes=0,
            final_bake_time_in_minutes=0,
            growth_factor=100,
            growth_type="LINEAR",
            replicate_to="NONE",
        )
        self.deployment = appconfig.CfnDeployment(
            self,
            "InitialDeployment",
            application_id=self.application.ref,
            environment_id=self.app_environment.ref,
            configuration_profile_id=self.profile.ref,
            configuration_version=self.initial_version.ref,
            deployment_strategy_id=self.deployment_strategy.ref,
            description="Seed word list",
        )

    @property
    def application_id(self) -> str:
        return self.application.ref

    @property
    def environment_id(self) -> str:
        return self.app_environment.ref

    @property
    def profile_id(self) -> str:
        return self.profile.ref

    @property
    def deployment_strategy_id(self) -> str:
        return self.deployment_strategy.ref

    @property
    def reader_environment(self) -> dict[str, str]:
        """A reader's environment: the IDs, which AppConfigData's StartConfigurationSession takes
        as identifiers as readily as names, and which the IAM resource below is built from."""
        ids = (self.application_id, self.environment_id, self.profile_id)
        return {env_name(field): value for field, value in zip(ID_FIELDS, ids, strict=True)}

    @property
    def configuration_arn(self) -> str:
        """The resource of both data-plane actions: AWS builds it from IDs, never from names."""
        return Stack.of(self).format_arn(
            service="appconfig",
            resource="application",
            resource_name=(
                f"{self.application_id}/environment/{self.environment_id}/configuration/{self.profile_id}"
            ),
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """StartConfigurationSession and GetLatestConfiguration on this one configuration."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"],
            resource_arns=[self.configuration_arn],
        )
