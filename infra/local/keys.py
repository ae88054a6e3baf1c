"""Local key material for the embedded mode: the JWT issuer's key and the CloudFront key pair.

Kept in the state directory (``$VOD_STATE_DIR``, default ``./.vod``) so that ``vod token`` in
one process signs tokens the running ``vod local up`` accepts.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://issuer.vod.local"
AUDIENCE = "vod-local"
TOKEN_TTL_SECONDS = 12 * 3600


def state_dir() -> Path:
    path = Path(os.environ.get("VOD_STATE_DIR", ".vod")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pem)
    tmp.chmod(0o600)
    tmp.replace(path)
    return key


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class LocalIssuer:
    """Issues and verifies RS256 tokens shaped like Cognito's (``sub``, ``cognito:groups``)."""

    def __init__(self, directory: Path | None = None):
        self._key = _load_or_create_key((directory or state_dir()) / "jwt-issuer.pem")

    def issue(self, *, sub: str, roles: list[str], ttl: int = TOKEN_TTL_SECONDS) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "cognito:groups": roles,
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
            "token_use": "id",
        }
        return jwt.encode(claims, self._key, algorithm="RS256")

    def verify(self, token: str) -> dict[str, Any]:
        """Checks what API Gateway's JWT authorizer checks: signature, issuer, audience, expiry."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self._key.public_key(),
            algorithms=["RS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        return claims


class CloudFrontKeys:
    """The key pair whose public half CloudFront (or the local edge) uses to check signatures."""

    def __init__(self, directory: Path | None = None):
        self.private_key = _load_or_create_key((directory or state_dir()) / "cloudfront-private.pem")
        self.private_pem = private_pem(self.private_key)
        self.public_pem = public_pem(self.private_key)
        # CloudFront assigns ids like K2JCJMDEHXQW5F; locally derive a stable one from the key.
        self.key_pair_id = "K" + hashlib.sha256(self.public_pem.encode()).hexdigest()[:13].upper()
