"""The HTTP API: its one function (the composition root, functions/api) and its routes."""

from __future__ import annotations

from infra.spec.types import BASE_ENV, READ, READ_WRITE, WRITE, FunctionSpec, RouteSpec, Throttle

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name="videos-api",
        handler="functions.api.handle_api.handler",
        service="videos-api",
        description="HTTP API: create videos, read them, start playback",
        memory_mb=512,
        timeout_s=15,
        env=(
            *BASE_ENV,
            "UPLOAD_BUCKET",
            "MEDIA_BUCKET",
            "STATE_MACHINE_ARN",
            "CDN_BASE_URL",
            "CLOUDFRONT_KEY_PAIR_ID",
            "CLOUDFRONT_PRIVATE_KEY_SECRET",
            "PLATFORM_TABLE",
            "CATALOG_TABLE",
            "CATALOG_VIEWS_TABLE",
            "CATALOG_CURSOR_SECRET",
            "SESSIONS_TABLE",
        ),
        grants={
            "videos_table": READ_WRITE,
            "upload_bucket": WRITE,
            "platform_table": READ_WRITE,
            "catalog_table": READ_WRITE,
            "catalog_views_table": READ,
            "sessions_table": READ_WRITE,  # playback creates sessions; heartbeats; history
        },
        reads_secret=True,
        reads_cursor_secret=True,  # the catalog's listings sign and check their cursors
        starts_executions=True,  # safe retry, approval of a rejected video
        sends_task_tokens=True,  # admin review of a video held in the grey band
        puts_events=True,  # video.deleted (a takedown)
    ),
)

# Tighter budgets than the stage default (types.DEFAULT_THROTTLE): routes that start costly work
# (a video: an upload target, then a pipeline run), search (several index queries per request),
# and the public routes, which anyone may call without a token.
SEARCH_THROTTLE = Throttle(rate_limit=20, burst_limit=40)
CREATE_VIDEO_THROTTLE = Throttle(rate_limit=10, burst_limit=20)
PUBLIC_THROTTLE = Throttle(rate_limit=10, burst_limit=20)
# Heartbeats: every viewer every 10 s (1,000 viewers are 100/s), authenticated by the session
# token instead of a JWT; a budget of their own so that players cannot starve the rest of the API.
HEARTBEAT_THROTTLE = Throttle(rate_limit=500, burst_limit=1000)

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("GET", "/health", "videos-api", auth=False, throttle=PUBLIC_THROTTLE),
    RouteSpec("GET", "/v1/openapi.json", "videos-api", auth=False, throttle=PUBLIC_THROTTLE),
    RouteSpec("ANY", "/v1/videos", "videos-api", throttle=CREATE_VIDEO_THROTTLE),  # POST: create
    RouteSpec("ANY", "/v1/videos/{proxy+}", "videos-api"),
    RouteSpec("ANY", "/v1/moderation/{proxy+}", "videos-api"),
    RouteSpec("ANY", "/v1/webhooks", "videos-api"),
    RouteSpec("ANY", "/v1/webhooks/{proxy+}", "videos-api"),
    RouteSpec("ANY", "/v1/titles", "videos-api"),
    RouteSpec("ANY", "/v1/titles/{proxy+}", "videos-api"),
    RouteSpec("GET", "/v1/search", "videos-api", throttle=SEARCH_THROTTLE),
    RouteSpec("ANY", "/v1/profiles", "videos-api"),
    RouteSpec("ANY", "/v1/profiles/{proxy+}", "videos-api"),
    # Video management (issue 13): the caller's own videos.
    RouteSpec("GET", "/v1/me/videos", "videos-api"),
    # playback sessions, resume and history (functions/sessions)
    RouteSpec(
        "POST", "/v1/sessions/{session_id}/heartbeat", "videos-api", auth=False, throttle=HEARTBEAT_THROTTLE
    ),
    RouteSpec("GET", "/v1/me/continue-watching", "videos-api"),
    RouteSpec("ANY", "/v1/me/history", "videos-api"),
    RouteSpec("ANY", "/v1/me/history/{proxy+}", "videos-api"),
    RouteSpec("ANY", "/v1/me/settings", "videos-api"),
)
