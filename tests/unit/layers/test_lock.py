"""The media lock model (layers.lock) and the repository's own lock file."""

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from layers.errors import LockFileError
from layers.lock import load_lock, parse_lock
from layers.media_layer import FFMPEG_MEMBER_RE
from layers.paths import LOCK_PATH

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def test_repository_lock_file_is_well_formed() -> None:
    raw = json.loads(LOCK_PATH.read_text())
    assert set(raw["arches"]) == {"x86_64", "arm64"}
    lock = load_lock()
    for arch, machine in (("x86_64", "x86_64"), ("arm64", "aarch64")):
        assert set(lock[arch]) == {"ffmpeg", "ffprobe"}
        for tool, entry in lock[arch].items():
            assert HEX64.fullmatch(entry.archive_sha256), (arch, tool)
            assert HEX64.fullmatch(entry.binary_sha256), (arch, tool)
            assert entry.archive_sha256 != entry.binary_sha256
            assert entry.binary_size > 1_000_000
        ffmpeg, ffprobe = lock[arch]["ffmpeg"], lock[arch]["ffprobe"]
        assert (ffmpeg.registry, ffmpeg.package) == ("pypi", "imageio-ffmpeg")
        assert ffmpeg.archive.startswith(f"imageio_ffmpeg-{ffmpeg.version}-")
        assert ffmpeg.archive.endswith(f"_{machine}.whl")
        assert FFMPEG_MEMBER_RE.fullmatch(ffmpeg.member)
        assert machine in ffmpeg.member
        npm_cpu = "x64" if arch == "x86_64" else "arm64"
        assert (ffprobe.registry, ffprobe.package) == ("npm", f"@ffprobe-installer/linux-{npm_cpu}")
        assert ffprobe.archive == f"ffprobe-installer-linux-{npm_cpu}-{ffprobe.version}.tgz"
        assert ffprobe.member == "package/ffprobe"
    # Every pin is distinct: no copy-paste between architectures.
    pins = [e.archive_sha256 for a in lock.values() for e in a.values()]
    pins += [e.binary_sha256 for a in lock.values() for e in a.values()]
    assert len(set(pins)) == 8


def _mutate(data: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    copy = json.loads(json.dumps(data))
    change(copy)
    return copy


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["arches"].pop("arm64"), "arches"),
        (lambda d: d["arches"]["x86_64"].pop("ffprobe"), "x86_64"),
        (lambda d: d["arches"]["arm64"]["ffmpeg"].update(archive_sha256="ABC"), "archive_sha256"),
        (lambda d: d["arches"]["arm64"]["ffmpeg"].update(binary_sha256="A" * 64), "binary_sha256"),
        (lambda d: d["arches"]["x86_64"]["ffmpeg"]["source"].update(archive="../x.whl"), "plain file name"),
        (lambda d: d["arches"]["x86_64"]["ffprobe"]["source"].update(registry="http"), "registry"),
        (lambda d: d["arches"]["x86_64"]["ffprobe"].update(binary_size=0), "binary_size"),
        (lambda d: d.update(lock_version=2), "lock_version"),
    ],
)
def test_malformed_locks_are_rejected(change: Callable[[dict[str, Any]], object], message: str) -> None:
    good = json.loads(LOCK_PATH.read_text())
    parse_lock(good)
    with pytest.raises(LockFileError, match=message):
        parse_lock(_mutate(good, change))
