"""The command line of the layer builder, ``python -m layers``::

    python -m layers media --arch x86_64|arm64|all [--out DIR] [--tools T ...] [--check]
    python -m layers media --update-lock [--ffmpeg-version V] [--ffprobe-version V]
    python -m layers deps --arch x86_64|arm64|all --requirements REQ [REQ ...] [--out DIR]
    python -m layers deps --arch arm64 --pyproject pyproject.toml [--out DIR]

Each built layer ends with a summary line: its size and what is left of Lambda's unzipped limit.
A :class:`~layers.errors.BuildError` prints ``ERROR: <reason>`` and exits with status 1.
"""

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import layers
from layers.deps_layer import AWS_SDK_DISTRIBUTIONS, build_deps_layer, pyproject_dependencies
from layers.errors import BuildError
from layers.limits import LAMBDA_UNZIPPED_LIMIT, tree_size
from layers.lock import TOOLS
from layers.media_layer import (
    FFMPEG_PACKAGE,
    FFPROBE_NPM_SCOPE,
    build_media_layer,
    check_media_layer,
    update_lock,
)
from layers.paths import CACHE_DIR, DEPS_DIST_DIR, LOCK_PATH, MEDIA_DIST_DIR
from layers.platforms import ARCHES, DEFAULT_PYTHON_VERSION, normalize_arch


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
    summary = layers.__doc__.split("\n\n")[0] if layers.__doc__ else None
    parser = argparse.ArgumentParser(prog="python -m layers", description=summary)
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
