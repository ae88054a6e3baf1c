"""Runs our handlers locally where moto would start a Docker container.

moto's ``LambdaFunction._invoke_lambda`` (private API; moto is pinned for this) is the one
choke point that S3 -> SQS -> Lambda, Step Functions -> Lambda and direct ``Invoke`` all pass
through. Replacing it makes every trigger path run our code with the function's environment.

Execution environments, as Lambda has them. Lambda runs one request at a time in an environment
and keeps the environment warm for the next; our handlers and Powertools rely on it (the HTTP
resolver keeps the current event on a class, Logger its keys, Metrics its store: two requests in
one process would read each other's). With ``configure(..., isolation="process")`` (the embedded
stack) every function gets a pool of environments, each a process of its own
(``infra.local.lambda_worker``) whose ``os.environ`` is exactly the function's declared
environment: an invocation takes an idle environment or starts one (the cold start) up to the
function's reserved concurrency, or ``MAX_ENVIRONMENTS`` per function, and waits for one
beyond; an invocation that outlives the function's timeout has its environment killed, as Lambda
does. Handler globals can never mix requests.

``isolation="inline"`` runs handlers in this process instead, each invocation inside
``functions.shared.settings.invocation`` with its function's environment. It is what the moto
in-process tests need (their AWS lives in this process, out of a worker's reach), and what a test
that replaces a function's code in this process asks for with ``inline(name)``. Inline
invocations are not isolated from each other: never the default of a running stack.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from functions.shared.settings import invocation
from infra.local import lambda_worker
from infra.local.lambda_worker import LocalContext, function_error
from infra.spec import RESOURCE_ENV, FunctionSpec, Resources, function_environment

__all__ = ["LocalContext", "configure", "deconfigure", "inline", "invoke", "register"]

Isolation = Literal["process", "inline"]
# Environments per function when its spec reserves no concurrency: enough for a machine's cores
# to stay busy under concurrent requests, few enough that a laptop's memory holds them all.
MAX_ENVIRONMENTS = 8
_ROOT = Path(__file__).resolve().parents[2]  # the checkout whose code the workers import
_STOP_GRACE_S = 2.0
_STOPPING = {"errorType": "Runtime.Stopped", "errorMessage": "the stack is stopping"}

_ORIGINAL: Callable[..., Any] | None = None
_REGISTRY: dict[str, FunctionSpec] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Deployment:
    resources: Resources
    settings: Mapping[str, str]  # the deployer's settings, the same for every function
    isolation: Isolation = "inline"


_DEPLOYMENT: _Deployment | None = None
_POOLS: dict[str, _Pool] = {}
_INLINE: Counter[str] = Counter()  # functions a test runs in this process for now


def configure(resources: Resources, settings: Mapping[str, str], *, isolation: Isolation = "inline") -> None:
    """Give every invocation from now on its function's declared environment: in environments
    of its own (``isolation="process"``, the embedded stack) or in this process (``"inline"``,
    the in-process moto tests). Until then handlers run inline with the process's settings."""
    global _DEPLOYMENT
    close_environments()
    _DEPLOYMENT = _Deployment(resources, dict(settings), isolation)


def deconfigure() -> None:
    global _DEPLOYMENT
    _DEPLOYMENT = None
    close_environments()


def environment_of(spec: FunctionSpec) -> dict[str, str] | None:
    """The environment an invocation of ``spec`` gets (None: not configured, the process's)."""
    if _DEPLOYMENT is None:
        return None
    return function_environment(spec, _DEPLOYMENT.resources, _DEPLOYMENT.settings)


@contextlib.contextmanager
def inline(*names: str) -> Iterator[None]:
    """Run these functions' invocations in this process while inside (a test that replaces a
    function's code here: ``monkeypatch`` cannot reach a worker). Nests; counted per name."""
    unknown = [n for n in names if n not in _REGISTRY]
    if unknown:
        raise KeyError(f"no such functions: {unknown}")
    with _LOCK:
        _INLINE.update(names)
    try:
        yield
    finally:
        with _LOCK:
            _INLINE.subtract(names)


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
    ``environment``: the function's environment, if not the configured one (tests; inline)."""
    arn = arn or f"arn:aws:lambda:us-east-1:123456789012:function:{spec.name}"
    deployment = _DEPLOYMENT
    if (
        environment is None
        and deployment is not None
        and deployment.isolation == "process"
        and _INLINE[spec.name] <= 0
    ):
        result, errored = _pool(spec, deployment).invoke(event, arn)
    else:
        result, errored = _invoke_inline(spec, event, arn, environment or environment_of(spec))
    with _LOCK:
        LOG.calls.append((spec.name, errored))
    return result, errored


