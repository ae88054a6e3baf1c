"""Priority classes: the class table, who may use a class, the wiring derived from the table, the
AcquireSlot state, and the semaphore's logic (against an in-memory stand-in for its table)."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest

from functions.pipeline.logic import slots
from functions.shared.auth import PLANS, Principal, principal_from_event
from functions.shared.errors import Forbidden, TooManyRequests, parse_step_error
from functions.shared.keys import upload_key, video_id_from_upload_key
from functions.shared.settings import PIPELINE_OUTSIDE_REVIEW_SECONDS, Settings
from functions.videos.logic import active_uploads, priority
from functions.videos.models import CreateVideoRequest, PriorityClassName
from infra import spec

VIDEO_ID = "ab" * 16


def _claims(groups: str) -> dict[str, Any]:
    return {"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "u1", "cognito:groups": groups}}}}}


# -- the class table ------------------------------------------------------------------------------
def test_the_api_offers_exactly_the_classes_of_the_table() -> None:
    assert set(get_args(PriorityClassName)) == set(priority.BY_NAME)
    assert priority.DEFAULT is priority.STANDARD
    assert CreateVideoRequest(title="t").priority_class is None


@pytest.mark.parametrize("chosen", priority.CLASSES, ids=lambda c: c.name)
def test_each_class_has_its_own_prefix_queue_budget_and_starter_share(chosen: priority.PriorityClass) -> None:
    # Its uploads' keys name the video (the starter finds the record from the key)
    key = upload_key(VIDEO_ID, chosen.upload_prefix)
    assert key.startswith(chosen.upload_prefix)
    assert video_id_from_upload_key(key) == VIDEO_ID
    # Its budget is a setting, and the event source mapping accepts its starter concurrency
    assert chosen.budget(Settings()) >= 1
    assert 2 <= chosen.starter_concurrency <= 1000


def test_the_classes_do_not_share_prefixes_or_queues() -> None:
    prefixes = [c.upload_prefix for c in priority.CLASSES]
    # S3 refuses two notification filters of one event type whose prefixes overlap
    assert not [(a, b) for a in prefixes for b in prefixes if a != b and b.startswith(a)]
    assert len({c.queue for c in priority.CLASSES}) == len(priority.CLASSES)


def test_uploads_from_before_the_classes_keep_their_layout_and_class() -> None:
    # Given a video created before priority classes: key uploads/<id>/source, no class on the record
    assert upload_key(VIDEO_ID) == f"uploads/{VIDEO_ID}/source"
    assert priority.STANDARD.upload_prefix == "uploads/"
    assert priority.class_of(None) is priority.STANDARD
    # Other layouts are still refused
    assert video_id_from_upload_key(f"uploads-Priority/{VIDEO_ID}/source") is None
    assert video_id_from_upload_key(f"uploads-priority/{VIDEO_ID}/other") is None


def test_budgets_come_from_the_settings() -> None:
    settings = Settings(PIPELINE_BUDGET_STANDARD=3, PIPELINE_BUDGET_PRIORITY=7)  # type: ignore[call-arg]
    assert priority.STANDARD.budget(settings) == 3
    assert priority.PRIORITY.budget(settings) == 7


def test_an_unknown_stored_class_is_an_error_not_a_silent_default() -> None:
    with pytest.raises(ValueError, match="unknown priority class"):
        priority.class_of("platinum")


# -- who may use a class --------------------------------------------------------------------------
def test_the_priority_group_is_a_plan_and_admins_hold_every_plan() -> None:
    member = principal_from_event(_claims("[uploader priority]"))
    assert member.roles == {"uploader"}
    assert member.plans == {"priority"}
    assert principal_from_event(_claims("[admin]")).plans == set(PLANS)
    assert principal_from_event(_claims("[uploader]")).plans == frozenset()


@pytest.mark.parametrize(
    ("groups", "requested", "expected"),
    [
        ("[uploader]", None, "standard"),
        ("[uploader]", "standard", "standard"),
        ("[uploader priority]", "priority", "priority"),
        ("[uploader priority]", None, "standard"),  # the plan allows priority; it does not impose it
        ("[admin]", "priority", "priority"),
    ],
)
def test_a_class_is_granted_to_plan_members_and_admins(
    groups: str, requested: str | None, expected: str
) -> None:
    assert priority.resolve(principal_from_event(_claims(groups)), requested).name == expected


def test_asking_for_priority_without_the_plan_is_refused_not_downgraded() -> None:
    uploader = Principal(sub="u1", roles=frozenset({"uploader"}))
    with pytest.raises(Forbidden) as refused:
        priority.resolve(uploader, "priority")
    assert refused.value.code == "priority_not_granted"
    assert refused.value.status == 403


# -- wiring derived from the table ----------------------------------------------------------------
@pytest.mark.parametrize("chosen", priority.CLASSES, ids=lambda c: c.name)
def test_spec_gives_each_class_a_queue_consumed_by_the_starter_and_a_notification(
    chosen: priority.PriorityClass,
) -> None:
    [queue] = [q for q in spec.QUEUES if q.name == chosen.queue]
    assert queue.consumer == "ingest-starter"
    assert queue.max_concurrency == chosen.starter_concurrency
    [notification] = [n for n in spec.BUCKET_NOTIFICATIONS if n.prefix == chosen.upload_prefix]
    assert (notification.bucket, notification.queue) == ("upload_bucket", chosen.queue)


def test_no_two_upload_bucket_notifications_overlap() -> None:
    prefixes = [n.prefix for n in spec.BUCKET_NOTIFICATIONS if n.bucket == "upload_bucket"]
    assert not [(a, b) for a in prefixes for b in prefixes if a != b and b.startswith(a)]


def test_the_functions_that_end_executions_may_give_slots_back() -> None:
    for name in ("pipeline-acquire-slot", "pipeline-publish", "pipeline-compensate", "pipeline-safety-net"):
        fn = spec.FUNCTIONS_BY_NAME[name]
        assert "PLATFORM_TABLE" in fn.env, name
        assert fn.grants.get("platform_table") == spec.READ_WRITE, name


def test_the_user_cap_window_covers_the_whole_pipeline_timeout() -> None:
    [machine] = [m for m in spec.STATE_MACHINES if m.name == "media-pipeline"]
    assert machine.timeout_s == active_uploads.PIPELINE_TIMEOUT_S


# -- the AcquireSlot state ------------------------------------------------------------------------
def _pipeline() -> dict[str, Any]:
    [machine] = [m for m in spec.STATE_MACHINES if m.name == "media-pipeline"]
    definition: dict[str, Any] = json.loads(machine.path.read_text())
    return definition


def test_every_execution_starts_by_taking_a_slot_then_probes() -> None:
    definition = _pipeline()
    acquire = definition["States"]["AcquireSlot"]
    assert definition["StartAt"] == "AcquireSlot"
    assert acquire["Next"] == "Probe"
    assert acquire["Parameters"] == {
        "video_id.$": "$.video_id",
        "priority_class.$": "$.priority_class",
        "execution.$": "$$.Execution.Name",
    }
    assert acquire["ResultPath"] == "$.slot"  # the execution's input stays as the later steps expect it


def test_a_busy_budget_is_waited_out_with_jittered_capped_backoff() -> None:
    definition = _pipeline()
    [wait, transient] = definition["States"]["AcquireSlot"]["Retry"]
    assert wait["ErrorEquals"] == [slots.SlotUnavailable.__name__]
    assert wait["JitterStrategy"] == "FULL"
    assert wait["MaxDelaySeconds"] <= 30  # a freed slot is noticed within this
    # The queue gives up by itself (queue_timeout, through the Catch) after about 3 h (full jitter
    # waits half the cap on average), well inside the execution's timeout, which is days longer:
    # it covers a review deadline (tests/unit/test_state_timeouts.py)
    average, longest = (
        wait["MaxAttempts"] * wait["MaxDelaySeconds"] / 2,
        wait["MaxAttempts"] * wait["MaxDelaySeconds"],
    )
    assert average >= 3 * 3600
    assert longest <= PIPELINE_OUTSIDE_REVIEW_SECONDS < definition["TimeoutSeconds"]
    assert "TransientError" in transient["ErrorEquals"]


def test_giving_up_on_a_slot_is_compensated_like_any_failed_step() -> None:
    states = _pipeline()["States"]
    [catch] = states["AcquireSlot"]["Catch"]
    assert (catch["ErrorEquals"], catch["ResultPath"]) == (["States.ALL"], "$.error")
    marker = states[catch["Next"]]
    assert (marker["Type"], marker["Result"], marker["Next"]) == ("Pass", "acquire_slot", "Compensate")


def test_the_reason_of_a_video_that_waited_too_long_is_queue_timeout() -> None:
    # Given the Catch result of an exhausted SlotUnavailable retry, as Lambda reports the error
    cause = json.dumps(
        {"errorType": "SlotUnavailable", "errorMessage": str(slots.SlotUnavailable("standard", 3, 3))}
    )
    # Then compensation recovers a machine-readable reason from it
    name, reason, message = parse_step_error({"Error": "SlotUnavailable", "Cause": cause})
    assert (name, reason) == ("SlotUnavailable", "queue_timeout")
    assert "3 pipeline slots of the standard class" in message


# -- the semaphore's logic, against an in-memory table --------------------------------------------
class FakeSlotsTable:
    """Mirrors functions/pipeline/dal/slots.py: conditional, all-or-nothing changes."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, float]] = {}

    def take(self, priority_class: str, execution: str, *, budget: int, now: float) -> int | None:
        held = self.items.get(priority_class)
        if held is None or (execution not in held and len(held) >= budget):
            return None
        held.setdefault(execution, now)
        return len(held)

    def create(self, priority_class: str) -> None:
        self.items.setdefault(priority_class, {})

    def holders(self, priority_class: str) -> dict[str, float] | None:
        held = self.items.get(priority_class)
        return dict(held) if held is not None else None

    def give_back(self, priority_class: str, execution: str, *, taken_at: float | None = None) -> bool:
        held = self.items.get(priority_class, {})
        if execution not in held or (taken_at is not None and held[execution] != taken_at):
            return False
        del held[execution]
        return True


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> FakeSlotsTable:
    fake = FakeSlotsTable()
    for name in ("take", "create", "holders", "give_back"):
        monkeypatch.setattr(slots.dal, name, getattr(fake, name))
    return fake


