"""The outcome of one moderation check, and how the checks' outcomes add up to one decision.

Every check (text, frames, copyright) returns a :class:`CheckResult`; the saga combines them
with :func:`combine`: any "reject" rejects, otherwise any "review" sends the video to a human,
otherwise it passes. Everything here is plain JSON once ``to_dict``-ed, because results travel
between Step Functions states.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

Verdict = Literal["pass", "review", "reject"]

_RANK: dict[str, int] = {"pass": 0, "review": 1, "reject": 2}


@dataclass(frozen=True)
class Finding:
    check: str  # "text", "frames", "copyright"
    code: str  # stable machine-readable reason, e.g. "sensitive_words"
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "code": self.code, "evidence": self.evidence}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        evidence = dict(data.get("evidence") or {})
        return cls(check=str(data["check"]), code=str(data["code"]), evidence=evidence)


@dataclass(frozen=True)
class CheckResult:
    check: str
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.verdict not in _RANK:
            raise ValueError(f"unknown verdict {self.verdict!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "verdict": self.verdict,
            "findings": [finding.to_dict() for finding in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        verdict = str(data["verdict"])
        if verdict not in _RANK:
            raise ValueError(f"unknown verdict {verdict!r}")
        return cls(
            check=str(data["check"]),
            verdict=cast(Verdict, verdict),
            findings=[Finding.from_dict(f) for f in data.get("findings") or []],
        )


def combine(results: Iterable[CheckResult]) -> tuple[Verdict, list[dict[str, Any]]]:
    """The overall verdict (reject beats review beats pass) and every finding of every check
    that did not pass, as ``{"check", "code", "evidence"}`` dicts, in the order given (a check
    that did not pass without saying why still yields one reason, coded with its verdict)."""
    overall: Verdict = "pass"
    reasons: list[dict[str, Any]] = []
    for result in results:
        if _RANK[result.verdict] > _RANK[overall]:
            overall = result.verdict
        if result.verdict == "pass":
            continue
        if result.findings:
            reasons.extend(finding.to_dict() for finding in result.findings)
        else:  # a "no" always comes with at least one reason
            reasons.append({"check": result.check, "code": result.verdict, "evidence": {}})
    return overall, reasons
