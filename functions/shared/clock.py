"""The platform's one timestamp format: UTC, milliseconds, ``Z`` (``2026-01-31T12:00:00.000Z``).

Every record stores its times in this shape, so that the strings sort and compare as times
(``created_at`` sort keys, ``updated_at`` index ranges, a video's ``uploaded_at``).
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """``moment`` (timezone-aware) in the platform's format."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(UTC))
