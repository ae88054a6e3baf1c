"""The media pipeline Saga: state machines loaded from their ASL files, and the safety-net rules
that catch executions which ended badly."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import spec
from infra.constructs.events_construct import event_pattern
from infra.constructs.ingest_construct import dlq_alarm, encrypted_queue
from infra.constructs.nag import arn_finding, suppress
from infra.constructs.naming import construct_id


class PipelineConstruct(Construct):
    """Exposes ``state_machines`` and ``rules`` (by spec name), ``dead_letter_queues`` and ``alarms``."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        state_machine_specs: Sequence[spec.StateMachineSpec],
        rule_specs: Sequence[spec.ExecutionFailedRuleSpec],
        functions: Mapping[str, lambda_.IFunction],
        buckets: Mapping[str, s3.IBucket] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, construct_id_)
        self.state_machines: dict[str, sfn.StateMachine] = {}
        self.rules: dict[str, events.Rule] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.alarms: list[cloudwatch.Alarm] = []

        for machine in state_machine_specs:
            self.state_machines[machine.name] = self._state_machine(machine, functions, log_retention)
            if machine.has_distributed_map:
                self._allow_distributed_map(machine, self.state_machines[machine.name], buckets or {})
        for rule in rule_specs:
            self.rules[rule.name] = self._rule(rule, functions)

    def _state_machine(
        self,
        machine: spec.StateMachineSpec,
        functions: Mapping[str, lambda_.IFunction],
        log_retention: logs.RetentionDays,
    ) -> sfn.StateMachine:
        cid = construct_id(machine.name)
        invoked = {
            placeholder: functions[name] for placeholder, name in machine.function_substitutions.items()
        }
        # Vended-logs prefix: keeps CloudWatch Logs' resource policy from growing per log group.
        log_group = logs.LogGroup(
            self,
            f"{cid}Logs",
            log_group_name=f"/aws/vendedlogs/states/{Stack.of(self).stack_name}-{machine.name}",
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        state_machine = sfn.StateMachine(
            self,
            cid,
            # Named, so that its role can name its own ARN (a Distributed Map starts child
            # executions of this very state machine) without a dependency cycle.
            state_machine_name=self._machine_name(machine),
            definition_body=sfn.DefinitionBody.from_file(str(machine.path)),
            definition_substitutions={placeholder: fn.function_arn for placeholder, fn in invoked.items()},
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
        )
        self._check_timeout(machine, state_machine)
        unique_functions = list({id(fn): fn for fn in invoked.values()}.values())
        for fn in unique_functions:
            fn.grant_invoke(state_machine)
        suppress(
            state_machine.role,
            "IAM5",
            "Step Functions log delivery (logs:CreateLogDelivery and friends) and X-Ray tracing "
            "support no resource-level permissions, so their resource is '*'.",
            findings=["Resource::*"],
        )
        suppress(
            state_machine.role,
            "IAM5",
            "grant_invoke adds '<function ARN>:*' so that versions and aliases of the same pipeline "
            "functions can be invoked; no other function matches.",
            findings=[arn_finding(fn, ":*") for fn in unique_functions],
        )
        self.alarms.append(
            cloudwatch.Alarm(
                self,
                f"{cid}FailedAlarm",
                alarm_description=f"{machine.name}: executions failed (the Saga ended in its Fail state)",
                metric=state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        return state_machine

    def _machine_name(self, machine: spec.StateMachineSpec) -> str:
        return f"{Stack.of(self).stack_name}-{machine.name}"

    def _allow_distributed_map(
        self,
        machine: spec.StateMachineSpec,
        state_machine: sfn.StateMachine,
        buckets: Mapping[str, s3.IBucket],
    ) -> None:
        """A Distributed Map runs its items as child executions of the same state machine and
        reads its item list from S3: the role needs both (Step Functions' documented policy)."""
        stack = Stack.of(self)
        name = self._machine_name(machine)
        own_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{name}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[own_arn])
        )
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"], resources=[executions]
            )
        )
        findings = [
            f"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{name}/*"
        ]
        for bucket_name in machine.item_reader_buckets:
            bucket = buckets[bucket_name]
            bucket.grant_read(state_machine)
            findings += [
                "Action::s3:GetBucket*",
                "Action::s3:GetObject*",
                "Action::s3:List*",
                arn_finding(bucket, "/*"),
            ]
        suppress(
            state_machine.role,
            "IAM5",
            "Distributed Map: child executions of this state machine have run-time names "
            "(execution:<name>/*), and the item manifests are per-video keys of the media bucket (read).",
            findings=findings,
        )

    @staticmethod
    def _check_timeout(machine: spec.StateMachineSpec, state_machine: sfn.StateMachine) -> None:
        """CDK applies ``StateMachineProps.timeout`` to chained definitions only; a definition from
        a file carries its own top-level ``TimeoutSeconds`` (the emulator reads the same file).
        Say so at synthesis when the file and the spec disagree."""
        declared = json.loads(machine.path.read_text()).get("TimeoutSeconds")
        if declared != machine.timeout_s:
            Annotations.of(state_machine).add_warning_v2(
                "vod:state-machine-timeout",
                f"{machine.definition_file} has TimeoutSeconds={declared}, infra/spec says "
                f"{machine.timeout_s}: add the top-level TimeoutSeconds to the ASL file",
            )

    def _rule(
        self, rule: spec.ExecutionFailedRuleSpec, functions: Mapping[str, lambda_.IFunction]
    ) -> events.Rule:
        cid = construct_id(rule.name)
        state_machine = self.state_machines[rule.state_machine]
        dead_letter_queue = encrypted_queue(self, f"{cid}DeadLetterQueue", retention_period=Duration.days(14))
        suppress(
            dead_letter_queue,
            "SQS3",
            "This queue is itself a dead-letter queue: the EventBridge target's DLQ for events the "
            "safety-net function could not take; cdk-nag only recognises SQS redrive DLQs.",
        )
        self.dead_letter_queues[rule.name] = dead_letter_queue
        self.alarms.append(dlq_alarm(self, f"{cid}DeadLetterAlarm", dead_letter_queue, f"{rule.name} rule"))
        # No event_bus: Step Functions sends execution status changes to the default bus.
        return events.Rule(
            self,
            cid,
            description=f"{rule.state_machine} executions ending {'/'.join(rule.statuses)} -> {rule.target}",
            event_pattern=event_pattern(rule.pattern(state_machine.state_machine_arn)),
            targets=[
                targets.LambdaFunction(
                    functions[rule.target],
                    dead_letter_queue=dead_letter_queue,
                    retry_attempts=8,
                    max_event_age=Duration.hours(6),
                )
            ],
        )
