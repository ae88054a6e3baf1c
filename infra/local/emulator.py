"""The embedded stack: moto in server mode + our functions in-process + local API front and edge.

Everything is created from ``infra.spec`` (the declarations the CDK stack reads too) and the
state machine runs the real ASL files through moto's Step Functions interpreter.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config

from functions.shared.events import SOURCE as EVENT_SOURCE
from functions.shared.events import VIDEO_DELETED
from functions.videos.models import TERMINAL, VideoStatus
from infra import spec
from infra.local import lambda_runtime, moto_patches, persist, provision, py311
from infra.local.edge import LocalEdge
from infra.local.http_front import ApiFront
from infra.local.keys import CloudFrontKeys, LocalIssuer, state_dir

# Process-wide settings of the embedded mode (fake credentials; tracing off: no X-Ray daemon).
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": provision.REGION,
    "AWS_REGION": provision.REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}


WATCH_INTERVAL_S = 2.0

# The statuses of a video with an execution running (or about to): none survives a restart.
_IN_FLIGHT = frozenset(VideoStatus) - TERMINAL - {VideoStatus.AWAITING_UPLOAD}
_PIPELINE = "media-pipeline"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


DEFAULT_WORD_LIST = """# Sensitive words for the embedded mode's text check: one term per line.
# Edit while the stack runs: the moderation step reloads the file when it changes.
# (On AWS the list lives in AppConfig: see README.)
forbiddenword
"""


def local_function_settings(work_dir: Path, directory: Path) -> dict[str, str]:
    """What a deployer would set per function. Locally: media tools from PATH, the ONNX frame
    classifier instead of Rekognition, a word-list file instead of AppConfig, and webhooks may
    target plain-HTTP loopback receivers."""
    words = directory / "sensitive-words.txt"
    if not words.exists():
        words.write_text(DEFAULT_WORD_LIST)
    # The catalog's cursor key is its own secret, created by provision.create_secret as CDK
    # generates it on AWS.
    return {
        "FFMPEG_PATH": shutil.which("ffmpeg") or "ffmpeg",
        "FFPROBE_PATH": shutil.which("ffprobe") or "ffprobe",
        "WORK_DIR": str(work_dir),
        "FRAME_CLASSIFIER": "nudenet",
        "MODERATION_WORD_LIST": str(words),
        "WEBHOOK_ALLOW_HTTP": "true",
        # One machine: encode as many chunks at once as it has cores (AWS: hundreds of Lambdas).
        "MAP_MAX_CONCURRENCY": str(os.cpu_count() or 2),
    }


STREAM_POLL_INTERVAL_S = 0.2


class StreamPoller:
    """Plays Lambda's DynamoDB stream poller for one ``spec.TableStreamSpec``: reads new records
    of every shard and invokes the consumer with them, in order, retrying a batch (from the
    sequence number the consumer reports as failed) until it succeeds.

    moto can invoke a stream consumer itself, but synchronously inside the write that made the
    record, while the embedded mode's write lock is held: a consumer whose work leads to another
    write (publisher -> bus -> queue -> projector) would wait for that lock forever.
    """

    def __init__(self, stream: spec.TableStreamSpec, table_name: str, dynamodb: Any, streams: Any):
        self.spec = stream
        self.table_name = table_name
        self._dynamodb = dynamodb
        self._streams = streams
        self._after: dict[str, str] = {}  # shard id -> last sequence number handed over

    def poll_once(self) -> int:
        """Deliver what is new; returns how many records the consumer accepted."""
        arn = self._dynamodb.describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        delivered = 0
        for shard in self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            after = self._after.get(shard_id)
            position = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                if after
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = self._streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, **position)
            records = self._streams.get_records(
                ShardIterator=iterator["ShardIterator"], Limit=self.spec.batch_size
            )["Records"]
            if not records:
                continue
            for record in records:
                record["eventSourceARN"] = arn
            result, errored = lambda_runtime.invoke(
                spec.FUNCTIONS_BY_NAME[self.spec.consumer], {"Records": records}
            )
            if errored:
                continue  # retried from the same position next time
            failed = [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]
            accepted = records
            if failed:
                index = next(i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] == failed[0])
                accepted = records[:index]
            if accepted:
                self._after[shard_id] = accepted[-1]["dynamodb"]["SequenceNumber"]
            delivered += len(accepted)
        return delivered

    def drain(self, max_rounds: int = 100) -> int:
        """Poll until nothing new is left (tests and tools; the stack polls on a thread)."""
        total = 0
        for _ in range(max_rounds):
            delivered = self.poll_once()
            total += delivered
            if not delivered:
                break
        return total


class KinesisPoller:
    """Plays both ends of one ``spec.KinesisStreamSpec`` in the embedded mode: the producer side
    (``put``: the local edge's real-time log records, buffered and written with PutRecords, as
    CloudFront writes them) and Lambda's poller (new records of every shard handed to the
    consumer in Kinesis event form, a batch retried from its first failed sequence number)."""

    MAX_PUT = 500  # PutRecords takes at most 500 records a call

    def __init__(self, stream: spec.KinesisStreamSpec, arn: str, kinesis: Any):
        self.spec = stream
        self.arn = arn
        self.name = provision.kinesis_stream_name(stream.name)
        self._kinesis = kinesis
        self._pending: list[str] = []
        self._lock = threading.Lock()
        self._after: dict[str, str] = {}  # shard id -> last sequence number handed over

    def put(self, record: str) -> None:
        with self._lock:
            if len(self._pending) < 100_000:  # bounded: a stalled poller drops, as CloudFront may
                self._pending.append(record)

    def flush(self) -> int:
        with self._lock:
            pending, self._pending = self._pending, []
        for start in range(0, len(pending), self.MAX_PUT):
            chunk = pending[start : start + self.MAX_PUT]
            self._kinesis.put_records(
                StreamName=self.name,
                Records=[{"Data": line.encode(), "PartitionKey": str(uuid.uuid4())} for line in chunk],
            )
        return len(pending)

    def _event_record(self, shard_id: str, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": record["PartitionKey"],
                "sequenceNumber": record["SequenceNumber"],
                "data": base64.b64encode(record["Data"]).decode(),
                "approximateArrivalTimestamp": record["ApproximateArrivalTimestamp"].timestamp(),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard_id}:{record['SequenceNumber']}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": provision.LOCAL_ROLE,
            "awsRegion": provision.REGION,
            "eventSourceARN": self.arn,
        }

    def poll_once(self) -> int:
        """Write what the edge buffered, then deliver what is new; returns records accepted."""
        self.flush()
        delivered = 0
        for shard in self._kinesis.list_shards(StreamName=self.name)["Shards"]:
            shard_id = shard["ShardId"]
            after = self._after.get(shard_id)
            position = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
                if after
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = self._kinesis.get_shard_iterator(StreamName=self.name, ShardId=shard_id, **position)
            records = self._kinesis.get_records(
                ShardIterator=iterator["ShardIterator"], Limit=self.spec.batch_size
            )["Records"]
            if not records:
                continue
            event = {"Records": [self._event_record(shard_id, r) for r in records]}
            result, errored = lambda_runtime.invoke(spec.FUNCTIONS_BY_NAME[self.spec.consumer], event)
            if errored:
                continue  # retried from the same position next time
            failed = [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]
            accepted = records
            if failed:
                index = next(i for i, r in enumerate(records) if r["SequenceNumber"] == failed[0])
                accepted = records[:index]
            if accepted:
                self._after[shard_id] = accepted[-1]["SequenceNumber"]
            delivered += len(accepted)
        return delivered

    def drain(self, max_rounds: int = 100) -> int:
        total = 0
        for _ in range(max_rounds):
            delivered = self.poll_once()
            total += delivered
            if not delivered:
                break
        return total


def reset_function_caches() -> None:
    """Clients and settings are cached per process; a new stack (new ports) needs fresh ones."""
    from aws_lambda_powertools.utilities.parameters import base as parameters_base

    from functions.shared import aws, settings
    from functions.shared.table_binding import TableBinding

    parameters_base.DEFAULT_PROVIDERS.clear()  # cached secret values and clients
    aws.client.cache_clear()
    settings.get_settings.cache_clear()
    TableBinding.reset_all()


class EmbeddedStack:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        moto_port: int = 0,
        api_port: int = 0,
        cdn_port: int = 0,
        directory: Path | None = None,
        overrides: dict[str, str] | None = None,
        isolation: lambda_runtime.Isolation = "process",
        persistent: bool = True,
    ):
        """``isolation``: "process" (as Lambda: a pool of execution environments per function,
        one request at a time each) or "inline" (handlers in this process: no isolation, for
        code that must run here; infra/local/lambda_runtime.py). ``persistent``: keep the tables,
        objects and generated secrets in the state directory's data/ and start from them
        (infra/local/persist.py); False starts empty and writes nothing there."""
        self.host = host
        self.persistent = persistent
        self.persister: persist.Persister | None = None
        self.restored = persist.Restored()
        self.recovered: list[str] = []  # videos the previous run left in flight, now FAILED
        self.removed_work: list[str] = []  # work folders the previous run left behind
        self._lock: persist.StateLock | None = None
        self.isolation = isolation
        self.moto_port = moto_port or free_port(host)
        self.api_port = api_port
        self.cdn_port = cdn_port
        self.directory = directory or state_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.overrides = overrides or {}
        self.moto_url = f"http://{host}:{self.moto_port}"
        self._server: Any = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._stream_thread: threading.Thread | None = None
        self._schedule_threads: list[threading.Thread] = []
        self.stream_pollers: list[StreamPoller] = []
        self.kinesis_pollers: dict[str, KinesisPoller] = {}  # by spec name (the CMCD stream)
        self.api: ApiFront | None = None
        self.edge: LocalEdge | None = None
        self.resources: spec.Resources | None = None
        self.queues: dict[str, provision.LocalQueue] = {}
        self.state_machines: dict[str, str] = {}
        self.issuer = LocalIssuer(self.directory)
        self.cloudfront = CloudFrontKeys(self.directory)

    # -- clients for the embedded AWS ---------------------------------------------------------
    def client(self, service: str) -> Any:
        make: Any = boto3.client  # ``service`` is dynamic: boto3-stubs' overloads are literal
        return make(
            service,
            endpoint_url=self.moto_url,
            region_name=provision.REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106
            config=Config(retries={"max_attempts": 2}, read_timeout=900),
        )

    def start(self) -> EmbeddedStack:
        from moto.server import ThreadedMotoServer

        # One stack per state directory; holding the lock, the work folders are nobody's any more
        # (a killed stack's transcodes left theirs behind).
        self._lock = persist.StateLock(self.directory).acquire()
        work_dir = self.directory / "work"
        self.removed_work = persist.clean_work_dir(work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        os.environ.update(BASE_ENV)
        os.environ["AWS_ENDPOINT_URL"] = self.moto_url
        os.environ["MOTO_PORT"] = str(self.moto_port)  # where the ASL interpreter calls Lambda
        os.environ["MOTO_S3_CUSTOM_ENDPOINTS"] = self.moto_url
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto_patches.install()  # refuses a moto release other than the pinned one, before serving
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.moto_port, verbose=False)
        self._server.start()
        requests.post(
            f"{self.moto_url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        ).raise_for_status()
        py311.serialize_ast_parse()

        s3 = self.client("s3")
        self.edge = LocalEdge(
            s3=s3,
            bucket="",
            verifier=_verifier(self.cloudfront),
            host=self.host,
            port=self.cdn_port,
            realtime_log_sink=self._put_realtime_log,
        )
        res = provision.local_resources(
            cdn_base_url=self.edge.url,
            key_pair_id=self.cloudfront.key_pair_id,
            # The takedown invalidates the video's paths on it (functions/videos/logic/purge.py).
            cdn_distribution_id=provision.create_distribution(
                self.client("cloudfront"), edge_url=self.edge.url
            ),
        )
        self.resources = res
        self.edge.bucket = res.media_bucket

        settings = local_function_settings(work_dir, self.directory)
        settings.update(self.overrides)
        per_function = {fn.name: settings for fn in spec.FUNCTIONS}
        self._apply_process_environment(res, settings)
        # Each invocation: its function's environment only, in an execution environment of its own
        lambda_runtime.configure(res, settings, isolation=self.isolation)
        reset_function_caches()

        provision.create_tables(self.client("dynamodb"), res)
        provision.create_buckets(s3, res)
        self.queues = provision.create_queues(self.client("sqs"))
        kinesis = self.client("kinesis")
        self.kinesis_pollers = {
            stream.name: KinesisPoller(stream, provision.create_kinesis_stream(kinesis, stream), kinesis)
            for stream in spec.KINESIS_STREAMS
        }
        provision.create_event_bus(self.client("events"), res)
        provision.create_bus_rules(self.client("events"), res, self.queues)
        provision.create_secret(self.client("secretsmanager"), res, self.cloudfront.private_pem)
        provision.create_role(self.client("iam"))
        lam = self.client("lambda")
        provision.register_functions(lam, res, per_function)
        for fn in spec.FUNCTIONS:
            lambda_runtime.register(fn)
        self.state_machines = provision.create_state_machines(self.client("stepfunctions"))
        if self.persistent:  # the data back before anything can react to it or serve it
            self.persister = persist.Persister(
                self.directory / "data",
                tables=provision.table_names(res).values(),
                buckets=(res.upload_bucket, res.media_bucket),
                account=provision.ACCOUNT,
                region=provision.REGION,
                regenerated_secrets=(res.cloudfront_private_key_secret,),  # from the key file
            )
            self.restored = self.persister.restore()
        provision.create_event_source_mappings(lam, self.queues)
        provision.create_notifications(s3, res, self.queues)
        self.recovered = self._recover(res)
        if self.persister:
            self.persister.start()

        self.api = ApiFront(self.issuer, host=self.host, port=self.api_port)
        self.api.start()
        self.edge.start()
        self._watcher = threading.Thread(target=self._watch_executions, name="sfn-events", daemon=True)
        self._watcher.start()
        tables = provision.table_names(res)
        self.stream_pollers = [
            StreamPoller(
                stream, tables[stream.table], self.client("dynamodb"), self.client("dynamodbstreams")
            )
            for stream in spec.TABLE_STREAMS
        ]
        self._stream_thread = threading.Thread(target=self._poll_streams, name="table-streams", daemon=True)
        self._stream_thread.start()
        for schedule in spec.SCHEDULES:  # EventBridge Scheduler's part: a timer per schedule
            thread = threading.Thread(
                target=self._run_schedule, args=(schedule,), name=f"schedule-{schedule.name}", daemon=True
            )
            thread.start()
            self._schedule_threads.append(thread)
        return self

    def run_schedule(self, name: str) -> Any:
        """Invoke a schedule's target now (tests and tools), as its timer does; returns the result."""
        schedule = next(s for s in spec.SCHEDULES if s.name == name)
        result, errored = lambda_runtime.invoke(
            spec.FUNCTIONS_BY_NAME[schedule.target], dict(schedule.payload)
        )
        if errored:
            raise RuntimeError(f"schedule {name}: {result}")
        return result

    def _run_schedule(self, schedule: spec.ScheduleSpec) -> None:
        while not self._stop.wait(schedule.rate_s):
            try:
                self.run_schedule(schedule.name)
            except Exception:  # logged; the next tick tries again, as a scheduled invocation would
                if self._stop.is_set():
                    return
                logging.getLogger(__name__).exception("schedule %s failed", schedule.name)

    def _apply_process_environment(self, res: spec.Resources, settings: dict[str, str]) -> None:
        """Powertools reads its settings (log level, metrics namespace, what not to log) from
        os.environ, so the variables every function shares are process-wide here. Resource names
        are not: each invocation gets only its own function's (``lambda_runtime.configure``).
        Functions that declare the same variable must agree on its value, or one process could
        not host them."""
        merged: dict[str, str] = {}
        for fn in spec.FUNCTIONS:
            env = spec.function_environment(fn, res, settings)
            env.pop("POWERTOOLS_SERVICE_NAME", None)
            for key, value in env.items():
                if key in spec.RESOURCE_ENV:
                    continue
                if merged.setdefault(key, value) != value:
                    raise RuntimeError(f"functions disagree on {key}; the embedded mode cannot host both")
        os.environ.update(merged)
        os.environ["POWERTOOLS_SERVICE_NAME"] = "vod-local"

    def _put_realtime_log(self, stream: str, record: str) -> None:
        """The local edge's real-time log records into the stream the config names."""
        poller = self.kinesis_pollers.get(stream)
        if poller is not None:
            poller.put(record)

    def _poll_streams(self) -> None:
        while not self._stop.wait(STREAM_POLL_INTERVAL_S):
            pollers: list[StreamPoller | KinesisPoller] = [
                *self.stream_pollers,
                *self.kinesis_pollers.values(),
            ]
            for poller in pollers:
                try:
                    poller.poll_once()
                except Exception:  # the server is stopping, or a transient error: poll again
                    if self._stop.is_set():
                        return
                    logging.getLogger(__name__).exception("stream poll failed")

    def _watch_executions(self) -> None:
        """Plays EventBridge's ``aws.states`` status-change events for the safety-net rules."""
        sfn = self.client("stepfunctions")
        seen: set[str] = set()
        # Every 2 s: the safety net is a backstop, and polling competes with ffmpeg for the CPU.
        while not self._stop.wait(WATCH_INTERVAL_S):
            for rule in spec.EXECUTION_RULES:
                arn = self.state_machines.get(rule.state_machine)
                if not arn:
                    continue
                pattern = rule.pattern(arn)
                for status in rule.statuses:
                    try:
                        page = sfn.list_executions(stateMachineArn=arn, statusFilter=status)
                    except Exception:  # the server is stopping
                        return
                    for execution in page.get("executions", []):
                        if execution["executionArn"] in seen:
                            continue
                        seen.add(execution["executionArn"])
                        detail = sfn.describe_execution(executionArn=execution["executionArn"])
                        event = _status_change_event(arn, detail)
                        if event["detail"]["status"] in pattern["detail"]["status"]:
                            lambda_runtime.invoke(spec.FUNCTIONS_BY_NAME[rule.target], event)

    def _recover(self, res: spec.Resources) -> list[str]:
        """Settle what the previous run left unfinished: its executions and queued messages died
        with it (they are not kept).

        A video it left in flight (UPLOADED, PROCESSING, VIEWABLE, IN_REVIEW) has no execution
        any more: Step Functions would have announced the execution ABORTED, so its status-change
        event is played to the safety-net rule's target, as the watcher plays every other. The
        safety net does what it does on AWS: the lifecycle's ``record_failure`` (FAILED,
        ``execution_aborted``, so ``POST /v1/videos/{id}/retry`` re-runs it from the stored
        upload), the pipeline slot given back, partial outputs deleted, ``video.failed`` sent.
        A held review fails too: its task token died with the execution, so no decision could
        reach it; a retry runs the checks again and holds it afresh.

        A video still AWAITING_UPLOAD whose upload the snapshot holds lost its S3 event (the
        upload landed, the starter had not run): the event is sent again, as S3 would redeliver
        it, and the starter takes it from there.

        A video taken down whose purge had not finished (DELETED, no ``purged_at``) lost its
        queued ``video.deleted`` messages: the event is put on the bus again, as SQS would have
        kept them, and its consumers (all idempotent) purge, unbind and end its sessions. Returns
        the ids of the videos failed."""
        videos = self.restored.items.get(res.videos_table, [])
        uploads = self.restored.keys.get(res.upload_bucket, set())
        failed = []
        for item in videos:
            status = item.get("status", {}).get("S")
            video_id = item.get("video_id", {}).get("S")
            if status == VideoStatus.DELETED and video_id and "purged_at" not in item:
                self._announce_takedown_again(res, item)
            if status == VideoStatus.AWAITING_UPLOAD and item.get("upload_key", {}).get("S") in uploads:
                assert self.persister is not None
                self.persister.announce_created(res.upload_bucket, item["upload_key"]["S"])
            if status not in _IN_FLIGHT or not video_id:
                continue
            for rule in spec.EXECUTION_RULES:
                if rule.state_machine != _PIPELINE or "ABORTED" not in rule.statuses:
                    continue
                arn = self.state_machines[rule.state_machine]
                name = item.get("execution_name", {}).get("S") or video_id
                detail = {
                    "executionArn": f"{arn.replace(':stateMachine:', ':execution:')}:{name}",
                    "name": name,
                    "status": "ABORTED",
                    "input": json.dumps({"video_id": video_id}),
                    "cause": "the embedded stack stopped while the execution ran",
                }
                _, errored = lambda_runtime.invoke(
                    spec.FUNCTIONS_BY_NAME[rule.target], _status_change_event(arn, detail)
                )
                if errored:
                    logging.getLogger(__name__).error("could not settle interrupted video %s", video_id)
                else:
                    failed.append(video_id)
        self.restored.items.clear()  # looked at: the tables hold them
        return failed

    def _announce_takedown_again(self, res: spec.Resources, item: dict[str, Any]) -> None:
        """``video.deleted`` once more for a takedown the last run left unpurged (its contract:
        functions/shared/events.py ``VideoDeletedDetail``)."""

        def text(name: str) -> str | None:
            value: str | None = item.get(name, {}).get("S")
            return value

        detail = {
            "video_id": text("video_id"),
            "owner": text("owner_sub"),
            "deleted_by": text("deleted_by"),
            "deleted_at": text("deleted_at"),
            "previous_status": text("previous_status"),
        }
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": VIDEO_DELETED,
            "Detail": json.dumps(detail),
            "EventBusName": res.event_bus_name,
        }
        if self.client("events").put_events(Entries=[entry]).get("FailedEntryCount"):
            logging.getLogger(__name__).error("could not announce takedown %s again", detail["video_id"])

    def stop(self) -> None:
        self._stop.set()
        lambda_runtime.deconfigure()
        if self.api:
            self.api.stop()
        if self.edge:
            self.edge.stop()
        if self._watcher:
            self._watcher.join(timeout=5)
        if self._stream_thread:
            self._stream_thread.join(timeout=5)
        for thread in self._schedule_threads:
            thread.join(timeout=5)
        if self.persister:
            self.persister.stop()  # what changed since the last snapshot
        if self._server:
            self._server.stop()
        if self._lock:
            self._lock.release()

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests, the CLI and the benchmark -------------------------------------------
    def wait_for_status(self, video_id: str, statuses: set[str], timeout: float = 300) -> dict[str, Any]:
        ddb = self.client("dynamodb")
        assert self.resources is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            item = ddb.get_item(
                TableName=self.resources.videos_table, Key={"video_id": {"S": video_id}}, ConsistentRead=True
            ).get("Item")
            if item and item["status"]["S"] in statuses:
                return item
            time.sleep(0.2)
        raise TimeoutError(f"video {video_id} did not reach {statuses} in {timeout}s")


def _status_change_event(state_machine_arn: str, detail: dict[str, Any]) -> dict[str, Any]:
    """EventBridge's ``aws.states`` event for an execution (``detail``: DescribeExecution's fields)."""
    return {
        "version": "0",
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": detail["executionArn"],
            "stateMachineArn": state_machine_arn,
            "name": detail["name"],
            "status": detail["status"],
            "input": detail.get("input"),
            "error": detail.get("error"),
            "cause": detail.get("cause"),
        },
    }


def _verifier(keys: CloudFrontKeys) -> Any:
    from functions.playback.signing import Verifier

    return Verifier(key_pair_id=keys.key_pair_id, public_pem=keys.public_pem)
