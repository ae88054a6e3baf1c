"""The media layer: ``bin/ffmpeg`` and ``bin/ffprobe`` for one architecture, plus their licence
files. Builds it from the pinned archives (cached, verified, idempotent), smoke-tests a built
layer, and re-pins the lock by downloading the sources of every architecture again.

ffmpeg comes from PyPI ``imageio-ffmpeg`` wheels, ffprobe from npm ``@ffprobe-installer/linux-*``
(see ``layers/media/README.md`` for why these and what their licence asks).
"""

import json
import logging
import platform
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from layers import downloads
from layers.archives import (
    archive_members,
    check_elf_arch,
    hash_member,
    install_binary,
    is_up_to_date,
    sha256_file,
)
from layers.commands import run
from layers.errors import BuildError, LockFileError
from layers.licenses import write_license_files
from layers.lock import TOOLS, Lock, LockEntry, load_lock, write_lock
from layers.paths import CACHE_DIR, LOCK_PATH
from layers.platforms import ARCH_SPECS, ARCHES, host_arch, manylinux_platforms, normalize_arch

log = logging.getLogger(__name__)

FFMPEG_PACKAGE = "imageio-ffmpeg"
DEFAULT_FFMPEG_VERSION = "0.8.1"
FFMPEG_MEMBER_RE = re.compile(r"^imageio_ffmpeg/binaries/ffmpeg-linux-[^/]+$")
FFPROBE_NPM_SCOPE = "@ffprobe-installer"
DEFAULT_FFPROBE_VERSION = "5.2.0"
FFPROBE_MEMBER = "package/ffprobe"


def build_media_layer(
    arch: str,
    out_dir: Path,
    *,
    tools: Sequence[str] = TOOLS,
    lock_path: Path = LOCK_PATH,
    cache_dir: Path = CACHE_DIR,
) -> Path:
    """Write ``bin/<tool>`` (mode 755) and ``licenses/ffmpeg/`` for ``arch`` into ``out_dir``.

    Every archive and binary is checked against the lock; binaries already in place with the
    pinned checksum are left alone, and archives are cached in ``cache_dir/media/<arch>``.
    ``tools`` selects a subset (e.g. ``("ffprobe",)``) to split ffmpeg and ffprobe into two layers.
    Returns ``out_dir``.
    """
    arch = normalize_arch(arch)
    out_dir = Path(out_dir)
    entries = load_lock(lock_path)[arch]
    unknown = [t for t in tools if t not in entries]
    if unknown or not tools:
        raise BuildError(f"tools must be a non-empty subset of {TOOLS}, got {list(tools)}")
    for tool in tools:
        entry = entries[tool]
        target = out_dir / "bin" / tool
        if is_up_to_date(target, entry):
            log.info("%s %s: up to date (%s)", arch, tool, target)
            continue
        archive = downloads.fetch_archive(entry, Path(cache_dir) / "media" / arch)
        install_binary(archive, entry, target)
        log.info("%s %s: installed %s", arch, tool, target)
    write_license_files(out_dir, [entries[t] for t in tools])
    return out_dir


def check_media_layer(
    layer_dir: Path, arch: str, *, tools: Sequence[str] = TOOLS, lock_path: Path = LOCK_PATH
) -> list[str]:
    """Check a built media layer; return what was checked. Raises :class:`BuildError` on failure.

    Always: checksums, mode 755 and ELF architecture. When ``arch`` is the host's, also runs the
    binaries: ``-version``; ffmpeg has the libx264 and aac encoders; and (both tools present)
    ffprobe reads back the H.264/AAC clip ffmpeg makes.
    """
    arch = normalize_arch(arch)
    entries = load_lock(lock_path)[arch]
    done: list[str] = []
    bins = {tool: Path(layer_dir) / "bin" / tool for tool in tools}
    for tool, path in bins.items():
        if not is_up_to_date(path, entries[tool]):
            raise BuildError(f"{path} is missing, not mode 755 or does not match the lock")
        with path.open("rb") as fh:
            check_elf_arch(fh.read(64), arch, str(path))
        done.append(f"{tool}: sha256 {entries[tool].binary_sha256[:12]}..., mode 755, ELF {arch}")
    if host_arch() != arch:
        done.append(f"not executed: host is {platform.machine()}, layer is {arch}")
        return done
    for tool, path in bins.items():
        first = run([str(path), "-hide_banner", "-version"]).splitlines()[0]
        done.append(f"{tool} -version: {first}")
    if "ffmpeg" in bins:
        encoders = run([str(bins["ffmpeg"]), "-hide_banner", "-encoders"])
        for name in ("libx264", "aac"):
            if not re.search(rf"^\s*\S+\s+{name}\s", encoders, re.MULTILINE):
                raise BuildError(f"ffmpeg has no {name} encoder")
        done.append("ffmpeg encoders: libx264, aac")
    if set(bins) == set(TOOLS):
        done.append(_check_round_trip(bins["ffmpeg"], bins["ffprobe"]))
    return done


