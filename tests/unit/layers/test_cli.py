"""The layer builder's command line (layers.cli, ``python -m layers``)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from layers.cli import main
from layers.paths import PACKAGE_DIR
from tests.unit.layers.conftest import FakeSources


def test_cli_exits_non_zero_with_the_reason_on_mismatch(
    fake: FakeSources, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["media", "--arch", "all", "--out", str(tmp_path / "out"), "--lock", str(fake.lock_path)]
    args += ["--cache-dir", str(fake.cache_dir)]
    assert main(args) == 0
    assert (tmp_path / "out" / "x86_64" / "bin" / "ffmpeg").is_file()
    assert (tmp_path / "out" / "arm64" / "bin" / "ffprobe").is_file()
    assert "MB left of Lambda's 262144000 byte limit" in capsys.readouterr().out

    lock = json.loads(fake.lock_path.read_text())
    lock["arches"]["x86_64"]["ffmpeg"]["binary_sha256"] = "f" * 64
    fake.lock_path.write_text(json.dumps(lock))
    assert main([*args[:2], "x86_64", *args[3:]]) == 1
    err = capsys.readouterr().err
    assert "ERROR: SHA-256 mismatch" in err
    assert "f" * 64 in err


def test_python_dash_m_layers_runs_the_cli(tmp_path: Path) -> None:
    # From another folder: `layers` runs as a package (python -m), not as a script path
    done = subprocess.run(
        [sys.executable, "-m", "layers", "media", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(PACKAGE_DIR.parent), "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m layers media")
    assert "--update-lock" in done.stdout
