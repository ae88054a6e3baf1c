"""Buckets are private, encrypted and TLS-only; tables are the PynamoDB models' tables."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match

from infra import spec
from infra.constructs.storage_construct import TTL_ATTRIBUTES, StorageConstruct
from tests.infrastructure.conftest import Synthesized


def _bucket_ids(synthesized: Synthesized) -> dict[str, str]:
    storage = synthesized.stack.storage
    return {
        "upload": synthesized.logical_id(storage.upload_bucket),
        "media": synthesized.logical_id(storage.media_bucket),
        "logs": synthesized.logical_id(storage.log_bucket),
    }


@pytest.mark.parametrize("bucket", ["upload", "media", "logs"])
def test_bucket_is_encrypted_and_not_public(synthesized: Synthesized, bucket: str) -> None:
    # Given the bucket's resource
    props = synthesized.resources[_bucket_ids(synthesized)[bucket]]["Properties"]

    # Then it is encrypted at rest and every public access path is blocked
    rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


@pytest.mark.parametrize("bucket", ["upload", "media", "logs"])
def test_bucket_policy_denies_plain_http(synthesized: Synthesized, bucket: str) -> None:
    bucket_id = _bucket_ids(synthesized)[bucket]
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert len(policies) == 1
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policies[0]
    )


def test_upload_bucket_aborts_incomplete_multipart_uploads_after_a_day(synthesized: Synthesized) -> None:
    props = synthesized.resources[_bucket_ids(synthesized)["upload"]]["Properties"]
    rules = props["LifecycleConfiguration"]["Rules"]
    assert {"DaysAfterInitiation": 1} in [r.get("AbortIncompleteMultipartUpload") for r in rules]


def test_upload_bucket_cors_lets_browsers_put_post_and_read_the_etag(synthesized: Synthesized) -> None:
    props = synthesized.resources[_bucket_ids(synthesized)["upload"]]["Properties"]
    (rule,) = props["CorsConfiguration"]["CorsRules"]
    # PUT: video uploads (presigned URLs); POST: cover images (presigned form).
    assert rule["AllowedMethods"] == ["PUT", "POST"]
    assert "ETag" in rule["ExposedHeaders"]


@pytest.mark.parametrize("bucket", ["upload", "media"])
def test_bucket_access_is_logged_to_the_log_bucket(synthesized: Synthesized, bucket: str) -> None:
    ids = _bucket_ids(synthesized)
    logging = synthesized.resources[ids[bucket]]["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": ids["logs"]}


def test_media_bucket_is_retained(synthesized: Synthesized) -> None:
    media = synthesized.resources[_bucket_ids(synthesized)["media"]]
    assert media["DeletionPolicy"] == "Retain"
    assert media["UpdateReplacePolicy"] == "Retain"


def _key_schema(hash_key: tuple[str, str], range_key: tuple[str, str] | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    return schema


@pytest.mark.parametrize(("name", "schema"), list(spec.table_schemas().items()))
def test_table_matches_its_pynamodb_model(
    synthesized: Synthesized, name: str, schema: dict[str, Any]
) -> None:
    # Given the table built from the model's schema
    table = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.tables[name])]
    props = table["Properties"]

    # Then keys, indexes and attribute types are the model's
    assert props["KeySchema"] == _key_schema(schema["hash_key"], schema["range_key"])
    indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {i["name"] for i in schema["indexes"]}
    for index in schema["indexes"]:
        assert indexes[index["name"]]["KeySchema"] == _key_schema(index["hash_key"], index["range_key"])
        assert indexes[index["name"]]["Projection"] == {"ProjectionType": "ALL"}
    keys = [schema["hash_key"], schema["range_key"]]
    keys += [k for i in schema["indexes"] for k in (i["hash_key"], i["range_key"])]
    expected_types = {key[0]: key[1] for key in keys if key}
    assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == expected_types


def test_the_videos_table_has_the_indexes_the_listings_query(synthesized: Synthesized) -> None:
    # GET /v1/me/videos queries by owner, newest created first; GET /v1/videos?status= by status,
    # most recently changed first (functions/videos/logic/listing.py): both need their index
    table = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.tables["videos"])]
    indexes = {i["IndexName"]: i for i in table["Properties"]["GlobalSecondaryIndexes"]}
    assert indexes["by-owner"]["KeySchema"] == _key_schema(("owner_sub", "S"), ("created_at", "S"))
    assert indexes["by-status"]["KeySchema"] == _key_schema(("status", "S"), ("updated_at", "S"))
    assert {indexes[n]["Projection"]["ProjectionType"] for n in ("by-owner", "by-status")} == {"ALL"}


@pytest.mark.parametrize("name", list(spec.table_schemas()))
def test_table_is_on_demand_recoverable_encrypted_and_retained(synthesized: Synthesized, name: str) -> None:
    table = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.tables[name])]
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    assert table["DeletionPolicy"] == "Retain"


def test_event_bus_exists_with_a_stack_scoped_name(synthesized: Synthesized) -> None:
    synthesized.template.has_resource_properties(
        "AWS::Events::EventBus", {"Name": Match.string_like_regexp("^VodStack-events$")}
    )


def test_platform_table_is_keyed_pk_sk_with_the_generic_gsi1(synthesized: Synthesized) -> None:
    props = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.tables["platform"])][
        "Properties"
    ]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    (gsi1,) = props["GlobalSecondaryIndexes"]
    assert gsi1["IndexName"] == "gsi1"
    assert gsi1["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert gsi1["Projection"] == {"ProjectionType": "ALL"}
    assert "TimeToLiveSpecification" not in props


def test_idempotency_table_expires_records_on_expiration(synthesized: Synthesized) -> None:
    # Powertools' DynamoDBPersistenceLayer: partition key "id", epoch-seconds expiry in "expiration"
    props = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.tables["idempotency"])][
        "Properties"
    ]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert "GlobalSecondaryIndexes" not in props
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


@pytest.mark.parametrize("name", list(spec.table_schemas()))
def test_ttl_only_where_declared(synthesized: Synthesized, name: str) -> None:
    props = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.tables[name])][
        "Properties"
    ]
    # the stack's own map, or the model's Meta.ttl_attribute (read by the emulator too)
    declared = TTL_ATTRIBUTES.get(name) or spec.table_schemas()[name].get("ttl")
    if declared:
        assert props["TimeToLiveSpecification"] == {"AttributeName": declared, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props


def test_ttl_for_a_table_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="TTL declared for tables that do not exist"):
        StorageConstruct(
            Stack(App(), "Probe"),
            "Storage",
            table_schemas={"videos": spec.table_schemas()["videos"]},
            upload_cors_origins=["*"],
            ttl_attributes={"idempotency": "expiration"},
        )
