"""Upload events into the platform: S3 ObjectCreated -> SQS (+ DLQ) -> consumer function."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import spec
from infra.constructs.nag import suppress
from infra.constructs.naming import construct_id

# CDK's singleton that writes bucket notification configurations (a CloudFormation custom resource).
_NOTIFICATIONS_HANDLER = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"


def encrypted_queue(
    scope: Construct,
    cid: str,
    *,
    visibility_timeout: Duration | None = None,
    retention_period: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    """SSE with SQS-managed keys (S3 can deliver to it, unlike the aws/sqs KMS key) and TLS only."""
    return sqs.Queue(
        scope,
        cid,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=visibility_timeout,
        retention_period=retention_period,
        dead_letter_queue=dead_letter_queue,
    )


def dlq_alarm(scope: Construct, cid: str, queue: sqs.IQueue, what: str) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        scope,
        cid,
        alarm_description=f"{what}: messages are waiting in the dead-letter queue",
        metric=queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(5), statistic="Maximum"
        ),
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


class IngestConstruct(Construct):
    """Exposes ``queues`` and ``dead_letter_queues`` (by spec name) and ``alarms``."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        queue_specs: Sequence[spec.QueueSpec],
        notification_specs: Sequence[spec.BucketNotificationSpec],
        functions: Mapping[str, lambda_.IFunction],
        buckets: Mapping[str, s3.Bucket],
    ) -> None:
        super().__init__(scope, construct_id_)
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.alarms: list[cloudwatch.Alarm] = []

        for queue_spec in queue_specs:
            cid = construct_id(queue_spec.name)
            dlq = encrypted_queue(self, f"{cid}DeadLetterQueue", retention_period=Duration.days(14))
            queue = encrypted_queue(
                self,
                f"{cid}Queue",
                visibility_timeout=Duration.seconds(queue_spec.visibility_timeout_s),
                dead_letter_queue=sqs.DeadLetterQueue(
                    max_receive_count=queue_spec.max_receive_count, queue=dlq
                ),
            )
            functions[queue_spec.consumer].add_event_source(
                sources.SqsEventSource(
                    queue,
                    batch_size=queue_spec.batch_size,
                    max_batching_window=Duration.seconds(queue_spec.max_batching_window_s)
                    if queue_spec.max_batching_window_s
                    else None,
                    report_batch_item_failures=True,
                    # ScalingConfig.MaximumConcurrency: one priority class's flood cannot take
                    # every starter invocation (functions/videos/logic/priority.py)
                    max_concurrency=queue_spec.max_concurrency,
                )
            )
            self.queues[queue_spec.name] = queue
            self.dead_letter_queues[queue_spec.name] = dlq
            self.alarms.append(dlq_alarm(self, f"{cid}DeadLetterAlarm", dlq, f"{queue_spec.name} queue"))

        for notification in notification_specs:
            buckets[notification.bucket].add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.SqsDestination(self.queues[notification.queue]),
                s3.NotificationKeyFilter(prefix=notification.prefix),
            )

        handler = Stack.of(self).node.try_find_child(_NOTIFICATIONS_HANDLER)
        if handler is not None:
            suppress(
                handler,
                "IAM4",
                "CDK's BucketNotificationsHandler custom resource (deploy-time only) uses the managed "
                "AWSLambdaBasicExecutionRole for its own logs.",
                findings=[
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
                ],
            )
