"""Media for the pipeline logic tests, generated with ffmpeg's lavfi test sources.

Clips are tiny and short (a few seconds, 640x360 at most) and made once per test session, so
the whole folder stays well under a minute on two cores.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from functions.media.probe import ProbeLimits

GENEROUS_LIMITS = ProbeLimits(max_duration_seconds=3600, max_size_bytes=10 * 1024**3)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-y", "-v", "error", *args], check=True)


def ffprobe_json(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", *args, str(path)],
        check=True,
        capture_output=True,
    ).stdout
    parsed: dict[str, Any] = json.loads(out)
    return parsed


def lavfi_video(size: str, rate: int, seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


def lavfi_audio(seconds: float, channels: int = 2, sample_rate: int = 44100) -> list[str]:
    layout = "stereo" if channels == 2 else "mono"
    return [
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate={sample_rate}:duration={seconds},aformat=channel_layouts={layout}",
    ]


X264_FAST = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline-media")


@pytest.fixture(scope="session")
def clip_av(media: Path) -> Path:
    """4 s, 640x360 at 30 fps, stereo AAC at 44.1 kHz: a typical small upload."""
    path = media / "av.mp4"
    ffmpeg(*lavfi_video("640x360", 30, 4), *lavfi_audio(4), *X264_FAST, "-c:a", "aac", "-shortest", str(path))
    return path


@pytest.fixture(scope="session")
def clip_video_only(media: Path) -> Path:
    """3 s, 320x240 at 25 fps, no audio track at all."""
    path = media / "video_only.mp4"
    ffmpeg(*lavfi_video("320x240", 25, 3), *X264_FAST, str(path))
    return path


@pytest.fixture(scope="session")
def clip_rotated(media: Path) -> Path:
    """Coded 320x240 with a display matrix that turns it to portrait, as phones record."""
    plain = media / "rotated_src.mp4"
    path = media / "rotated.mp4"
    ffmpeg(*lavfi_video("320x240", 25, 2), *X264_FAST, str(plain))
    # ffmpeg 5.1 has no -display_rotation; the rotate tag on a stream copy becomes the matrix.
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(path))
    return path


@pytest.fixture(scope="session")
def clip_for_truncation(media: Path) -> Path:
    """3 s with audio, moov at the end (ffmpeg's default for MP4)."""
    path = media / "moov_at_end.mp4"
    ffmpeg(*lavfi_video("320x240", 25, 3), *lavfi_audio(3), *X264_FAST, "-c:a", "aac", "-shortest", str(path))
    return path


@pytest.fixture(scope="session")
def clip_faststart(clip_for_truncation: Path, media: Path) -> Path:
    path = media / "faststart.mp4"
    ffmpeg("-i", str(clip_for_truncation), "-c", "copy", "-movflags", "+faststart", str(path))
    return path


def truncate_copy(source: Path, dest: Path, fraction: float) -> Path:
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


@pytest.fixture(scope="session")
def truncated_moov_at_end(clip_for_truncation: Path, media: Path) -> Path:
    return truncate_copy(clip_for_truncation, media / "cut_moov_at_end.mp4", 0.6)


@pytest.fixture(scope="session")
def truncated_faststart(clip_faststart: Path, media: Path) -> Path:
    return truncate_copy(clip_faststart, media / "cut_faststart.mp4", 0.6)


@pytest.fixture(scope="session")
def audio_only(media: Path) -> Path:
    path = media / "audio.m4a"
    ffmpeg(*lavfi_audio(1), "-c:a", "aac", str(path))
    return path


@pytest.fixture(scope="session")
def audio_with_cover_art(media: Path) -> Path:
    """An MP3 with an embedded cover picture: a 'video' stream that is not a video."""
    cover = media / "cover.jpg"
    path = media / "song.mp3"
    ffmpeg(*lavfi_video("64x64", 1, 1), "-frames:v", "1", str(cover))
    ffmpeg(
        *lavfi_audio(1),
        "-i",
        str(cover),
        "-map",
        "0:a",
        "-map",
        "1:v",
        "-c:a",
        "libmp3lame",
        "-c:v",
        "mjpeg",
        "-disposition:v:0",
        "attached_pic",
        "-id3v2_version",
        "3",
        str(path),
    )
    return path


@pytest.fixture(scope="session")
def clip_ffv1(media: Path) -> Path:
    """A lossless FFV1 clip in Matroska: a real video, in a codec outside the default allow-list."""
    path = media / "ffv1.mkv"
    ffmpeg(*lavfi_video("160x120", 10, 1), "-c:v", "ffv1", str(path))
    return path


@pytest.fixture(scope="session")
def clip_long_gop(media: Path) -> Path:
    """4 s with a single keyframe: keyframes alone cannot fill a storyboard."""
    path = media / "long_gop.mp4"
    ffmpeg(*lavfi_video("320x240", 25, 4), *X264_FAST, "-g", "1000", "-sc_threshold", "0", str(path))
    return path


@pytest.fixture(scope="session")
def clip_short_gop(media: Path) -> Path:
    """4 s with a keyframe every 0.5 s."""
    path = media / "short_gop.mp4"
    ffmpeg(*lavfi_video("320x240", 24, 4), *X264_FAST, "-g", "12", "-sc_threshold", "0", str(path))
    return path


@pytest.fixture(scope="session")
def clip_two_second_gop(media: Path) -> Path:
    """6 s, 160x120 at 10 fps, a keyframe every 2 s."""
    path = media / "two_second_gop.mp4"
    ffmpeg(*lavfi_video("160x120", 10, 6), *X264_FAST, "-g", "20", "-sc_threshold", "0", str(path))
    return path


@pytest.fixture(scope="session")
def clip_for_timeout(media: Path) -> Path:
    """6 s at 640x360: far more work than a 0.3 s deadline allows."""
    path = media / "for_timeout.mp4"
    ffmpeg(*lavfi_video("640x360", 30, 6), *X264_FAST, str(path))
    return path


class _RangeHandler(SimpleHTTPRequestHandler):
    """Serves files with HTTP Range support, like S3 behind a presigned GET URL."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_head(self) -> Any:
        self._remaining: int | None = None
        header = self.headers.get("Range")
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", header or "")
        path = Path(self.translate_path(self.path))
        if match is None or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        start = int(match.group(1))
        end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        if start >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return None
        fh = path.open("rb")
        fh.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self._remaining = end - start + 1
        return fh

    def copyfile(self, source: Any, outputfile: Any) -> None:
        remaining = self._remaining
        if remaining is None:
            super().copyfile(source, outputfile)
            return
        while remaining > 0:
            chunk = source.read(min(64 * 1024, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)


@pytest.fixture(scope="session")
def http_media(media: Path) -> Iterator[str]:
    """Base URL of a local HTTP server over the media folder (stands in for presigned S3 URLs)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_RangeHandler, directory=str(media)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
