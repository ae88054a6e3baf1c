"""Common Media Client Data (CTA-5004, CMCD v1): the parser for what players send.

Players send CMCD on every playlist and segment request, in one of two modes:

- **query-argument mode** (hls.js ``cmcd: {useHeaders: false}``; no CORS preflight): one query
  argument ``CMCD=`` whose value is the URL-encoded payload, e.g. ``CMCD=bl%3D21300%2Cbr%3D3200%2C
  ...``; the payload is comma-separated ``key=value`` pairs, sorted by key;
- **header mode**: the same pairs spread over four headers, ``CMCD-Request``, ``CMCD-Object``,
  ``CMCD-Status`` and ``CMCD-Session``.

Values follow Structured Field Values (RFC 8941) as CTA-5004 uses them: strings in double quotes
(``sid="ses_..."``), tokens bare (``ot=v``, ``sf=h``, ``st=v``), integers and decimals bare, and a
true boolean as the bare key (``bs``, ``su``; ``bs=?0`` or a missing key is false).

Everything here comes from a viewer: the parser never raises. A pair it cannot use (unknown key,
wrong type, out of range, too long) is dropped with a reason, and the rest is kept. Sizes are
bounded: the whole payload, every string, every number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote

CMCD_PARAM = "CMCD"
HEADER_NAMES = ("CMCD-Request", "CMCD-Object", "CMCD-Status", "CMCD-Session")
# A payload carries at most 18 keys; the longest, ``nor``, is a relative URL. 4 KiB is more than
# any player sends (hls.js 1.6: ~700 characters with a signed ``nor``) and bounds the work.
MAX_PAYLOAD_CHARS = 4096
# CTA-5004: ``sid`` and ``cid`` are at most 64 characters.
MAX_ID_CHARS = 64
MAX_NOR_CHARS = 2048
MAX_INT = 10**12  # kbps, ms: a trillion is no real value
MAX_PLAYBACK_RATE = 100.0
MAX_DROPPED = 32  # reasons kept per payload

Kind = Literal["int", "string", "token", "boolean", "decimal"]

# The CTA-5004 v1 key vocabulary and each key's type.
KEYS: dict[str, Kind] = {
    "br": "int",  # encoded bitrate, kbps
    "bl": "int",  # buffer length, ms (rounded to 100 ms)
    "bs": "boolean",  # buffer starvation since the last request
    "cid": "string",  # content id (here: the video id)
    "d": "int",  # object duration, ms
    "dl": "int",  # deadline, ms
    "mtp": "int",  # measured throughput, kbps
    "nor": "string",  # next object request (relative URL)
    "nrr": "string",  # next range request ("<start>-<end>")
    "ot": "token",  # object type
    "pr": "decimal",  # playback rate (1 is not sent)
    "rtp": "int",  # requested maximum throughput, kbps
    "sf": "token",  # streaming format
    "sid": "string",  # session id (here: the playback session's id)
    "st": "token",  # stream type
    "su": "boolean",  # startup: the object is needed urgently (start, seek, recovery)
    "tb": "int",  # top bitrate, kbps
    "v": "int",  # version (1 is not sent)
}
TOKENS: dict[str, frozenset[str]] = {
    "ot": frozenset({"m", "a", "v", "av", "i", "c", "tt", "k", "o"}),
    "sf": frozenset({"d", "h", "s", "o"}),
    "st": frozenset({"v", "l"}),
}
MEDIA_OBJECT_TYPES = frozenset({"a", "v", "av"})

_KEY = re.compile(r"^[a-z][a-z0-9_.*-]*$")
_INT = re.compile(r"^-?\d{1,15}$")
_DECIMAL = re.compile(r"^-?\d{1,12}(\.\d{1,3})?$")
_NRR = re.compile(r"^\d{0,15}-\d{0,15}$")

Value = str | int | float | bool


@dataclass(frozen=True)
class Dropped:
    key: str
    reason: str


@dataclass(frozen=True)
class Cmcd:
    """The pairs kept (``values``, by CMCD key) and those dropped, each with its reason."""

    values: dict[str, Value] = field(default_factory=dict)
    dropped: tuple[Dropped, ...] = ()

    def get_int(self, key: str) -> int | None:
        value = self.values.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def get_str(self, key: str) -> str | None:
        value = self.values.get(key)
        return value if isinstance(value, str) else None

    def flag(self, key: str) -> bool:
        return self.values.get(key) is True


def _split_pairs(payload: str) -> list[str]:
    """Split on commas outside double-quoted strings (a quoted value may hold a comma)."""
    pairs, current, quoted, escaped = [], [], False, False
    for char in payload:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char == "," and not quoted:
            pairs.append("".join(current))
            current = []
        else:
            current.append(char)
    pairs.append("".join(current))
    return [p.strip() for p in pairs if p.strip()]


def _unquote_string(raw: str) -> str | None:
    if len(raw) < 2 or not (raw.startswith('"') and raw.endswith('"')):
        return None
    out, escaped = [], False
    for char in raw[1:-1]:
        if escaped:
            if char not in '"\\':
                return None
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return None
        else:
            out.append(char)
    return None if escaped else "".join(out)


def _value(key: str, raw: str | None, kind: Kind) -> Value | str:
    """The typed value, or a reason string prefixed with ``!`` (kept apart from str values)."""
    if kind == "boolean":
        if raw is None or raw in ("?1", "true"):
            return True
        if raw in ("?0", "false"):
            return False
        return "!not_a_boolean"
    if raw is None:
        return "!missing_value"
    if kind == "int":
        if not _INT.match(raw):
            return "!not_an_integer"
        number = int(raw)
        return number if 0 <= number <= MAX_INT else "!out_of_range"
    if kind == "decimal":
        if not _DECIMAL.match(raw):
            return "!not_a_decimal"
        decimal = float(raw)
        return decimal if 0 <= decimal <= MAX_PLAYBACK_RATE else "!out_of_range"
    if kind == "token":
        return raw if raw in TOKENS[key] else "!unknown_token"
    text = _unquote_string(raw)
    if text is None:
        return "!not_a_string"
    limit = MAX_NOR_CHARS if key == "nor" else MAX_ID_CHARS
    if len(text) > limit:
        return "!too_long"
    if not text.isprintable():
        return "!control_characters"
    if key == "nrr" and not _NRR.match(text):
        return "!not_a_range"
    if key == "nor":
        text = unquote(text)
    return text


def parse_payload(payload: str) -> Cmcd:
    """One CMCD payload (already URL-decoded): ``bl=21300,br=3200,cid="v1",ot=v,su``."""
    if len(payload) > MAX_PAYLOAD_CHARS:
        return Cmcd(dropped=(Dropped("*", "payload_too_long"),))
    values: dict[str, Value] = {}
    dropped: list[Dropped] = []

    def drop(key: str, reason: str) -> None:
        if len(dropped) < MAX_DROPPED:
            dropped.append(Dropped(key[:32], reason))

    for pair in _split_pairs(payload):
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not _KEY.match(key):
            drop(key, "malformed_key")
            continue
        kind = KEYS.get(key)
        if kind is None:
            drop(key, "unknown_key")  # custom keys (with a hyphen) and CMCD v2 keys are not used here
            continue
        if key in values:
            drop(key, "duplicate_key")
            continue
        value = _value(key, raw.strip() if sep else None, kind)
        if isinstance(value, str) and value.startswith("!"):
            drop(key, value[1:])
            continue
        if value is False:
            continue  # a false boolean says nothing a missing key does not
        values[key] = value
    return Cmcd(values=values, dropped=tuple(dropped))


def parse_query(query: str) -> Cmcd | None:
    """The ``CMCD`` argument of a raw URL query string (``a=1&CMCD=bl%3D...``); None without one."""
    if len(query) > 4 * MAX_PAYLOAD_CHARS:
        return Cmcd(dropped=(Dropped("*", "query_too_long"),))
    found = [value for key, value in parse_qsl(query, keep_blank_values=True) if key == CMCD_PARAM]
    if not found:
        return None
    if len(found) > 1:
        return Cmcd(dropped=(Dropped("*", "several_cmcd_arguments"),))
    return parse_payload(found[0])


def parse_headers(headers: Mapping[str, str]) -> Cmcd | None:
    """Header mode: the four ``CMCD-*`` headers (any case) merged; None when none is present."""
    lowered = {k.lower(): v for k, v in headers.items()}
    shards = [lowered[name.lower()] for name in HEADER_NAMES if name.lower() in lowered]
    if not shards:
        return None
    if sum(len(s) for s in shards) > MAX_PAYLOAD_CHARS:
        return Cmcd(dropped=(Dropped("*", "payload_too_long"),))
    return parse_payload(",".join(s for s in shards if s.strip()))


def encode_payload(values: Mapping[str, Value]) -> str:
    """The payload for ``values`` as CTA-5004 writes it (keys sorted; tests and the local tools)."""
    parts = []
    for key in sorted(values):
        value = values[key]
        kind = KEYS.get(key)
        if value is True:
            parts.append(key)
        elif value is False or value is None:
            continue
        elif kind == "string":
            escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'{key}="{escaped}"')
        else:
            parts.append(f"{key}={value}")
    return ",".join(parts)


def parse_fields(fields: Mapping[str, str]) -> Cmcd:
    """CMCD already split by key, as CloudFront's real-time log ``cmcd-*`` fields carry it: strings
    without their quotes, booleans as ``true``. Checked against the same vocabulary and bounds."""
    values: dict[str, Value] = {}
    dropped: list[Dropped] = []
    for key, text in list(fields.items())[: len(KEYS) + 1]:
        kind = KEYS.get(key)
        if kind is None:
            dropped.append(Dropped(key[:32], "unknown_key"))
            continue
        raw = text.strip()
        if kind == "string":
            raw = '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif kind == "boolean" and raw == "1":
            raw = "true"
        elif kind == "boolean" and raw == "0":
            raw = "false"
        value = _value(key, raw, kind)
        if isinstance(value, str) and value.startswith("!"):
            dropped.append(Dropped(key, value[1:]))
        elif value is not False:
            values[key] = value
    return Cmcd(values=values, dropped=tuple(dropped))
