"""Offline checks and extraction: SHA-256 of files, reading one member of a wheel or an npm
tarball (nothing else is extracted; links are refused), ELF headers for the architecture, and
installing a pinned binary only once its checksum and architecture match the lock."""

import contextlib
import hashlib
import os
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from layers.errors import BuildError, ChecksumMismatchError
from layers.lock import LockEntry
from layers.platforms import ARCH_SPECS, normalize_arch

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def verify_sha256(path: Path, expected: str, what: str) -> None:
    """Raise :class:`ChecksumMismatchError` unless ``path`` hashes to ``expected``."""
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumMismatchError(
            f"SHA-256 mismatch for {what} ({path}): lock pins {expected}, file has {actual}"
        )


@contextlib.contextmanager
def open_member(archive: Path, member: str) -> Iterator[IO[bytes]]:
    """Open one regular file of a wheel/zip or a .tgz for reading, without extracting anything else."""
    name = Path(archive).name
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            try:
                info = zf.getinfo(member)
            except KeyError:
                raise BuildError(f"{member!r} not found in {archive}") from None
            if info.is_dir():
                raise BuildError(f"{member!r} in {archive} is a directory")
            with zf.open(info) as fh:
                yield fh
    elif name.endswith((".tgz", ".tar.gz")):
        with tarfile.open(archive, "r:gz") as tf:
            try:
                tinfo = tf.getmember(member)
            except KeyError:
                raise BuildError(f"{member!r} not found in {archive}") from None
            if not tinfo.isfile():  # refuses links and devices
                raise BuildError(f"{member!r} in {archive} is not a regular file")
            tfh = tf.extractfile(tinfo)
            if tfh is None:
                raise BuildError(f"cannot read {member!r} from {archive}")
            with tfh:
                yield tfh
    else:
        raise BuildError(f"unsupported archive type: {archive}")


def archive_members(archive: Path) -> list[str]:
    name = Path(archive).name
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as zf:
            return [i.filename for i in zf.infolist() if not i.is_dir()]
    if name.endswith((".tgz", ".tar.gz")):
        with tarfile.open(archive, "r:gz") as tf:
            return [m.name for m in tf.getmembers() if m.isfile()]
    raise BuildError(f"unsupported archive type: {archive}")


def elf_machine(header: bytes, what: str) -> int:
    """``e_machine`` of a 64-bit little-endian ELF header (the first 20 bytes suffice)."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        raise BuildError(f"{what} is not an ELF executable")
    if header[4] != 2 or header[5] != 1:
        raise BuildError(f"{what} is not a 64-bit little-endian ELF file")
    return int.from_bytes(header[18:20], "little")


def check_elf_arch(header: bytes, arch: str, what: str) -> None:
    spec = ARCH_SPECS[normalize_arch(arch)]
    machine = elf_machine(header, what)
    if machine != spec.elf_machine:
        raise BuildError(f"{what} is built for ELF machine {machine}, not {spec.name} ({spec.elf_machine})")


def hash_member(archive: Path, member: str) -> tuple[str, int, bytes]:
    """SHA-256, size and first bytes of one member of an archive."""
    digest = hashlib.sha256()
    size = 0
    header = b""
    with open_member(archive, member) as src:
        for chunk in iter(lambda: src.read(_CHUNK), b""):
            if len(header) < 64:
                header += chunk[: 64 - len(header)]
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, header


def install_binary(archive: Path, entry: LockEntry, target: Path) -> None:
    """Verify ``archive``, extract ``entry.member`` to ``target`` (mode 755) and verify the binary.

    The binary is written to a temporary file next to ``target`` and only renamed into place once
    its checksum and ELF architecture match; nothing is left behind on failure.
    """
    verify_sha256(archive, entry.archive_sha256, f"{entry.arch} {entry.tool} archive {entry.archive}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        header = b""
        with os.fdopen(fd, "wb") as out, open_member(archive, entry.member) as src:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                if len(header) < 64:
                    header += chunk[: 64 - len(header)]
                digest.update(chunk)
                out.write(chunk)
        actual = digest.hexdigest()
        if actual != entry.binary_sha256:
            raise ChecksumMismatchError(
                f"SHA-256 mismatch for {entry.arch} {entry.tool} binary {entry.member!r} in {archive}: "
                f"lock pins {entry.binary_sha256}, extracted file has {actual}"
            )
        check_elf_arch(header, entry.arch, f"{entry.tool} from {entry.archive}")
        tmp.chmod(0o755)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def is_up_to_date(target: Path, entry: LockEntry) -> bool:
    """True if ``target`` is the pinned binary, executable (mode 755)."""
    try:
        st = target.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != entry.binary_size:
        return False
    if stat.S_IMODE(st.st_mode) != 0o755:
        return False
    return sha256_file(target) == entry.binary_sha256
