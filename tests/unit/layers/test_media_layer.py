"""Building the media layer offline, from archives already in the cache (layers.media_layer)."""

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from layers import downloads
from layers.errors import ChecksumMismatchError
from tests.unit.layers.conftest import FakeSources, leftovers, make_tgz


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_build_media_layer_writes_executable_bin_ffmpeg_and_ffprobe(
    fake: FakeSources, tmp_path: Path, arch: str
) -> None:
    out = tmp_path / "out"
    assert fake.build(arch, out) == out

    for tool in ("ffmpeg", "ffprobe"):
        path = out / "bin" / tool
        assert path.read_bytes() == fake.binaries[arch, tool]
        assert stat.S_IMODE(path.stat().st_mode) == 0o755
        assert os.access(path, os.X_OK)
    assert leftovers(out / "bin") == ["ffmpeg", "ffprobe"]
    notice = (out / "licenses" / "ffmpeg" / "NOTICE.txt").read_text()
    assert "imageio-ffmpeg 0.0.1" in notice
    assert "@ffprobe-installer/linux-" in notice
    assert "GNU GENERAL PUBLIC LICENSE" in (out / "licenses" / "ffmpeg" / "GPL-3.0.txt").read_text()


def test_build_media_layer_accepts_cdk_architecture_aliases(fake: FakeSources, tmp_path: Path) -> None:
    fake.build("aarch64", tmp_path / "out")
    assert (tmp_path / "out" / "bin" / "ffmpeg").read_bytes() == fake.binaries["arm64", "ffmpeg"]


def test_build_media_layer_can_build_one_tool(fake: FakeSources, tmp_path: Path) -> None:
    fake.build("x86_64", tmp_path / "out", tools=("ffprobe",))
    assert leftovers(tmp_path / "out" / "bin") == ["ffprobe"]


def test_build_media_layer_is_idempotent(fake: FakeSources, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fake.build("x86_64", out)
    before = {t: (out / "bin" / t).stat() for t in ("ffmpeg", "ffprobe")}
    # Up-to-date outputs need neither the cache nor the network.
    for archive in fake.archives.values():
        archive.unlink()

    fake.build("x86_64", out)
    for tool, st in before.items():
        after = (out / "bin" / tool).stat()
        assert (after.st_ino, after.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)


def test_build_media_layer_replaces_a_modified_output(fake: FakeSources, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fake.build("x86_64", out)
    (out / "bin" / "ffmpeg").write_bytes(b"not ffmpeg")
    (out / "bin" / "ffprobe").chmod(0o644)

    fake.build("x86_64", out)
    assert (out / "bin" / "ffmpeg").read_bytes() == fake.binaries["x86_64", "ffmpeg"]
    assert stat.S_IMODE((out / "bin" / "ffprobe").stat().st_mode) == 0o755


def test_a_tampered_download_fails_loudly_and_is_not_cached(
    fake: FakeSources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = fake.archives["arm64", "ffprobe"]
    cached.write_bytes(cached.read_bytes() + b"junk")  # the cache no longer matches: download again
    served: list[str] = []

    def registry_serves_tampered(entry: Any, dest_dir: Path) -> Path:
        served.append(entry.package)
        path = dest_dir / entry.archive
        make_tgz(path, entry.member, b"\x7fELF something else")
        return path

    monkeypatch.setattr(downloads, "download_archive", registry_serves_tampered)
    with pytest.raises(ChecksumMismatchError):
        fake.build("arm64", tmp_path / "out")
    assert served == ["@ffprobe-installer/linux-arm64"]
    assert not cached.exists()
    assert not (tmp_path / "out" / "bin" / "ffprobe").exists()
