"""The CMCD collector: CloudFront real-time log records -> per-session counters in the QoE table.

On AWS the records come from the real-time log config on the media behaviours through a Kinesis
data stream; in the embedded mode the local edge writes the same records into the same stream
(infra/local/edge.py). A record is one viewer request (``functions.qoe.contract``).

A batch is aggregated per session first, so a player's dozens of segment requests cost one
UpdateItem per session per batch. Records that cannot be used (wrong field count, no session id,
a session id that is not one of ours) are dropped with a reason and counted, never raised: a bad
line from a viewer must not hold up the stream. Delivery is at least once (a batch whose write
failed is retried whole), so the counters may over-count a retried batch; they are telemetry.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from functions.qoe.contract import CMCD_FIELDS, parse_line
from functions.qoe.dal import sessions as dal
from functions.qoe.logic.cmcd import MEDIA_OBJECT_TYPES, Cmcd, parse_fields
from functions.qoe.models import SessionCmcd
from functions.shared.settings import get_settings

# The playback session id (the sessions domain's format) is what players send as CMCD ``sid``:
# anything else is not a session of this platform and is not stored.
SESSION_ID = re.compile(r"^ses_[A-Za-z0-9_-]{22,60}$")
VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_LINES_PER_RECORD = 500


@dataclass(frozen=True)
class Observation:
    """One request's CMCD, as the collector keeps it."""

    session_id: str
    video_id: str | None
    at: str | None  # ISO-8601 UTC of the request
    status: int | None
    cmcd: Cmcd


def add_observation(session: SessionCmcd, obs: Observation) -> None:
    """Count one request into the session's batch counters."""
    c = obs.cmcd
    session.requests += 1
    session.video_id = session.video_id or obs.video_id
    br = c.get_int("br")
    if c.get_str("ot") in MEDIA_OBJECT_TYPES:
        session.media_requests += 1
        if br is not None:
            session.bitrate_sum_kbps += br
            session.bitrate_samples += 1
    if br is not None:
        session.bitrates_kbps.add(br)
        session.last_bitrate_kbps = br
    tb = c.get_int("tb")
    if tb is not None:
        session.top_bitrate_kbps = max(tb, session.top_bitrate_kbps or 0)
    session.last_buffer_ms = c.get_int("bl") if c.get_int("bl") is not None else session.last_buffer_ms
    mtp = c.get_int("mtp")
    session.last_throughput_kbps = mtp if mtp is not None else session.last_throughput_kbps
    session.starvations += c.flag("bs")
    session.startup_requests += c.flag("su")
    session.errors += obs.status is not None and obs.status >= 400
    if obs.at:
        session.first_at = min(filter(None, (session.first_at, obs.at)))
        session.last_at = max(filter(None, (session.last_at, obs.at)))
    session.stream_type = c.get_str("st") or session.stream_type
    session.streaming_format = c.get_str("sf") or session.streaming_format


@dataclass
class Batch:
    sessions: dict[str, SessionCmcd] = field(default_factory=dict)
    records: int = 0
    dropped: Counter[str] = field(default_factory=Counter)


def _iso(timestamp: str | None) -> str | None:
    """CloudFront's ``timestamp`` (epoch seconds with milliseconds) as ISO-8601 UTC."""
    try:
        seconds = float(timestamp) if timestamp else None
    except ValueError:
        return None
    if seconds is None or not 0 < seconds < 10**11:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def observe(fields: Mapping[str, str]) -> Observation | str:
    """The observation of one parsed log record, or the reason it is dropped."""
    cmcd = parse_fields({CMCD_FIELDS[name]: value for name, value in fields.items() if name in CMCD_FIELDS})
    sid = cmcd.get_str("sid")
    if sid is None:
        return "no_session_id"
    if not SESSION_ID.match(sid):
        return "foreign_session_id"
    cid = cmcd.get_str("cid")
    status_text = fields.get("sc-status", "")
    if status_text == "403":
        # Refused by the signed-URL check: anyone can send such a request, so its sid proves
        # nothing, and counting it would let a stranger write into a session's record.
        return "refused_request"
    return Observation(
        session_id=sid,
        video_id=cid if cid and VIDEO_ID.match(cid) else None,
        at=_iso(fields.get("timestamp")),
        status=int(status_text) if status_text.isdigit() and len(status_text) == 3 else None,
        cmcd=cmcd,
    )


def aggregate(payloads: Iterable[bytes]) -> Batch:
    """Kinesis record payloads (each one or more log lines) -> the batch's per-session counters."""
    batch = Batch()
    for payload in payloads:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            batch.dropped["not_utf8"] += 1
            continue
        for line in text.splitlines()[:MAX_LINES_PER_RECORD]:
            if not line.strip():
                continue
            batch.records += 1
            fields = parse_line(line)
            if fields is None:
                batch.dropped["wrong_field_count"] += 1
                continue
            obs = observe(fields)
            if isinstance(obs, str):
                batch.dropped[obs] += 1
                continue
            add_observation(batch.sessions.setdefault(obs.session_id, SessionCmcd(obs.session_id)), obs)
    return batch


def retention_deadline() -> int:
    """When a session's QoE item expires (DynamoDB TTL): the configured retention from now."""
    return int(time.time()) + get_settings().qoe_retention_days * 86400


def collect(payloads: Iterable[bytes]) -> Batch:
    """Aggregate a batch and add it to the sessions' records (one write per session)."""
    batch = aggregate(payloads)
    expires_at = retention_deadline()
    for session in batch.sessions.values():
        dal.add_cmcd(session, expires_at=expires_at)
    return batch
