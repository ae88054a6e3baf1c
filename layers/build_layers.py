#!/usr/bin/env python3
"""Build the Lambda layers of the VOD platform without Docker.

Two layers:

``media``
    Static-ish ffmpeg and static ffprobe for Linux x86_64 and arm64, taken from pinned registry
    packages (PyPI ``imageio-ffmpeg`` wheels for ffmpeg, npm ``@ffprobe-installer/linux-*`` for
    ffprobe) and verified by SHA-256 against ``layers/media/media.lock.json`` (both the
    downloaded archive and the extracted binary). Layer root: ``bin/ffmpeg``, ``bin/ffprobe``
    (``/opt/bin`` in Lambda) and ``licenses/ffmpeg/`` (GPL text and provenance notice).

``deps``
    The Python dependencies of the functions, installed for the Lambda python3.12 runtime
    (manylinux wheels for the target architecture) into ``<out>/python`` (``/opt/python``).

Command line::

    python layers/build_layers.py media --arch x86_64|arm64|all [--out DIR] [--check]
    python layers/build_layers.py media --update-lock [--ffmpeg-version V] [--ffprobe-version V]
    python layers/build_layers.py deps --arch x86_64|arm64|all --requirements REQ [REQ ...] [--out DIR]
    python layers/build_layers.py deps --arch arm64 --pyproject pyproject.toml [--out DIR]

This file is not part of a package: load it by path (``importlib.util.spec_from_file_location``)
and call :func:`build_media_layer` / :func:`build_deps_layer`, e.g. from a CDK ``ILocalBundling``.
Both write into any output directory. Standard library only; downloads go through
``python -m pip`` and ``npm pack``.
"""

import argparse
import contextlib
import hashlib
import json
import logging
import os
import platform
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Self

log = logging.getLogger("build_layers")

LAYERS_DIR = Path(__file__).resolve().parent
MEDIA_DIR = LAYERS_DIR / "media"
LOCK_PATH = MEDIA_DIR / "media.lock.json"
LICENSES_SRC_DIR = MEDIA_DIR / "licenses"
CACHE_DIR = LAYERS_DIR / ".cache"
MEDIA_DIST_DIR = MEDIA_DIR / "dist"
DEPS_DIST_DIR = LAYERS_DIR / "deps" / "dist"

ARCHES = ("x86_64", "arm64")
TOOLS = ("ffmpeg", "ffprobe")
REGISTRIES = ("pypi", "npm")
LOCK_VERSION = 1

#: Lambda rejects a function whose code plus layers unzip to more than this many bytes.
LAMBDA_UNZIPPED_LIMIT = 262_144_000

#: Lambda python3.12+ runs on Amazon Linux 2023, whose glibc is 2.34: any manylinux wheel up to
#: manylinux_2_34 runs there.
LAMBDA_GLIBC_MINOR = 34
DEFAULT_PYTHON_VERSION = "3.12"

FFMPEG_PACKAGE = "imageio-ffmpeg"
DEFAULT_FFMPEG_VERSION = "0.8.1"
FFMPEG_MEMBER_RE = re.compile(r"^imageio_ffmpeg/binaries/ffmpeg-linux-[^/]+$")
FFPROBE_NPM_SCOPE = "@ffprobe-installer"
DEFAULT_FFPROBE_VERSION = "5.2.0"
FFPROBE_MEMBER = "package/ffprobe"

#: The Lambda Python runtime ships the AWS SDK; the deps layer leaves it out by default.
AWS_SDK_DISTRIBUTIONS = frozenset({"boto3", "botocore", "s3transfer"})

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


class BuildError(Exception):
    """A layer cannot be built; the message says why."""


class ChecksumMismatchError(BuildError):
    """A file does not have the SHA-256 the lock file pins."""


class LockFileError(BuildError):
    """The lock file is missing or malformed."""


@dataclass(frozen=True)
class ArchSpec:
    name: str  # Lambda / CDK architecture name
    wheel_machine: str  # machine suffix of manylinux platform tags
    npm_cpu: str  # npm "cpu" name used by @ffprobe-installer
    elf_machine: int  # e_machine of the ELF header


