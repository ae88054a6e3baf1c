"""CloudFront: origin access control, signed URLs on every path, long-lived segments, short playlists
served by the playlist-origin function (Function URL behind origin access control for Lambda)."""

from __future__ import annotations

from typing import Any

from functions.playback.signing import SIGNED_PARAMS
from infra import spec
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


def _origins(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {origin["Id"]: origin for origin in _distribution(synthesized)["Origins"]}


def _origin_of(synthesized: Synthesized, behavior: dict[str, Any]) -> dict[str, Any]:
    return _origins(synthesized)[behavior["TargetOriginId"]]


def _oac_type(synthesized: Synthesized, origin: dict[str, Any]) -> str:
    (oac_id, attribute) = origin["OriginAccessControlId"]["Fn::GetAtt"]
    assert attribute == "Id"
    config = synthesized.resources[oac_id]["Properties"]["OriginAccessControlConfig"]
    assert (config["SigningBehavior"], config["SigningProtocol"]) == ("always", "sigv4")
    oac_type: str = config["OriginAccessControlOriginType"]
    return oac_type


def _playlist_url_id(synthesized: Synthesized) -> str:
    return synthesized.logical_id(synthesized.stack.functions.urls[spec.PLAYLIST_ORIGIN])


def test_media_bucket_is_reached_through_origin_access_control(synthesized: Synthesized) -> None:
    # Given the origin of the default behaviour (segments, thumbnails, captions)
    origin = _origin_of(synthesized, _behaviors(synthesized)["default"])

    # Then it is the media bucket, signed for by an S3 origin access control (no legacy OAI)
    assert _oac_type(synthesized, origin) == "s3"
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    media_id = synthesized.logical_id(synthesized.stack.storage.media_bucket)
    assert origin["DomainName"] == {"Fn::GetAtt": [media_id, "RegionalDomainName"]}
    assert len(synthesized.of_type("AWS::CloudFront::OriginAccessControl")) == len(_origins(synthesized)) == 2


def test_playlists_come_from_the_playlist_origin_function_url(synthesized: Synthesized) -> None:
    # Given the origin of the *.m3u8 behaviour
    origin = _origin_of(synthesized, _behaviors(synthesized)[PLAYLIST_PATTERN])

    # Then it is the playlist-origin Function URL, over HTTPS, signed for by a Lambda OAC
    assert _oac_type(synthesized, origin) == "lambda"
    assert "S3OriginConfig" not in origin
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["DomainName"] == {
        "Fn::Select": [
            2,
            {"Fn::Split": ["/", {"Fn::GetAtt": [_playlist_url_id(synthesized), "FunctionUrl"]}]},
        ]
    }


def test_playlist_origin_url_is_iam_authorised_and_admits_only_the_distribution(
    synthesized: Synthesized,
) -> None:
    # Given the Function URLs of the stack
    urls = synthesized.of_type("AWS::Lambda::Url")
    function_id = synthesized.function_id(spec.PLAYLIST_ORIGIN)

    # Then the playlist origin has the only one, and it requires SigV4 (AWS_IAM)
    assert [fn.name for fn in spec.FUNCTIONS if fn.function_url] == [spec.PLAYLIST_ORIGIN]
    assert set(urls) == {_playlist_url_id(synthesized)}
    url = urls[_playlist_url_id(synthesized)]["Properties"]
    assert url["AuthType"] == "AWS_IAM"
    assert url["TargetFunctionArn"] == {"Fn::GetAtt": [function_id, "Arn"]}

    # And CloudFront may invoke it (URL and function, Lambda's dual authorisation) from this
    # distribution only
    distribution_id = synthesized.logical_id(synthesized.stack.cdn.distribution)
    permissions = [
        p["Properties"]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "cloudfront.amazonaws.com"
    ]
    assert {p["Action"] for p in permissions} == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    for permission in permissions:
        assert permission["FunctionName"] == {"Fn::GetAtt": [_playlist_url_id(synthesized), "FunctionArn"]}
        assert {"Ref": distribution_id} in permission["SourceArn"]["Fn::Join"][1]
        assert ":distribution/" in permission["SourceArn"]["Fn::Join"][1]
        if permission["Action"] == "lambda:InvokeFunction":
            assert permission["InvokedViaFunctionUrl"] is True


def test_every_video_behaviour_requires_a_signed_url_over_https(synthesized: Synthesized) -> None:
    key_group_id = synthesized.logical_id(synthesized.stack.cdn.key_group)
    behaviors = _behaviors(synthesized)
    assert set(behaviors) == {"default", PLAYLIST_PATTERN, spec.PUBLIC_IMAGES_PATH_PATTERN}
    for name, behavior in behaviors.items():
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https", name
        if name == spec.PUBLIC_IMAGES_PATH_PATTERN:
            # Catalog cover renditions are public artwork: no signature, but HTTPS only.
            assert "TrustedKeyGroups" not in behavior, name
        else:
            assert behavior["TrustedKeyGroups"] == [{"Ref": key_group_id}], name


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
    # And signed-URL query strings never split the cache of segments
    keys = segments["ParametersInCacheKeyAndForwardedToOrigin"]
    assert keys["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert keys["CookiesConfig"] == {"CookieBehavior": "none"}
    assert keys["HeadersConfig"] == {"HeaderBehavior": "none"}


def test_playlist_cache_key_is_the_signed_url_query(synthesized: Synthesized) -> None:
    # Given the playlist behaviour: its body carries the viewer's signed query
    behavior = _behaviors(synthesized)[PLAYLIST_PATTERN]
    keys = _cache_policy(synthesized, behavior["CachePolicyId"]["Ref"])[
        "ParametersInCacheKeyAndForwardedToOrigin"
    ]

    # Then exactly the signed-URL parameters are in the cache key (two viewers never share a
    # rewritten playlist), and no cookie or header
    assert keys["QueryStringsConfig"]["QueryStringBehavior"] == "whitelist"
    assert sorted(keys["QueryStringsConfig"]["QueryStrings"]) == sorted(SIGNED_PARAMS)
    assert sorted(SIGNED_PARAMS) == sorted(["Policy", "Signature", "Key-Pair-Id", "Expires"])
    assert keys["CookiesConfig"] == {"CookieBehavior": "none"}
    assert keys["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert behavior["Compress"] is True

    # And the origin request policy forwards those parameters and nothing else (no viewer Host)
    policy_id = behavior["OriginRequestPolicyId"]["Ref"]
    forwarded = synthesized.resources[policy_id]["Properties"]["OriginRequestPolicyConfig"]
    assert forwarded["QueryStringsConfig"]["QueryStringBehavior"] == "whitelist"
    assert sorted(forwarded["QueryStringsConfig"]["QueryStrings"]) == sorted(SIGNED_PARAMS)
    assert forwarded["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert forwarded["CookiesConfig"] == {"CookieBehavior": "none"}
    assert "OriginRequestPolicyId" not in _behaviors(synthesized)["default"]


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


def test_playlist_origin_reads_the_media_bucket_and_logs_no_signed_urls(synthesized: Synthesized) -> None:
    # Given the playlist origin's environment
    props = synthesized.resources[synthesized.function_id(spec.PLAYLIST_ORIGIN)]["Properties"]
    env = props["Environment"]["Variables"]

    # Then it knows the media bucket and no other resource
    media_id = synthesized.logical_id(synthesized.stack.storage.media_bucket)
    assert env["MEDIA_BUCKET"] == {"Ref": media_id}
    assert set(spec.RESOURCE_ENV) & set(env) == {"MEDIA_BUCKET"}
    # And neither the event (its query is a signed URL) nor the response (a playlist full of
    # signed URIs) is copied into logs or traces, here as in every function
    for fn in spec.FUNCTIONS:
        fn_env = synthesized.resources[synthesized.function_id(fn.name)]["Properties"]["Environment"][
            "Variables"
        ]
        assert fn_env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false", fn.name
        assert fn_env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", fn.name
