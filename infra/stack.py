"""The one stack: composes a construct per capability and wires them as ``infra/spec`` says."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, Node

from infra import bundling, spec
from infra.constructs.api_construct import ApiConstruct
from infra.constructs.cdn_construct import CdnConstruct
from infra.constructs.config_construct import ConfigConstruct
from infra.constructs.events_construct import EventsConstruct
from infra.constructs.functions_construct import FunctionsConstruct
from infra.constructs.ingest_construct import IngestConstruct
from infra.constructs.monitoring_construct import MonitoringConstruct
from infra.constructs.nag import arn_finding, suppress
from infra.constructs.naming import construct_id
from infra.constructs.pipeline_construct import PipelineConstruct
from infra.constructs.schedules_construct import SchedulesConstruct
from infra.constructs.storage_construct import StorageConstruct
from infra.constructs.streams_construct import StreamsConstruct

DEFAULT_PRIVATE_KEY_SECRET_NAME = "vod/cloudfront-private-key"  # noqa: S105 - a name, not a secret


def _string_list(value: Any) -> tuple[str, ...]:
    """Context from cdk.json is JSON; from ``cdk -c key=value`` it is a string (JSON or a,b,c)."""
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else [part.strip() for part in text.split(",")]
    return tuple(str(item) for item in value if str(item))


def _string_map(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    return {str(key): str(item) for key, item in dict(value).items()}


@dataclass(frozen=True)
class StackConfig:
    """What a deployer chooses, read from CDK context (``cdk.json`` holds the defaults)."""

    cloudfront_public_key_pem: str
    architecture: str = "x86_64"
    cloudfront_private_key_secret_name: str = DEFAULT_PRIVATE_KEY_SECRET_NAME
    cors_allowed_origins: tuple[str, ...] = ("*",)
    api_throttle_rate_limit: float = 50.0
    api_throttle_burst_limit: int = 100
    alarm_email: str | None = None
    function_settings: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        def get(key: str, default: Any = None) -> Any:
            value = node.try_get_context(key)
            return default if value is None or value == "" else value

        pem = get("cloudfront_public_key_pem")
        if not pem or "BEGIN PUBLIC KEY" not in str(pem):
            raise ValueError(
                "context 'cloudfront_public_key_pem' must hold the PEM public key "
                "(-----BEGIN PUBLIC KEY-----) whose private half is in the Secrets Manager secret named by "
                "'cloudfront_private_key_secret_name'; "
                'e.g. cdk synth -c cloudfront_public_key_pem="$(cat cloudfront_public.pem)"'
            )
        return cls(
            cloudfront_public_key_pem=str(pem).strip() + "\n",
            architecture=str(get("architecture", cls.architecture)),
            cloudfront_private_key_secret_name=str(
                get("cloudfront_private_key_secret_name", DEFAULT_PRIVATE_KEY_SECRET_NAME)
            ),
            cors_allowed_origins=_string_list(get("cors_allowed_origins", ["*"])),
            api_throttle_rate_limit=float(get("api_throttle_rate_limit", cls.api_throttle_rate_limit)),
            api_throttle_burst_limit=int(get("api_throttle_burst_limit", cls.api_throttle_burst_limit)),
            alarm_email=get("alarm_email"),
            function_settings=_string_map(get("function_settings", {})),
        )


Grant = Callable[[iam.IGrantable], iam.Grant]


@dataclass(frozen=True)
class _Access:
    """How to grant one kind of access to one resource, and the IAM5 findings that grant makes."""

    grant: Grant
    wildcard_findings: Sequence[str]
    reason: str


def _bucket_access(bucket: s3.IBucket) -> dict[str, _Access]:
    objects = arn_finding(bucket, "/*")
    reason = (
        "Object-level access to the whole bucket ({actions}) as bucket.grant_{verb} writes it: keys are "
        "per-video prefixes created at run time, so no narrower static resource exists."
    )
    read = ["Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*"]
    write = ["Action::s3:Abort*", "Action::s3:DeleteObject*"]
    return {
        spec.READ: _Access(bucket.grant_read, [*read, objects], reason.format(actions="read", verb="read")),
        spec.WRITE: _Access(
            bucket.grant_write, [*write, objects], reason.format(actions="write", verb="write")
        ),
        spec.DELETE: _Access(
            bucket.grant_delete,
            ["Action::s3:DeleteObject*", objects],
            reason.format(actions="delete", verb="delete"),
        ),
        spec.READ_WRITE: _Access(
            bucket.grant_read_write,
            [*read, *write, objects],
            reason.format(actions="read and write", verb="read_write"),
        ),
        spec.PURGE: _Access(
            lambda grantee: _grant_purge(bucket, grantee),
            ["Action::s3:DeleteObject*", objects],
            "Takedown: list the bucket's object versions and open multipart uploads, delete any version "
            "(s3:DeleteObject* as bucket.grant_delete writes it) and abort uploads, under per-video "
            "prefixes created at run time: no narrower static resource exists. No object is read.",
        ),
    }


def _grant_purge(bucket: s3.IBucket, grantee: iam.IGrantable) -> iam.Grant:
    """spec.PURGE: what ``functions.media.storage.purge_prefix`` calls, and nothing that reads content."""
    bucket.grant_delete(grantee)  # s3:DeleteObject* (DeleteObject, DeleteObjectVersion) on the objects
    iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"],
        resource_arns=[bucket.bucket_arn],
    )
    return iam.Grant.add_to_principal(
        grantee=grantee, actions=["s3:AbortMultipartUpload"], resource_arns=[bucket.arn_for_objects("*")]
    )


def _table_access(table: dynamodb.ITable) -> dict[str, _Access]:
    indexes = [arn_finding(table, "/index/*")]
    reason = (
        "Queries through the table's global secondary indexes (declared on the PynamoDB model): "
        "'<table ARN>/index/*' as table.grant_*_data writes it."
    )
    return {
        spec.READ: _Access(table.grant_read_data, indexes, reason),
        spec.WRITE: _Access(table.grant_write_data, indexes, reason),
        spec.READ_WRITE: _Access(table.grant_read_write_data, indexes, reason),
    }


class VodStack(Stack):
    def __init__(self, scope: Construct, construct_id_: str, *, config: StackConfig, **kwargs: Any) -> None:
        super().__init__(
            scope, construct_id_, description="Serverless video-on-demand platform (vod-platform)", **kwargs
        )
        self.config = config

        self.storage = StorageConstruct(
            self,
            "Storage",
            table_schemas=spec.table_schemas(),
            upload_cors_origins=config.cors_allowed_origins,
            versioned_buckets=spec.VERSIONED_BUCKETS,
        )
        self.events = EventsConstruct(self, "Events")
        # The sensitive-word list in AppConfig, read by the functions that declare reads_moderation_config.
        self.moderation_config = ConfigConstruct(self, "ModerationConfig", application_name=self.stack_name)
        # Created by the deployer (never in a template): the private half of the signing key.
        self.private_key_secret = secretsmanager.Secret.from_secret_name_v2(
            self, "CloudFrontPrivateKey", config.cloudfront_private_key_secret_name
        )
        # The catalog cursors' HMAC key: generated by Secrets Manager at deploy time (no value in
        # the template), read only by the functions that declare reads_cursor_secret.
        self.cursor_secret = secretsmanager.Secret(
            self,
            "CatalogCursorKey",
            description="HMAC key of the catalog's listing cursors",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        suppress(
            self.cursor_secret,
            "SMG4",
            "An HMAC key for opaque pagination cursors, not a credential of another service: there is "
            "no rotation Lambda to attach, and rotating it (a new version) only invalidates the "
            "cursors in flight, which clients recover from by listing from the first page.",
        )
        self.functions = FunctionsConstruct(
            self,
            "Functions",
            specs=spec.FUNCTIONS,
            architecture=config.architecture,
            requirements=bundling.runtime_requirements(),
            extra_requirements={
                extra: bundling.extra_requirements(extra)
                for extra in sorted({extra for fn in spec.FUNCTIONS for extra in fn.layers})
            },
        )
        self.cdn = CdnConstruct(
            self,
            "Cdn",
            media_bucket=self.storage.media_bucket,
            playlist_origin_url=self.functions.urls[spec.PLAYLIST_ORIGIN],
            log_bucket=self.storage.log_bucket,
            public_key_pem=config.cloudfront_public_key_pem,
            cors_origins=config.cors_allowed_origins,
        )
        self.pipeline = PipelineConstruct(
            self,
            "Pipeline",
            state_machine_specs=spec.STATE_MACHINES,
            rule_specs=spec.EXECUTION_RULES,
            functions=self.functions.by_name,
            buckets={"media_bucket": self.storage.media_bucket, "upload_bucket": self.storage.upload_bucket},
        )

        self.buckets: dict[str, s3.Bucket] = {
            "upload_bucket": self.storage.upload_bucket,
            "media_bucket": self.storage.media_bucket,
        }
        self.tables: dict[str, dynamodb.Table] = {
            f"{name}_table": table for name, table in self.storage.tables.items()
        }
        self.resources = spec.Resources(
            videos_table=self.tables["videos_table"].table_name,
            platform_table=self.tables["platform_table"].table_name,
            idempotency_table=self.tables["idempotency_table"].table_name,
            upload_bucket=self.storage.upload_bucket.bucket_name,
            media_bucket=self.storage.media_bucket.bucket_name,
            event_bus_name=self.events.bus.event_bus_name,
            state_machine_arn=self.pipeline_state_machine.state_machine_arn,
            cdn_base_url=self.cdn.base_url,
            cloudfront_key_pair_id=self.cdn.public_key.public_key_id,
            cloudfront_private_key_secret=self.private_key_secret.secret_name,
            catalog_cursor_secret=self.cursor_secret.secret_name,
            catalog_table=self.tables["catalog_table"].table_name,
            catalog_views_table=self.tables["catalog_views_table"].table_name,
            cdn_distribution_id=self.cdn.distribution.distribution_id,
            sessions_table=self.tables["sessions_table"].table_name,
        )
        self.functions.set_environment(
            self.resources,
            config.function_settings,
            by_flag={"reads_moderation_config": self.moderation_config.reader_environment},
        )
        self._grant_declared_access()

        self.ingest = IngestConstruct(
            self,
            "Ingest",
            queue_specs=spec.QUEUES,
            notification_specs=spec.BUCKET_NOTIFICATIONS,
            functions=self.functions.by_name,
            buckets=self.buckets,
        )
        self.events.add_queue_rules(spec.BUS_RULES, self.ingest.queues)
        self.streams = StreamsConstruct(
            self,
            "Streams",
            stream_specs=spec.TABLE_STREAMS,
            tables=self.storage.tables,
            functions=self.functions.by_name,
        )
        self.schedules = SchedulesConstruct(
            self, "Schedules", schedule_specs=spec.SCHEDULES, functions=self.functions.by_name
        )
        self.api = ApiConstruct(
            self,
            "Api",
            route_specs=spec.ROUTES,
            functions=self.functions.by_name,
            cors_origins=config.cors_allowed_origins,
            throttle_rate_limit=config.api_throttle_rate_limit,
            throttle_burst_limit=config.api_throttle_burst_limit,
        )
        self.monitoring = MonitoringConstruct(
            self,
            "Monitoring",
            alarms=[*self.ingest.alarms, *self.events.alarms, *self.pipeline.alarms, *self.streams.alarms],
            functions=self.functions.by_name,
            state_machines=self.pipeline.state_machines,
            alarm_email=config.alarm_email,
        )
        self._outputs()

    @property
    def pipeline_state_machine(self) -> sfn.StateMachine:
        """The state machine behind ``Resources.state_machine_arn`` and ``starts_executions``."""
        if len(spec.STATE_MACHINES) != 1:
            raise ValueError("spec declares several state machines: say which one starts_executions means")
        return self.pipeline.state_machines[spec.STATE_MACHINES[0].name]

    def _grant_declared_access(self) -> None:
        """Each function's role gets exactly what its FunctionSpec declares, nothing more."""
        access: dict[str, dict[str, _Access]] = {
            **{name: _bucket_access(bucket) for name, bucket in self.buckets.items()},
            **{name: _table_access(table) for name, table in self.tables.items()},
        }
        for name, fn_spec in self.functions.specs.items():
            fn = self.functions.by_name[name]
            role = fn.role
            assert role is not None
            for resource, mode in fn_spec.grants.items():
                if resource not in access:
                    raise KeyError(
                        f"{name}: grant on unknown resource {resource!r} (known: {sorted(access)})"
                    )
                granted = access[resource][mode]
                granted.grant(fn)
                suppress(role, "IAM5", granted.reason, findings=granted.wildcard_findings)
            if fn_spec.starts_executions:
                self.pipeline_state_machine.grant_start_execution(fn)
            if fn_spec.sends_task_tokens:
                # states:SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat, scoped as CDK's
                # grant_task_response scopes them: to the ARN of the state machine whose
                # waitForTaskToken task issued the token (not to its executions' ARNs).
                self.pipeline_state_machine.grant_task_response(fn)
            if fn_spec.detects_moderation_labels:
                # Resource '*': acknowledged with the role's X-Ray statement (wildcard_resource_reason).
                iam.Grant.add_to_principal(
                    grantee=fn, actions=["rekognition:DetectModerationLabels"], resource_arns=["*"]
                )
            if fn_spec.reads_moderation_config:
                # StartConfigurationSession + GetLatestConfiguration on the one configuration ARN,
                # built from the IDs of the stack's own AppConfig resources (IAM matches IDs only)
                self.moderation_config.grant_read(fn)
            if fn_spec.puts_events:
                self.events.bus.grant_put_events_to(fn)
            if fn_spec.reads_secret:
                self.private_key_secret.grant_read(fn)
            if fn_spec.reads_cursor_secret:
                self.cursor_secret.grant_read(fn)
            if fn_spec.stops_executions:
                self._grant_stop_executions(fn)
            if fn_spec.invalidates_cdn:
                # cloudfront:CreateInvalidation on this distribution's ARN only
                self.cdn.distribution.grant_create_invalidation(fn)

    def _grant_stop_executions(self, fn: Any) -> None:
        """states:DescribeExecution and StopExecution on the pipeline's executions: their names are
        derived at run time (video id + upload), so the resource is the state machine's execution
        ARN prefix, as ``StateMachine.grant_execution`` writes it."""
        machine = self.pipeline_state_machine
        machine.grant_execution(fn, "states:DescribeExecution", "states:StopExecution")
        # How cdk-nag spells that resource: the name is split out of the machine's ARN (its Ref).
        child = machine.node.default_child
        machine_ref = json.dumps({"Ref": self.resolve(self.get_logical_id(child))}, separators=(",", ":"))  # type: ignore[arg-type]
        name = f'{{"Fn::Select":[6,{{"Fn::Split":[":",{machine_ref}]}}]}}'
        finding = f"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{name}:*"
        suppress(
            fn.role,
            "IAM5",
            "Takedown stops the video's running execution, whose name is derived from the video and its "
            "upload at run time: the state machine's execution ARN prefix is the narrowest resource.",
            findings=[finding],
        )

    def _outputs(self) -> None:
        outputs: dict[str, tuple[str, str]] = {
            "ApiUrl": (self.api.url, "HTTP API base URL"),
            "CdnBaseUrl": (self.cdn.base_url, "CloudFront base URL for playback"),
            "CloudFrontKeyPairId": (self.cdn.public_key.public_key_id, "Key-Pair-Id of signed URLs"),
            "UserPoolId": (self.api.user_pool.user_pool_id, "Cognito user pool"),
            "UserPoolClientId": (self.api.user_pool_client.user_pool_client_id, "Cognito app client (SPA)"),
            "UploadBucketName": (self.storage.upload_bucket.bucket_name, "Uploads land here"),
            "MediaBucketName": (self.storage.media_bucket.bucket_name, "HLS outputs"),
            "EventBusName": (self.events.bus.event_bus_name, "Domain events"),
            "StateMachineArn": (self.pipeline_state_machine.state_machine_arn, "Media pipeline"),
            "AlarmTopicArn": (self.monitoring.topic.topic_arn, "Subscribe to receive alarms"),
            "ModerationConfigApplicationId": (
                self.moderation_config.application_id,
                "AppConfig application of the moderation word list",
            ),
            "ModerationConfigEnvironmentId": (
                self.moderation_config.environment_id,
                "AppConfig environment the word list is deployed to",
            ),
            "ModerationConfigProfileId": (
                self.moderation_config.profile_id,
                "AppConfig hosted profile holding the word list versions",
            ),
            "ModerationConfigDeploymentStrategyId": (
                self.moderation_config.deployment_strategy_id,
                "AppConfig strategy for word list deployments (all at once, no bake)",
            ),
        }
        for name, table in self.tables.items():
            outputs[f"{construct_id(name)}Name"] = (table.table_name, f"DynamoDB table {name}")
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
