"""The licence files the media layer carries (``licenses/ffmpeg/``): the verbatim GPL text from
``media/licenses/`` and a notice of where each binary comes from, with its checksum."""

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from layers.errors import BuildError
from layers.lock import LockEntry
from layers.paths import LICENSES_SRC_DIR

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
