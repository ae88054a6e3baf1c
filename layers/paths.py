"""Where the layer builder reads and writes, all relative to this package's folder (so they hold
in the repository and in an editable install alike).

Read: the media pins (``media/media.lock.json``) and the GPL text the media layer carries
(``media/licenses/``). Written: the download cache (``.cache/``) and the default output folders
(``media/dist/``, ``deps/dist/``), all three git-ignored.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
MEDIA_DIR = PACKAGE_DIR / "media"
LOCK_PATH = MEDIA_DIR / "media.lock.json"
LICENSES_SRC_DIR = MEDIA_DIR / "licenses"
CACHE_DIR = PACKAGE_DIR / ".cache"
MEDIA_DIST_DIR = MEDIA_DIR / "dist"
DEPS_DIST_DIR = PACKAGE_DIR / "deps" / "dist"
