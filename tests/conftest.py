"""Shared fixtures: fake AWS credentials, generated media, the in-process moto account."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local import py311

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Vod",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
# Resource names have no defaults (functions/shared/settings.py). Test code that runs outside any
# function (unit tests of logic and DALs, setup and assertions) plays an operator who can name
# every resource; a function invoked through infra.local.lambda_runtime, once configured, sees
# only its own declared ones whatever is set here.
os.environ.update(
    {
        "VIDEOS_TABLE": "vod-videos",
        "PLATFORM_TABLE": "vod-platform",
        "IDEMPOTENCY_TABLE": "vod-idempotency",
        "UPLOAD_BUCKET": "vod-uploads",
        "MEDIA_BUCKET": "vod-media",
        "EVENT_BUS_NAME": "vod-events",
        "STATE_MACHINE_ARN": "",
        "CDN_BASE_URL": "http://127.0.0.1:8787",
        "CLOUDFRONT_KEY_PAIR_ID": "",
        "CLOUDFRONT_PRIVATE_KEY_SECRET": "vod/cloudfront-private-key",
        "CATALOG_TABLE": "vod-catalog",
        "CATALOG_VIEWS_TABLE": "vod-catalog-views",
        "SESSIONS_TABLE": "vod-sessions",
    }
)
# jsii (CDK) prints a banner about Node 20 at exit; it is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

# CPython 3.11's ast.parse is not safe across threads (infra/local/py311.py); the embedded stack's
# threads and hypothesis both parse in one test process.
py311.serialize_ast_parse()


def make_clip(
    path: Path,
    *,
    seconds: float = 2,
    size: str = "320x240",
    rate: int = 25,
    audio: bool = True,
    extra: list[str] | None = None,
) -> Path:
    """A small test-pattern clip (ffmpeg's testsrc2 + a sine tone): tests make their own media."""
    cmd = [
        "ffmpeg",
        "-y",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={rate}:duration={seconds}",
    ]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    cmd += ["-c:a", "aac", "-shortest"] if audio else []
    cmd += [*(extra or []), str(path)]
    subprocess.run(cmd, check=True)
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def small_clip(media_dir: Path) -> Path:
    return make_clip(media_dir / "small.mp4")


@pytest.fixture
def fresh_function_caches() -> Iterator[None]:
    from infra.local.emulator import reset_function_caches

    reset_function_caches()
    yield
    reset_function_caches()
