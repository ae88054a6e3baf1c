"""cdk-nag's AwsSolutions pack: nothing left unacknowledged, every acknowledgment explained."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

from infra.app import nag_findings
from infra.constructs.nag import MIN_REASON_LENGTH, acknowledgments
from tests.infrastructure.conftest import Synthesized


def test_no_unacknowledged_awssolutions_error_or_warning(synthesized: Synthesized) -> None:
    assert nag_findings(synthesized.assembly_dir) == []


def test_every_acknowledgment_carries_a_reason(synthesized: Synthesized) -> None:
    # Given the acknowledgments written into the template's metadata
    rules = [
        (logical_id, rule)
        for logical_id, resource in synthesized.resources.items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]

    # Then there are some, all AwsSolutions ones, and each says why in a sentence
    assert rules
    for logical_id, rule in rules:
        assert rule["id"].startswith("AwsSolutions-"), (logical_id, rule)
        assert len(rule.get("reason", "").strip()) >= MIN_REASON_LENGTH, (logical_id, rule)


def test_acknowledgment_without_a_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="reason"):
        acknowledgments("S1", "because")


def test_the_gate_sees_an_unacknowledged_finding(tmp_path: Path) -> None:
    # Given a small app with a bucket that breaks AwsSolutions rules
    app = App(outdir=str(tmp_path), context={"@aws-cdk/core:failSynthOnValidationErrors": False})
    s3.Bucket(Stack(app, "Probe"), "Bucket")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    # When it is synthesized
    app.synth()

    # Then the findings reach the gate that makes `python -m infra.app` fail
    findings = nag_findings(tmp_path)
    assert any("AwsSolutions-S1" in finding for finding in findings)
    assert any("AwsSolutions-S10" in finding for finding in findings)
