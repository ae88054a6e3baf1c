"""The playlist origin: a stored HLS playlist, with the viewer's signed query in every URI.

CloudFront verifies the signed URL before it forwards a request here (the ``*.m3u8`` behaviour
trusts the signing key group), so nothing is verified again: the signed parameters are only
copied, so that the variant playlists and segments a player resolves from this playlist carry
the same signature (functions.playback.signing.propagate_query).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from botocore.exceptions import ClientError

from functions.playback.signing import propagate_query, signed_query
from functions.shared import keys
from functions.shared.aws import client
from functions.shared.errors import NotFound
from functions.shared.settings import get_settings

PLAYLIST_SUFFIX = ".m3u8"
# S3 refuses longer keys with KeyTooLongError (a 400 ClientError, not NoSuchKey): such a path names
# no playlist, and asking S3 would turn a viewer's typo into a function error (CloudFront: 502).
MAX_KEY_BYTES = 1024
_MISSING = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True)
class Playlist:
    key: str
    video_id: str
    body: str


def playlist_key(path: str) -> str:
    """The media-bucket key of a request path; only playlists under ``videos/`` are served."""
    key = unquote(path).lstrip("/")
    parts = key.split("/")
    if (
        len(key.encode()) > MAX_KEY_BYTES
        or not key.startswith(keys.OUTPUT_PREFIX)
        or not key.endswith(PLAYLIST_SUFFIX)
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise NotFound(f"no playlist at {path}")
    return key


def signed_playlist(*, path: str, query: Mapping[str, str]) -> Playlist:
    """The playlist at ``path`` with the signed parameters of ``query`` appended to its URIs
    (unchanged when the request carries none). Raises NotFound for anything else."""
    key = playlist_key(path)
    try:
        obj = client("s3").get_object(Bucket=get_settings().media_bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            raise NotFound(f"no playlist at {path}") from exc
        raise
    text = obj["Body"].read().decode("utf-8")
    return Playlist(key=key, video_id=key.split("/")[1], body=propagate_query(text, signed_query(query)))
