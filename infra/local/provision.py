"""Creates the embedded stack's resources in moto from the same declarations CDK uses."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from secrets import token_urlsafe
from typing import Any

from infra import spec

ACCOUNT = "123456789012"
REGION = "us-east-1"
LOCAL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/vod-local-lambda"


# Where a stack provisions no CloudFront twin (unit and integration tests create their own).
UNPROVISIONED_DISTRIBUTION = "E0LOCALEDGE0000"


def local_resources(
    *, cdn_base_url: str, key_pair_id: str, cdn_distribution_id: str = UNPROVISIONED_DISTRIBUTION
) -> spec.Resources:
    return spec.Resources(
        videos_table="vod-videos",
        platform_table="vod-platform",
        idempotency_table="vod-idempotency",
        upload_bucket="vod-uploads",
        media_bucket="vod-media",
        event_bus_name="vod-events",
        state_machine_arn=state_machine_arn("media-pipeline"),
        cdn_base_url=cdn_base_url,
        cloudfront_key_pair_id=key_pair_id,
        cloudfront_private_key_secret="vod/cloudfront-private-key",  # noqa: S106 - a secret name
        catalog_cursor_secret="vod/catalog-cursor-key",  # noqa: S106 - a secret name
        catalog_table="vod-catalog",
        catalog_views_table="vod-catalog-views",
        cdn_distribution_id=cdn_distribution_id,
        sessions_table="vod-sessions",
    )


def create_distribution(cloudfront: Any, *, edge_url: str) -> str:
    """moto's twin of the stack's distribution: control plane only (the local edge serves), so that
    the takedown's CreateInvalidation has a distribution to name and tests can list what it asked.
    Returns its id."""
    host = edge_url.split("://", 1)[-1]
    config = {
        "CallerReference": "vod-local-edge",
        "Comment": "Video playback (the local edge's twin)",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [{"Id": "media", "DomainName": host, "CustomOriginConfig": _custom_origin()}],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "media",
            "ViewerProtocolPolicy": "allow-all",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
        },
    }
    return str(cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"])


def _custom_origin() -> dict[str, Any]:
    return {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}


def state_machine_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:vod-{name}"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def table_names(res: spec.Resources) -> dict[str, str]:
    """spec table key -> physical name (``videos`` -> ``Resources.videos_table``)."""
    return {name: getattr(res, f"{name}_table") for name in spec.table_schemas()}


def create_tables(dynamodb: Any, res: spec.Resources) -> None:
    names = table_names(res)
    for key, schema in spec.table_schemas().items():
        attrs = {schema["hash_key"][0]: schema["hash_key"][1]}
        key_schema = [{"AttributeName": schema["hash_key"][0], "KeyType": "HASH"}]
        if schema["range_key"]:
            attrs[schema["range_key"][0]] = schema["range_key"][1]
            key_schema.append({"AttributeName": schema["range_key"][0], "KeyType": "RANGE"})
        gsis = []
        for index in schema["indexes"]:
            idx_keys = [{"AttributeName": index["hash_key"][0], "KeyType": "HASH"}]
            attrs[index["hash_key"][0]] = index["hash_key"][1]
            if index["range_key"]:
                idx_keys.append({"AttributeName": index["range_key"][0], "KeyType": "RANGE"})
                attrs[index["range_key"][0]] = index["range_key"][1]
            gsis.append(
                {"IndexName": index["name"], "KeySchema": idx_keys, "Projection": {"ProjectionType": "ALL"}}
            )
        kwargs: dict[str, Any] = {
            "TableName": names[key],
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in attrs.items()],
            "KeySchema": key_schema,
            "BillingMode": "PAY_PER_REQUEST",
        }
        if gsis:
            kwargs["GlobalSecondaryIndexes"] = gsis
        if schema.get("stream"):
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": schema["stream"]}
        dynamodb.create_table(**kwargs)
        if schema.get("ttl"):
            dynamodb.update_time_to_live(
                TableName=names[key],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": schema["ttl"]},
            )


def create_buckets(s3: Any, res: spec.Resources) -> None:
    for field in ("upload_bucket", "media_bucket"):
        bucket = getattr(res, field)
        s3.create_bucket(Bucket=bucket)
        if field in spec.VERSIONED_BUCKETS:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


@dataclass(frozen=True)
class LocalQueue:
    url: str
    arn: str
    dlq_url: str


def create_queues(sqs: Any) -> dict[str, LocalQueue]:
    queues = {}
    for q in spec.QUEUES:
        dlq_url = sqs.create_queue(QueueName=f"vod-{q.name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        url = sqs.create_queue(
            QueueName=f"vod-{q.name}",
            Attributes={
                "VisibilityTimeout": str(q.visibility_timeout_s),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": q.max_receive_count}
                ),
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queues[q.name] = LocalQueue(url=url, arn=arn, dlq_url=dlq_url)
    return queues


def create_notifications(s3: Any, res: spec.Resources, queues: dict[str, LocalQueue]) -> None:
    by_bucket: dict[str, list[dict[str, Any]]] = {}
    for n in spec.BUCKET_NOTIFICATIONS:
        by_bucket.setdefault(getattr(res, n.bucket), []).append(
            {
                "QueueArn": queues[n.queue].arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": n.prefix}]}},
            }
        )
    for bucket, configs in by_bucket.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configs}
        )


def _placeholder_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "Code runs in-process: see infra/local/lambda_runtime.py\n")
    return buf.getvalue()


def create_role(iam: Any) -> None:
    """moto checks that a function's role exists; locally one role serves all functions."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName=LOCAL_ROLE.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(trust))


