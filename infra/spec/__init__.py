"""The one declaration of how the platform is wired, assembled from one module per domain.

Both the CDK stack (``infra.stack``) and the embedded emulator (``infra.local.emulator``) read
this package: functions and their handlers, the environment each gets, buckets, queues and
their triggers, tables (schema from the PynamoDB models), routes, state machines with their
definition substitutions, and event rules. Nothing here imports CDK or moto.

``types`` holds the shapes; ``api``, ``videos``, ``pipeline``, ``playback``, ``moderation``,
``webhooks``, ``catalog`` and ``sessions`` each declare their own functions, queues, rules and triggers; this
module concatenates them once. A new feature adds to its domain's module (or a new one listed
here). The order is the deployed order: CDK logical ids and the emulator follow it.
"""

from __future__ import annotations

from typing import Any

from infra.spec import api, catalog, moderation, pipeline, playback, sessions, videos, webhooks
from infra.spec.api import CREATE_VIDEO_THROTTLE, PUBLIC_THROTTLE, SEARCH_THROTTLE
from infra.spec.playback import PLAYLIST_ORIGIN, PLAYLIST_PATH_PATTERN, PUBLIC_IMAGES_PATH_PATTERN
from infra.spec.types import (
    DEFAULT_THROTTLE,
    DELETE,
    PURGE,
    READ,
    READ_WRITE,
    RESOURCE_ENV,
    STATEMACHINE_DIR,
    WRITE,
    BucketNotificationSpec,
    BusRuleSpec,
    ExecutionFailedRuleSpec,
    FunctionSpec,
    QueueSpec,
    Resources,
    RouteSpec,
    ScheduleSpec,
    StateMachineSpec,
    TableStreamSpec,
    Throttle,
    function_environment,
)

__all__ = [
    "BUCKET_NOTIFICATIONS",
    "BUS_RULES",
    "CREATE_VIDEO_THROTTLE",
    "DEFAULT_THROTTLE",
    "DELETE",
    "EXECUTION_RULES",
    "FUNCTIONS",
    "FUNCTIONS_BY_NAME",
    "PLAYLIST_ORIGIN",
    "PLAYLIST_PATH_PATTERN",
    "PUBLIC_IMAGES_PATH_PATTERN",
    "PUBLIC_THROTTLE",
    "PURGE",
    "QUEUES",
    "READ",
    "READ_WRITE",
    "RESOURCE_ENV",
    "ROUTES",
    "SCHEDULES",
    "SEARCH_THROTTLE",
    "STATEMACHINE_DIR",
    "STATE_MACHINES",
    "TABLE_STREAMS",
    "VERSIONED_BUCKETS",
    "WRITE",
    "BucketNotificationSpec",
    "BusRuleSpec",
    "ExecutionFailedRuleSpec",
    "FunctionSpec",
    "QueueSpec",
    "Resources",
    "RouteSpec",
    "ScheduleSpec",
    "StateMachineSpec",
    "TableStreamSpec",
    "Throttle",
    "function_environment",
    "table_schemas",
]

FUNCTIONS: tuple[FunctionSpec, ...] = (
    *api.FUNCTIONS,
    *videos.FUNCTIONS,
    *pipeline.FUNCTIONS,
    *playback.FUNCTIONS,
    *moderation.FUNCTIONS,
    *webhooks.FUNCTIONS,
    *catalog.FUNCTIONS,
    *sessions.FUNCTIONS,
)
FUNCTIONS_BY_NAME: dict[str, FunctionSpec] = {f.name: f for f in FUNCTIONS}
QUEUES: tuple[QueueSpec, ...] = (*videos.QUEUES, *webhooks.QUEUES, *catalog.QUEUES, *sessions.QUEUES)
BUS_RULES: tuple[BusRuleSpec, ...] = (
    *videos.BUS_RULES,
    *webhooks.BUS_RULES,
    *catalog.BUS_RULES,
    *sessions.BUS_RULES,
)
TABLE_STREAMS: tuple[TableStreamSpec, ...] = (*catalog.TABLE_STREAMS, *sessions.TABLE_STREAMS)
BUCKET_NOTIFICATIONS: tuple[BucketNotificationSpec, ...] = (
    *videos.BUCKET_NOTIFICATIONS,
    *catalog.BUCKET_NOTIFICATIONS,
)
VERSIONED_BUCKETS: tuple[str, ...] = videos.VERSIONED_BUCKETS
ROUTES: tuple[RouteSpec, ...] = api.ROUTES
STATE_MACHINES: tuple[StateMachineSpec, ...] = pipeline.STATE_MACHINES
EXECUTION_RULES: tuple[ExecutionFailedRuleSpec, ...] = pipeline.EXECUTION_RULES
SCHEDULES: tuple[ScheduleSpec, ...] = sessions.SCHEDULES


def table_schemas() -> dict[str, dict[str, Any]]:
    from infra.tables import TABLE_MODELS, table_schema

    return {name: table_schema(model) for name, model in TABLE_MODELS.items()}
