"""CMCD collection on AWS: CloudFront real-time logs -> an Kinesis data stream (encrypted) -> the
collector function, as ``spec.REALTIME_LOGS`` and ``spec.KINESIS_STREAMS`` declare.

CloudFront parses the CMCD that stock players send on segment and playlist requests (query mode
or headers) into the ``cmcd-*`` real-time log fields (functions/qoe/contract.py names them); the
config is attached to the media cache behaviours by the CDN construct (``configs_by_pattern``).
The embedded mode writes the same records into the same stream (infra/local/edge.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import spec
from infra.constructs.ingest_construct import dlq_alarm, encrypted_queue
from infra.constructs.nag import suppress
from infra.constructs.naming import construct_id


class QoeConstruct(Construct):
    """Exposes ``streams`` (by name), ``configs`` (by name), ``configs_by_pattern`` (cache
    behaviour path pattern -> the config to attach), ``failure_queues`` and ``alarms``."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        stream_specs: Sequence[spec.KinesisStreamSpec],
        realtime_log_specs: Sequence[spec.RealtimeLogSpec],
    ) -> None:
        super().__init__(scope, construct_id_)
        self.streams: dict[str, kinesis.Stream] = {}
        self.configs: dict[str, cloudfront.RealtimeLogConfig] = {}
        self.configs_by_pattern: dict[str, cloudfront.IRealtimeLogConfig] = {}
        self.failure_queues: dict[str, sqs.Queue] = {}
        self.alarms: list[cloudwatch.Alarm] = []
        self._specs = {s.name: s for s in stream_specs}
        for stream_spec in stream_specs:
            cid = construct_id(stream_spec.name)
            # Server-side encryption with the AWS managed key (aws/kinesis): no key to grant to
            # CloudFront or the consumer, no KMS request charge per record (cdk-nag KDS3).
            self.streams[stream_spec.name] = kinesis.Stream(
                self,
                f"{cid}Stream",
                shard_count=stream_spec.shard_count,
                retention_period=Duration.hours(stream_spec.retention_hours),
                encryption=kinesis.StreamEncryption.MANAGED,
            )
        for log_spec in realtime_log_specs:
            cid = construct_id(log_spec.name)
            stream = self.streams[log_spec.stream]
            # CloudFront writes with a role it assumes: PutRecord(s) and Describe* on this stream only.
            role = iam.Role(
                self,
                f"{cid}RealtimeLogRole",
                assumed_by=iam.ServicePrincipal("cloudfront.amazonaws.com"),
                description="CloudFront real-time logs -> the CMCD stream",
            )
            stream.grant_write(role)
            config = cloudfront.RealtimeLogConfig(
                self,
                f"{cid}RealtimeLogConfig",
                end_points=[cloudfront.Endpoint.from_kinesis_stream(stream, role)],
                fields=list(log_spec.fields),
                sampling_rate=log_spec.sampling_rate,
            )
            self.configs[log_spec.name] = config
            for pattern in log_spec.path_patterns:
                if pattern in self.configs_by_pattern:
                    raise ValueError(f"two real-time log configs on the behaviour {pattern!r}")
                self.configs_by_pattern[pattern] = config

    def connect(self, functions: Mapping[str, lambda_.IFunction]) -> None:
        """Each stream's consumer: an event source mapping from the oldest record, a failing batch
        split in halves, and after the declared retries its description in an on-failure queue."""
        for name, stream in self.streams.items():
            stream_spec = self._specs[name]
            cid = construct_id(f"{name}-{stream_spec.consumer}")
            failures = encrypted_queue(self, f"{cid}FailureQueue", retention_period=Duration.days(14))
            suppress(
                failures,
                "SQS3",
                "This queue is itself the dead-letter destination of the stream's event source mapping "
                "(on-failure records of batches that exhausted their retries), alarmed when not empty.",
            )
            consumer = functions[stream_spec.consumer]
            consumer.add_event_source(
                sources.KinesisEventSource(
                    stream,
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=stream_spec.batch_size,
                    max_batching_window=Duration.seconds(stream_spec.max_batching_window_s),
                    retry_attempts=stream_spec.retry_attempts,
                    bisect_batch_on_error=True,
                    report_batch_item_failures=True,
                    on_failure=sources.SqsDlq(failures),
                )
            )
            self.failure_queues[name] = failures
            self.alarms.append(dlq_alarm(self, f"{cid}FailureAlarm", failures, f"{name} stream"))
