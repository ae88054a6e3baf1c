"""Priority classes against moto: creating with a class (and the refusals), the per-user cap, the
starter's routing of a class into its execution, and the per-class semaphore."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.pipeline.contracts import ExecutionStatusDetail
from functions.pipeline.logic import saga
from functions.shared.settings import get_settings
from functions.videos.dal import in_flight
from functions.videos.logic import lifecycle
from infra import spec
from infra.local.http_front import build_event, match_route
from infra.local.lambda_runtime import invoke
from tests.integration.conftest import Account, ApiResponse, sqs_event
from tests.integration.test_ingest import executions, s3_message, status

STARTER = spec.FUNCTIONS_BY_NAME["ingest-starter"]
ACQUIRE = spec.FUNCTIONS_BY_NAME["pipeline-acquire-slot"]


def call(
    account: Account,
    method: str,
    path: str,
    *,
    body: Any = None,
    groups: tuple[str, ...] = ("uploader",),
    sub: str = "user-1",
) -> ApiResponse:
    """The API as API Gateway calls it, for a caller in several Cognito groups (role + plan)."""
    found = match_route(method, path)
    assert found is not None
    compiled, params = found
    event = build_event(
        compiled=compiled,
        path_params=params,
        method=method,
        raw_path=path,
        query="",
        headers={"content-type": "application/json", "host": "api.example.test"},
        body=json.dumps(body).encode() if body is not None else b"",
        source_ip="203.0.113.9",
        claims=account.issuer.verify(account.issuer.issue(sub=sub, roles=list(groups))),
    )
    result, errored = invoke(spec.FUNCTIONS_BY_NAME[compiled.route.function], event)
    assert not errored, result
    return ApiResponse(
        status=result["statusCode"],
        headers={k.lower(): v for k, v in (result.get("headers") or {}).items()},
        body=json.loads(result["body"]) if result.get("body") else None,
    )


def create(
    account: Account, *, sub: str = "user-1", groups: tuple[str, ...] = ("uploader",), **extra: Any
) -> Any:
    return call(account, "POST", "/v1/videos", body={"title": "clip", **extra}, groups=groups, sub=sub)


def set_fields(account: Account, video_id: str, **fields: str) -> None:
    names = {f"#{k}": k for k in fields}
    account.client("dynamodb").update_item(
        TableName=account.resources.videos_table,
        Key={"video_id": {"S": video_id}},
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{k}": {"S": v} for k, v in fields.items()},
    )


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- creating with a class ------------------------------------------------------------------------
def test_a_plan_member_creates_a_priority_video_that_uploads_under_its_own_prefix(account: Account) -> None:
    # When a member of the priority plan asks for the priority class
    resp = create(account, groups=("uploader", "priority"), priority_class="priority")
    # Then the video is created in that class, with an upload URL under the class's prefix
    assert resp.status == 201, resp.body
    video_id = resp.body["id"]
    assert resp.body["priority_class"] == "priority"
    assert f"/uploads-priority/{video_id}/source" in resp.body["upload"]["url"]
    item = status(account, video_id)
    assert item["priority_class"]["S"] == "priority"
    assert item["upload_key"]["S"] == f"uploads-priority/{video_id}/source"
    # And the video view shows the class
    shown = call(account, "GET", f"/v1/videos/{video_id}", groups=("uploader",))
    assert shown.body["priority_class"] == "priority"


def test_without_a_class_a_video_is_standard_under_the_original_prefix(account: Account) -> None:
    resp = create(account, groups=("uploader", "priority"))
    assert resp.status == 201
    assert resp.body["priority_class"] == "standard"
    assert f"/uploads/{resp.body['id']}/source" in resp.body["upload"]["url"]


def test_admins_may_use_the_priority_class(account: Account) -> None:
    resp = create(account, groups=("admin",), priority_class="priority")
    assert resp.status == 201, resp.body
    assert resp.body["priority_class"] == "priority"


def test_priority_without_the_plan_is_403_and_writes_nothing(account: Account) -> None:
    # When an uploader outside the plan asks for priority
    resp = create(account, groups=("uploader",), priority_class="priority")
    # Then it is refused with a clear code, not silently downgraded, and no video exists
    assert resp.status == 403
    assert resp.body["error"]["code"] == "priority_not_granted"
    assert account.client("dynamodb").scan(TableName=account.resources.videos_table)["Count"] == 0


def test_an_unknown_class_is_422_on_the_field(account: Account) -> None:
    resp = create(account, groups=("admin",), priority_class="platinum")
    assert resp.status == 422
    assert resp.body["error"]["code"] == "validation_failed"
    assert [d["field"] for d in resp.body["error"]["details"]] == ["priority_class"]


# -- the per-user cap -----------------------------------------------------------------------------
@pytest.fixture
def at_the_cap(account: Account) -> list[str]:
    """The caller's videos created up to the cap (AWAITING_UPLOAD, upload URL still valid)."""
    cap = get_settings().max_active_uploads_per_user
    ids = []
    for _ in range(cap):
        resp = create(account)
        assert resp.status == 201, resp.body
        ids.append(resp.body["id"])
    return ids


