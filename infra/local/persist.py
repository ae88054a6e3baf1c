"""The embedded stack's data on disk: what a restart, or a crash and a restart, finds again.

moto keeps everything in memory, so a stopped (or killed) ``vod local up`` used to lose every
video, title, webhook and profile. Two services hold that data, and this module keeps both in the
state directory's ``data/``:

- every item of every DynamoDB table the stack provisioned, one JSON file per table;
- every object of the stack's S3 buckets, one file per object (named by bucket, key and ETag),
  with its ETag, size, time and metadata in the manifest;
- the values of the Secrets Manager secrets the stack generates (a random key, as CDK generates
  one on AWS, must outlive a restart as it outlives a deploy); not the ones it makes from the key
  files in the state directory, which are made from those files again.

``data/manifest.json`` names the files of one consistent snapshot and is replaced atomically
(written aside, then renamed), so a process killed at any point leaves either the previous
snapshot or the next one, never a mix: a file is only ever written under a new name before the
manifest that names it, and deleted after the manifest that no longer names it.

kill -9 runs nothing at exit, so a background thread writes as the data changes, at most every
``INTERVAL_S``; what changed in the last interval before a kill is lost, a clean stop loses
nothing (``stop`` writes a last snapshot). Change detection is cheap: each DynamoDB write notes
the key it touched (the backend's write methods, wrapped once per process), and S3 objects are
compared by identity (moto makes a new object for every write), so an idle stack writes nothing
and a busy one reads only the items and objects that changed. Objects are copied block by
block, never held in memory whole (sources can be hundreds of MB).

The order of one snapshot makes it consistent for readers of the data: the touched items are
read first, all of them under the embedded mode's DynamoDB write lock (one point in time), then
the objects. A record that names an object (a READY video and its segments) was written after
the object, so whenever the snapshot holds the record it holds the object too.

Not kept, because nothing would be right to restore: SQS messages, Step Functions executions and
table-stream records in flight (the stack provisions queues, state machines, rules, functions and
the CloudFront key's secret afresh from the declarations and the keys on disk at every start).
``EmbeddedStack._recover`` (infra/local/emulator.py) settles what the lost executions left behind.

Like ``moto_patches``, this reads moto's internals (its backends' tables and objects), checked
against the pinned release only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.local import moto_patches

logger = logging.getLogger(__name__)

FORMAT = 1
INTERVAL_S = 1.0
_BLOCK = 1 << 20
MANIFEST = "manifest.json"


# -- one stack per state directory ------------------------------------------------------------
class StateDirInUse(RuntimeError):
    """Another embedded stack holds the state directory."""


class StateLock:
    """An exclusive lock on a state directory, held for the life of the stack.

    An flock on ``stack.lock``: the kernel drops it when the holder dies, however it dies, so a
    stack that finds the lock free knows that no other stack is using the directory, and that
    whatever a killed one left (work folders) is nobody's. The descriptor is not inherited (PEP 446),
    so a killed stack's worker processes, which finish their invocation before they notice, do not
    keep the next stack out. The file carries the holder's pid for the message only."""

    def __init__(self, directory: Path):
        self.path = directory / "stack.lock"
        self._fd: int | None = None

    def acquire(self) -> StateLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateDirInUse(
                f"{self.path.parent} is in use by another embedded stack (pid {holder}): stop it "
                "first, or give this one another state directory (VOD_STATE_DIR)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def clean_work_dir(work_dir: Path) -> list[str]:
    """Remove what the functions' work folders hold (call with the state directory's lock held:
    the stack that made them is gone). Returns the names removed."""
    removed: list[str] = []
    if not work_dir.is_dir():
        return removed
    for entry in sorted(work_dir.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry.name)
    return removed


def reset(directory: Path) -> list[str]:
    """Forget the stack's data (``vod local reset``): the persisted tables and objects and the work
    folders. The keys stay, so tokens and signed URLs made with them still verify."""
    lock = StateLock(directory).acquire()
    try:
        removed = []
        data = directory / "data"
        if data.exists():
            shutil.rmtree(data)
            removed.append("data")
        removed += [f"work/{name}" for name in clean_work_dir(directory / "work")]
        return removed
    finally:
        lock.release()


# -- which tables changed (counted as the writes happen) --------------------------------------
_Key = tuple[Any, Any]  # moto's (hash, range) DynamoTypes: hashed and compared as moto's tables do


class _ChangeLog:
    """The keys of the items each table's writes touched since the snapshot last took them. A
    write and its note happen under the embedded mode's DynamoDB write lock (moto_patches), so a
    snapshot that takes the notes under that lock reads every touched item as of one moment."""

    def __init__(self) -> None:
        self._touched: dict[str, set[_Key]] = {}

    def touch(self, table: str, key: _Key) -> None:
        self._touched.setdefault(table, set()).add(key)

    def take(self) -> dict[str, set[_Key]]:
        touched, self._touched = self._touched, {}
        return touched


CHANGES = _ChangeLog()
_WRITES = {"put_item": "item_attrs", "update_item": "key", "delete_item": "key"}  # batch, transact call these
_tracking = False


def track_table_writes() -> None:
    """Note the key of every DynamoDB write (once per process; moto's private API, pinned)."""
    global _tracking
    if _tracking:
        return
    moto_patches.check_moto_version()
    from moto.dynamodb.models import DynamoDBBackend

    for name, attrs_arg in _WRITES.items():
        original = getattr(DynamoDBBackend, name)

        def noted(
            self: Any, *args: Any, __original: Any = original, __attrs: str = attrs_arg, **kwargs: Any
        ) -> Any:
            with moto_patches._WRITE_LOCK:  # re-entrant: the write itself takes it too
                result = __original(self, *args, **kwargs)  # a refused write raises: nothing to note
                table = args[0] if args else kwargs["table_name"]
                attrs = args[1] if len(args) > 1 else kwargs[__attrs]
                CHANGES.touch(table, self.get_keys_value(self.get_table(table), attrs))
            return result

        noted.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, noted)
    _tracking = True


