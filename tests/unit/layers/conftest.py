"""Fixtures of the layer builder's tests: a fake media lock whose archives are tiny files already
in the cache, and downloads that fail the test instead of touching the network."""

import dataclasses
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from layers import downloads
from layers.lock import LockEntry, load_lock
from layers.media_layer import build_media_layer

EM_X86_64 = 62
EM_AARCH64 = 183


def fake_elf(machine: int, payload: bytes) -> bytes:
    """A 64-bit little-endian ELF header with e_machine = machine, then payload."""
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    return ident + (2).to_bytes(2, "little") + machine.to_bytes(2, "little") + bytes(44) + payload


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(path: Path, member: str, content: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("imageio_ffmpeg/__init__.py", "")
        zf.writestr(member, content)
    return path


def make_tgz(path: Path, member: str, content: bytes) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in (("package/package.json", b"{}"), (member, content)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return path


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@dataclasses.dataclass
class FakeSources:
    lock_path: Path
    cache_dir: Path
    binaries: dict[tuple[str, str], bytes]  # (arch, tool) -> content
    archives: dict[tuple[str, str], Path]

    def entry(self, arch: str, tool: str) -> LockEntry:
        return load_lock(self.lock_path)[arch][tool]

    def build(self, arch: str, out: Path, **kwargs: Any) -> Path:
        return build_media_layer(arch, out, lock_path=self.lock_path, cache_dir=self.cache_dir, **kwargs)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSources:
    """A lock for both arches whose archives are tiny fakes already in the cache; downloads fail."""

    def no_network(*args: object, **kwargs: object) -> Path:
        raise AssertionError("the test tried to download")

    monkeypatch.setattr(downloads, "pip_download", no_network)
    monkeypatch.setattr(downloads, "npm_pack", no_network)

    cache_dir = tmp_path / "cache"
    arches: dict[str, Any] = {}
    binaries: dict[tuple[str, str], bytes] = {}
    archives: dict[tuple[str, str], Path] = {}
    for arch, machine, wheel_machine, npm_cpu in (
        ("x86_64", EM_X86_64, "x86_64", "x64"),
        ("arm64", EM_AARCH64, "aarch64", "arm64"),
    ):
        arch_cache = cache_dir / "media" / arch
        arch_cache.mkdir(parents=True)
        ffmpeg = fake_elf(machine, f"fake ffmpeg {arch}".encode() * 1000)
        ffprobe = fake_elf(machine, f"fake ffprobe {arch}".encode() * 500)
        ffmpeg_member = f"imageio_ffmpeg/binaries/ffmpeg-linux-{wheel_machine}-v0.0"
        wheel = make_wheel(
            arch_cache / f"imageio_ffmpeg-0.0.1-py3-none-manylinux_2_28_{wheel_machine}.whl",
            ffmpeg_member,
            ffmpeg,
        )
        tgz = make_tgz(
            arch_cache / f"ffprobe-installer-linux-{npm_cpu}-0.0.1.tgz", "package/ffprobe", ffprobe
        )
        binaries[arch, "ffmpeg"], binaries[arch, "ffprobe"] = ffmpeg, ffprobe
        archives[arch, "ffmpeg"], archives[arch, "ffprobe"] = wheel, tgz
        arches[arch] = {
            "ffmpeg": {
                "source": {
                    "registry": "pypi",
                    "package": "imageio-ffmpeg",
                    "version": "0.0.1",
                    "archive": wheel.name,
                    "member": ffmpeg_member,
                },
                "archive_sha256": sha256(wheel.read_bytes()),
                "binary_sha256": sha256(ffmpeg),
                "binary_size": len(ffmpeg),
            },
            "ffprobe": {
                "source": {
                    "registry": "npm",
                    "package": f"@ffprobe-installer/linux-{npm_cpu}",
                    "version": "0.0.1",
                    "archive": tgz.name,
                    "member": "package/ffprobe",
                },
                "archive_sha256": sha256(tgz.read_bytes()),
                "binary_sha256": sha256(ffprobe),
                "binary_size": len(ffprobe),
            },
        }
    lock_path = tmp_path / "media.lock.json"
    lock_path.write_text(json.dumps({"lock_version": 1, "arches": arches}))
    return FakeSources(lock_path, cache_dir, binaries, archives)