def test_past_the_cap_create_is_429_with_retry_after(account: Account, at_the_cap: list[str]) -> None:
    # When the caller creates one more
    resp = create(account)
    # Then it is refused with 429, a Retry-After header and the limit
    assert resp.status == 429
    assert resp.body["error"]["code"] == "too_many_active_uploads"
    assert resp.body["error"]["details"] == {"limit": len(at_the_cap), "retry_after_seconds": 30}
    assert resp.headers["retry-after"] == "30"
    videos = account.client("dynamodb").scan(TableName=account.resources.videos_table)["Items"]
    assert len([v for v in videos if "status" in v]) == len(at_the_cap)
    # And the cap is per user: somebody else may still create
    assert create(account, sub="user-2").status == 201


def test_twenty_concurrent_creates_get_exactly_the_cap(account: Account) -> None:
    # When one user sends 20 creates at once
    cap = get_settings().max_active_uploads_per_user
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: create(account).status, range(20)))
    # Then exactly the cap is accepted and the rest are 429 (the counter is conditional)
    assert sorted(statuses) == [201] * cap + [429] * (20 - cap)
    assert len(in_flight.holders("user-1")) == cap


def test_settled_videos_give_their_place_back_once(account: Account, at_the_cap: list[str]) -> None:
    # Given the cap reached, one video uploaded and in the pipeline
    assert create(account).status == 429
    lifecycle.mark_uploaded(at_the_cap[0], upload_version="v1", execution_name="e1", attempt=1, size_bytes=9)
    assert create(account).status == 429
    # When it FAILS (compensation), and the safety net records the same failure again
    lifecycle.record_failure(at_the_cap[0], reason="transcode_failed", message="x")
    assert not in_flight.give_back("user-1", at_the_cap[0])  # a repeat gives nothing back twice
    # Then there is room for exactly one more
    assert create(account).status == 201
    assert create(account).status == 429
    # And a retry re-entering the pipeline holds a place again (past the cap: it never fails)
    lifecycle.rerun_after_failure(at_the_cap[0], expected_attempt=1, attempt=2, execution_name="e2")
    assert len(in_flight.holders("user-1")) == len(at_the_cap) + 1
    # and settling again gives that place back once
    lifecycle.record_failure(at_the_cap[0], reason="transcode_failed", message="x")
    assert len(in_flight.holders("user-1")) == len(at_the_cap)
    assert create(account).status == 429
    assert all(at >= 0 for at in in_flight.holders("user-1").values())


def test_an_awaiting_upload_video_counts_only_until_its_upload_url_expires(
    account: Account, at_the_cap: list[str]
) -> None:
    # Given the oldest video's URL has just expired unused
    expire(account, "user-1", at_the_cap[0], int(datetime.now(UTC).timestamp()) - 1)
    # Then it no longer counts
    assert create(account).status == 201
    assert at_the_cap[0] not in in_flight.holders("user-1")
    # But one whose URL is about to expire still does
    expire(account, "user-1", at_the_cap[1], int(datetime.now(UTC).timestamp()) + 60)
    assert create(account).status == 429


def expire(account: Account, sub: str, video_id: str, at: int) -> None:
    account.client("dynamodb").update_item(
        TableName=account.resources.videos_table,
        Key={"video_id": {"S": f"IN_FLIGHT#{sub}"}},
        UpdateExpression="SET holders.#v = :at",
        ExpressionAttributeNames={"#v": video_id},
        ExpressionAttributeValues={":at": {"N": str(at)}},
    )


# -- the starter ----------------------------------------------------------------------------------
def _start(account: Account, video_id: str) -> dict[str, Any]:
    key = status(account, video_id)["upload_key"]["S"]
    result, errored = invoke(STARTER, sqs_event(s3_message(account.resources.upload_bucket, key)))
    assert not errored and result == {"batchItemFailures": []}, result
    [execution] = [e for e in executions(account) if e["name"].startswith(video_id)]
    described = account.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    payload: dict[str, Any] = json.loads(described["input"])
    return payload


def test_the_starter_passes_the_class_to_the_execution_and_shows_the_video_queued(account: Account) -> None:
    # Given a priority video and a standard one, both uploaded
    fast = create(account, groups=("uploader", "priority"), priority_class="priority").body["id"]
    slow = create(account).body["id"]
    # When the starter handles their S3 notifications
    fast_input, slow_input = _start(account, fast), _start(account, slow)
    # Then each execution knows its class (AcquireSlot takes a slot of that class's budget)
    assert fast_input["priority_class"] == "priority"
    assert slow_input["priority_class"] == "standard"
    # And each video is UPLOADED and queued until its execution gets a slot
    view = call(account, "GET", f"/v1/videos/{fast}").body
    assert (view["status"], view["progress"], view["priority_class"]) == (
        "UPLOADED",
        {"stage": "queued", "percent": 0},
        "priority",
    )


