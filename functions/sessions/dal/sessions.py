"""Data access for sessions, history entries and profile settings (functions/sessions/dal/tables.py).

The model (tables.py) declares the layout, which infra builds the table from; the calls here are
the low-level client's, because the heartbeat needs ``ReturnValuesOnConditionCheckFailure`` and an
update expression PynamoDB's action builder cannot write (``if_not_exists`` on the right of ``+``).

The heartbeat is one conditional UpdateItem and nothing else (``heartbeat``): no read before it.
Everything the heartbeat must check is in its condition, and when the condition fails DynamoDB
returns the stored item (``ReturnValuesOnConditionCheckFailure=ALL_OLD``) so that logic can say
why (404, 410, 400, 409) without a second call.

QoE accumulators (read back by functions/sessions/logic/qoe.py). An update expression cannot
branch on the stored state, so the time spent in a state is kept with ``if_not_exists``:

- ``q_tsum`` adds every heartbeat's time ``t``;
- for a tracked state Y (playing, buffering), ``q_a_<Y>`` adds ``if_not_exists(q_o_<Y>, t)``, where
  the marker ``q_o_<Y>`` exists (holding the time of the last heartbeat) only while the stored
  state is Y. It thus adds the previous heartbeat's time when the interval just ended was spent
  in Y and ``t`` otherwise, so ``time in Y = q_tsum - q_a_<Y>`` exactly, with each interval
  counted in the state the player was in during it;
- ``q_rb_inc`` (0 or 1) is what entering buffering now adds to ``q_rb_count``: 0 from buffering or
  before the first ``playing``, 1 after; ``q_played`` exists (=1) once the player played;
- at the first ``playing`` heartbeat, ``q_fp_*`` snapshot (set once) what the buffering time was
  before it, so that startup buffering is not counted as rebuffering.

The right-hand sides of an update expression read the item as it was before the update.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from functions.sessions.dal.tables import SESSION_SK, SETTINGS_SK, VIDEO_SK_PREFIX, VIEWER_PK_PREFIX
from functions.sessions.models import SessionState
from functions.shared.aws import client
from functions.shared.settings import get_settings

OPEN_SHARDS = 4  # the sweeper's index is spread over this many partitions
TRACKED = (SessionState.PLAYING, SessionState.BUFFERING)


def _table() -> str:
    return get_settings().sessions_table


def _ddb() -> Any:
    return client("dynamodb")


# -- low-level (de)serialisation of the few shapes the raw calls use ---------------------------
def _plain(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value -> Python (the item shapes this table stores)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return inner
    if kind == "N":
        number = float(inner)
        return (
            int(number) if number.is_integer() and "." not in inner and "e" not in inner.lower() else number
        )
    if kind == "BOOL":
        return bool(inner)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _plain(v) for k, v in inner.items()}
    if kind == "L":
        return [_plain(v) for v in inner]
    if kind == "SS":
        return set(inner)
    raise ValueError(f"unexpected attribute type {kind}")


def plain_item(item: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: _plain(v) for k, v in (item or {}).items()}


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, int | float):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): _value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_value(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__}")


def _session_key(session_id: str) -> dict[str, Any]:
    return {"pk": {"S": session_id}, "sk": {"S": SESSION_SK}}


def viewer_pk(viewer: str) -> str:
    return f"{VIEWER_PK_PREFIX}{viewer}"


def shard_of(session_id: str) -> str:
    return str(sum(session_id.encode()) % OPEN_SHARDS)


# -- sessions ----------------------------------------------------------------------------------
def create_session(item: Mapping[str, Any]) -> None:
    """Put a new session (its id is fresh: the condition only guards against a collision)."""
    _ddb().put_item(
        TableName=_table(),
        Item={k: _value(v) for k, v in item.items() if v is not None},
        ConditionExpression="attribute_not_exists(pk)",
    )


@dataclass(frozen=True)
class HeartbeatWrite:
    session_id: str
    token_hash: str
    state: SessionState
    allowed_from: frozenset[SessionState]
    position_seconds: float
    sequence: int | None
    now_ms: int
    now_iso: str
    silent_at_ms: int
    expires_ttl: int
    startup_time_ms: int | None = None
    error_code: str | None = None
    cmcd: Mapping[str, Any] | None = None


class HeartbeatRefused(Exception):
    """The heartbeat's condition failed; ``stored`` is the item as it is (empty: no such item)."""

    def __init__(self, stored: dict[str, Any]):
        super().__init__("heartbeat refused")
        self.stored = stored


