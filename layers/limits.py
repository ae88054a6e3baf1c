"""Lambda's size limit on unzipped code plus layers, and how a folder is measured against it.

The one home of both: the layer builder's summary line (:mod:`layers.cli`) and the CDK app's
size report (``infra/bundling.py``) import them from here.
"""

from pathlib import Path
from typing import NamedTuple

#: Lambda rejects a function whose code plus layers unzip to more than this many bytes (250 MiB).
LAMBDA_UNZIPPED_LIMIT = 262_144_000


class TreeSize(NamedTuple):
    """What :func:`tree_size` counts under a folder."""

    files: int
    size_bytes: int


def tree_size(root: Path) -> TreeSize:
    """Number and total bytes of the regular files under ``root``, symlinks not followed: what
    Lambda unzips."""
    files = size_bytes = 0
    for path in Path(root).rglob("*"):
        if path.is_file() and not path.is_symlink():
            files += 1
            size_bytes += path.lstat().st_size
    return TreeSize(files, size_bytes)