ARCH_SPECS = {
    "x86_64": ArchSpec("x86_64", "x86_64", "x64", 62),  # EM_X86_64
    "arm64": ArchSpec("arm64", "aarch64", "arm64", 183),  # EM_AARCH64
}
_ARCH_ALIASES = {"x86_64": "x86_64", "amd64": "x86_64", "x64": "x86_64", "arm64": "arm64", "aarch64": "arm64"}


def normalize_arch(arch: str) -> str:
    """Map an architecture name (``x86_64``/``amd64``, ``arm64``/``aarch64``) to ``x86_64``/``arm64``."""
    try:
        return _ARCH_ALIASES[arch.strip().lower()]
    except KeyError:
        raise BuildError(f"unknown architecture {arch!r}; expected one of {', '.join(ARCHES)}") from None


def manylinux_platforms(arch: str, glibc_minor: int = LAMBDA_GLIBC_MINOR) -> list[str]:
    """pip ``--platform`` tags of every manylinux wheel that runs on glibc 2.<glibc_minor>, newest first.

    pip does not widen an explicit ``--platform`` to older manylinux tags, so all are listed.
    """
    machine = ARCH_SPECS[normalize_arch(arch)].wheel_machine
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(glibc_minor, 16, -1)]
    tags.append(f"manylinux2014_{machine}")
    if machine == "x86_64":
        tags += ["manylinux_2_12_x86_64", "manylinux2010_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64"]
    return tags


def wheel_platform_tags(wheel_name: str) -> list[str]:
    """Platform tags of a wheel file name (``name-ver[-build]-py-abi-plat.whl``)."""
    if not wheel_name.endswith(".whl") or wheel_name.count("-") < 4:
        raise BuildError(f"not a wheel file name: {wheel_name!r}")
    return wheel_name[: -len(".whl")].split("-")[-1].split(".")


def normalize_dist_name(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --------------------------------------------------------------------------------------------
# Lock file
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockEntry:
    """One pinned binary: where it comes from and the checksums of the archive and the binary."""

    tool: str
    arch: str
    registry: str  # "pypi" (a wheel) or "npm" (a tarball from npm pack)
    package: str
    version: str
    archive: str  # file name of the wheel / tarball
    member: str  # path of the binary inside the archive
    archive_sha256: str
    binary_sha256: str
    binary_size: int

    def to_json(self) -> dict[str, Any]:
        return {
            "source": {
                "registry": self.registry,
                "package": self.package,
                "version": self.version,
                "archive": self.archive,
                "member": self.member,
            },
            "archive_sha256": self.archive_sha256,
            "binary_sha256": self.binary_sha256,
            "binary_size": self.binary_size,
        }

    @classmethod
    def from_json(cls, tool: str, arch: str, data: Any) -> Self:
        where = f"{arch}.{tool}"
        if not isinstance(data, dict) or not isinstance(data.get("source"), dict):
            raise LockFileError(f"{where}: expected an object with a 'source' object")
        source = data["source"]
        fields: dict[str, str] = {}
        for key in ("registry", "package", "version", "archive", "member"):
            value = source.get(key)
            if not isinstance(value, str) or not value:
                raise LockFileError(f"{where}.source.{key}: expected a non-empty string")
            fields[key] = value
        if fields["registry"] not in REGISTRIES:
            raise LockFileError(f"{where}.source.registry: {fields['registry']!r} is not one of {REGISTRIES}")
        archive = fields["archive"]
        if Path(archive).name != archive or archive in {".", ".."}:
            raise LockFileError(f"{where}.source.archive: {archive!r} must be a plain file name")
        for key in ("archive_sha256", "binary_sha256"):
            value = data.get(key)
            if not isinstance(value, str) or not _SHA256_RE.fullmatch(value):
                raise LockFileError(f"{where}.{key}: expected 64 lowercase hex digits, got {value!r}")
        size = data.get("binary_size")
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise LockFileError(f"{where}.binary_size: expected a positive integer, got {size!r}")
        return cls(
            tool=tool,
            arch=arch,
            archive_sha256=data["archive_sha256"],
            binary_sha256=data["binary_sha256"],
            binary_size=size,
            **fields,
        )


Lock = dict[str, dict[str, LockEntry]]


def parse_lock(data: Any) -> Lock:
    """Validate lock data: every architecture, every tool, well-formed entries."""
    if not isinstance(data, dict) or data.get("lock_version") != LOCK_VERSION:
        raise LockFileError(f"expected an object with lock_version {LOCK_VERSION}")
    arches = data.get("arches")
    if not isinstance(arches, dict):
        raise LockFileError("expected an 'arches' object")
    if set(arches) != set(ARCHES):
        raise LockFileError(f"'arches' must have exactly {sorted(ARCHES)}, has {sorted(arches)}")
    lock: Lock = {}
    for arch in ARCHES:
        tools = arches[arch]
        if not isinstance(tools, dict) or set(tools) != set(TOOLS):
            raise LockFileError(f"{arch}: must have exactly {sorted(TOOLS)}")
        lock[arch] = {tool: LockEntry.from_json(tool, arch, tools[tool]) for tool in TOOLS}
    return lock


def load_lock(path: Path = LOCK_PATH) -> Lock:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LockFileError(f"lock file {path} not found (create it with: media --update-lock)") from None
    except json.JSONDecodeError as exc:
        raise LockFileError(f"lock file {path} is not valid JSON: {exc}") from None
    try:
        return parse_lock(data)
    except LockFileError as exc:
        raise LockFileError(f"lock file {path}: {exc}") from None


def lock_to_json(lock: Lock) -> dict[str, Any]:
    return {
        "lock_version": LOCK_VERSION,
        "comment": (
            "Pins of the media layer binaries. Generated by "
            "'python layers/build_layers.py media --update-lock'; see layers/media/README.md."
        ),
        "arches": {arch: {tool: lock[arch][tool].to_json() for tool in TOOLS} for arch in ARCHES},
    }


def write_lock(lock: Lock, path: Path = LOCK_PATH) -> None:
    parse_lock(lock_to_json(lock))  # never write a lock that would not load
    text = json.dumps(lock_to_json(lock), indent=2) + "\n"
    tmp = Path(path).with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# Checksums, archives and ELF headers (all offline)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Downloads (pip and npm subprocesses)
# --------------------------------------------------------------------------------------------


def run(cmd: Sequence[str], *, cwd: Path | None = None) -> str:
    """Run a command; raise :class:`BuildError` with its stderr if it fails; return stdout."""
    log.info("$ %s", shlex.join(cmd))
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip())[-4000:]
        raise BuildError(f"command failed with exit code {proc.returncode}: {shlex.join(cmd)}\n{detail}")
    return proc.stdout


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


