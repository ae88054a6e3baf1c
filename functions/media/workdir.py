"""Scratch space and time budget of a media step: the two things every ffmpeg-running step needs.

A Lambda invocation has one ``/tmp`` (``WORK_DIR`` locally) and one deadline; a step works in its
own directory, removed whatever happens, and gives ffmpeg the invocation's remaining time less a
margin for uploads and the reply.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from functions.shared.settings import get_settings

# Leave this much of the Lambda's time for uploads and the reply after ffmpeg is stopped.
SAFETY_MARGIN_S = 20.0


@contextmanager
def work_dir(video_id: str) -> Iterator[Path]:
    base = Path(get_settings().work_dir)
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{video_id}-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def time_budget(remaining_ms: int) -> float:
    return max(5.0, remaining_ms / 1000 - SAFETY_MARGIN_S)