def _invoke_inline(
    spec: FunctionSpec, event: Any, arn: str, environment: Mapping[str, str] | None
) -> tuple[Any, bool]:
    context = LocalContext(
        function_name=spec.name,
        memory_limit_in_mb=spec.memory_mb,
        timeout_s=spec.timeout_s,
        invoked_function_arn=arn,
    )
    try:
        handler = resolve_handler(spec)
        if environment is None:
            return handler(event, context), False
        with invocation(environment):
            return handler(event, context), False
    except Exception as exc:  # a function error, as Lambda reports it
        return function_error(exc), True


# -- execution environments ---------------------------------------------------------------------
class _EnvironmentGone(Exception):
    """The environment's process ended (crashed, killed on timeout, or the stack stopping)."""


class _Environment:
    """One worker process of one function, serving one invocation at a time."""

    def __init__(self, spec: FunctionSpec, environ: Mapping[str, str]):
        self.spec = spec
        request_read, self._request_write = os.pipe()
        self._reply_read, reply_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    lambda_worker.__name__,
                    spec.name,
                    f"{spec.module}:{spec.attribute}",
                    str(spec.memory_mb),
                    str(request_read),
                    str(reply_write),
                ],
                env=dict(environ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(request_read, reply_write),
                start_new_session=True,  # its own process group: a timeout kills its ffmpeg too
            )
        finally:
            os.close(request_read)
            os.close(reply_write)
        self._requests = os.fdopen(self._request_write, "wb", buffering=0)
        self._replies = os.fdopen(self._reply_read, "rb", buffering=0)
        for stream, sink in ((self.process.stdout, "stdout"), (self.process.stderr, "stderr")):
            threading.Thread(
                target=_relay, args=(stream, sink), name=f"{spec.name}-{sink}", daemon=True
            ).start()
        ready = self._read(deadline=None)
        if "init_error" in ready:
            self.close()
            raise _InitError(ready["init_error"])

    def invoke(self, event: Any, arn: str) -> tuple[Any, bool]:
        timeout = float(self.spec.timeout_s)
        request = {
            "event": event,
            "arn": arn,
            "request_id": str(uuid.uuid4()),
            "remaining_ms": int(timeout * 1000),
        }
        try:
            lambda_worker.write_frame(self._requests, request)
        except (BrokenPipeError, OSError) as exc:
            raise _EnvironmentGone(str(exc)) from exc
        reply = self._read(deadline=time.monotonic() + timeout)
        return reply["result"], bool(reply["errored"])

    def _read(self, deadline: float | None) -> Any:
        fd = self._replies.fileno()
        while True:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                self.kill()
                self.close()
                raise _TimedOut(self.spec.timeout_s)
            try:
                readable, _, _ = select.select([fd], [], [], wait)
            except (OSError, ValueError) as exc:
                raise _EnvironmentGone(str(exc)) from exc
            if readable:
                break
        try:
            message = lambda_worker.read_frame(self._replies)
        except (OSError, ValueError):
            message = None
        if message is None:
            self.close()
            raise _EnvironmentGone(f"the environment's process ended (exit {self.process.poll()})")
        return message

    def kill(self) -> None:
        """SIGKILL to its process group (its ffmpeg too); the invocation reading it sees the end."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def close(self) -> None:
        """End the environment: its input closes, it exits; killed if it does not in time."""
        for stream in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            self.process.wait(timeout=_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class _InitError(Exception):
    def __init__(self, payload: dict[str, Any]):
        super().__init__(payload.get("errorMessage", ""))
        self.payload = payload


class _TimedOut(Exception):
    def __init__(self, timeout_s: float):
        super().__init__(f"Task timed out after {timeout_s:.2f} seconds")


def _relay(stream: IO[bytes] | None, sink: str) -> None:
    """A worker's output, line by line, to this process's stream of that name (looked up per
    line: pytest's capture, or the terminal). Lambda sends it to CloudWatch the same way."""
    if stream is None:
        return
    with contextlib.suppress(ValueError, OSError):
        for line in stream:
            target = getattr(sys, sink)
            with contextlib.suppress(ValueError, OSError):
                target.write(line.decode(errors="replace"))
                target.flush()


class _Pool:
    """The warm environments of one function and how many exist (idle + busy)."""

    def __init__(self, spec: FunctionSpec, environ: Mapping[str, str]):
        self.spec = spec
        self.environ = environ
        self.limit = spec.reserved_concurrency or MAX_ENVIRONMENTS
        self._idle: list[_Environment] = []
        self._busy: set[_Environment] = set()
        self._count = 0
        self.started = 0  # processes started over the pool's life (cold starts)
        self._closed = False
        self._changed = threading.Condition()

    def invoke(self, event: Any, arn: str) -> tuple[Any, bool]:
        try:
            environment = self._acquire()
        except _InitError as exc:
            return exc.payload, True
        healthy = False
        try:
            result = environment.invoke(event, arn)
            healthy = True
            return result
        except _TimedOut as exc:
            return {"errorType": "Sandbox.Timedout", "errorMessage": str(exc)}, True
        except _EnvironmentGone as exc:
            return {"errorType": "Runtime.ExitError", "errorMessage": str(exc)}, True
        finally:
            self._release(environment, healthy)

    def _acquire(self) -> _Environment:
        with self._changed:
            while True:
                if self._closed:
                    raise _InitError(_STOPPING)
                if self._idle:
                    environment = self._idle.pop()
                    self._busy.add(environment)
                    return environment
                if self._count < self.limit:
                    self._count += 1
                    self.started += 1
                    break
                self._changed.wait()
        try:
            environment = _Environment(self.spec, self.environ)  # a cold start, outside the lock
        except BaseException as exc:
            with self._changed:
                self._count -= 1
                self._changed.notify()
            if isinstance(exc, _EnvironmentGone):
                raise _InitError({"errorType": "Runtime.ExitError", "errorMessage": str(exc)}) from exc
            raise
        with self._changed:
            self._busy.add(environment)
            closed = self._closed
        if closed:
            self._release(environment, healthy=False)
            raise _InitError(_STOPPING)
        return environment

    def _release(self, environment: _Environment, healthy: bool) -> None:
        with self._changed:
            self._busy.discard(environment)
            keep = healthy and not self._closed and environment.process.poll() is None
            if keep:
                self._idle.append(environment)
            else:
                self._count -= 1
            self._changed.notify()
        if not keep:
            environment.close()

    def stats(self) -> dict[str, int]:
        with self._changed:
            idle, busy = len(self._idle), len(self._busy)
            return {"started": self.started, "idle": idle, "busy": busy, "limit": self.limit}

    def close(self) -> None:
        """Idle environments end; busy ones are killed (their invocations fail, as on a stop)."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            self._changed.notify_all()
        for environment in idle:
            environment.close()
        for environment in busy:
            environment.kill()


def _pool(spec: FunctionSpec, deployment: _Deployment) -> _Pool:
    with _LOCK:
        pool = _POOLS.get(spec.name)
        if pool is None:
            pool = _POOLS[spec.name] = _Pool(spec, _worker_environ(spec, deployment))
        return pool


def _worker_environ(spec: FunctionSpec, deployment: _Deployment) -> dict[str, str]:
    """The process's shared settings (AWS endpoint, region, credentials, Powertools') without any
    resource name, then exactly the function's own environment on top, as Lambda composes it."""
    environ = {k: v for k, v in os.environ.items() if k not in RESOURCE_ENV}
    environ.update(function_environment(spec, deployment.resources, deployment.settings))
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), os.environ.get("PYTHONPATH")) if p)
    environ["PYTHONUNBUFFERED"] = "1"  # logs reach the relay as they are written
    return environ


def stats(name: str) -> dict[str, int]:
    """A function's environments: started (cold starts so far), idle, busy, and its limit."""
    with _LOCK:
        pool = _POOLS.get(name)
    if pool is None:
        return {"started": 0, "idle": 0, "busy": 0, "limit": 0}
    return pool.stats()


def close_environments() -> None:
    """End every function's environments (the stack stopping, or a new configuration)."""
    with _LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


atexit.register(close_environments)


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