BUDGET_1 = Settings(PIPELINE_BUDGET_STANDARD=1, PIPELINE_BUDGET_PRIORITY=1)  # type: ignore[call-arg]


def test_the_first_take_of_a_class_creates_its_semaphore(table: FakeSlotsTable) -> None:
    assert slots.acquire(priority_class="standard", execution="e1", settings=BUDGET_1, now=10) == {
        "priority_class": "standard",
        "budget": 1,
        "held": 1,
    }
    assert table.items == {"standard": {"e1": 10}}


def test_a_full_budget_raises_slot_unavailable_and_a_repeat_take_does_not(table: FakeSlotsTable) -> None:
    slots.acquire(priority_class="standard", execution="e1", settings=BUDGET_1, now=10)
    # The same execution again (a Lambda retry of AcquireSlot): still its slot, first take's time kept
    assert slots.acquire(priority_class="standard", execution="e1", settings=BUDGET_1, now=11)["held"] == 1
    assert table.items["standard"] == {"e1": 10}
    with pytest.raises(slots.SlotUnavailable, match="1 pipeline slots of the standard class"):
        slots.acquire(priority_class="standard", execution="e2", settings=BUDGET_1, now=12)
    # Another class has a budget of its own
    assert slots.acquire(priority_class="priority", execution="p1", settings=BUDGET_1, now=12)["held"] == 1


