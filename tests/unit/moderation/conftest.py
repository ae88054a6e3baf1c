"""Media for the moderation tests, generated with ffmpeg's lavfi sources once per session.

Clips are small and short; the biggest (the copyright test's 8 s 1280x720 "protected" clip)
renders its Mandelbrot zoom at 320x180 and scales it up, which keeps the structure and takes
about a second.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.moderation.dal import fingerprints
from functions.shared.settings import get_settings

X264_FAST = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-y", "-v", "error", *args], check=True)


def lavfi(graph: str, seconds: float, out: Path, *encode: str) -> Path:
    ffmpeg("-f", "lavfi", "-i", graph, "-t", str(seconds), *(encode or X264_FAST), str(out))
    return out


@pytest.fixture(scope="session")
def moderation_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("moderation-media")


@pytest.fixture(scope="session")
def timecode_clip(moderation_media: Path) -> Path:
    """4 s at 10 fps, 160x120. The left half's luma is 16 + 5 x the frame number (a visible
    time code); the right half turns from black to white at 2.3 s (a scene cut)."""
    graph = (
        "color=c=black:s=160x120:r=10,format=yuv420p,"
        "geq=lum='if(lt(X\\,W/2)\\,16+5*N\\,if(gte(T\\,2.3)\\,235\\,16))':cb=128:cr=128"
    )
    return lavfi(graph, 4, moderation_media / "timecode.mp4", *X264_FAST, "-g", "40", "-crf", "10")


@pytest.fixture(scope="session")
def pattern_clip(moderation_media: Path) -> Path:
    """3 s of ffmpeg's testsrc2 at 320x240: plainly safe content."""
    return lavfi("testsrc2=size=320x240:rate=10", 3, moderation_media / "pattern.mp4")


@pytest.fixture
def platform_table() -> Iterator[Any]:
    """The ``platform`` table (pk/sk + gsi1, as infra creates it) in an in-process moto account."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=get_settings().aws_region)
        dynamodb.create_table(
            TableName=get_settings().platform_table,
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        fingerprints.reset()
        yield dynamodb
        fingerprints.reset()
