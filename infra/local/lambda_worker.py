"""One execution environment of one function: a process that serves one invocation at a time.

Lambda never runs two requests in one environment, and our handlers (and Powertools: the event
resolver keeps the current event on a class, the Logger its keys, Metrics its store) rely on
that. The embedded mode therefore runs each function's invocations in processes like this one,
started by ``infra.local.lambda_runtime`` with the function's own environment as ``os.environ``
(nothing else of the stack's process), pooled per function and reused while warm.

Protocol, on two pipes whose descriptors are passed in argv (stdout and stderr stay the
function's logs, which the runtime relays, as CloudWatch collects them):
  worker -> runtime  {"ready": true} once the handler module is imported (the init phase), or
                     {"init_error": {...}} and exit;
  runtime -> worker  {"event": ..., "request_id": ..., "arn": ..., "remaining_ms": ...};
  worker -> runtime  {"result": ..., "errored": bool}, the result serialised as Lambda does.
Frames are a 4-byte big-endian length and that many bytes of JSON. The runtime closing its end
(the stack stopping, or its process killed) ends the worker.

Only the standard library is imported before the handler: the init phase measured here is the
function's own.
"""

from __future__ import annotations

import importlib
import json
import os
import struct
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import IO, Any

_LENGTH = struct.Struct(">I")


@dataclass
class LocalContext:
    """The parts of the Lambda context object our handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: float
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


def function_error(exc: BaseException) -> dict[str, Any]:
    """A handler's exception as Lambda reports it to the caller."""
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[-5:],
    }


def write_frame(stream: IO[bytes], message: Any) -> None:
    body = json.dumps(message, default=str).encode()
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any | None:
    """The next message, or None when the other end has closed."""
    header = _read_exactly(stream, _LENGTH.size)
    if header is None:
        return None
    body = _read_exactly(stream, _LENGTH.unpack(header)[0])
    if body is None:
        return None
    return json.loads(body)


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve(name: str, handler_path: str, memory_mb: int, requests: IO[bytes], replies: IO[bytes]) -> int:
    module_name, attribute = handler_path.split(":")
    try:
        if sys.version_info < (3, 12):
            from infra.local import py311

            py311.serialize_ast_parse()  # the handlers' thread pools format tracebacks too
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # Runtime.ImportModuleError on Lambda: every invocation fails
        write_frame(replies, {"init_error": function_error(exc)})
        return 1
    write_frame(replies, {"ready": True})
    while (request := read_frame(requests)) is not None:
        context = LocalContext(
            function_name=name,
            memory_limit_in_mb=memory_mb,
            timeout_s=request["remaining_ms"] / 1000,
            invoked_function_arn=request["arn"],
            aws_request_id=request["request_id"],
        )
        try:
            reply = {"result": handler(request["event"], context), "errored": False}
        except Exception as exc:  # a function error, as Lambda reports it
            reply = {"result": function_error(exc), "errored": True}
        try:
            write_frame(replies, reply)
        except (TypeError, ValueError) as exc:  # a result JSON cannot carry: Lambda fails too
            write_frame(replies, {"result": function_error(exc), "errored": True})
    return 0


def main(argv: list[str]) -> int:
    name, handler_path, memory_mb, request_fd, reply_fd = argv
    requests = os.fdopen(int(request_fd), "rb", buffering=0)
    replies = os.fdopen(int(reply_fd), "wb", buffering=0)
    return serve(name, handler_path, int(memory_mb), requests, replies)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