def heartbeat(write: HeartbeatWrite) -> dict[str, Any]:
    """The heartbeat's one DynamoDB call; returns ``{"seq": <the session's sequence now>, ...}``."""
    names: dict[str, str] = {"#state": "state"}
    values: dict[str, Any] = {
        ":th": {"S": write.token_hash},
        ":state": {"S": write.state.value},
        ":pos": _value(float(write.position_seconds)),
        ":t": {"N": str(write.now_ms)},
        ":now_iso": {"S": write.now_iso},
        ":silent": {"N": str(write.silent_at_ms)},
        ":ttl": {"N": str(write.expires_ttl)},
        ":zero": {"N": "0"},
        ":one": {"N": "1"},
    }
    allowed = sorted(s.value for s in write.allowed_from)
    for i, state in enumerate(allowed):
        values[f":from{i}"] = {"S": state}
    condition = [
        "token_hash = :th",
        "attribute_not_exists(end_reason)",
        "silent_at_ms > :t",
        "max_position >= :pos",
        f"#state IN ({', '.join(f':from{i}' for i in range(len(allowed)))})",
    ]
    # Reads first (operands), then the writes: the right-hand sides see the item before the update.
    sets: list[str] = []
    removes: list[str] = []
    if write.sequence is None:
        sets.append("seq = seq + :one")
    else:
        values[":seq"] = {"N": str(write.sequence)}
        condition.append("seq < :seq")
        sets.append("seq = :seq")
    sets.append("q_tsum = q_tsum + :t")
    for tracked in TRACKED:
        sets.append(f"q_a_{tracked.value} = q_a_{tracked.value} + if_not_exists(q_o_{tracked.value}, :t)")
    if write.state is SessionState.PLAYING:
        # The first play: snapshot (set once) the buffering before it, and when it happened.
        sets += [
            "q_fp_tsum = if_not_exists(q_fp_tsum, q_tsum)",
            "q_fp_abuf = if_not_exists(q_fp_abuf, q_a_buffering)",
            "q_fp_last = if_not_exists(q_fp_last, last_seen_ms)",
            "q_fp_prevbuf = if_not_exists(q_fp_prevbuf, q_prevbuf)",
            "first_playing_ms = if_not_exists(first_playing_ms, :t)",
            "q_played = :one",
            "q_rb_inc = :one",
            "q_prevbuf = :zero",
        ]
    elif write.state is SessionState.BUFFERING:
        sets += ["q_rb_count = q_rb_count + q_rb_inc", "q_rb_inc = :zero", "q_prevbuf = :one"]
    elif write.state in (SessionState.PAUSED, SessionState.IDLE):
        sets += ["q_rb_inc = if_not_exists(q_played, :zero)", "q_prevbuf = :zero"]
    else:
        sets.append("q_prevbuf = :zero")
    for tracked in TRACKED:
        if tracked is write.state:
            sets.append(f"q_o_{tracked.value} = :t")
        else:
            removes.append(f"q_o_{tracked.value}")
    sets += [
        "#state = :state",
        "position_seconds = :pos",
        "last_seen_ms = :t",
        "last_seen_at = :now_iso",
        "expires_ttl = :ttl",
    ]
    if write.startup_time_ms is not None:
        values[":startup"] = {"N": str(write.startup_time_ms)}
        sets.append("startup_time_ms = if_not_exists(startup_time_ms, :startup)")
    if write.error_code is not None:
        values[":err"] = {"S": write.error_code}
        sets.append("error_code = :err")
    if write.cmcd:
        values[":cmcd"] = _value(dict(write.cmcd))
        sets.append("cmcd = :cmcd")
    if write.state in (SessionState.ENDED, SessionState.ERROR):
        values[":reason"] = {"S": write.state.value}
        sets += ["end_reason = :reason", "ended_at = :now_iso", "ended_ms = :t"]
        removes += ["open_user", "open_video", "open_shard", "silent_at_ms"]
    else:
        sets.append("silent_at_ms = :silent")
    expression = "SET " + ", ".join(sets)
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    conditions = " AND ".join(condition)
    # DynamoDB refuses values the expressions do not use: keep those that are.
    used = set(re.findall(r":\w+", expression + " " + conditions))
    try:
        response = _ddb().update_item(
            TableName=_table(),
            Key=_session_key(write.session_id),
            UpdateExpression=expression,
            ConditionExpression=conditions,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={k: v for k, v in values.items() if k in used},
            # The new sequence only when the server counted it (the player's own is known): every
            # attribute returned is serialised, and the heartbeat is the platform's busiest call.
            ReturnValues="NONE" if write.sequence is not None else "UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except _ddb().exceptions.ConditionalCheckFailedException as exc:
        raise HeartbeatRefused(plain_item(exc.response.get("Item"))) from None
    if write.sequence is not None:
        return {"seq": write.sequence}
    return plain_item(response.get("Attributes"))


def end_session(
    session_id: str, *, reason: str, now_ms: int, now_iso: str, only_silent_before: int | None
) -> bool:
    """End an open session (the sweeper: only if still silent; a takedown: whatever its state).
    False when it was already over (or has spoken since)."""
    condition = "attribute_exists(pk) AND attribute_not_exists(end_reason)"
    values: dict[str, Any] = {":reason": {"S": reason}, ":now": {"S": now_iso}, ":t": {"N": str(now_ms)}}
    if only_silent_before is not None:
        condition += " AND silent_at_ms <= :before"
        values[":before"] = {"N": str(only_silent_before)}
    try:
        _ddb().update_item(
            TableName=_table(),
            Key=_session_key(session_id),
            UpdateExpression=(
                "SET end_reason = :reason, ended_at = :now, ended_ms = :t "
                "REMOVE open_user, open_video, open_shard, silent_at_ms"
            ),
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
        )
    except _ddb().exceptions.ConditionalCheckFailedException:
        return False
    return True


def get_session(session_id: str) -> dict[str, Any] | None:
    item = _ddb().get_item(TableName=_table(), Key=_session_key(session_id), ConsistentRead=True).get("Item")
    return plain_item(item) if item else None


def _query(**kwargs: Any) -> Iterator[dict[str, Any]]:
    paginator = _ddb().get_paginator("query")
    for page in paginator.paginate(TableName=_table(), **kwargs):
        for item in page.get("Items", []):
            yield plain_item(item)


def open_sessions_of_user(user_id: str) -> list[dict[str, Any]]:
    return list(
        _query(
            IndexName="open-by-user",
            KeyConditionExpression="open_user = :u",
            ExpressionAttributeValues={":u": {"S": user_id}},
        )
    )


def open_sessions_of_video(video_id: str) -> list[dict[str, Any]]:
    return list(
        _query(
            IndexName="open-by-video",
            KeyConditionExpression="open_video = :v",
            ExpressionAttributeValues={":v": {"S": video_id}},
        )
    )


def silent_sessions(before_ms: int) -> Iterator[dict[str, Any]]:
    """Open sessions silent since before ``before_ms``, every shard."""
    for shard in range(OPEN_SHARDS):
        yield from _query(
            IndexName="open-by-shard",
            KeyConditionExpression="open_shard = :s AND silent_at_ms <= :b",
            ExpressionAttributeValues={":s": {"S": str(shard)}, ":b": {"N": str(before_ms)}},
        )


# -- history entries and settings ---------------------------------------------------------------
def _entry_key(viewer: str, video_id: str) -> dict[str, Any]:
    return {"pk": {"S": viewer_pk(viewer)}, "sk": {"S": f"{VIDEO_SK_PREFIX}{video_id}"}}


def _settings_key(viewer: str) -> dict[str, Any]:
    return {"pk": {"S": viewer_pk(viewer)}, "sk": {"S": SETTINGS_SK}}


def entry_and_settings(viewer: str, video_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The history entry of one video and the profile's settings: one BatchGetItem."""
    keys = [_entry_key(viewer, video_id), _settings_key(viewer)]
    response = _ddb().batch_get_item(RequestItems={_table(): {"Keys": keys, "ConsistentRead": True}})
    entry = settings = None
    for item in response.get("Responses", {}).get(_table(), []):
        plain = plain_item(item)
        if plain["sk"] == SETTINGS_SK:
            settings = plain
        else:
            entry = plain
    # Unprocessed keys (throttling) read as "no entry": resume at 0 rather than fail a playback.
    return entry, settings


def get_settings_item(viewer: str) -> dict[str, Any] | None:
    item = _ddb().get_item(TableName=_table(), Key=_settings_key(viewer), ConsistentRead=True).get("Item")
    return plain_item(item) if item else None


def put_settings(viewer: str, *, history_paused: bool) -> None:
    _ddb().update_item(
        TableName=_table(),
        Key=_settings_key(viewer),
        UpdateExpression="SET history_paused = :p",
        ExpressionAttributeValues={":p": {"BOOL": history_paused}},
    )


def upsert_entry(viewer: str, video_id: str, fields: Mapping[str, Any], *, watched_ms: int) -> bool:
    """Write a history entry unless a newer one is there (stream records may come twice or late).
    ``fields`` with a None value are removed (e.g. ``continue_viewer`` out of 5..95 %)."""
    sets, removes = [], []
    names: dict[str, str] = {}
    values: dict[str, Any] = {":ms": {"N": str(watched_ms)}}
    for i, (name, value) in enumerate(sorted({**fields, "watched_ms": watched_ms}.items())):
        names[f"#f{i}"] = name
        if value is None:
            removes.append(f"#f{i}")
        else:
            values[f":f{i}"] = _value(value)
            sets.append(f"#f{i} = :f{i}")
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    try:
        _ddb().update_item(
            TableName=_table(),
            Key=_entry_key(viewer, video_id),
            UpdateExpression=expression,
            ConditionExpression="attribute_not_exists(watched_ms) OR watched_ms <= :ms",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except _ddb().exceptions.ConditionalCheckFailedException:
        return False
    return True


def delete_entry(viewer: str, video_id: str) -> None:
    _ddb().delete_item(TableName=_table(), Key=_entry_key(viewer, video_id))


def delete_all_entries(viewer: str) -> int:
    keys = [
        {"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}}
        for item in _query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": viewer_pk(viewer)}, ":prefix": {"S": VIDEO_SK_PREFIX}},
            ProjectionExpression="pk, sk",
        )
    ]
    for start in range(0, len(keys), 25):
        batch = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
        pending: dict[str, Any] = {_table(): batch}
        while pending:
            pending = _ddb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(keys)


class InvalidPageCursor(ValueError):
    pass


def _encode_cursor(key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, *, index_hash: str, viewer: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidPageCursor("not a cursor of this listing") from None
    expected = {"pk", "sk", index_hash, "watched_at"}
    if (
        not isinstance(key, dict)
        or set(key) != expected
        or not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
        or key[index_hash]["S"] != viewer
        or key["pk"]["S"] != viewer_pk(viewer)
    ):
        raise InvalidPageCursor("not a cursor of this listing")
    return key


def entries_page(
    viewer: str, *, continue_only: bool, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a profile's entries, newest first: one Query."""
    index, attribute = (
        ("continue-watching", "continue_viewer") if continue_only else ("history", "history_viewer")
    )
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": index,
        "KeyConditionExpression": f"{attribute} = :v",
        "ExpressionAttributeValues": {":v": {"S": viewer}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if cursor:
        kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, index_hash=attribute, viewer=viewer)
    response = _ddb().query(**kwargs)
    items = [plain_item(item) for item in response.get("Items", [])]
    last = response.get("LastEvaluatedKey")
    return items, (_encode_cursor(last) if last else None)


__all__: Sequence[str] = (
    "HeartbeatRefused",
    "HeartbeatWrite",
    "InvalidPageCursor",
    "create_session",
    "delete_all_entries",
    "delete_entry",
    "end_session",
    "entries_page",
    "entry_and_settings",
    "get_session",
    "get_settings_item",
    "heartbeat",
    "open_sessions_of_user",
    "open_sessions_of_video",
    "plain_item",
    "put_settings",
    "silent_sessions",
    "upsert_entry",
    "viewer_pk",
)
