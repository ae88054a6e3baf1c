"""Priority classes: the one table of what each class of upload gets (docs/priority-classes.md).

A class decides, for every upload in it:

* where the file lands: its S3 prefix, so that the bucket notification routes the upload to the
  class's own ingest queue (infra/spec builds QUEUES and BUCKET_NOTIFICATIONS from this table);
* how many starter invocations that queue may run at once (its event source mapping's
  MaximumConcurrency), so that a flood of one class cannot take every starter;
* its budget: how many of its pipeline executions may be past ``AcquireSlot`` at once (a
  DynamoDB semaphore per class, functions/pipeline/logic/slots.py). Settings
  ``PIPELINE_BUDGET_<CLASS>``.

A class with a ``plan`` is for the members of that Cognito group (admins hold every plan,
functions/shared/auth.py). Asking for it without the plan is refused (403
``priority_not_granted``) rather than silently downgraded: a client that asked for priority and
got standard would wait without knowing why.

This module is imported by infra/spec: keep it free of AWS clients.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.shared.auth import Principal
from functions.shared.errors import Forbidden
from functions.shared.keys import UPLOAD_PREFIX
from functions.shared.settings import Settings


@dataclass(frozen=True)
class PriorityClass:
    name: str
    upload_prefix: str  # S3 key prefix of the class's uploads (prefixes must not overlap)
    queue: str  # QueueSpec.name of its ingest queue
    starter_concurrency: int  # MaximumConcurrency of the queue's event source mapping (2..1000)
    plan: str | None = None  # Cognito group needed to ask for the class; None: every uploader

    def budget(self, settings: Settings) -> int:
        """Pipeline executions of this class that may run at once (``PIPELINE_BUDGET_<NAME>``)."""
        value: int = getattr(settings, f"pipeline_budget_{self.name}")
        return value


# "ingest" keeps the name the single ingest queue had, so that deployed stacks keep their queue
# (and the messages in it) and uploads made before classes existed ("uploads/") still route.
STANDARD = PriorityClass(name="standard", upload_prefix=UPLOAD_PREFIX, queue="ingest", starter_concurrency=10)
PRIORITY = PriorityClass(
    name="priority",
    upload_prefix="uploads-priority/",
    queue="ingest-priority",
    starter_concurrency=5,
    plan="priority",
)

CLASSES: tuple[PriorityClass, ...] = (STANDARD, PRIORITY)
BY_NAME: dict[str, PriorityClass] = {c.name: c for c in CLASSES}
DEFAULT = STANDARD


def class_of(name: str | None) -> PriorityClass:
    """The class a stored name stands for; videos created before classes existed have none (standard)."""
    if not name:
        return DEFAULT
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown priority class {name!r}") from None


def resolve(principal: Principal, requested: str | None) -> PriorityClass:
    """The class an upload gets: the one asked for (default standard), if the caller's plans allow it."""
    chosen = class_of(requested)
    if chosen.plan is not None and chosen.plan not in principal.plans:
        raise Forbidden(
            f"the {chosen.name} class needs the '{chosen.plan}' plan (or the admin role)",
            code="priority_not_granted",
        )
    return chosen