def _check_round_trip(ffmpeg: Path, ffprobe: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="media-check-") as tmp:
        clip = Path(tmp) / "check.mp4"
        run([
            str(ffmpeg), "-nostdin", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip),
        ])  # fmt: skip
        out = run([
            str(ffprobe), "-v", "error", "-show_entries",
            "stream=codec_type,codec_name:format=duration", "-of", "json", str(clip),
        ])  # fmt: skip
    probe = json.loads(out)
    codecs = {s["codec_type"]: s["codec_name"] for s in probe.get("streams", [])}
    if codecs != {"video": "h264", "audio": "aac"}:
        raise BuildError(f"ffprobe saw streams {codecs} in the clip ffmpeg made")
    duration = float(probe["format"]["duration"])
    return f"ffprobe reads the clip ffmpeg made: {codecs}, {duration:.2f} s"


def _lock_entry_from_archive(
    tool: str, arch: str, registry: str, package: str, version: str, archive: Path, member: str
) -> LockEntry:
    binary_sha256, size, header = hash_member(archive, member)
    check_elf_arch(header, arch, f"{tool} in {archive.name}")
    return LockEntry(
        tool=tool,
        arch=arch,
        registry=registry,
        package=package,
        version=version,
        archive=archive.name,
        member=member,
        archive_sha256=sha256_file(archive),
        binary_sha256=binary_sha256,
        binary_size=size,
    )


def update_lock(
    *,
    ffmpeg_version: str | None = None,
    ffprobe_version: str | None = None,
    lock_path: Path = LOCK_PATH,
    cache_dir: Path = CACHE_DIR,
) -> Lock:
    """Download the sources of every architecture again and rewrite the lock with their checksums.

    Versions default to those of the current lock (or the built-in defaults when there is none).
    """
    current: Lock | None
    try:
        current = load_lock(lock_path)
    except LockFileError:
        current = None
    if ffmpeg_version is None:
        ffmpeg_version = current["x86_64"]["ffmpeg"].version if current else DEFAULT_FFMPEG_VERSION
    if ffprobe_version is None:
        ffprobe_version = current["x86_64"]["ffprobe"].version if current else DEFAULT_FFPROBE_VERSION
    lock: Lock = {}
    for arch in ARCHES:
        spec = ARCH_SPECS[arch]
        arch_cache = Path(cache_dir) / "media" / arch
        wheel = downloads.pip_download(FFMPEG_PACKAGE, ffmpeg_version, manylinux_platforms(arch), arch_cache)
        members = [m for m in archive_members(wheel) if FFMPEG_MEMBER_RE.match(m)]
        if len(members) != 1:
            raise BuildError(f"expected one ffmpeg binary in {wheel.name}, found {members}")
        ffmpeg = _lock_entry_from_archive(
            "ffmpeg", arch, "pypi", FFMPEG_PACKAGE, ffmpeg_version, wheel, members[0]
        )
        npm_package = f"{FFPROBE_NPM_SCOPE}/linux-{spec.npm_cpu}"
        tarball = downloads.npm_pack(npm_package, ffprobe_version, arch_cache)
        ffprobe = _lock_entry_from_archive(
            "ffprobe", arch, "npm", npm_package, ffprobe_version, tarball, FFPROBE_MEMBER
        )
        lock[arch] = {"ffmpeg": ffmpeg, "ffprobe": ffprobe}
    write_lock(lock, lock_path)
    log.info("wrote %s", lock_path)
    return lock