def test_a_video_created_before_the_classes_is_started_as_standard(account: Account) -> None:
    # Given a record as the API wrote it before classes existed: no class, the original key layout
    video_id = "c" * 32
    now = iso(datetime.now(UTC))
    account.client("dynamodb").put_item(
        TableName=account.resources.videos_table,
        Item={
            "video_id": {"S": video_id},
            "owner_sub": {"S": "user-1"},
            "title": {"S": "old"},
            "status": {"S": "AWAITING_UPLOAD"},
            "created_at": {"S": now},
            "updated_at": {"S": now},
            "upload_key": {"S": f"uploads/{video_id}/source"},
        },
    )
    # Then its upload starts a standard execution, and the view says standard
    assert _start(account, video_id)["priority_class"] == "standard"
    assert call(account, "GET", f"/v1/videos/{video_id}").body["priority_class"] == "standard"


# -- the semaphore --------------------------------------------------------------------------------
@pytest.fixture
def budget_of_one(account: Account, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PIPELINE_BUDGET_STANDARD", "1")
    monkeypatch.setenv("PIPELINE_BUDGET_PRIORITY", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def acquire(execution: str, priority_class: str = "standard") -> tuple[dict[str, Any], bool]:
    """AcquireSlot's function, invoked as the state machine invokes it."""
    result, errored = invoke(
        ACQUIRE, {"video_id": "v" * 32, "priority_class": priority_class, "execution": execution}
    )
    return result, errored


def holders(account: Account, priority_class: str) -> set[str]:
    item = (
        account.client("dynamodb")
        .get_item(
            TableName=account.resources.platform_table,
            Key={"pk": {"S": f"SLOTS#{priority_class}"}, "sk": {"S": "HOLDERS"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return set(item["holders"]["M"]) if item else set()


def test_a_budget_of_one_admits_one_execution_until_it_gives_its_slot_back(
    account: Account, budget_of_one: None
) -> None:
    # Given one execution holds the only standard slot
    assert acquire("exec-a") == ({"priority_class": "standard", "budget": 1, "held": 1}, False)
    # When a second one asks, it gets SlotUnavailable: the error AcquireSlot's Retry waits on
    result, errored = acquire("exec-b")
    assert errored
    assert result["errorType"] == "SlotUnavailable"
    assert result["errorMessage"].startswith("queue_timeout: all 1 pipeline slots of the standard class")
    # And the holder asking again (a retried invocation) keeps its slot without taking a second
    assert acquire("exec-a") == ({"priority_class": "standard", "budget": 1, "held": 1}, False)
    assert holders(account, "standard") == {"exec-a"}
    # When the holder gives it back (twice: every ending is idempotent)
    assert saga.slots.release("exec-a", None) is True
    assert saga.slots.release("exec-a", None) is False
    # Then the waiting one gets it
    assert acquire("exec-b")[1] is False
    assert holders(account, "standard") == {"exec-b"}


def test_a_full_standard_budget_does_not_hold_back_priority(account: Account, budget_of_one: None) -> None:
    assert not acquire("std-1")[1]
    assert acquire("std-2")[1]
    assert acquire("pri-1", "priority") == ({"priority_class": "priority", "budget": 1, "held": 1}, False)
    assert holders(account, "standard") == {"std-1"}
    assert holders(account, "priority") == {"pri-1"}


def test_compensation_and_the_safety_net_give_the_slot_back(account: Account, budget_of_one: None) -> None:
    # Given two videos whose executions hold the standard and the priority slot
    std = create(account).body["id"]
    pri = create(account, groups=("admin",), priority_class="priority").body["id"]
    set_fields(account, std, execution_name="std-exec")
    set_fields(account, pri, execution_name="pri-exec")
    assert not acquire("std-exec")[1]
    assert not acquire("pri-exec", "priority")[1]
    # When the standard one is compensated, twice (the state retries it)
    for _ in range(2):
        saga.compensate(video_id=std, failed_step="probe", error=None, execution="std-exec")
    # And the priority one ends without its Catch (the safety net's status-change event)
    detail = ExecutionStatusDetail(name="pri-exec", status="ABORTED", input=json.dumps({"video_id": pri}))
    saga.execution_failed(detail)
    saga.execution_failed(detail)
    # Then both slots are free again
    assert holders(account, "standard") == set()
    assert holders(account, "priority") == set()
    assert status(account, std)["status"]["S"] == "FAILED"


def test_a_superseded_execution_still_gives_its_own_slot_back(account: Account, budget_of_one: None) -> None:
    # Given a retry has started a newer attempt, which holds no slot yet, while the old one held one
    video_id = create(account).body["id"]
    set_fields(account, video_id, execution_name="attempt-2")
    assert not acquire("attempt-1")[1]
    # When the old attempt's compensation runs
    saga.compensate(video_id=video_id, failed_step="probe", error=None, execution="attempt-1")
    # Then its slot is free, and the newer attempt's video was not touched
    assert holders(account, "standard") == set()
    assert status(account, video_id)["status"]["S"] == "AWAITING_UPLOAD"
