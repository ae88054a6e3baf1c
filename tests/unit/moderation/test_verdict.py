from __future__ import annotations

import pytest

from functions.moderation.logic.verdict import CheckResult, Finding, combine


def _result(check: str, verdict: str, *codes: str) -> CheckResult:
    return CheckResult(check, verdict, [Finding(check, code, {"n": i}) for i, code in enumerate(codes)])  # type: ignore[arg-type]


def test_all_pass_is_pass_without_reasons() -> None:
    assert combine([_result("text", "pass"), _result("frames", "pass")]) == ("pass", [])


def test_review_beats_pass_and_lists_its_findings() -> None:
    verdict, reasons = combine([_result("text", "pass"), _result("frames", "review", "needs_review")])
    assert verdict == "review"
    assert reasons == [{"check": "frames", "code": "needs_review", "evidence": {"n": 0}}]


def test_reject_beats_review_and_every_non_pass_finding_is_a_reason() -> None:
    verdict, reasons = combine(
        [
            _result("frames", "review", "needs_review"),
            _result("text", "reject", "sensitive_words", "sensitive_words"),
            _result("copyright", "pass"),
        ]
    )
    assert verdict == "reject"
    assert [(r["check"], r["code"]) for r in reasons] == [
        ("frames", "needs_review"),
        ("text", "sensitive_words"),
        ("text", "sensitive_words"),
    ]


def test_a_no_without_findings_still_gives_a_reason() -> None:
    assert combine([CheckResult("frames", "reject", [])]) == (
        "reject",
        [{"check": "frames", "code": "reject", "evidence": {}}],
    )


def test_round_trip_through_json_shapes() -> None:
    result = _result("text", "reject", "sensitive_words")
    assert CheckResult.from_dict(result.to_dict()) == result
    assert result.to_dict() == {
        "check": "text",
        "verdict": "reject",
        "findings": [{"check": "text", "code": "sensitive_words", "evidence": {"n": 0}}],
    }


def test_unknown_verdict_is_refused() -> None:
    with pytest.raises(ValueError, match="verdict"):
        CheckResult("text", "maybe", [])  # type: ignore[arg-type]
