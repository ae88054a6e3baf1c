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

One module per job:

- :mod:`layers.media_layer` / :mod:`layers.deps_layer`: build (and check, re-pin) each layer;
- :mod:`layers.lock`: the media lock model; :mod:`layers.archives`: checksums, archive members,
  ELF headers; :mod:`layers.downloads`: pip and npm downloads into the cache;
  :mod:`layers.licenses`: the licence files the media layer carries;
- :mod:`layers.platforms`: Lambda architectures and wheel tags; :mod:`layers.limits`: Lambda's
  unzipped size limit and how a folder is measured (shared with ``infra/bundling.py``);
- :mod:`layers.paths`: where data is read and builds are written; :mod:`layers.commands`:
  running pip, npm and the binaries; :mod:`layers.errors`; :mod:`layers.cli` (``python -m layers``).

From Python (the CDK app's ``ILocalBundling`` in ``infra/bundling.py``), call
:func:`layers.media_layer.build_media_layer` / :func:`layers.deps_layer.build_deps_layer`: both
write into any output directory. Standard library only (the package runs before any dependency
is installed); downloads go through ``python -m pip`` and ``npm pack``.
"""
