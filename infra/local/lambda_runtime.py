"""Runs our handlers in-process where moto would start a Docker container.

moto's ``LambdaFunction._invoke_lambda`` (private API; moto is pinned for this) is the one
choke point that S3 -> SQS -> Lambda, Step Functions -> Lambda and direct ``Invoke`` all pass
through. Replacing it makes every trigger path run our code with the function's environment.

That environment is per invocation: handlers run in threads of one process, so it cannot be
``os.environ``. ``configure`` says which resources and deployer settings functions get; each
invocation then runs inside ``functions.shared.settings.invocation`` with its function's
``spec.function_environment``, so a function reading a resource it did not declare fails here as
it would on AWS.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from functions.shared.settings import invocation
from infra.spec import FunctionSpec, Resources, function_environment

_ORIGINAL: Callable[..., Any] | None = None
_REGISTRY: dict[str, FunctionSpec] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Deployment:
    resources: Resources
    settings: Mapping[str, str]  # the deployer's settings, the same for every function


_DEPLOYMENT: _Deployment | None = None


def configure(resources: Resources, settings: Mapping[str, str]) -> None:
    """Give every invocation from now on its function's declared environment (the embedded
    stack, the in-process moto tests). Until then handlers see the process's settings."""
    global _DEPLOYMENT
    _DEPLOYMENT = _Deployment(resources, dict(settings))


def deconfigure() -> None:
    global _DEPLOYMENT
    _DEPLOYMENT = None


def environment_of(spec: FunctionSpec) -> dict[str, str] | None:
    """The environment an invocation of ``spec`` gets (None: not configured, the process's)."""
    if _DEPLOYMENT is None:
        return None
    return function_environment(spec, _DEPLOYMENT.resources, _DEPLOYMENT.settings)


@dataclass
class LocalContext:
    """The parts of the Lambda context object our handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class InvocationLog:
    """What ran: tests read it to count invocations per function."""

    calls: list[tuple[str, bool]] = field(default_factory=list)

    def count(self, name: str) -> int:
        return sum(1 for fn, _ in self.calls if fn == name)


LOG = InvocationLog()


def register(spec: FunctionSpec) -> None:
    _REGISTRY[spec.name] = spec


def resolve_handler(spec: FunctionSpec) -> Callable[[Any, Any], Any]:
    module = importlib.import_module(spec.module)
    handler: Callable[[Any, Any], Any] = getattr(module, spec.attribute)
    return handler


def invoke(
    spec: FunctionSpec, event: Any, *, arn: str = "", environment: Mapping[str, str] | None = None
) -> tuple[Any, bool]:
    """Call the handler like Lambda would: returns (result or error payload, errored).
    ``environment``: the function's environment, if not the configured one (tests)."""
    if environment is None:
        environment = environment_of(spec)
    context = LocalContext(
        function_name=spec.name,
        memory_limit_in_mb=spec.memory_mb,
        timeout_s=spec.timeout_s,
        invoked_function_arn=arn or f"arn:aws:lambda:us-east-1:123456789012:function:{spec.name}",
    )
    try:
        handler = resolve_handler(spec)
        if environment is None:
            result = handler(event, context)
        else:
            with invocation(environment):
                result = handler(event, context)
        errored = False
    except Exception as exc:  # a function error, as Lambda reports it
        result = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)[-5:],
        }
        errored = True
    with _LOCK:
        LOG.calls.append((spec.name, errored))
    return result, errored


def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
    spec = _REGISTRY.get(self.function_name)
    if spec is None:
        assert _ORIGINAL is not None
        result: tuple[str, bool, str] = _ORIGINAL(self, event)
        return result
    payload = json.loads(event) if isinstance(event, str | bytes) else (event or {})
    result_obj, errored = invoke(spec, payload, arn=self.function_arn)
    return json.dumps(result_obj, default=str), errored, ""


def install() -> None:
    """Idempotently replace moto's Lambda invocation with the in-process runtime."""
    global _ORIGINAL
    from moto.awslambda.models import LambdaFunction

    if _ORIGINAL is None:
        _ORIGINAL = LambdaFunction._invoke_lambda
        LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
