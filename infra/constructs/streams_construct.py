"""Table streams into functions: a DynamoDB event source per ``spec.TableStreamSpec``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import spec
from infra.constructs.ingest_construct import dlq_alarm, encrypted_queue
from infra.constructs.nag import suppress
from infra.constructs.naming import construct_id


class StreamsConstruct(Construct):
    """Exposes ``failure_queues`` (by table) and ``alarms``.

    Each consumer reads its table's stream from the oldest record, retries a failing batch
    (split in halves to isolate a bad record), reports partial failures, and after the declared
    retries sends the failed batch's description to an on-failure queue (alarmed).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        stream_specs: Sequence[spec.TableStreamSpec],
        tables: Mapping[str, dynamodb.Table],
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id_)
        self.failure_queues: dict[str, sqs.Queue] = {}
        self.alarms: list[cloudwatch.Alarm] = []
        for stream in stream_specs:
            cid = construct_id(f"{stream.table}-{stream.consumer}")
            failures = encrypted_queue(self, f"{cid}FailureQueue", retention_period=Duration.days(14))
            suppress(
                failures,
                "SQS3",
                "This queue is itself the dead-letter destination of the stream's event source mapping "
                "(on-failure records of batches that exhausted their retries), alarmed when not empty.",
            )
            functions[stream.consumer].add_event_source(
                sources.DynamoEventSource(
                    tables[stream.table],
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=stream.batch_size,
                    max_batching_window=Duration.seconds(stream.max_batching_window_s),
                    retry_attempts=stream.retry_attempts,
                    bisect_batch_on_error=True,
                    report_batch_item_failures=True,
                    on_failure=sources.SqsDlq(failures),
                )
            )
            self.failure_queues[stream.table] = failures
            self.alarms.append(dlq_alarm(self, f"{cid}FailureAlarm", failures, f"{stream.table} stream"))
