"""Buckets (uploads, media, logs) and the DynamoDB tables built from the PynamoDB models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.nag import suppress

# Table name (a key of spec.table_schemas()) -> its TTL attribute. The neutral schema carries keys
# and indexes only, so the TTL lives here for now: ``idempotency`` is Powertools'
# DynamoDBPersistenceLayer table, whose records carry their epoch-seconds expiry in
# ``expiration`` (functions/shared/platform_tables.py IdempotencyKeys). Candidate for
# infra/spec (or the schema, from a model's ``Meta.ttl_attribute``) so that the emulator can
# read it as well.
TTL_ATTRIBUTES: dict[str, str] = {"idempotency": "expiration"}

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def _key(key: Sequence[str] | None) -> dynamodb.Attribute | None:
    if key is None:
        return None
    name, attribute_type = key
    return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[attribute_type])


class StorageConstruct(Construct):
    """Exposes ``upload_bucket``, ``media_bucket``, ``log_bucket`` and ``tables`` (by model name;
    TTL on the attribute ``ttl_attributes`` names, ``TTL_ATTRIBUTES`` by default)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table_schemas: Mapping[str, Mapping[str, Any]],
        upload_cors_origins: Sequence[str],
        log_retention_days: int = 90,
        ttl_attributes: Mapping[str, str] | None = None,
        versioned_buckets: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        ttl_attributes = TTL_ATTRIBUTES if ttl_attributes is None else ttl_attributes
        unknown = sorted(set(ttl_attributes) - set(table_schemas))
        if unknown:
            raise ValueError(
                f"TTL declared for tables that do not exist: {unknown} (tables: {sorted(table_schemas)})"
            )

        # One bucket receives the S3 server access logs and the CloudFront standard logs.
        # CloudFront delivers with an ACL grant, hence BUCKET_OWNER_PREFERRED (ACLs on, owner wins).
        self.log_bucket = s3.Bucket(
            self,
            "LogBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-logs", expiration=Duration.days(log_retention_days))
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        suppress(
            self.log_bucket,
            "S1",
            "This is the access-log bucket of the other buckets and of CloudFront; "
            "logging it into itself would create a feedback loop.",
        )

        self.upload_bucket = s3.Bucket(
            self,
            "UploadBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/uploads/",
            # Versioned (spec.VERSIONED_BUCKETS): a video's source is the version fixed at ingest.
            versioned="upload_bucket" in versioned_buckets,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-multipart", abort_incomplete_multipart_upload_after=Duration.days(1)
                ),
                # A version stops being current only when its key is deleted or overwritten,
                # which no path does to a source (the starter deletes later versions itself).
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(30),
                    expired_object_delete_marker=True,
                ),
            ],
            # Browsers PUT videos straight to presigned URLs (multipart completion needs each
            # part's ETag) and POST cover images with a presigned form.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.POST],
                    allowed_origins=list(upload_cors_origins),
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3000,
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.media_bucket = s3.Bucket(
            self,
            "MediaBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/media/",
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.tables: dict[str, dynamodb.Table] = {
            name: self._table(name, schema, ttl_attributes.get(name) or schema.get("ttl"))
            for name, schema in table_schemas.items()
        }

    def _table(self, name: str, schema: Mapping[str, Any], ttl_attribute: str | None) -> dynamodb.Table:
        partition_key = _key(schema["hash_key"])
        assert partition_key is not None
        table = dynamodb.Table(
            self,
            f"{name.title()}Table",
            partition_key=partition_key,
            sort_key=_key(schema["range_key"]),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=ttl_attribute,
            # A model's Meta.stream_view_type turns on the table stream (the catalog's feeds its views).
            stream=dynamodb.StreamViewType(schema["stream"]) if schema.get("stream") else None,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in schema["indexes"]:
            index_key = _key(index["hash_key"])
            assert index_key is not None
            table.add_global_secondary_index(
                index_name=index["name"],
                partition_key=index_key,
                sort_key=_key(index["range_key"]),
                projection_type=dynamodb.ProjectionType.ALL,  # the models use AllProjection
            )
        return table
