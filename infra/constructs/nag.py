"""cdk-nag suppressions, each with a written reason, placed next to what they excuse."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import IConstruct

MIN_REASON_LENGTH = 10


def suppression(rule: str, reason: str, *, applies_to: Sequence[str] = ()) -> NagPackSuppression:
    """``rule`` without the pack prefix (``"IAM5"``); ``applies_to`` narrows it to exact findings."""
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"AwsSolutions-{rule}: a suppression needs a specific reason, got {reason!r}")
    return NagPackSuppression(id=f"AwsSolutions-{rule}", reason=reason, applies_to=list(applies_to) or None)


def suppress(construct: IConstruct, *suppressions: NagPackSuppression) -> None:
    NagSuppressions.add_resource_suppressions(construct, list(suppressions), apply_to_children=True)


def suppress_path(stack: Stack, path: str, *suppressions: NagPackSuppression) -> None:
    NagSuppressions.add_resource_suppressions_by_path(stack, path, list(suppressions), apply_to_children=True)


def arn_finding(construct: IConstruct, suffix: str) -> str:
    """How cdk-nag spells a wildcard resource built on a construct's ARN, e.g.
    ``Resource::<StorageMediaBucketABC123.Arn>/*``."""
    stack = Stack.of(construct)
    default_child = construct.node.default_child
    assert default_child is not None, f"{construct.node.path} has no CloudFormation resource"
    logical_id = stack.resolve(stack.get_logical_id(default_child))  # type: ignore[arg-type]
    return f"Resource::<{logical_id}.Arn>{suffix}"