# --------------------------------------------------------------------------------------------
# Media layer
# --------------------------------------------------------------------------------------------

UPSTREAM = {
    "ffmpeg": (
        "FFmpeg built by BtbN/FFmpeg-Builds (https://github.com/BtbN/FFmpeg-Builds), "
        "repackaged by imageio-ffmpeg (https://github.com/imageio/imageio-ffmpeg)"
    ),
    "ffprobe": (
        "FFmpeg static build by John Van Sickle (https://johnvansickle.com/ffmpeg/), "
        "repackaged by ffprobe-installer (https://github.com/SavageCore/node-ffprobe-installer)"
    ),
}


def render_notice(entries: Iterable[LockEntry]) -> str:
    lines = [
        "Third-party binaries in this layer",
        "==================================",
        "",
        "bin/ffmpeg and bin/ffprobe are FFmpeg (https://ffmpeg.org) builds configured with",
        "--enable-gpl --enable-version3 and statically linked against GPL libraries (libx264,",
        "libx265 and others). They are licensed under the GNU General Public License version 3",
        "(licenses/ffmpeg/GPL-3.0.txt). Source code: https://ffmpeg.org/download.html and the",
        "build recipes of the projects below. No modifications were made to the binaries.",
        "",
    ]
    for e in entries:
        lines += [
            f"bin/{e.tool} ({e.arch})",
            f"  from:     {e.registry} package {e.package} {e.version}, file {e.archive}, member {e.member}",
            f"  upstream: {UPSTREAM[e.tool]}",
            f"  sha256:   {e.binary_sha256}",
            "",
        ]
    return "\n".join(lines)


