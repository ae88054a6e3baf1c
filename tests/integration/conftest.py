"""Handlers against moto in-process (``mock_aws``), resources built from infra/spec."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import spec
from infra.local import lambda_runtime, moto_patches, provision
from infra.local.http_front import build_event, match_route
from infra.local.keys import CloudFrontKeys, LocalIssuer
from infra.local.lambda_runtime import invoke
from tests import scan_guard


@pytest.fixture(autouse=True)
def _no_scan_in_request_paths() -> Iterator[None]:
    """A DynamoDB Scan issued by the platform's code fails the test (tests/scan_guard.py)."""
    with scan_guard.scans_forbidden():
        yield


@dataclass
class Account:
    resources: spec.Resources
    cloudfront: CloudFrontKeys
    issuer: LocalIssuer
    queues: dict[str, provision.LocalQueue]
    state_machines: dict[str, str]

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=provision.REGION)


@pytest.fixture
def account(tmp_path: Any, fresh_function_caches: None) -> Iterator[Account]:
    # mock_aws resets moto's process-wide backends: an embedded stack in this process would lose
    # its resources. `make test` runs tests/e2e in a separate pytest process for that reason.
    assert "AWS_ENDPOINT_URL" not in os.environ, "run tests/e2e and tests/integration in separate processes"
    moto_patches.install()  # the embedded stack's corrections, behind its moto version check
    with mock_aws():
        keys = CloudFrontKeys(tmp_path)
        res = provision.local_resources(
            cdn_base_url="https://cdn.example.test",
            key_pair_id=keys.key_pair_id,
            # the takedown's CreateInvalidation names it (moto keeps what was asked)
            cdn_distribution_id=provision.create_distribution(
                boto3.client("cloudfront", region_name=provision.REGION), edge_url="https://cdn.example.test"
            ),
        )
        # Invocations get their own function's declared environment (a missing FunctionSpec.env
        # entry fails the test as it would fail on AWS); the test's own code, outside any
        # function, sees the union of them all.
        deployer = {"WORK_DIR": str(tmp_path / "work")}
        env: dict[str, str] = {}
        for fn in spec.FUNCTIONS:
            env.update(spec.function_environment(fn, res, deployer))
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        lambda_runtime.configure(res, deployer)
        try:
            provision.create_tables(boto3.client("dynamodb"), res)
            s3 = boto3.client("s3")
            provision.create_buckets(s3, res)
            queues = provision.create_queues(boto3.client("sqs"))
            provision.create_event_bus(boto3.client("events"), res)
            provision.create_bus_rules(boto3.client("events"), res, queues)
            provision.create_secret(boto3.client("secretsmanager"), res, keys.private_pem)
            provision.create_role(boto3.client("iam"))
            provision.register_functions(boto3.client("lambda"), res, {})
            machines = provision.create_state_machines(boto3.client("stepfunctions"))
            yield Account(res, keys, LocalIssuer(tmp_path), queues, machines)
        finally:
            lambda_runtime.deconfigure()
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any


ApiCall = Callable[..., ApiResponse]


@pytest.fixture
def api(account: Account) -> ApiCall:
    """Call the API function with a payload-2.0 event as API Gateway would, after its authorizer."""

    def call(
        method: str,
        path: str,
        *,
        body: Any = None,
        raw_body: str | None = None,
        role: str | None = "uploader",
        sub: str = "user-1",
        source_ip: str = "203.0.113.9",
        query: str = "",
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        found = match_route(method, path)
        assert found is not None, f"no route for {method} {path}"
        compiled, params = found
        claims = account.issuer.verify(account.issuer.issue(sub=sub, roles=[role])) if role else None
        payload = raw_body if raw_body is not None else (json.dumps(body) if body is not None else "")
        event = build_event(
            compiled=compiled,
            path_params=params,
            method=method,
            raw_path=path,
            query=query,
            headers={"content-type": "application/json", "host": "api.example.test", **(headers or {})},
            body=payload.encode(),
            source_ip=source_ip,
            claims=claims if compiled.route.auth else None,
        )
        result, errored = invoke(spec.FUNCTIONS_BY_NAME[compiled.route.function], event)
        assert not errored, result
        text = result.get("body") or ""
        return ApiResponse(
            status=result["statusCode"],
            headers={k.lower(): v for k, v in (result.get("headers") or {}).items()},
            body=json.loads(text) if text else None,
        )

    return call


def sqs_event(*bodies: str, queue: str = "vod-ingest") -> dict[str, Any]:
    """An SQS batch as the event source mapping hands it to a function."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "rh",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
            for body in bodies
        ]
    }
