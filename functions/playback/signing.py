"""CloudFront signed URLs with a custom policy: signing (botocore's CloudFrontSigner) and the
verification CloudFront performs, which the local edge reuses.

Policy choice: a wildcard resource over the video's HLS folder
(``https://cdn/videos/<id>/hls/*``) so one signature authorises the master, the variant
playlists and every segment. Players resolve relative URIs without the query string, so every
playlist is served with the signed query propagated into its URIs (``propagate_query``): any
stock HLS player works without tweaks or cookies. CloudFront cannot rewrite a body, so its
``*.m3u8`` behaviour has a Lambda origin that does it (``playlist-origin``,
functions.playback.handlers.handle_playlist); the local edge invokes the same function.
"""

from __future__ import annotations

import base64
import fnmatch
import ipaddress
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from botocore.signers import CloudFrontSigner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNED_PARAMS = ("Policy", "Signature", "Key-Pair-Id", "Expires")
# An epoch second has 10 digits until the year 2286; a canned policy's Expires never needs more.
_MAX_EPOCH_DIGITS = 12


def _rsa_signer(private_pem: str) -> Any:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)

    def sign(message: bytes) -> bytes:
        return key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront requires SHA-1

    return sign


def build_policy(resource: str, expires_at: int, source_ip: str | None) -> str:
    condition: dict[str, Any] = {"DateLessThan": {"AWS:EpochTime": expires_at}}
    if source_ip:
        network = ipaddress.ip_network(source_ip, strict=False)
        condition["IpAddress"] = {"AWS:SourceIp": str(network)}
    return json.dumps({"Statement": [{"Resource": resource, "Condition": condition}]}, separators=(",", ":"))


def sign_url(
    *, url: str, resource: str, key_pair_id: str, private_pem: str, expires_at: int, source_ip: str | None
) -> str:
    signer = CloudFrontSigner(key_pair_id, _rsa_signer(private_pem))
    return str(signer.generate_presigned_url(url, policy=build_policy(resource, expires_at, source_ip)))


def _cf_b64decode(value: str) -> bytes:
    return base64.b64decode(value.replace("-", "+").replace("_", "=").replace("~", "/"))


class SignatureRejected(Exception):
    """Why a request is refused (the edge answers 403)."""


@dataclass(frozen=True)
class Verifier:
    key_pair_id: str
    public_pem: str

    def verify(self, *, url: str, client_ip: str, now: float | None = None) -> dict[str, str]:
        """Check a request URL as CloudFront does. Returns the signed query parameters."""
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        signed = signed_query(params)
        if "Signature" not in signed or "Key-Pair-Id" not in signed:
            raise SignatureRejected("missing signature")
        if signed["Key-Pair-Id"] != self.key_pair_id:
            raise SignatureRejected("unknown key pair")
        other = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in SIGNED_PARAMS]
        request_url = f"{parts.scheme}://{parts.netloc}{parts.path}" + (
            f"?{urlencode(other)}" if other else ""
        )
        # Everything here comes from the viewer: a value that does not parse is a refusal (403),
        # never an exception, and the policy is parsed only once its signature holds (a forged one
        # nested thousands deep or holding a 5,000-digit number is never handed to json.loads).
        if "Policy" in signed:
            try:
                policy_bytes = _cf_b64decode(signed["Policy"])
            except ValueError as exc:
                raise SignatureRejected("malformed policy") from exc
        elif "Expires" in signed:
            expires_param = signed["Expires"]
            if not (
                expires_param.isascii()
                and expires_param.isdigit()
                and len(expires_param) <= _MAX_EPOCH_DIGITS
            ):
                raise SignatureRejected("malformed Expires")
            policy_bytes = build_policy(request_url, int(expires_param), None).encode()
        else:
            raise SignatureRejected("missing policy")
        public_key = serialization.load_pem_public_key(self.public_pem.encode())
        assert isinstance(public_key, rsa.RSAPublicKey)
        try:
            signature = _cf_b64decode(signed["Signature"])
            public_key.verify(signature, policy_bytes, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
        except (InvalidSignature, ValueError) as exc:
            raise SignatureRejected("bad signature") from exc
        try:
            policy = json.loads(policy_bytes)
        except (ValueError, RecursionError) as exc:
            raise SignatureRejected("malformed policy") from exc
        statement = policy["Statement"][0]
        condition = statement.get("Condition", {})
        expires = int(condition.get("DateLessThan", {}).get("AWS:EpochTime", 0))
        if (now if now is not None else time.time()) >= expires:
            raise SignatureRejected("expired")
        start = condition.get("DateGreaterThan", {}).get("AWS:EpochTime")
        if start is not None and (now if now is not None else time.time()) < int(start):
            raise SignatureRejected("not yet valid")
        ip_rule = condition.get("IpAddress", {}).get("AWS:SourceIp")
        if ip_rule and ipaddress.ip_address(client_ip) not in ipaddress.ip_network(ip_rule, strict=False):
            raise SignatureRejected("wrong client IP")
        if not fnmatch.fnmatchcase(request_url, statement["Resource"]):
            raise SignatureRejected("URL outside the signed resource")
        return signed


def signed_query(params: Mapping[str, str]) -> dict[str, str]:
    """The CloudFront signed-URL parameters among a request's query parameters, in canonical order."""
    return {name: params[name] for name in SIGNED_PARAMS if name in params}


_URI_ATTRIBUTE = re.compile(r'(?<![A-Z0-9-])URI="([^"]*)"')


def _with_query(uri: str, suffix: str) -> str:
    """``uri`` with the signed query appended, unless it leaves the CDN or already carries one.

    Absolute URIs (``https://...``, ``//host/...``, ``skd://...``, ``data:...``) point elsewhere:
    the signature must not leak to another host, and a key-server URI must stay as written.
    """
    parts = urlsplit(uri)
    if not uri or parts.scheme or uri.startswith("//"):
        return uri
    if any(name == "Signature" for name, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return uri
    return uri + ("&" if "?" in uri else "?") + suffix


def propagate_query(playlist: str, signed: Mapping[str, str]) -> str:
    """Append the signed query to every relative URI of a playlist (URI lines and ``URI="..."``
    attributes such as EXT-X-MAP, EXT-X-MEDIA, EXT-X-I-FRAME-STREAM-INF), so that the requests a
    player makes from them stay authorised. Without signed parameters the playlist is unchanged."""
    if not signed:
        return playlist
    suffix = urlencode(dict(signed))
    out = []
    for line in playlist.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            line = _with_query(stripped, suffix)
        elif stripped.startswith("#EXT"):
            line = _URI_ATTRIBUTE.sub(lambda m: f'URI="{_with_query(m.group(1), suffix)}"', line)
        out.append(line)
    return "\n".join(out) + "\n"


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
