"""CloudFront: origin access control, signed URLs on every path, long-lived segments, short playlists."""

from __future__ import annotations

from typing import Any

from infra.constructs.cdn_construct import PLAYLIST_PATTERN
from tests.infrastructure.conftest import Synthesized


def _distribution(synthesized: Synthesized) -> dict[str, Any]:
    config: dict[str, Any] = synthesized.resources[
        synthesized.logical_id(synthesized.stack.cdn.distribution)
    ]["Properties"]["DistributionConfig"]
    return config


def _behaviors(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    config = _distribution(synthesized)
    behaviors = {"default": config["DefaultCacheBehavior"]}
    behaviors.update({b["PathPattern"]: b for b in config.get("CacheBehaviors", [])})
    return behaviors


def _cache_policy(synthesized: Synthesized, policy_id: str) -> dict[str, Any]:
    config: dict[str, Any] = synthesized.resources[policy_id]["Properties"]["CachePolicyConfig"]
    return config


def test_media_bucket_is_reached_through_origin_access_control(synthesized: Synthesized) -> None:
    (oac_id,) = synthesized.of_type("AWS::CloudFront::OriginAccessControl")
    (origin,) = _distribution(synthesized)["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    media_id = synthesized.logical_id(synthesized.stack.storage.media_bucket)
    assert origin["DomainName"] == {"Fn::GetAtt": [media_id, "RegionalDomainName"]}


def test_every_behaviour_requires_a_signed_url_over_https(synthesized: Synthesized) -> None:
    key_group_id = synthesized.logical_id(synthesized.stack.cdn.key_group)
    behaviors = _behaviors(synthesized)
    assert set(behaviors) == {"default", PLAYLIST_PATTERN}
    for name, behavior in behaviors.items():
        assert behavior["TrustedKeyGroups"] == [{"Ref": key_group_id}], name
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https", name


def test_key_group_holds_the_configured_public_key(synthesized: Synthesized) -> None:
    cdn = synthesized.stack.cdn
    public_key = synthesized.resources[synthesized.logical_id(cdn.public_key)]["Properties"][
        "PublicKeyConfig"
    ]
    assert public_key["EncodedKey"].strip() == synthesized.public_key_pem.strip()
    key_group = synthesized.resources[synthesized.logical_id(cdn.key_group)]["Properties"]["KeyGroupConfig"]
    assert key_group["Items"] == [{"Ref": synthesized.logical_id(cdn.public_key)}]


def test_segments_are_cached_long_and_playlists_briefly(synthesized: Synthesized) -> None:
    # Given the two behaviours' cache policies
    behaviors = _behaviors(synthesized)
    segments = _cache_policy(synthesized, behaviors["default"]["CachePolicyId"]["Ref"])
    playlists = _cache_policy(synthesized, behaviors[PLAYLIST_PATTERN]["CachePolicyId"]["Ref"])

    # Then they are two policies with the TTLs of immutable segments and of live playlists
    assert behaviors["default"]["CachePolicyId"] != behaviors[PLAYLIST_PATTERN]["CachePolicyId"]
    assert (segments["DefaultTTL"], segments["MaxTTL"]) == (86400, 365 * 86400)
    assert (playlists["DefaultTTL"], playlists["MaxTTL"]) == (2, 10)
    # And signed-URL query strings never split the cache
    for policy in (segments, playlists):
        keys = policy["ParametersInCacheKeyAndForwardedToOrigin"]
        assert keys["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
        assert keys["CookiesConfig"] == {"CookieBehavior": "none"}


def test_players_on_other_origins_may_read_the_media(synthesized: Synthesized) -> None:
    behaviors = _behaviors(synthesized)
    policy_ids = {b["ResponseHeadersPolicyId"]["Ref"] for b in behaviors.values()}
    (policy_id,) = policy_ids
    cors = synthesized.resources[policy_id]["Properties"]["ResponseHeadersPolicyConfig"]["CorsConfig"]
    assert set(cors["AccessControlAllowMethods"]["Items"]) == {"GET", "HEAD"}
    assert cors["AccessControlAllowOrigins"]["Items"] == list(synthesized.stack.config.cors_allowed_origins)


def test_viewer_requests_are_logged_to_the_log_bucket(synthesized: Synthesized) -> None:
    logging = _distribution(synthesized)["Logging"]
    log_bucket_id = synthesized.logical_id(synthesized.stack.storage.log_bucket)
    assert logging["Bucket"] == {"Fn::GetAtt": [log_bucket_id, "RegionalDomainName"]}


def test_signing_settings_reach_the_api_function(synthesized: Synthesized) -> None:
    env = synthesized.resources[synthesized.function_id("videos-api")]["Properties"]["Environment"][
        "Variables"
    ]
    cdn = synthesized.stack.cdn
    assert env["CLOUDFRONT_KEY_PAIR_ID"] == {"Ref": synthesized.logical_id(cdn.public_key)}
    assert env["CDN_BASE_URL"] == {
        "Fn::Join": [
            "",
            ["https://", {"Fn::GetAtt": [synthesized.logical_id(cdn.distribution), "DomainName"]}],
        ]
    }
    assert env["CLOUDFRONT_PRIVATE_KEY_SECRET"] == synthesized.stack.config.cloudfront_private_key_secret_name
