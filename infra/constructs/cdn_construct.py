"""Playback delivery: CloudFront in front of the private media bucket, signed URLs only (but for
title images under ``images/``: catalog art any client may show, served unsigned).

Segments, thumbnails and captions come straight from the bucket (origin access control). HLS
playlists come from the ``playlist-origin`` function (a Function URL behind origin access control
for Lambda), which copies the viewer's signed query into every URI of the playlist: players
resolve variant and segment URIs relative to the master without its query string, and CloudFront
cannot rewrite a body itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from functions.playback.signing import SIGNED_PARAMS
from infra import spec
from infra.constructs.nag import suppress

PLAYLIST_PATTERN = spec.PLAYLIST_PATH_PATTERN


class CdnConstruct(Construct):
    """Exposes ``distribution``, ``public_key`` (its id is the signed URLs' Key-Pair-Id),
    ``key_group``, the two cache policies, ``playlist_origin_request_policy`` and ``base_url``."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        media_bucket: s3.IBucket,
        playlist_origin_url: lambda_.IFunctionUrl,
        log_bucket: s3.IBucket,
        public_key_pem: str,
        cors_origins: Sequence[str],
        realtime_logs: Mapping[str, cloudfront.IRealtimeLogConfig] | None = None,
    ) -> None:
        """``realtime_logs``: cache behaviour path pattern (``*`` the default) -> the real-time
        log config attached to it (the CMCD collection, infra/constructs/qoe_construct.py)."""
        super().__init__(scope, construct_id_)
        self.public_key = cloudfront.PublicKey(
            self,
            "SigningPublicKey",
            encoded_key=public_key_pem,
            comment="Verifies playback URL signatures; the private key lives in Secrets Manager",
        )
        self.key_group = cloudfront.KeyGroup(self, "SigningKeyGroup", items=[self.public_key])

        # Signed-URL parameters (Policy, Signature, Key-Pair-Id) are checked by CloudFront and are
        # not part of the cache key: every viewer's signature hits the same cached object.
        # Segments, thumbnails and captions never change under a given key.
        self.segment_cache_policy = cloudfront.CachePolicy(
            self,
            "SegmentCachePolicy",
            comment="HLS segments, thumbnails, captions: immutable objects",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.days(1),
            max_ttl=Duration.days(365),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )
        # Playlists are rewritten while a video is (re)published: a few seconds at most. The
        # playlist origin writes the viewer's signed query into the body, so the signed-URL
        # parameters are part of the cache key: viewers never get each other's playlist.
        self.playlist_cache_policy = cloudfront.CachePolicy(
            self,
            "PlaylistCachePolicy",
            comment="HLS playlists: short-lived, one cached copy per signed URL",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(2),
            max_ttl=Duration.seconds(10),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
            query_string_behavior=cloudfront.CacheQueryStringBehavior.allow_list(*SIGNED_PARAMS),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )
        # What the playlist origin receives: the signed-URL parameters and nothing else (no
        # viewer Host header, which a Function URL behind origin access control must not get).
        self.playlist_origin_request_policy = cloudfront.OriginRequestPolicy(
            self,
            "PlaylistOriginRequestPolicy",
            comment="HLS playlists: the signed-URL query reaches the playlist origin",
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.allow_list(*SIGNED_PARAMS),
            header_behavior=cloudfront.OriginRequestHeaderBehavior.none(),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        cors_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "CorsHeaders",
            comment="Browser players (hls.js) on other origins",
            cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
                access_control_allow_credentials=False,
                access_control_allow_headers=["*"],
                access_control_allow_methods=["GET", "HEAD"],
                access_control_allow_origins=list(cors_origins),
                access_control_expose_headers=["Content-Length", "Content-Range", "ETag"],
                access_control_max_age=Duration.hours(1),
                origin_override=True,
            ),
        )
        media_origin = origins.S3BucketOrigin.with_origin_access_control(media_bucket)
        # Origin access control for Lambda: CloudFront signs its requests (SigV4) to the IAM-authorised
        # Function URL. CDK adds the resource-policy statements Lambda requires for that (both
        # lambda:InvokeFunctionUrl and lambda:InvokeFunction via the URL), for this distribution only.
        playlist_origin = origins.FunctionUrlOrigin.with_origin_access_control(playlist_origin_url)

        def behavior(
            origin: cloudfront.IOrigin,
            cache_policy: cloudfront.ICachePolicy,
            *,
            compress: bool,
            origin_request_policy: cloudfront.IOriginRequestPolicy | None = None,
            signed: bool = True,
            pattern: str,
        ) -> cloudfront.BehaviorOptions:
            # A signed behaviour trusts the key group: CloudFront verifies the signed URL before
            # any request reaches an origin. Only title images (public catalog art) are unsigned.
            return cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                cache_policy=cache_policy,
                origin_request_policy=origin_request_policy,
                response_headers_policy=cors_headers,
                trusted_key_groups=[self.key_group] if signed else None,
                compress=compress,
                realtime_log_config=(realtime_logs or {}).get(pattern),
            )

        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Video playback (signed URLs)",
            default_behavior=behavior(media_origin, self.segment_cache_policy, compress=False, pattern="*"),
            additional_behaviors={
                PLAYLIST_PATTERN: behavior(
                    playlist_origin,
                    self.playlist_cache_policy,
                    compress=True,
                    origin_request_policy=self.playlist_origin_request_policy,
                    pattern=PLAYLIST_PATTERN,
                ),
                # Covers and backdrops: the media bucket without signatures. Their keys carry the
                # upload id, so every object is immutable and long caching is right.
                spec.PUBLIC_IMAGES_PATH_PATTERN: behavior(
                    media_origin,
                    self.segment_cache_policy,
                    compress=False,
                    signed=False,
                    pattern=spec.PUBLIC_IMAGES_PATH_PATTERN,
                ),
            },
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
        )
        self.base_url = f"https://{self.distribution.distribution_domain_name}"
        suppress(
            self.distribution,
            "CFR1",
            "Every request for video needs a signed URL issued by the API to an authenticated user "
            "(title images are public catalog art); which countries may watch is a business "
            "decision left to the deployer (geo_restriction).",
        )
        suppress(
            self.distribution,
            "CFR2",
            "The distribution serves only static objects (video behind CloudFront-verified signatures, "
            "immutable title images), so there is no application surface for WAF rules to protect; "
            "deployers may attach a web ACL (cost).",
        )
        suppress(
            self.distribution,
            "CFR4",
            "The distribution uses the default *.cloudfront.net certificate, for which CloudFront "
            "cannot enforce a minimum TLS version; a custom domain with an ACM certificate can.",
        )