# -- the files --------------------------------------------------------------------------------
@dataclass
class ObjectEntry:
    """What the manifest keeps of an object, beside its bytes (``blob``, relative to data/)."""

    blob: str
    etag: str
    size: int
    last_modified: str
    metadata: dict[str, str] = field(default_factory=dict)
    checksum: dict[str, str] = field(default_factory=dict)
    # The current version's id in a versioned bucket (a video's source is pinned by it), kept so
    # that the restored object answers to the same id; None in an unversioned bucket.
    version_id: str | None = None


@dataclass
class Restored:
    """What the last snapshot held: items per table (DynamoDB JSON: the caller may drop them once
    it has looked), keys per bucket, names of the secrets."""

    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    keys: dict[str, set[str]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    item_counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        items = sum(self.item_counts.values())
        objects = sum(len(keys) for keys in self.keys.values())
        tables = len(self.item_counts)
        return f"{items} items in {tables} tables, {objects} objects, {len(self.secrets)} secrets"


class SnapshotUnreadable(RuntimeError):
    """The state directory's data cannot be loaded (damaged, or from another release)."""


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(data)
    tmp.replace(path)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):  # a binary attribute moto holds decoded
        import base64

        return base64.b64encode(value).decode()
    raise TypeError(f"cannot persist a {type(value).__name__}")


def _blob_name(bucket: str, key: str, etag: str, size: int) -> str:
    digest = hashlib.sha256(f"{bucket}\0{key}\0{etag}\0{size}".encode()).hexdigest()
    return f"objects/{digest[:2]}/{digest[2:40]}"