def test_an_expired_lease_is_evicted_by_the_next_take(table: FakeSlotsTable) -> None:
    lease = BUDGET_1.pipeline_slot_lease_seconds
    slots.acquire(priority_class="standard", execution="lost", settings=BUDGET_1, now=100)
    # Within the lease the slot stays taken
    with pytest.raises(slots.SlotUnavailable):
        slots.acquire(priority_class="standard", execution="e2", settings=BUDGET_1, now=100 + lease)
    # Past it, the holder cannot be running any more: its slot goes to the next execution
    slots.acquire(priority_class="standard", execution="e2", settings=BUDGET_1, now=101 + lease)
    assert table.items["standard"] == {"e2": 101 + lease}


def test_release_is_idempotent_and_needs_no_record(table: FakeSlotsTable) -> None:
    slots.acquire(priority_class="priority", execution="p1", settings=BUDGET_1, now=1)
    # Without the video record every class is tried
    assert slots.release("p1", None) is True
    assert slots.release("p1", None) is False
    assert slots.release(None, None) is False
    assert table.items["priority"] == {}


def test_too_many_requests_carries_retry_after() -> None:
    error = TooManyRequests(
        "slow down", retry_after_s=30, code="too_many_active_uploads", details={"limit": 5}
    )
    assert (error.status, error.code) == (429, "too_many_active_uploads")
    assert error.response_headers() == {"Retry-After": "30"}
    assert error.details == {"limit": 5, "retry_after_seconds": 30}
