"""Secrets the functions read at run time, each cached in the execution environment.

The CloudFront signing key signs playback URLs (functions/playback); the catalog's listing
cursors have an HMAC key of their own (functions/shared/cursor.py), so that neither secret
can stand in for the other and each is granted only where it is used.
"""

from __future__ import annotations

from functions.shared.settings import get_settings

# A rotated secret is picked up within five minutes, and a warm function makes no Secrets Manager
# call per request.
SECRET_CACHE_SECONDS = 300


def cloudfront_private_key() -> str:
    """The PEM private key of the CloudFront signing pair (Secrets Manager, cached)."""
    # Imported here: only the routes that sign pay for the parameters utility's import.
    from aws_lambda_powertools.utilities import parameters

    secret = get_settings().cloudfront_private_key_secret
    return str(parameters.get_secret(secret, max_age=SECRET_CACHE_SECONDS))


def catalog_cursor_key() -> str:
    """The catalog cursors' HMAC key (a generated Secrets Manager secret, cached)."""
    from aws_lambda_powertools.utilities import parameters

    secret = get_settings().catalog_cursor_secret
    return str(parameters.get_secret(secret, max_age=SECRET_CACHE_SECONDS))
