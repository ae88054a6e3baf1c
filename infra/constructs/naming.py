"""Construct ids from the spec's kebab-case names."""

from __future__ import annotations

import re


def construct_id(name: str) -> str:
    """``"pipeline-safety-net"`` -> ``"PipelineSafetyNet"``;
    ``"GET /v1/videos/{proxy+}"`` -> ``"GetV1VideosProxy"``."""
    return "".join(part[:1].upper() + part[1:].lower() for part in re.split(r"[^A-Za-z0-9]+", name) if part)
