"""Offline checks of layers.archives: checksums, archive members and ELF headers, and installing
a pinned binary (nothing is left behind when a check fails)."""

import dataclasses
import tarfile
from pathlib import Path

import pytest

from layers.archives import install_binary, open_member, verify_sha256
from layers.errors import BuildError, ChecksumMismatchError
from tests.unit.layers.conftest import FakeSources, leftovers, make_wheel, sha256


def test_verify_sha256_accepts_the_pinned_file_and_rejects_a_tampered_one(tmp_path: Path) -> None:
    f = tmp_path / "archive.whl"
    f.write_bytes(b"original bytes")
    pinned = sha256(b"original bytes")
    verify_sha256(f, pinned, "test archive")

    f.write_bytes(b"original byteS")
    with pytest.raises(ChecksumMismatchError) as exc:
        verify_sha256(f, pinned, "test archive")
    assert pinned in str(exc.value)
    assert sha256(b"original byteS") in str(exc.value)


def test_install_binary_rejects_a_tampered_archive_and_writes_nothing(
    fake: FakeSources, tmp_path: Path
) -> None:
    entry = fake.entry("x86_64", "ffmpeg")
    wheel = fake.archives["x86_64", "ffmpeg"]
    # Same member name, one byte changed in the binary: a different archive.
    tampered = bytearray(fake.binaries["x86_64", "ffmpeg"])
    tampered[-1] ^= 0xFF
    make_wheel(wheel, entry.member, bytes(tampered))
    bin_dir = tmp_path / "layer" / "bin"

    with pytest.raises(ChecksumMismatchError, match=r"x86_64 ffmpeg archive imageio_ffmpeg-0\.0\.1"):
        install_binary(wheel, entry, bin_dir / "ffmpeg")
    assert leftovers(bin_dir) == []


def test_install_binary_rejects_a_binary_that_differs_from_the_pin(fake: FakeSources, tmp_path: Path) -> None:
    # The archive matches its pin but the binary pin does not: the extracted file is rejected.
    entry = dataclasses.replace(fake.entry("x86_64", "ffprobe"), binary_sha256="0" * 64)
    bin_dir = tmp_path / "layer" / "bin"

    with pytest.raises(ChecksumMismatchError, match="x86_64 ffprobe binary 'package/ffprobe'"):
        install_binary(fake.archives["x86_64", "ffprobe"], entry, bin_dir / "ffprobe")
    assert leftovers(bin_dir) == []  # no temporary file left behind either


def test_install_binary_rejects_a_binary_for_the_other_architecture(
    fake: FakeSources, tmp_path: Path
) -> None:
    # Consistent checksums, but the x86_64 binary is pinned under arm64.
    entry = dataclasses.replace(fake.entry("x86_64", "ffmpeg"), arch="arm64")
    target = tmp_path / "bin" / "ffmpeg"

    with pytest.raises(BuildError, match="ELF machine 62"):
        install_binary(fake.archives["x86_64", "ffmpeg"], entry, target)
    assert not target.exists()


def test_a_tarball_member_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    tgz = tmp_path / "evil.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        link = tarfile.TarInfo("package/ffprobe")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    with pytest.raises(BuildError, match="not a regular file"), open_member(tgz, "package/ffprobe"):
        pass


def test_a_missing_member_is_reported(fake: FakeSources) -> None:
    with (
        pytest.raises(BuildError, match="not found"),
        open_member(fake.archives["arm64", "ffmpeg"], "nope"),
    ):
        pass
