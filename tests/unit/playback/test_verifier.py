"""The signed-URL check CloudFront performs (and the local edge reuses) refuses, never raises:
whatever a viewer puts in Expires or Policy is a ``SignatureRejected`` (issue 12, point 7)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from botocore.signers import CloudFrontSigner

from functions.playback.signing import SignatureRejected, Verifier, _rsa_signer
from infra.local.keys import CloudFrontKeys

URL = "https://cdn.example.test/videos/0123/hls/master.m3u8"
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> CloudFrontKeys:
    return CloudFrontKeys(tmp_path_factory.mktemp("cf"))


def canned(keys: CloudFrontKeys, expires_at: int) -> str:
    """A canned-policy URL (``Expires=``), as botocore's CloudFrontSigner writes it."""
    signer = CloudFrontSigner(keys.key_pair_id, _rsa_signer(keys.private_pem))
    return str(signer.generate_presigned_url(URL, date_less_than=datetime.fromtimestamp(expires_at, UTC)))


def _cf_b64(document: str) -> str:
    return base64.b64encode(document.encode()).decode().replace("+", "-").replace("=", "_").replace("/", "~")


def test_a_canned_policy_url_verifies_until_it_expires(keys: CloudFrontKeys) -> None:
    verifier = Verifier(keys.key_pair_id, keys.public_pem)
    url = canned(keys, NOW + 60)
    assert verifier.verify(url=url, client_ip="203.0.113.9", now=NOW)["Expires"] == str(NOW + 60)
    with pytest.raises(SignatureRejected, match="expired"):
        verifier.verify(url=url, client_ip="203.0.113.9", now=NOW + 61)


@pytest.mark.parametrize(
    "expires",
    ["abc", "9" * 5000, "-1", "1e10", "١٢٣", ""],
    ids=["word", "5000-digits", "negative", "float", "arabic-digits", "empty"],
)
def test_an_expires_that_is_not_an_epoch_second_is_refused(keys: CloudFrontKeys, expires: str) -> None:
    url = canned(keys, NOW + 60).replace(f"Expires={NOW + 60}", f"Expires={expires}")
    with pytest.raises(SignatureRejected):
        Verifier(keys.key_pair_id, keys.public_pem).verify(url=url, client_ip="203.0.113.9", now=NOW)


@pytest.mark.parametrize(
    "policy",
    ["[" * 5000 + "]" * 5000, '{"Statement": ' + "9" * 5000 + "}", "not json", ""],
    ids=["5000-deep", "5000-digit", "not-json", "empty"],
)
def test_a_forged_policy_is_refused_without_being_parsed(keys: CloudFrontKeys, policy: str) -> None:
    url = f"{URL}?Policy={_cf_b64(policy)}&Signature=AAAA&Key-Pair-Id={keys.key_pair_id}"
    with pytest.raises(SignatureRejected):
        Verifier(keys.key_pair_id, keys.public_pem).verify(url=url, client_ip="203.0.113.9", now=NOW)
