"""/v1/webhooks routes: parse, authorise, call one logic function."""

# No "from __future__ import annotations" here: Powertools reads the route signatures at runtime
# (through the tracer wrapper), and string annotations would not resolve there.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from functions.shared.auth import principal_from_event
from functions.shared.observability import logger, tracer
from functions.webhooks.logic import subscriptions as logic
from functions.webhooks.models import (
    CreateWebhookRequest,
    CreateWebhookResponse,
    DeliveryList,
    WebhookList,
    WebhookView,
)

router = Router()

WebhookId = Annotated[str, Path(description="Webhook id (32 hex characters)")]
_MANAGE_ERRORS: dict[int, OpenAPIResponse] = {
    401: {"description": "No or invalid token"},
    403: {"description": "Not yours, or your role may not use webhooks"},
    404: {"description": "No such webhook"},
}


@router.post(
    "/v1/webhooks",
    summary="Register a webhook; the response carries its signing secret, shown once",
    responses={
        201: {"description": "Registered", "content": {"application/json": {"model": CreateWebhookResponse}}},
        401: {"description": "No or invalid token"},
        403: {"description": "Role may not register webhooks"},
        409: {"description": "Too many webhooks"},
        422: {"description": "Invalid request, or a URL that is not a public https endpoint"},
    },
    tags=["webhooks"],
)
@tracer.capture_method
def create_webhook(request: Annotated[CreateWebhookRequest, Body()]) -> Response[CreateWebhookResponse]:
    principal = principal_from_event(router.current_event.raw_event)
    created = logic.create_webhook(principal, request)
    logger.info("webhook registered", extra={"webhook_id": created.id, "events": created.events})
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=created,
        headers={"Location": f"/v1/webhooks/{created.id}"},
    )


@router.get(
    "/v1/webhooks",
    summary="Your webhooks (without secrets)",
    responses={
        200: {"description": "Your webhooks", "content": {"application/json": {"model": WebhookList}}},
        401: {"description": "No or invalid token"},
        403: {"description": "Role may not use webhooks"},
    },
    tags=["webhooks"],
)
@tracer.capture_method
def list_webhooks() -> WebhookList:
    return logic.list_webhooks(principal_from_event(router.current_event.raw_event))


@router.get(
    "/v1/webhooks/<webhook_id>",
    summary="A webhook (without its secret)",
    responses={
        200: {"description": "The webhook", "content": {"application/json": {"model": WebhookView}}},
        **_MANAGE_ERRORS,
    },
    tags=["webhooks"],
)
@tracer.capture_method
def get_webhook(webhook_id: WebhookId) -> WebhookView:
    return logic.get_webhook(principal_from_event(router.current_event.raw_event), webhook_id)


@router.delete(
    "/v1/webhooks/<webhook_id>",
    summary="Remove a webhook and its delivery records",
    responses={204: {"description": "Removed"}, **_MANAGE_ERRORS},
    tags=["webhooks"],
)
@tracer.capture_method
def delete_webhook(webhook_id: WebhookId) -> Response[None]:
    logic.delete_webhook(principal_from_event(router.current_event.raw_event), webhook_id)
    logger.info("webhook deleted", extra={"webhook_id": webhook_id})
    return Response(status_code=204)


@router.get(
    "/v1/webhooks/<webhook_id>/deliveries",
    summary="Recent deliveries of a webhook, newest first",
    responses={
        200: {"description": "Delivery records", "content": {"application/json": {"model": DeliveryList}}},
        **_MANAGE_ERRORS,
    },
    tags=["webhooks"],
)
@tracer.capture_method
def list_deliveries(
    webhook_id: WebhookId,
    limit: Annotated[int, Query(ge=1, le=100, description="How many records")] = 20,
) -> DeliveryList:
    principal = principal_from_event(router.current_event.raw_event)
    return logic.list_deliveries(principal, webhook_id, limit=limit)