def write_license_files(out_dir: Path, entries: Sequence[LockEntry]) -> None:
    gpl = LICENSES_SRC_DIR / "GPL-3.0.txt"
    if not gpl.is_file():
        raise BuildError(f"{gpl} is missing: the layer must carry the GPL text")
    dest = out_dir / "licenses" / "ffmpeg"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(gpl, dest / "GPL-3.0.txt")
    (dest / "NOTICE.txt").write_text(render_notice(entries), encoding="utf-8")


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
        archive = fetch_archive(entry, Path(cache_dir) / "media" / arch)
        install_binary(archive, entry, target)
        log.info("%s %s: installed %s", arch, tool, target)
    write_license_files(out_dir, [entries[t] for t in tools])
    return out_dir


def host_arch() -> str | None:
    try:
        return normalize_arch(platform.machine())
    except BuildError:
        return None


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
        wheel = pip_download(FFMPEG_PACKAGE, ffmpeg_version, manylinux_platforms(arch), arch_cache)
        members = [m for m in archive_members(wheel) if FFMPEG_MEMBER_RE.match(m)]
        if len(members) != 1:
            raise BuildError(f"expected one ffmpeg binary in {wheel.name}, found {members}")
        ffmpeg = _lock_entry_from_archive(
            "ffmpeg", arch, "pypi", FFMPEG_PACKAGE, ffmpeg_version, wheel, members[0]
        )
        npm_package = f"{FFPROBE_NPM_SCOPE}/linux-{spec.npm_cpu}"
        tarball = npm_pack(npm_package, ffprobe_version, arch_cache)
        ffprobe = _lock_entry_from_archive(
            "ffprobe", arch, "npm", npm_package, ffprobe_version, tarball, FFPROBE_MEMBER
        )
        lock[arch] = {"ffmpeg": ffmpeg, "ffprobe": ffprobe}
    write_lock(lock, lock_path)
    log.info("wrote %s", lock_path)
    return lock


# --------------------------------------------------------------------------------------------
# Deps layer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    sha256: str | None


_REQ_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_EXTRA_MARKER_RE = re.compile(r"""\bextra\s*==\s*['"]([^'"]+)['"]""")


def _requirement_edge(requirement: str, active_extras: set[str]) -> tuple[str, set[str]] | None:
    """(dependency, its extras) of one Requires-Dist entry, or None when an extra gates it off.

    Only ``extra == '...'`` markers are evaluated (an entry gated on extras none of which is
    active is skipped, unless the marker has an ``or``); other markers count as true, which can
    only keep more than needed, never less.
    """
    match = _REQ_RE.match(requirement)
    if not match:
        return None
    marker = requirement.partition(";")[2]
    gating = {normalize_dist_name(e) for e in _EXTRA_MARKER_RE.findall(marker)}
    if gating and not (gating & active_extras) and " or " not in marker:
        return None
    extras = {normalize_dist_name(e) for e in (match.group(2) or "").split(",") if e.strip()}
    return normalize_dist_name(match.group(1)), extras


def select_layer_packages(report: dict[str, Any], exclude: Iterable[str]) -> tuple[list[Pin], list[str]]:
    """Split a ``pip install --report`` resolution into what the layer installs and what it drops.

    Kept: everything reachable from the requested distributions (with their requested extras)
    without passing through an excluded one. Dropped: the excluded distributions and what only
    they needed (for the AWS SDK: botocore, s3transfer and e.g. python-dateutil, six, urllib3
    when nothing else asks for them).
    """
    excluded = {normalize_dist_name(n) for n in exclude}
    items: dict[str, dict[str, Any]] = {}
    stack: list[tuple[str, set[str]]] = []
    for item in report.get("install", []):
        name = normalize_dist_name(item["metadata"]["name"])
        items[name] = item
        if item.get("requested") and name not in excluded:
            stack.append((name, {normalize_dist_name(e) for e in item.get("requested_extras") or []}))
    active: dict[str, set[str]] = {}
    while stack:
        name, extras = stack.pop()
        if name in active and extras <= active[name]:
            continue
        active[name] = active.get(name, set()) | extras
        for requirement in items[name]["metadata"].get("requires_dist") or []:
            edge = _requirement_edge(requirement, active[name])
            if edge and edge[0] in items and edge[0] not in excluded:
                stack.append(edge)
    pins = []
    for name in sorted(active):
        meta = items[name]["metadata"]
        hashes = (items[name].get("download_info") or {}).get("archive_info", {}).get("hashes") or {}
        pins.append(Pin(meta["name"], meta["version"], hashes.get("sha256")))
    dropped = sorted(
        f"{items[n]['metadata']['name']}=={items[n]['metadata']['version']}" for n in items if n not in active
    )
    return pins, dropped


