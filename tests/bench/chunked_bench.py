"""Chunked vs single-pass on this machine: a 10-minute 1080p source through the embedded stack.

Both runs go through the whole pipeline (probe, moderation, encode, thumbnails, publish) from the
start of the upload. The single-pass run sets CHUNK_THRESHOLD_SECONDS above the source's length;
the chunked run uses the defaults (60 s chunks) with a Map concurrency of the machine's cores.

Targets (issue #5): upload-to-viewable <= 0.35x single-pass upload-to-READY; chunked
upload-to-READY <= 1.15x single-pass upload-to-READY.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SECTION = "chunked"
SOURCE_SECONDS = 600
VIEWABLE_TARGET = 0.35
READY_TARGET = 1.15
CACHE = Path(tempfile.gettempdir()) / "vod-bench-cache"


def generate_source(seconds: int = SOURCE_SECONDS) -> Path:
    """10 minutes of 1080p30 H.264 (8 Mb/s, keyframe every 2 s, as cameras and phones write) +
    AAC; cached between runs (generating it takes minutes on 2 cores)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"source-1080p-{seconds}s.mp4"
    if path.exists():
        return path
    partial = path.with_suffix(".partial.mp4")
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M", "-g", "60", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart", str(partial),
        ],
        check=True,
    )  # fmt: skip
    partial.rename(path)
    return path


def _run_in_this_process(source: Path, state: Path, overrides: dict[str, str]) -> dict[str, Any]:
    from tests.bench.run import pipeline_upload_to_ready

    return pipeline_upload_to_ready(source, state, overrides, timeout=3000)


def run_once(source: Path, state: Path, overrides: dict[str, str]) -> dict[str, Any]:
    """One embedded stack per fresh process: moto's backends are process-wide, so a second stack
    in the same process would find the first one's tables."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_run_in_this_process, source, state, overrides).result()


def bench_section(seconds: int = SOURCE_SECONDS) -> dict[str, Any]:
    source = generate_source(seconds)
    work = Path(tempfile.mkdtemp(prefix="vod-bench-chunked-"))
    single = run_once(source, work / "single", {"CHUNK_THRESHOLD_SECONDS": str(seconds * 10)})
    cores = os.cpu_count() or 2
    chunked = run_once(source, work / "chunked", {"MAP_MAX_CONCURRENCY": str(cores)})
    viewable_ratio = chunked["upload_to_viewable_s"] / single["upload_to_ready_s"]
    ready_ratio = chunked["upload_to_ready_s"] / single["upload_to_ready_s"]
    return {
        "source": f"{seconds}s 1920x1080 30fps H.264 8 Mb/s (GOP 2 s) + AAC",
        "single_pass": single,
        "chunked": {**chunked, "map_max_concurrency": cores, "chunk_target_s": 60},
        "viewable_vs_single_ready": round(viewable_ratio, 3),
        "viewable_target": VIEWABLE_TARGET,
        "chunked_ready_vs_single_ready": round(ready_ratio, 3),
        "ready_target": READY_TARGET,
    }


def failures(section: dict[str, Any]) -> list[str]:
    out = []
    if section["viewable_vs_single_ready"] > VIEWABLE_TARGET:
        out.append(f"upload-to-viewable is {section['viewable_vs_single_ready']}x single-pass READY (> 0.35)")
    if section["chunked_ready_vs_single_ready"] > READY_TARGET:
        out.append(f"chunked READY is {section['chunked_ready_vs_single_ready']}x single-pass (> 1.15)")
    return out
