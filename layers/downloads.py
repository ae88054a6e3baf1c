"""Fetching the media archives from their registries: a wheel through ``python -m pip download``,
an npm tarball through ``npm pack`` (nothing is installed, no install scripts run), kept in a
cache and always checked against the lock before use; a download that does not match is deleted."""

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from layers.archives import sha256_file, verify_sha256
from layers.commands import run
from layers.errors import BuildError, ChecksumMismatchError
from layers.lock import LockEntry
from layers.platforms import DEFAULT_PYTHON_VERSION, wheel_platform_tags

log = logging.getLogger(__name__)


def pip_download(
    package: str,
    version: str,
    platforms: Sequence[str],
    dest_dir: Path,
    python_version: str = DEFAULT_PYTHON_VERSION,
) -> Path:
    """Download one wheel of ``package==version`` for ``platforms`` into ``dest_dir``; return it."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pip-", dir=dest_dir) as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download", f"{package}=={version}",
            "--no-deps", "--only-binary=:all:", "--python-version", python_version,
            "--dest", tmp, "--quiet",
        ]  # fmt: skip
        for tag in platforms:
            cmd += ["--platform", tag]
        run(cmd)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise BuildError(f"pip download of {package}=={version} gave {[w.name for w in wheels]}")
        final = dest_dir / wheels[0].name
        os.replace(wheels[0], final)
    return final


def npm_pack(package: str, version: str, dest_dir: Path) -> Path:
    """Fetch the registry tarball of ``package@version`` with ``npm pack`` (nothing is installed)."""
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is not on PATH; it is needed to fetch ffprobe (install Node.js)")
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".npm-", dir=dest_dir) as tmp:
        run(
            [npm, "pack", f"{package}@{version}", "--pack-destination", tmp, "--ignore-scripts", "--json"],
            cwd=Path(tmp),
        )
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if len(tarballs) != 1:
            raise BuildError(f"npm pack of {package}@{version} gave {[t.name for t in tarballs]}")
        final = dest_dir / tarballs[0].name
        os.replace(tarballs[0], final)
    return final


def download_archive(entry: LockEntry, dest_dir: Path) -> Path:
    """Download the archive of ``entry`` from its registry into ``dest_dir`` (not verified yet)."""
    if entry.registry == "pypi":
        return pip_download(entry.package, entry.version, wheel_platform_tags(entry.archive), dest_dir)
    return npm_pack(entry.package, entry.version, dest_dir)


def fetch_archive(entry: LockEntry, cache_dir: Path) -> Path:
    """Return the verified archive of ``entry``, from ``cache_dir`` or freshly downloaded into it."""
    cached = cache_dir / entry.archive
    if cached.is_file():
        if sha256_file(cached) == entry.archive_sha256:
            log.info("cache hit: %s", cached)
            return cached
        log.warning("cached %s does not match the lock; downloading it again", cached)
        cached.unlink()
    downloaded = download_archive(entry, cache_dir)
    if downloaded.name != entry.archive:
        downloaded.unlink()
        raise BuildError(
            f"the registry served {downloaded.name} for {entry.package} {entry.version}, "
            f"the lock expects {entry.archive}"
        )
    try:
        verify_sha256(downloaded, entry.archive_sha256, f"downloaded {entry.arch} {entry.tool} archive")
    except ChecksumMismatchError:
        downloaded.unlink()
        raise
    return downloaded
