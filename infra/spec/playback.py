"""Playback: the playlist origin behind CloudFront and the paths CloudFront serves."""

from __future__ import annotations

from functions.shared.keys import IMAGES_PREFIX
from infra.spec.types import READ, FunctionSpec

# CloudFront's cache behaviour for HLS playlists and the function behind it (a Function URL origin,
# infra.constructs.cdn_construct); the local edge (infra.local.edge) routes the same paths to it.
PLAYLIST_PATH_PATTERN = "*.m3u8"
PLAYLIST_ORIGIN = "playlist-origin"
# Title images (covers, backdrops): public, so no signed URL; CloudFront has a behaviour for them
# that trusts no key group, and the local edge serves the same paths unsigned.
PUBLIC_IMAGES_PATH_PATTERN = f"{IMAGES_PREFIX}*"

FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(
        name=PLAYLIST_ORIGIN,
        handler="functions.playback.handlers.handle_playlist.handler",
        service="playback",
        description="CloudFront origin of *.m3u8: copies the viewer's signed query into every playlist URI",
        memory_mb=512,
        timeout_s=10,
        env=("MEDIA_BUCKET",),
        grants={"media_bucket": READ},
        function_url=True,
    ),
)
