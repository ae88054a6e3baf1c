"""The platform's HTTP API (API Gateway HTTP API, payload 2.0): every domain's routes in one resolver."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.catalog.handlers.routes import ROUTERS as CATALOG_ROUTERS
from functions.catalog.handlers.routes import covers as title_covers
from functions.identity.handlers import routes as profiles
from functions.moderation.handlers import routes as moderation_routes
from functions.playback.handlers import routes as playback
from functions.sessions.handlers import routes as sessions
from functions.shared.http import build_resolver
from functions.shared.observability import observed
from functions.shared.schema import ApiModel
from functions.videos.handlers.routes import videos
from functions.webhooks.handlers import routes as webhooks

API_TITLE = "VOD platform API"
API_VERSION = "1.0.0"

app = build_resolver(title=API_TITLE, version=API_VERSION)
app.include_router(videos.router)
app.include_router(playback.router)
app.include_router(webhooks.router)
app.include_router(moderation_routes.router)
app.include_router(profiles.router)
for catalog_router in CATALOG_ROUTERS:
    app.include_router(catalog_router)
app.include_router(title_covers.router)
app.include_router(sessions.router)


# Reachable without a token (infra/spec ROUTES declares them auth=False; a contract test checks).
PUBLIC_OPERATIONS = (
    "GET /health",
    "GET /v1/openapi.json",
    "POST /v1/sessions/{session_id}/heartbeat",  # the session token authenticates it, not a JWT
)


def openapi_document() -> dict[str, Any]:
    # Built on request only: Powertools' OpenAPI models cost ~100 ms of import on every cold start,
    # and validation does not need them (tests/bench/import_bench.py measures it).
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    from functions.shared.openapi import complete_document

    schema = app.get_openapi_schema(
        title=API_TITLE,
        version=API_VERSION,
        security_schemes={
            "bearerAuth": HTTPBearer(
                bearerFormat="JWT", description="Cognito ID token; roles in the cognito:groups claim"
            )
        },
        security=[{"bearerAuth": []}],
    )
    document = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    return complete_document(document, public_operations=PUBLIC_OPERATIONS)


class Health(ApiModel):
    status: str = "ok"


@app.get("/health", include_in_schema=True, summary="Liveness", tags=["meta"])
def health() -> Health:
    return Health()


@app.get("/v1/openapi.json", summary="This OpenAPI document", tags=["meta"])
def openapi() -> dict[str, Any]:
    return openapi_document()


@observed(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
