"""The deps layer: the functions' Python dependencies under ``python/`` (``/opt/python`` in
Lambda), as manylinux wheels for the python3.12 runtime of one architecture.

pip resolves the requirements once (``--dry-run --report``); the resolution is then cut down to
what the layer needs (the AWS SDK, which the runtime provides, and whatever only it needed are
left out), installed without further resolution, hash-checked when the index gives hashes, and
stripped of what a layer never runs (console scripts, bytecode caches, tests).
"""

import json
import logging
import os
import re
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layers.commands import run
from layers.errors import BuildError
from layers.platforms import DEFAULT_PYTHON_VERSION, manylinux_platforms, normalize_arch

log = logging.getLogger(__name__)

#: The Lambda Python runtime ships the AWS SDK; the deps layer leaves it out by default.
AWS_SDK_DISTRIBUTIONS = frozenset({"boto3", "botocore", "s3transfer"})


def normalize_dist_name(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    """One distribution the layer installs, at the version (and artifact hash) pip resolved."""

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
