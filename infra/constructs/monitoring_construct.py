"""Where operators look: the alarm topic and the operations dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

_PERIOD = Duration.minutes(5)


class MonitoringConstruct(Construct):
    """Sends every alarm to ``topic`` (KMS-encrypted, TLS only) and draws ``dashboard``."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        alarms: Sequence[cloudwatch.Alarm],
        functions: Mapping[str, lambda_.IFunction],
        state_machines: Mapping[str, sfn.IStateMachine],
        alarm_email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id_)
        # A customer managed key: CloudWatch cannot publish to a topic under the AWS managed aws/sns key.
        key = kms.Key(self, "AlarmTopicKey", enable_key_rotation=True, description="Encrypts the alarm topic")
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self, "AlarmTopic", display_name="Video platform alarms", master_key=key, enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

        action = cloudwatch_actions.SnsAction(self.topic)
        for alarm in alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(6))
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=24)
        )
        for name, machine in state_machines.items():
            self.dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"{name}: executions",
                    width=24,
                    left=[
                        machine.metric_started(period=_PERIOD),
                        machine.metric_succeeded(period=_PERIOD),
                        machine.metric_failed(period=_PERIOD),
                        machine.metric_timed_out(period=_PERIOD),
                    ],
                )
            )
        for name, fn in functions.items():
            self.dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"{name}: errors",
                    width=12,
                    left=[fn.metric_invocations(period=_PERIOD), fn.metric_errors(period=_PERIOD)],
                    right=[fn.metric_throttles(period=_PERIOD)],
                ),
                cloudwatch.GraphWidget(
                    title=f"{name}: duration",
                    width=12,
                    left=[
                        fn.metric_duration(period=_PERIOD, statistic="Average"),
                        fn.metric_duration(period=_PERIOD, statistic="p99"),
                    ],
                ),
            )
