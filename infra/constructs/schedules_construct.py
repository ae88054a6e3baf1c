"""Functions invoked on a fixed rate: an EventBridge rule per ``spec.ScheduleSpec`` (the embedded
mode runs a timer thread per schedule, infra/local/emulator.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import spec
from infra.constructs.naming import construct_id

MIN_RATE_S = 60  # EventBridge schedules run at most once a minute


class SchedulesConstruct(Construct):
    """Exposes ``rules`` by schedule name."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        schedule_specs: Sequence[spec.ScheduleSpec],
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id_)
        self.rules: dict[str, events.Rule] = {}
        for schedule in schedule_specs:
            rate = max(schedule.rate_s, MIN_RATE_S)
            self.rules[schedule.name] = events.Rule(
                self,
                f"{construct_id(schedule.name)}Schedule",
                description=f"Invokes {schedule.target} every {rate} s",
                schedule=events.Schedule.rate(Duration.seconds(rate)),
                targets=[
                    targets.LambdaFunction(
                        functions[schedule.target],
                        event=events.RuleTargetInput.from_object(dict(schedule.payload)),
                        retry_attempts=2,
                    )
                ],
            )
