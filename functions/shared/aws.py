"""Cached boto3 clients. Endpoints come from botocore's own configuration (``AWS_ENDPOINT_URL``
in the embedded mode), so the same code talks to AWS or to moto."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)
# Presigned S3 URLs must be SigV4 (SigV2 is refused in newer regions and by KMS-encrypted objects).
_SERVICE_CONFIG = {"s3": _CONFIG.merge(Config(signature_version="s3v4"))}


@cache
def client(service: str) -> Any:
    import boto3  # here, not at import: ~25 ms of cold start that routes reading DynamoDB never need

    from functions.shared.settings import get_settings

    session: Any = boto3.session.Session()  # ``service`` is dynamic: boto3-stubs' overloads are literal
    return session.client(
        service, region_name=get_settings().aws_region, config=_SERVICE_CONFIG.get(service, _CONFIG)
    )
