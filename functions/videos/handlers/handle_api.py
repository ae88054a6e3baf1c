"""The videos HTTP API (API Gateway HTTP API, payload 2.0)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.moderation.handlers import routes as moderation_routes
from functions.shared.http import build_resolver
from functions.shared.observability import observed
from functions.videos.handlers.routes import videos
from functions.webhooks.handlers import routes as webhooks

API_TITLE = "VOD platform API"
API_VERSION = "1.0.0"

app = build_resolver(title=API_TITLE, version=API_VERSION)
app.include_router(videos.router)
app.include_router(webhooks.router)
app.include_router(moderation_routes.router)


def openapi_document() -> dict[str, Any]:
    schema = app.get_openapi_schema(
        title=API_TITLE,
        version=API_VERSION,
        security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT")},
        security=[{"bearerAuth": []}],
    )
    return schema.model_dump(mode="json", by_alias=True, exclude_none=True)


@app.get("/health", include_in_schema=True, summary="Liveness", tags=["meta"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/openapi.json", summary="This OpenAPI document", tags=["meta"])
def openapi() -> dict[str, Any]:
    return openapi_document()


@observed(correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
