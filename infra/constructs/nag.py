"""cdk-nag acknowledgments (suppressions), each with a written reason, placed next to what they excuse.

cdk-nag 3 is a CDK policy-validation plugin: a finding is acknowledged through CDK's own
``Validations.of(construct).acknowledge(...)``, which covers the construct and everything under
it. Findings with several parts (IAM5) are acknowledged one by one as ``RuleId[FindingId]``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

PACK = "AwsSolutions"
MIN_REASON_LENGTH = 10


def acknowledgments(rule: str, reason: str, *, findings: Sequence[str] = ()) -> list[Acknowledgment]:
    """``rule`` without the pack prefix (``"IAM5"``); ``findings`` narrows it to exact findings
    such as ``"Resource::*"``."""
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"{PACK}-{rule}: an acknowledgment needs a specific reason, got {reason!r}")
    ids = [f"{PACK}-{rule}[{finding}]" for finding in findings] or [f"{PACK}-{rule}"]
    return [Acknowledgment(id=rule_id, reason=reason) for rule_id in ids]


def suppress(construct: IConstruct, rule: str, reason: str, *, findings: Sequence[str] = ()) -> None:
    Validations.of(construct).acknowledge(*acknowledgments(rule, reason, findings=findings))


def arn_finding(construct: IConstruct, suffix: str) -> str:
    """How cdk-nag spells a wildcard resource built on a construct's ARN, e.g.
    ``Resource::<StorageMediaBucketABC123.Arn>/*``."""
    stack = Stack.of(construct)
    default_child = construct.node.default_child
    assert default_child is not None, f"{construct.node.path} has no CloudFormation resource"
    logical_id = stack.resolve(stack.get_logical_id(default_child))  # type: ignore[arg-type]
    return f"Resource::<{logical_id}.Arn>{suffix}"