def register_functions(lambda_: Any, res: spec.Resources, settings: dict[str, dict[str, str]]) -> None:
    """Create every function in moto with its declared environment. ``settings`` maps a function
    name to the extra variables the deployer sets (the emulator's local overrides)."""
    code = _placeholder_zip()
    for fn in spec.FUNCTIONS:
        lambda_.create_function(
            FunctionName=fn.name,
            Runtime="python3.12",
            Role=LOCAL_ROLE,
            Handler=fn.handler,
            Code={"ZipFile": code},
            Timeout=fn.timeout_s,
            MemorySize=fn.memory_mb,
            Environment={"Variables": spec.function_environment(fn, res, settings.get(fn.name, {}))},
        )


def create_event_source_mappings(lambda_: Any, queues: dict[str, LocalQueue]) -> None:
    for q in spec.QUEUES:
        # moto records ScalingConfig without enforcing it: the in-process starter is quick anyway.
        scaling = {"ScalingConfig": {"MaximumConcurrency": q.max_concurrency}} if q.max_concurrency else {}
        lambda_.create_event_source_mapping(
            EventSourceArn=queues[q.name].arn,
            FunctionName=q.consumer,
            BatchSize=q.batch_size,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            **scaling,
        )


def create_state_machines(sfn: Any) -> dict[str, str]:
    arns = {fn.name: function_arn(fn.name) for fn in spec.FUNCTIONS}
    created = {}
    for sm in spec.STATE_MACHINES:
        created[sm.name] = sfn.create_state_machine(
            name=f"vod-{sm.name}", definition=sm.definition(arns), roleArn=LOCAL_ROLE
        )["stateMachineArn"]
    return created


def create_event_bus(events: Any, res: spec.Resources) -> None:
    events.create_event_bus(Name=res.event_bus_name)


def create_bus_rules(events: Any, res: spec.Resources, queues: dict[str, LocalQueue]) -> None:
    """Rules on the platform bus -> queues (moto delivers EventBridge -> SQS itself)."""
    for rule in spec.BUS_RULES:
        events.put_rule(
            Name=rule.name, EventBusName=res.event_bus_name, EventPattern=json.dumps(rule.pattern)
        )
        events.put_targets(
            Rule=rule.name,
            EventBusName=res.event_bus_name,
            Targets=[{"Id": rule.queue, "Arn": queues[rule.queue].arn}],
        )


def create_secret(secrets: Any, res: spec.Resources, private_key_pem: str) -> None:
    secrets.create_secret(Name=res.cloudfront_private_key_secret, SecretString=private_key_pem)
    # As CDK's generated secret: random, never in the template (infra/stack.py)
    secrets.create_secret(Name=res.catalog_cursor_secret, SecretString=token_urlsafe(48))
