"""CloudFront's origin for ``*.m3u8``: a Lambda Function URL (payload 2.0) behind origin access control.

CloudFront has already verified the viewer's signed URL (trusted key group on the behaviour) and
forwards its query string; the playlist comes back with that signed query in every URI.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.playback.logic.playlists import signed_playlist
from functions.shared.errors import NotFound
from functions.shared.observability import logger, observed, tracer

PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl"
# The response depends on the signed query, which CloudFront keeps in the cache key; a playlist
# may be rewritten while a video is (re)published, so it is cached for seconds only.
PLAYLIST_CACHE_CONTROL = "max-age=2"
_METHODS = {"GET", "HEAD"}


def _text(status: int, message: str, **headers: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "text/plain", "cache-control": PLAYLIST_CACHE_CONTROL, **headers},
        "body": f"{message}\n",
        "isBase64Encoded": False,
    }


def _query(event: LambdaFunctionUrlEvent) -> dict[str, str]:
    """The query as sent: ``rawQueryString`` keeps each value exactly (no comma-joining)."""
    if event.raw_query_string:
        return dict(parse_qsl(event.raw_query_string, keep_blank_values=True))
    return dict(event.query_string_parameters or {})


@observed(correlation_paths.LAMBDA_FUNCTION_URL)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = LambdaFunctionUrlEvent(event)
    if request.request_context.http.method.upper() not in _METHODS:
        return _text(405, "Method Not Allowed", allow="GET, HEAD")
    try:
        playlist = signed_playlist(path=request.raw_path, query=_query(request))
    except NotFound:
        return _text(404, "Not Found")
    logger.append_keys(video_id=playlist.video_id)
    tracer.put_annotation("video_id", playlist.video_id)
    return {
        "statusCode": 200,
        "headers": {"content-type": PLAYLIST_CONTENT_TYPE, "cache-control": PLAYLIST_CACHE_CONTROL},
        "body": playlist.body,
        "isBase64Encoded": False,
    }