def render_pins(pins: Sequence[Pin]) -> tuple[str, bool]:
    """Requirements file text for ``pins``; with ``--hash`` lines when every pin has a hash."""
    with_hashes = all(p.sha256 for p in pins)
    lines = [f"{p.name}=={p.version}" + (f" --hash=sha256:{p.sha256}" if with_hashes else "") for p in pins]
    return "\n".join(lines) + "\n", with_hashes


def strip_tree(root: Path) -> list[Path]:
    """Delete what a Lambda layer does not need; return what was deleted.

    Removes ``bin/`` (console scripts whose shebang names the build interpreter), ``__pycache__``
    directories, ``*.pyc``/``*.pyo`` files and ``tests`` directories. ``*.dist-info`` is kept:
    libraries read their own version with ``importlib.metadata``.
    """
    removed: list[Path] = []
    bin_dir = root / "bin"
    if bin_dir.is_dir():
        shutil.rmtree(bin_dir)
        removed.append(bin_dir)
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here.name.endswith(".dist-info"):
            dirnames[:] = []
            continue
        for d in list(dirnames):
            if d in {"__pycache__", "tests"}:
                shutil.rmtree(here / d)
                removed.append(here / d)
                dirnames.remove(d)
        for f in filenames:
            if f.endswith((".pyc", ".pyo")):
                (here / f).unlink()
                removed.append(here / f)
    return removed


