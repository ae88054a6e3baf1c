"""Helpers of the sessions tests: a READY video with a duration, playback, heartbeats, the stream
recorder driven in-process, and a count of DynamoDB calls through botocore's event hooks."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session

from infra import spec
from infra.local import provision
from infra.local.emulator import StreamPoller, reset_function_caches
from tests.integration.conftest import Account, ApiCall, ApiResponse

HEARTBEAT = "/v1/sessions/{}/heartbeat"


def put_ready_video(account: Account, *, owner: str = "uploader-1", duration: float = 600.0) -> str:
    video_id = uuid.uuid4().hex
    account.client("dynamodb").put_item(
        TableName=account.resources.videos_table,
        Item={
            "video_id": {"S": video_id},
            "owner_sub": {"S": owner},
            "title": {"S": "A clip"},
            "status": {"S": "READY"},
            "attempt": {"N": "1"},
            "created_at": {"S": "2026-01-01T00:00:00Z"},
            "updated_at": {"S": "2026-01-01T00:00:00Z"},
            "upload_key": {"S": f"uploads/{video_id}/source"},
            "visibility": {"S": "public"},
            "duration_seconds": {"N": str(duration)},
        },
    )
    return video_id


def play(
    api: ApiCall, video_id: str, *, sub: str = "viewer-1", role: str = "viewer", **kwargs: Any
) -> ApiResponse:
    return api("POST", f"/v1/videos/{video_id}/playback", body={}, role=role, sub=sub, **kwargs)


def started(api: ApiCall, video_id: str, **kwargs: Any) -> dict[str, Any]:
    resp = play(api, video_id, **kwargs)
    assert resp.status == 200, resp.body
    return dict(resp.body)


def beat(
    api: ApiCall,
    session: dict[str, Any],
    *,
    state: str = "playing",
    position: float = 10.0,
    sequence: int | None = None,
    token: str | None = None,
    in_body: bool = False,
    content_type: str = "application/json",
    **extra: Any,
) -> ApiResponse:
    body: dict[str, Any] = {"state": state, "position_seconds": position, **extra}
    if sequence is not None:
        body["sequence"] = sequence
    secret = token if token is not None else session["session_token"]
    headers = {"content-type": content_type}
    if in_body:
        body["token"] = secret
    else:
        headers["authorization"] = f"Bearer {secret}"
    return api(
        "POST", HEARTBEAT.format(session["session_id"]), raw_body=json.dumps(body), role=None, headers=headers
    )


def stored_session(account: Account, session_id: str) -> dict[str, Any]:
    item = account.client("dynamodb").get_item(
        TableName=account.resources.sessions_table, Key={"pk": {"S": session_id}, "sk": {"S": "session"}}
    )["Item"]
    from functions.sessions.dal.sessions import plain_item

    return plain_item(item)


def recorder(account: Account) -> StreamPoller:
    stream = next(s for s in spec.TABLE_STREAMS if s.table == "sessions")
    return StreamPoller(
        stream,
        provision.table_names(account.resources)["sessions"],
        boto3.client("dynamodb", region_name=provision.REGION),
        boto3.client(
            "dynamodbstreams",
            region_name=provision.REGION,
            endpoint_url=f"https://streams.dynamodb.{provision.REGION}.amazonaws.com",
        ),
    )


@dataclass
class CallCount:
    calls: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.calls)

    def reset(self) -> None:
        self.calls.clear()


@contextlib.contextmanager
def counting_dynamodb_calls() -> Iterator[CallCount]:
    """Every DynamoDB call any client makes (boto3's and PynamoDB's), by a ``before-call`` hook
    registered on each client as it is created; the function caches are reset so that the
    platform's clients are created anew inside."""
    count = CallCount()
    original = botocore.session.Session.create_client

    def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        made = original(self, service_name, *args, **kwargs)
        if service_name == "dynamodb":
            made.meta.events.register(
                "before-call.dynamodb", lambda model, **_: count.calls.append(model.name)
            )
        return made

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    reset_function_caches()
    try:
        yield count
    finally:
        botocore.session.Session.create_client = original  # type: ignore[method-assign]
        reset_function_caches()
