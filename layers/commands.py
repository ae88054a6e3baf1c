"""Running the external programs a build needs (pip, npm, the built ffmpeg and ffprobe): logged,
and turned into a :class:`~layers.errors.BuildError` carrying their stderr when they fail."""

import logging
import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from layers.errors import BuildError

log = logging.getLogger(__name__)


def run(cmd: Sequence[str], *, cwd: Path | None = None) -> str:
    """Run a command; raise :class:`BuildError` with its stderr if it fails; return stdout."""
    log.info("$ %s", shlex.join(cmd))
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip())[-4000:]
        raise BuildError(f"command failed with exit code {proc.returncode}: {shlex.join(cmd)}\n{detail}")
    return proc.stdout