def build_deps_layer(
    arch: str,
    out_dir: Path,
    requirements: list[str],
    *,
    python_version: str = DEFAULT_PYTHON_VERSION,
    exclude: Iterable[str] = AWS_SDK_DISTRIBUTIONS,
) -> Path:
    """Install ``requirements`` for Lambda ``arch`` / Python ``python_version`` into ``out_dir/python``.

    pip resolves the full set first (``--dry-run --report``); the layer then gets exactly that
    set minus ``exclude`` (the AWS SDK by default: the runtime provides it) and minus what only
    the excluded distributions needed, installed with ``--no-deps`` and, when the index gives
    hashes, ``--require-hashes`` so the second download is the artifact the resolution chose.
    ``out_dir/python`` is replaced. Returns ``out_dir``.
    """
    arch = normalize_arch(arch)
    if not requirements:
        raise BuildError("no requirements given for the deps layer")
    out_dir = Path(out_dir)
    target = out_dir / "python"
    pip = [sys.executable, "-m", "pip"]
    common = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python_version]
    for tag in manylinux_platforms(arch):
        common += ["--platform", tag]
    with tempfile.TemporaryDirectory(prefix="deps-layer-") as tmp_name:
        tmp = Path(tmp_name)
        report_path = tmp / "report.json"
        run([
            *pip, "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report_path),
            "--target", str(tmp / "resolve"), *common, *requirements,
        ])  # fmt: skip
        pins, dropped = select_layer_packages(json.loads(report_path.read_text(encoding="utf-8")), exclude)
        if dropped:
            log.info("left out of the deps layer: %s", ", ".join(dropped))
        req_text, with_hashes = render_pins(pins)
        req_file = tmp / "layer-requirements.txt"
        req_file.write_text(req_text, encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        run([
            *pip, "install", "--no-deps", "--no-compile", "--quiet", "--target", str(target), *common,
            *(["--require-hashes"] if with_hashes else []), "-r", str(req_file),
        ])  # fmt: skip
    removed = strip_tree(target)
    log.debug("stripped: %s", ", ".join(str(r.relative_to(target)) for r in removed))
    log.info("deps layer %s: %d packages, stripped %d paths", arch, len(pins), len(removed))
    return out_dir


def pyproject_dependencies(path: Path) -> list[str]:
    """``[project].dependencies`` of a pyproject.toml."""
    with Path(path).open("rb") as fh:
        deps = tomllib.load(fh).get("project", {}).get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise BuildError(f"{path}: [project].dependencies must be a list of strings")
    return deps


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def tree_size(root: Path) -> tuple[int, int]:
    """Number of files and their total size in bytes (symlinks not followed)."""
    count = total = 0
    for path in Path(root).rglob("*"):
        if path.is_file() and not path.is_symlink():
            count += 1
            total += path.stat().st_size
    return count, total


def _describe(kind: str, arch: str, out_dir: Path) -> str:
    count, total = tree_size(out_dir)
    line = f"{kind} layer {arch}: {out_dir} ({count} files, {total / 1e6:.1f} MB unzipped"
    headroom = LAMBDA_UNZIPPED_LIMIT - total
    return line + f"; {headroom / 1e6:.1f} MB left of Lambda's {LAMBDA_UNZIPPED_LIMIT} byte limit)"


def _arches(value: str) -> list[str]:
    return list(ARCHES) if value == "all" else [normalize_arch(value)]


def _out_dir(out: Path | None, arch: str, arches: list[str], default_root: Path) -> Path:
    if out is None:
        return default_root / arch
    return out / arch if len(arches) > 1 else out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="only print warnings and the summary")
    sub = parser.add_subparsers(dest="layer", required=True)

    media = sub.add_parser("media", parents=[common], help="ffmpeg + ffprobe layer")
    media.add_argument("--arch", default="all", help="x86_64, arm64 or all (default: all)")
    media.add_argument("--out", type=Path, help="layer root (with --arch all: DIR/<arch>)")
    media.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS), help="subset of binaries")
    media.add_argument("--update-lock", action="store_true", help="download again and rewrite the lock")
    media.add_argument("--ffmpeg-version", help=f"{FFMPEG_PACKAGE} version for --update-lock")
    media.add_argument("--ffprobe-version", help=f"{FFPROBE_NPM_SCOPE}/linux-* version for --update-lock")
    media.add_argument("--check", action="store_true", help="smoke-test the built layer")
    media.add_argument("--lock", type=Path, default=LOCK_PATH, help=argparse.SUPPRESS)
    media.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help=argparse.SUPPRESS)

    deps = sub.add_parser("deps", parents=[common], help="Python dependencies layer")
    deps.add_argument("--arch", default="all", help="x86_64, arm64 or all (default: all)")
    deps.add_argument("--out", type=Path, help="layer root (with --arch all: DIR/<arch>)")
    deps.add_argument("--requirements", nargs="+", default=[], metavar="REQ", help="requirement specifiers")
    deps.add_argument("--pyproject", type=Path, help="also install [project].dependencies of this file")
    deps.add_argument("--python-version", default=DEFAULT_PYTHON_VERSION)
    deps.add_argument("--keep-aws-sdk", action="store_true", help="do not leave boto3/botocore out")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    try:
        arches = _arches(args.arch)
        if args.layer == "media":
            if (args.ffmpeg_version or args.ffprobe_version) and not args.update_lock:
                parser.error("--ffmpeg-version/--ffprobe-version need --update-lock")
            if args.update_lock:
                update_lock(
                    ffmpeg_version=args.ffmpeg_version,
                    ffprobe_version=args.ffprobe_version,
                    lock_path=args.lock,
                    cache_dir=args.cache_dir,
                )
            for arch in arches:
                out_dir = _out_dir(args.out, arch, arches, MEDIA_DIST_DIR)
                build_media_layer(
                    arch, out_dir, tools=args.tools, lock_path=args.lock, cache_dir=args.cache_dir
                )
                if args.check:
                    for line in check_media_layer(out_dir, arch, tools=args.tools, lock_path=args.lock):
                        print(f"check {arch}: {line}")
                print(_describe("media", arch, out_dir))
        else:
            requirements = list(args.requirements)
            if args.pyproject:
                requirements += pyproject_dependencies(args.pyproject)
            for arch in arches:
                out_dir = _out_dir(args.out, arch, arches, DEPS_DIST_DIR)
                build_deps_layer(
                    arch,
                    out_dir,
                    requirements,
                    python_version=args.python_version,
                    exclude=() if args.keep_aws_sdk else AWS_SDK_DISTRIBUTIONS,
                )
                print(_describe("deps", arch, out_dir))
    except BuildError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
