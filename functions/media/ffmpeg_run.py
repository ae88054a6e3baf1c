"""Running ffmpeg/ffprobe as child processes with a hard deadline and bounded memory.

ffmpeg can hang on a stalled network read or run far past the Lambda deadline on a pathological
input, so every run has a timeout after which the whole process group is killed (ffmpeg may
spawn helpers, and a killed parent must not leave an orphan encoder burning the CPU). stderr
can be megabytes on a broken input: only the last lines are kept, enough to explain a failure.
One thread multiplexes both pipes with ``selectors`` so neither pipe can fill up and block
the child while we wait on the other.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

STDERR_TAIL_LINES = 50
# A "line" longer than this is cut: a binary blob on stderr must not grow a buffer without bound.
MAX_LINE_BYTES = 64 * 1024
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class CompletedRun:
    returncode: int
    stderr_tail: str  # the last STDERR_TAIL_LINES lines, newline-joined
    stdout: bytes = b""  # only filled when the caller asked for it (ffprobe's JSON)


class RunTimeout(subprocess.TimeoutExpired):
    """The deadline passed; the process group has been killed. Carries what stderr said so far."""

    def __init__(self, argv: Sequence[str], timeout: float, stderr_tail: str):
        super().__init__(list(argv), timeout)
        self.stderr_tail = stderr_tail


class _LineSplitter:
    """Turns chunks into complete lines, holding at most MAX_LINE_BYTES of an unfinished one."""

    def __init__(self, emit: Callable[[str], None]):
        self._emit = emit
        self._pending = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._pending += chunk
        while True:
            cut = self._pending.find(b"\n")
            if cut < 0:
                break
            line = bytes(self._pending[:cut])
            del self._pending[: cut + 1]
            self._emit(line.rstrip(b"\r").decode("utf-8", "replace"))
        if len(self._pending) > MAX_LINE_BYTES:
            self._emit(bytes(self._pending[:MAX_LINE_BYTES]).decode("utf-8", "replace"))
            self._pending.clear()

    def close(self) -> None:
        if self._pending:
            self._emit(bytes(self._pending).rstrip(b"\r").decode("utf-8", "replace"))
            self._pending.clear()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    on_progress_line: Callable[[str], None] | None = None,
    capture_stdout: bool = False,
    max_stdout_bytes: int = 64 * 1024 * 1024,
) -> CompletedRun:
    """Run ``argv`` to completion or until ``timeout`` seconds have passed.

    stdout is either streamed line by line to ``on_progress_line`` (ffmpeg's ``-progress pipe:1``)
    or captured whole (``capture_stdout``, for ffprobe's JSON, capped at ``max_stdout_bytes``).
    Raises :class:`RunTimeout` after killing the process group. A non-zero exit is not an error
    here: callers decide what it means.
    """
    stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    stdout_buf = bytearray()
    stdout_lines = _LineSplitter(on_progress_line) if on_progress_line is not None else None
    stderr_lines = _LineSplitter(stderr_tail.append)
    deadline = time.monotonic() + timeout

    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so a timeout can kill everything it started
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    finished = False
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ, "out")
            sel.register(proc.stderr, selectors.EVENT_READ, "err")
            open_pipes = 2
            while open_pipes:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    _kill_group(proc)
                    stderr_lines.close()
                    raise RunTimeout(argv, timeout, "\n".join(stderr_tail))
                for key, _ in sel.select(timeout=min(remaining, 1.0)):
                    chunk = os.read(key.fd, _READ_CHUNK)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        open_pipes -= 1
                        continue
                    if key.data == "err":
                        stderr_lines.feed(chunk)
                    elif stdout_lines is not None:
                        stdout_lines.feed(chunk)
                    elif capture_stdout:
                        if len(stdout_buf) + len(chunk) > max_stdout_bytes:
                            _kill_group(proc)
                            raise OverflowError(f"{argv[0]} wrote more than {max_stdout_bytes} bytes")
                        stdout_buf += chunk
        stderr_lines.close()
        if stdout_lines is not None:
            stdout_lines.close()
        # Both pipes are closed; the process is exiting. Still bound the wait by the deadline.
        try:
            returncode = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise RunTimeout(argv, timeout, "\n".join(stderr_tail)) from None
        finished = True
        tail = "\n".join(stderr_tail)
        return CompletedRun(returncode=returncode, stderr_tail=tail, stdout=bytes(stdout_buf))
    finally:
        if not finished and proc.poll() is None:
            # A callback raised, or we were interrupted: never leave the encoder running.
            _kill_group(proc)
        proc.stdout.close()
        proc.stderr.close()


def run_or_fail(
    argv: Sequence[str],
    *,
    timeout: float,
    what: str,
    reason: str,
    timeout_reason: str | None = None,
    on_progress_line: Callable[[str], None] | None = None,
    capture_stdout: bool = False,
    stderr_lines: int = 8,
) -> CompletedRun:
    """:func:`run`, with every way it can go wrong turned into a :class:`MediaFailed` that says
    ``what`` was being done: ``reason`` (``timeout_reason`` for the deadline) and stderr's tail."""
    from functions.shared.errors import MediaFailed  # the runner itself knows nothing of the domain
    from functions.shared.observability import logger
    from functions.shared.redact import redact

    tool = os.path.basename(argv[0])

    try:
        result = run(argv, timeout=timeout, on_progress_line=on_progress_line, capture_stdout=capture_stdout)
    except RunTimeout as exc:
        raise MediaFailed(timeout_reason or reason, f"{what} did not finish within {timeout:g} s") from exc
    except OSError as exc:
        logger.error("cannot run media tool", extra={"tool": tool, "detail": redact(str(exc))})
        raise MediaFailed(reason, f"cannot run {tool}") from exc
    if result.returncode != 0:
        # The argv holds presigned URLs and stderr echoes them: both go to the log, redacted,
        # and the exception (which Step Functions copies into the video's record) says only what failed.
        tail = "\n".join(result.stderr_tail.splitlines()[-stderr_lines:])
        logger.error(
            "media tool failed",
            extra={
                "tool": tool,
                "returncode": result.returncode,
                "argv": redact(" ".join(argv)),
                "stderr": redact(tail),
            },
        )
        raise MediaFailed(reason, f"{what}: {tool} exited with status {result.returncode}")
    return result
