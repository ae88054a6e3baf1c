"""The embedded stack's data on disk (infra/local/persist.py): a snapshot of moto's tables, objects
and generated secrets, restored into a fresh moto as it was, written only when something changed,
deletions mirrored, a killed write's leftovers ignored; and one stack per state directory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends

from infra.local import persist

ACCOUNT, REGION = "123456789012", "us-east-1"
TABLE, BUCKET = "vod-videos", "vod-media"
KEPT_SECRET, REGENERATED_SECRET = "vod/generated", "vod/from-key-file"
BIG = 6 * 1024 * 1024  # above moto's in-memory buffer: the object lives in a spooled temp file


def _provision(secret_values: tuple[str, str]) -> dict[str, Any]:
    """What the stack provisions at every start: empty table and bucket, freshly made secrets."""
    make: Any = boto3.client  # the service names vary: boto3-stubs' overloads are per literal
    clients = {name: make(name, region_name=REGION) for name in ("dynamodb", "s3", "secretsmanager")}
    clients["dynamodb"].create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "video_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "video_id", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    clients["s3"].create_bucket(Bucket=BUCKET)
    clients["secretsmanager"].create_secret(Name=KEPT_SECRET, SecretString=secret_values[0])
    clients["secretsmanager"].create_secret(Name=REGENERATED_SECRET, SecretString=secret_values[1])
    return clients


def _persister(directory: Path) -> persist.Persister:
    return persist.Persister(
        directory,
        tables=[TABLE],
        buckets=[BUCKET],
        account=ACCOUNT,
        region=REGION,
        regenerated_secrets=[REGENERATED_SECRET],
    )


class Moto:
    """moto in this process; ``restart`` forgets everything it held, as a new process would."""

    def __init__(self) -> None:
        self._mock = mock_aws()
        self._mock.start()

    def restart(self) -> None:
        self._mock.stop()  # moto resets its backends when a mock ends
        self._mock.start()

    def stop(self) -> None:
        self._mock.stop()


@pytest.fixture
def moto() -> Iterator[Moto]:
    running = Moto()
    yield running
    running.stop()


@pytest.fixture
def first_run(moto: Moto, tmp_path: Path) -> tuple[dict[str, Any], persist.Persister]:
    clients = _provision(("kept-value", "key-file-1"))
    persister = _persister(tmp_path)
    assert persister.restore().summary() == "0 items in 0 tables, 0 objects, 0 secrets"
    return clients, persister


def _fill(clients: dict[str, Any]) -> None:
    ddb, s3 = clients["dynamodb"], clients["s3"]
    ddb.put_item(
        TableName=TABLE,
        Item={
            "video_id": {"S": "v1"},
            "status": {"S": "READY"},
            "attempt": {"N": "2"},
            "renditions": {"L": [{"M": {"name": {"S": "360p"}, "bitrate": {"N": "800000"}}}]},
            "thumb": {"B": b"\x00\x01binary"},
        },
    )
    ddb.put_item(TableName=TABLE, Item={"video_id": {"S": "v2"}, "status": {"S": "PROCESSING"}})
    s3.put_object(
        Bucket=BUCKET,
        Key="videos/v1/hls/master.m3u8",
        Body=b"#EXTM3U\n",
        ContentType="application/vnd.apple.mpegurl",
        Metadata={"origin": "publish"},
    )
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="uploads/v1/source")
    parts = []
    for number, body in ((1, b"a" * (5 * 1024 * 1024)), (2, b"b" * (BIG - 5 * 1024 * 1024))):
        etag = s3.upload_part(
            Bucket=BUCKET, Key="uploads/v1/source", UploadId=upload["UploadId"], PartNumber=number, Body=body
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(
        Bucket=BUCKET, Key="uploads/v1/source", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )


def _state(clients: dict[str, Any]) -> dict[str, Any]:
    ddb, s3 = clients["dynamodb"], clients["s3"]
    objects = {}
    for listed in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        got = s3.get_object(Bucket=BUCKET, Key=listed["Key"])
        objects[listed["Key"]] = (
            got["Body"].read(),
            got["ETag"],
            got["ContentType"],
            got["Metadata"],
            got["LastModified"],
        )
    return {
        "items": sorted(ddb.scan(TableName=TABLE)["Items"], key=lambda i: i["video_id"]["S"]),
        "ready": ddb.query(
            TableName=TABLE,
            IndexName="by-status",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "READY"}},
        )["Count"],
        "objects": objects,
    }


def test_a_snapshot_restores_into_a_fresh_moto_as_it_was(
    first_run: tuple[dict[str, Any], persist.Persister], moto: Moto, tmp_path: Path
) -> None:
    clients, persister = first_run
    # Given items, objects (one multipart, larger than moto's memory buffer) and a generated secret
    _fill(clients)
    before = _state(clients)
    # When a snapshot is taken and moto's memory is gone (a new process)
    assert persister.flush()
    moto.restart()
    clients = _provision(("a-new-random-value", "key-file-2"))
    restored = _persister(tmp_path).restore()
    # Then the tables, objects and the generated secret are back as they were
    assert restored.summary() == "2 items in 1 tables, 2 objects, 1 secrets"
    after = _state(clients)
    assert after == before
    assert after["objects"]["uploads/v1/source"][1].endswith('-2"')  # the multipart ETag
    secrets = clients["secretsmanager"]
    assert secrets.get_secret_value(SecretId=KEPT_SECRET)["SecretString"] == "kept-value"
    # ... but a secret made from a key file is the new file's, not the snapshot's
    assert secrets.get_secret_value(SecretId=REGENERATED_SECRET)["SecretString"] == "key-file-2"
    # ... and restoring wrote no table-stream records: nothing reacts to a restart (moto's own
    # shard: in-process moto answers no DescribeStream)
    shard = dynamodb_backends[ACCOUNT][REGION].get_table(TABLE).stream_shard
    assert shard is not None and shard.items == []


def test_nothing_is_written_when_nothing_changed(first_run: tuple[dict[str, Any], persist.Persister]) -> None:
    clients, persister = first_run
    _fill(clients)
    assert persister.flush()
    # An idle stack, reads, and a refused conditional write change nothing on disk
    clients["dynamodb"].get_item(TableName=TABLE, Key={"video_id": {"S": "v1"}})
    with pytest.raises(clients["dynamodb"].exceptions.ConditionalCheckFailedException):
        clients["dynamodb"].put_item(
            TableName=TABLE,
            Item={"video_id": {"S": "v1"}, "status": {"S": "FAILED"}},
            ConditionExpression="attribute_not_exists(video_id)",
        )
    assert not persister.flush()
    assert persister.snapshots == 1
    # One write: the next snapshot
    clients["dynamodb"].update_item(
        TableName=TABLE,
        Key={"video_id": {"S": "v2"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "READY"}},
    )
    assert persister.flush()


def test_deletions_and_replacements_are_mirrored_and_old_files_removed(
    first_run: tuple[dict[str, Any], persist.Persister], moto: Moto, tmp_path: Path
) -> None:
    clients, persister = first_run
    _fill(clients)
    persister.flush()
    files_before = {p for p in tmp_path.rglob("*") if p.is_file()}
    # When an object is deleted, another replaced and an item deleted
    clients["s3"].delete_object(Bucket=BUCKET, Key="uploads/v1/source")
    clients["s3"].put_object(Bucket=BUCKET, Key="videos/v1/hls/master.m3u8", Body=b"#EXTM3U\n#v2\n")
    clients["dynamodb"].delete_item(TableName=TABLE, Key={"video_id": {"S": "v2"}})
    assert persister.flush()
    # Then the snapshot says so, and only its own files are left
    manifest = json.loads((tmp_path / persist.MANIFEST).read_text())
    assert list(manifest["objects"][BUCKET]) == ["videos/v1/hls/master.m3u8"]
    named = {manifest["secrets"], *manifest["tables"].values()}
    named |= {entry["blob"] for entry in manifest["objects"][BUCKET].values()}
    on_disk = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert on_disk == named | {persist.MANIFEST}
    assert files_before - {tmp_path / n for n in on_disk}  # the replaced and deleted files are gone
    moto.restart()
    clients = _provision(("x", "y"))
    _persister(tmp_path).restore()
    master = clients["s3"].get_object(Bucket=BUCKET, Key="videos/v1/hls/master.m3u8")["Body"].read()
    assert master == b"#EXTM3U\n#v2\n"
    assert [i["video_id"]["S"] for i in clients["dynamodb"].scan(TableName=TABLE)["Items"]] == ["v1"]


def test_a_write_killed_before_its_manifest_leaves_the_previous_snapshot(
    first_run: tuple[dict[str, Any], persist.Persister], moto: Moto, tmp_path: Path
) -> None:
    clients, persister = first_run
    _fill(clients)
    persister.flush()
    manifest = (tmp_path / persist.MANIFEST).read_text()
    # Given the files of a next snapshot that a kill interrupted before its manifest was renamed
    (tmp_path / "objects" / "ff").mkdir(parents=True, exist_ok=True)
    (tmp_path / "objects" / "ff" / "half-copied.tmp").write_bytes(b"partial")
    (tmp_path / "tables" / f"{TABLE}.99.json").write_text("[")
    (tmp_path / f"{persist.MANIFEST}.tmp").write_text("{")
    moto.restart()
    _provision(("x", "y"))
    # When the stack starts again, then it finds the last complete snapshot and drops the rest
    assert _persister(tmp_path).restore().summary() == "2 items in 1 tables, 2 objects, 1 secrets"
    assert (tmp_path / persist.MANIFEST).read_text() == manifest
    assert not (tmp_path / "objects" / "ff" / "half-copied.tmp").exists()
    assert not (tmp_path / "tables" / f"{TABLE}.99.json").exists()
    assert not (tmp_path / f"{persist.MANIFEST}.tmp").exists()


def test_one_stack_per_state_directory(tmp_path: Path) -> None:
    held = persist.StateLock(tmp_path).acquire()
    with pytest.raises(persist.StateDirInUse, match=r"in use by another embedded stack \(pid \d+\)"):
        persist.StateLock(tmp_path).acquire()
    with pytest.raises(persist.StateDirInUse):
        persist.reset(tmp_path)  # never under a running stack
    held.release()
    persist.StateLock(tmp_path).acquire().release()


def test_work_folders_are_removed_and_reset_keeps_the_keys(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "v1-abc").mkdir(parents=True)
    (work / "v1-abc" / "seg.ts").write_bytes(b"\0" * 1000)
    (work / "stray.tmp").write_bytes(b"x")
    assert persist.clean_work_dir(work) == ["stray.tmp", "v1-abc"]
    assert list(work.iterdir()) == []
    assert persist.clean_work_dir(tmp_path / "absent") == []

    (tmp_path / "data" / "tables").mkdir(parents=True)
    (tmp_path / "jwt-issuer.pem").write_text("key")
    (work / "v2-def").mkdir()
    assert persist.reset(tmp_path) == ["data", "work/v2-def"]
    assert not (tmp_path / "data").exists()
    assert (tmp_path / "jwt-issuer.pem").read_text() == "key"


def test_batch_and_transaction_writes_are_seen_and_a_cancelled_one_is_not(
    first_run: tuple[dict[str, Any], persist.Persister], tmp_path: Path
) -> None:
    clients, persister = first_run
    ddb = clients["dynamodb"]
    ddb.batch_write_item(
        RequestItems={TABLE: [{"PutRequest": {"Item": {"video_id": {"S": f"b{i}"}}}} for i in range(3)]}
    )
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"video_id": {"S": "t1"}}}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"video_id": {"S": "b0"}},
                    "UpdateExpression": "SET n = :n",
                    "ExpressionAttributeValues": {":n": {"N": "7"}},
                }
            },
        ]
    )
    # A transaction whose condition fails is rolled back by moto (its tables restored from a copy)
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"video_id": {"S": "never"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"video_id": {"S": "b1"}},
                        "ConditionExpression": "attribute_not_exists(video_id)",
                    }
                },
            ]
        )
    assert persister.flush()
    manifest = json.loads((tmp_path / persist.MANIFEST).read_text())
    rows = json.loads((tmp_path / manifest["tables"][TABLE]).read_text())
    by_id = {row["video_id"]["S"]: row for row in rows}
    assert sorted(by_id) == ["b0", "b1", "b2", "t1"]
    assert by_id["b0"]["n"] == {"N": "7"}


def test_damaged_data_stops_the_start_with_what_to_do(moto: Moto, tmp_path: Path) -> None:
    _provision(("x", "y"))
    (tmp_path / persist.MANIFEST).write_text('{"format": 1, "tables": {"vod-videos": "tables/gone.json"}}')
    with pytest.raises(persist.SnapshotUnreadable, match="`vod local reset` forgets it, `--ephemeral`"):
        _persister(tmp_path).restore()


def test_a_snapshot_that_failed_to_write_is_written_by_the_next(
    first_run: tuple[dict[str, Any], persist.Persister], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients, persister = first_run
    clients["dynamodb"].put_item(TableName=TABLE, Item={"video_id": {"S": "v1"}, "status": {"S": "READY"}})

    def full_disk(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(persist, "_write_atomically", full_disk)
        with pytest.raises(OSError):
            persister.flush()
    # No write since: the next snapshot still holds the item the failed one did not write
    assert persister.flush()
    manifest = json.loads((tmp_path / persist.MANIFEST).read_text())
    rows = json.loads((tmp_path / manifest["tables"][TABLE]).read_text())
    assert [row["video_id"]["S"] for row in rows] == ["v1"]


def test_a_versioned_object_comes_back_under_its_version_id(moto: Moto, tmp_path: Path) -> None:
    # Given a versioned bucket (the upload bucket: a video's source is pinned by its version id)
    # whose key was written twice and whose other key was deleted (a delete marker is current)
    clients = _provision(("kept-value", "key-file-1"))
    s3 = clients["s3"]
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    persister = _persister(tmp_path)
    persister.restore()
    s3.put_object(Bucket=BUCKET, Key="uploads/v1/source", Body=b"first")
    current = s3.put_object(Bucket=BUCKET, Key="uploads/v1/source", Body=b"second")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="uploads/v2/source", Body=b"gone")
    s3.delete_object(Bucket=BUCKET, Key="uploads/v2/source")
    assert persister.flush()
    # When the stack restarts
    moto.restart()
    clients = _provision(("a-new-random-value", "key-file-2"))
    clients["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    restored = _persister(tmp_path).restore()
    # Then the current version answers to the same id, and a deleted key stays deleted
    assert restored.keys[BUCKET] == {"uploads/v1/source"}
    got = clients["s3"].get_object(Bucket=BUCKET, Key="uploads/v1/source", VersionId=current)
    assert got["Body"].read() == b"second"
    assert got["VersionId"] == current