class Persister:
    """Keeps the stack's tables and buckets in ``directory`` (the state directory's data/)."""

    def __init__(
        self,
        directory: Path,
        *,
        tables: Iterable[str],
        buckets: Iterable[str],
        account: str,
        region: str,
        regenerated_secrets: Iterable[str] = (),
        interval: float = INTERVAL_S,
    ):
        """``regenerated_secrets``: secrets the stack makes again at every start from files of the
        state directory (the CloudFront key): kept out of the snapshot, so a new key file wins."""
        self.directory = directory
        self.tables = list(tables)
        self.buckets = list(buckets)
        self.regenerated_secrets = set(regenerated_secrets)
        self.account = account
        self.region = region
        self.interval = interval
        self.snapshots = 0  # snapshots written by this process
        self._sequence = 0
        self._table_files: dict[str, str] = {}
        self._rows: dict[str, dict[_Key, str]] = {t: {} for t in self.tables}  # each item's JSON
        self._unwritten: set[str] = set()  # tables changed in memory whose snapshot failed to write
        self._secrets_file: str | None = None
        self._secrets: dict[str, str] = {}
        self._objects: dict[str, dict[str, ObjectEntry]] = {b: {} for b in self.buckets}
        self._seen: dict[tuple[str, str], Any] = {}  # (bucket, key) -> the moto object last saved
        self._cycle = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- moto's side ----------------------------------------------------------------------------
    def _dynamodb(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[self.account][self.region]

    def _s3(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account]["aws"]

    def _secretsmanager(self) -> Any:
        from moto.secretsmanager.models import secretsmanager_backends

        return secretsmanager_backends[self.account][self.region]

    # -- start: read the last snapshot back ----------------------------------------------------
    def restore(self) -> Restored:
        """Load the last snapshot into the freshly provisioned tables and buckets (before anything
        serves), without table-stream records or bucket notifications: restoring is not a write
        anyone should react to. Files no snapshot names (a killed write's) are removed."""
        track_table_writes()
        self.directory.mkdir(parents=True, exist_ok=True)
        restored = Restored()
        try:
            self._restore_into(restored)
        except Exception as exc:
            raise SnapshotUnreadable(
                f"the embedded stack's data in {self.directory} cannot be loaded ({exc!r}): "
                "`vod local reset` forgets it, `--ephemeral` runs without it"
            ) from exc
        CHANGES.take()  # notes of writes before this stack's (an earlier stack in this process)
        self._remove_unnamed_files()
        return restored

    def _restore_into(self, restored: Restored) -> None:
        manifest = self._read_manifest()
        if manifest is not None:
            self._sequence = int(manifest.get("sequence", 0))
            for table, name in manifest.get("tables", {}).items():
                if table not in self.tables:
                    logger.warning("the persisted table %s is not provisioned any more: skipped", table)
                    continue
                rows = json.loads((self.directory / name).read_text())
                self._load_table(table, rows)
                self._table_files[table] = name
                restored.items[table] = rows
                restored.item_counts[table] = len(rows)
            for bucket, objects in manifest.get("objects", {}).items():
                if bucket not in self.buckets:
                    logger.warning("the persisted bucket %s is not provisioned any more: skipped", bucket)
                    continue
                for key, raw in objects.items():
                    entry = ObjectEntry(**raw)
                    self._seen[(bucket, key)] = self._load_object(bucket, key, entry)
                    self._objects[bucket][key] = entry
                restored.keys[bucket] = set(objects)
            if manifest.get("secrets"):
                self._secrets_file = str(manifest["secrets"])
                self._secrets = self._load_secrets(
                    json.loads((self.directory / self._secrets_file).read_text())
                )
                restored.secrets = sorted(self._secrets)

    def _read_manifest(self) -> dict[str, Any] | None:
        path = self.directory / MANIFEST
        if not path.exists():
            return None
        manifest: dict[str, Any] = json.loads(path.read_text())
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{path} is in format {manifest.get('format')}, this release reads {FORMAT}")
        return manifest

    def _load_table(self, name: str, rows: list[dict[str, Any]]) -> None:
        backend = self._dynamodb()
        table = backend.get_table(name)
        shard, table.stream_shard = table.stream_shard, None  # no stream records for a restore
        try:
            for attrs in rows:
                table.put_item(attrs, overwrite=True)
                key = backend.get_keys_value(table, attrs)
                self._rows[name][key] = json.dumps(attrs, default=_json_default)
        finally:
            table.stream_shard = shard

    def _load_object(self, bucket: str, key: str, entry: ObjectEntry) -> Any:
        from moto.utilities.utils import LowercaseDict

        obj = self._s3().put_object(bucket, key, b"", disable_notification=True)
        with obj.lock, (self.directory / entry.blob).open("rb") as source:
            shutil.copyfileobj(source, obj._value_buffer, _BLOCK)
            obj.contentsize = entry.size
        obj._etag = entry.etag.strip('"')
        obj.last_modified = datetime.fromisoformat(entry.last_modified)
        obj._metadata = LowercaseDict(entry.metadata)
        obj.checksum_algorithm = entry.checksum.get("algorithm")
        obj.checksum_value = entry.checksum.get("value")
        obj.checksum_type = entry.checksum.get("type")
        if entry.version_id and obj._is_versioned:
            obj._version_id = entry.version_id
        return obj

    def _load_secrets(self, values: dict[str, str]) -> dict[str, str]:
        """Put each kept value back as the secret's current one (over the value the provisioning
        just generated); a secret no longer provisioned is dropped."""
        backend = self._secretsmanager()
        kept = {}
        for name, value in values.items():
            if name in self.regenerated_secrets or not backend._is_valid_identifier(name):
                continue
            backend.put_secret_value(name, value, None, None, ["AWSCURRENT"])
            kept[name] = value
        return kept

    def announce_created(self, bucket: str, key: str) -> None:
        """Send the object's ObjectCreated notification again (S3 delivers at least once; the
        restart plays a redelivery of one the crash lost). Once the notifications are configured."""
        from moto.s3 import notifications

        s3 = self._s3()
        notifications.send_event(
            self.account,
            notifications.S3NotificationEvent.OBJECT_CREATED_PUT_EVENT,
            s3.get_bucket(bucket),
            s3.get_object(bucket, key),
        )

    def _remove_unnamed_files(self) -> None:
        named = (
            set(self._table_files.values())
            | {self._secrets_file or ""}
            | {entry.blob for objects in self._objects.values() for entry in objects.values()}
        )
        for path in self.directory.rglob("*"):
            relative = path.relative_to(self.directory).as_posix()
            if path.is_file() and relative != MANIFEST and relative not in named:
                path.unlink()

    # -- while running: snapshots as the data changes ----------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="persist", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # keep persisting: the next cycle compares afresh
                logger.exception("persisting the embedded stack's data failed")

    def stop(self) -> None:
        """Stop the thread and write what changed since its last snapshot."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=60)
        self.flush()

    def flush(self) -> bool:
        """One snapshot, if anything changed since the last one. Returns whether one was written."""
        with self._cycle:
            tables = self._capture_tables()
            self._unwritten.update(tables)  # until the manifest naming them is in place
            objects, copied, dropped = self._capture_objects()
            secrets = self._capture_secrets()
            if not tables and not copied and not dropped and secrets is None:
                return False
            self._sequence += 1
            secrets_file = self._secrets_file
            if secrets is not None:
                secrets_file = f"secrets.{self._sequence}.json"
                _write_atomically(self.directory / secrets_file, json.dumps(secrets).encode())
            files = dict(self._table_files)
            for name, text in tables.items():
                files[name] = f"tables/{name}.{self._sequence}.json"
                path = self.directory / files[name]
                path.parent.mkdir(parents=True, exist_ok=True)
                _write_atomically(path, text)
            manifest = {
                "format": FORMAT,
                "sequence": self._sequence,
                "tables": files,
                "secrets": secrets_file,
                "objects": {
                    bucket: {key: vars(entry) for key, entry in entries.items()}
                    for bucket, entries in objects.items()
                },
            }
            _write_atomically(self.directory / MANIFEST, json.dumps(manifest).encode())
            # Only now may the files the previous snapshot named and this one does not go.
            still_named = {e.blob for entries in objects.values() for e in entries.values()}
            for blob in dropped - still_named:
                (self.directory / blob).unlink(missing_ok=True)
            for name, old in self._table_files.items():
                if files[name] != old:
                    (self.directory / old).unlink(missing_ok=True)
            if secrets is not None:
                if self._secrets_file:
                    (self.directory / self._secrets_file).unlink(missing_ok=True)
                self._secrets_file, self._secrets = secrets_file, secrets
            self._table_files = files
            self._objects = objects
            self._unwritten.clear()
            self.snapshots += 1
            return True

    def _capture_tables(self) -> dict[str, bytes]:
        """The changed tables as JSON, as of one moment: the touched items are copied under the write
        lock (``to_json`` makes new dicts and deep-copies lists and maps; the rest are immutable
        strings), then serialised without it. The lock is held for the touched items only (measured:
        12 us for one item written in a 10,000-item table, 0.95 ms for 100; copying the whole
        table held it 270 ms)."""
        backend = self._dynamodb()
        copied: dict[str, dict[_Key, dict[str, Any] | None]] = {}
        with moto_patches._WRITE_LOCK:
            for name, keys in CHANGES.take().items():
                if name not in self._rows:
                    continue
                table = backend.get_table(name)
                items = copied.setdefault(name, {})
                for key in keys:
                    item = table.get_item(*key)
                    items[key] = item.to_json()["Attributes"] if item is not None else None
        for name, items in copied.items():
            rows = self._rows[name]
            for key, attrs in items.items():
                if attrs is None:
                    rows.pop(key, None)
                else:
                    rows[key] = json.dumps(attrs, default=_json_default)
        changed = set(copied) | self._unwritten
        return {name: ("[" + ",".join(self._rows[name].values()) + "]").encode() for name in changed}

    def _capture_secrets(self) -> dict[str, str] | None:
        """The kept secrets' current values, or None when none changed (a handful: read each time)."""
        backend = self._secretsmanager()
        values = {}
        for secret in list(backend.secrets.values()):
            if secret.name in self.regenerated_secrets or secret.is_deleted():
                continue
            with contextlib.suppress(Exception):  # a secret without a string value
                values[secret.name] = backend.get_secret_value(secret.name, None, None)["SecretString"]
        return None if values == self._secrets else values

    def _capture_objects(self) -> tuple[dict[str, dict[str, ObjectEntry]], bool, set[str]]:
        """The buckets' objects now: the new and replaced ones copied to files. Returns the new
        index, whether anything was copied or changed, and the blobs the index no longer names."""
        s3 = self._s3()
        index: dict[str, dict[str, ObjectEntry]] = {}
        changed = False
        dropped: set[str] = set()
        for bucket in self.buckets:
            previous = self._objects.get(bucket, {})
            current: dict[str, ObjectEntry] = {}
            # moto's key store maps a key to its versions (the last is current); copied first, as
            # moto's own listing does, so writes meanwhile cannot break the iteration.
            for key, versions in dict(s3.get_bucket(bucket).keys).items():
                if not versions:
                    continue
                obj = versions[-1]
                if not hasattr(obj, "lock"):  # a delete marker: the key has no current object
                    continue
                if self._seen.get((bucket, key)) is obj and key in previous:
                    current[key] = previous[key]
                    continue
                entry = self._save_object(bucket, key, obj)
                if entry is None:  # replaced or deleted while being read: the next cycle sees it
                    if key in previous:
                        current[key] = previous[key]
                    continue
                current[key] = entry
                self._seen[(bucket, key)] = obj
                changed = True
            for key, entry in previous.items():
                if key not in current or current[key].blob != entry.blob:
                    dropped.add(entry.blob)
                    changed = True
                if key not in current:
                    self._seen.pop((bucket, key), None)
            index[bucket] = current
        return index, changed, dropped

    def _save_object(self, bucket: str, key: str, obj: Any) -> ObjectEntry | None:
        try:
            with obj.lock:
                etag = obj.etag  # moto computes it from the bytes once, then keeps it
                version_id = obj._version_id if obj._is_versioned else None
            entry = ObjectEntry(
                blob=_blob_name(bucket, key, etag, obj.size),
                etag=etag,
                size=int(obj.size),
                last_modified=obj.last_modified.isoformat(),
                metadata={str(k): str(v) for k, v in obj.metadata.items()},
                checksum={
                    name: value
                    for name, value in (
                        ("algorithm", obj.checksum_algorithm),
                        ("value", obj.checksum_value),
                        ("type", obj.checksum_type),
                    )
                    if value
                },
                version_id=str(version_id) if version_id else None,
            )
        except ValueError:  # moto closed the object's buffer: it was deleted or replaced
            return None
        path = self.directory / entry.blob
        if path.exists():  # the same bytes under the same key: the file is there already
            return entry
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        try:
            with tmp.open("wb") as out:
                for block in _blocks(obj):
                    out.write(block)
            if tmp.stat().st_size != entry.size:
                raise ValueError("the object changed while it was copied")
        except ValueError:  # deleted or replaced meanwhile (moto closed its buffer)
            tmp.unlink(missing_ok=True)
            return None
        tmp.replace(path)
        return entry


def _blocks(obj: Any) -> Iterator[bytes]:
    """An object's bytes block by block, the object's lock held per block only."""
    position = 0
    while True:
        with obj.lock:
            obj._value_buffer.seek(position)
            block = obj._value_buffer.read(_BLOCK)
        if not block:
            return
        position += len(block)
        yield bytes(block)
