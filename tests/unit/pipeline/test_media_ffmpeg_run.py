"""ffmpeg_run.run(): deadlines that kill the whole process group, bounded stderr, streamed stdout."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from functions.media import ffmpeg_run


def live_members(pgid: int) -> list[int]:
    """Processes still running (not zombies) in a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def test_timeout_kills_the_whole_process_group() -> None:
    # Given a shell that starts a background child and waits for it
    lines: list[str] = []
    script = "echo $$; sleep 30 & wait"

    # When it outlives its deadline
    started = time.monotonic()
    with pytest.raises(ffmpeg_run.RunTimeout) as caught:
        ffmpeg_run.run(["sh", "-c", script], timeout=0.5, on_progress_line=lines.append)

    # Then run() returns promptly, and neither the shell nor its child is left running
    assert time.monotonic() - started < 5
    assert caught.value.timeout == 0.5
    pgid = int(lines[0])
    deadline = time.monotonic() + 2
    while live_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_members(pgid) == []


def test_stderr_keeps_only_the_last_lines() -> None:
    # Given a process that writes 5000 lines to stderr and fails
    script = "i=0; while [ $i -lt 5000 ]; do echo line$i >&2; i=$((i+1)); done; exit 3"

    # When it runs
    result = ffmpeg_run.run(["sh", "-c", script], timeout=30)

    # Then the exit status is returned and only the last 50 lines are kept
    assert result.returncode == 3
    tail = result.stderr_tail.splitlines()
    assert len(tail) == ffmpeg_run.STDERR_TAIL_LINES
    assert tail[-1] == "line4999"
    assert tail[0] == "line4950"


def test_stdout_lines_stream_to_the_callback_as_they_come() -> None:
    # Given a process that prints progress lines over time
    seen: list[tuple[float, str]] = []
    script = "echo out_time_us=1; sleep 0.4; echo out_time_us=2; printf progress=end"

    # When it runs
    started = time.monotonic()
    result = ffmpeg_run.run(
        ["sh", "-c", script], timeout=10, on_progress_line=lambda line: seen.append((time.monotonic(), line))
    )

    # Then every line arrives (the last one without a newline too), the first before the process ends
    assert result.returncode == 0
    assert [line for _, line in seen] == ["out_time_us=1", "out_time_us=2", "progress=end"]
    assert seen[0][0] - started < 0.35


def test_capture_stdout_returns_everything() -> None:
    result = ffmpeg_run.run(
        ["sh", "-c", "printf '{\"a\": 1}'; echo oops >&2"], timeout=10, capture_stdout=True
    )
    assert result.stdout == b'{"a": 1}'
    assert result.stderr_tail == "oops"


def test_a_missing_binary_raises_oserror() -> None:
    with pytest.raises(OSError):
        ffmpeg_run.run(["/nonexistent/ffmpeg"], timeout=5)


def test_a_failing_callback_does_not_leave_the_process_running() -> None:
    # Given a callback that raises on the first line
    pids: list[int] = []

    def explode(line: str) -> None:
        pids.append(int(line))
        raise RuntimeError("boom")

    # When the process prints its pid and keeps running
    with pytest.raises(RuntimeError):
        ffmpeg_run.run(["sh", "-c", "echo $$; exec sleep 30"], timeout=30, on_progress_line=explode)

    # Then the process was killed
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)


def test_run_or_fail_turns_every_failure_into_a_reasoned_media_failure() -> None:
    from functions.shared.errors import MediaFailed

    ok = ffmpeg_run.run_or_fail(
        ["sh", "-c", "echo out"], timeout=5, what="echoing", reason="r", capture_stdout=True
    )
    assert ok.stdout == b"out\n"
    with pytest.raises(MediaFailed) as failed:
        ffmpeg_run.run_or_fail(
            ["sh", "-c", "echo bad input >&2; exit 3"], timeout=5, what="cutting", reason="cut_failed"
        )
    assert failed.value.reason == "cut_failed"
    # stderr goes to the log (redacted), never into the exception: it would reach the video's record
    assert "cutting: sh exited with status 3" in str(failed.value) and "bad input" not in str(failed.value)
    with pytest.raises(MediaFailed) as late:
        ffmpeg_run.run_or_fail(
            ["sleep", "5"], timeout=0.2, what="waiting", reason="r", timeout_reason="too_slow"
        )
    assert late.value.reason == "too_slow" and "did not finish within 0.2 s" in str(late.value)
    with pytest.raises(MediaFailed) as missing:
        ffmpeg_run.run_or_fail(["/nonexistent/ffmpeg"], timeout=5, what="x", reason="no_tool")
    assert missing.value.reason == "no_tool" and "cannot run ffmpeg" in str(missing.value)
