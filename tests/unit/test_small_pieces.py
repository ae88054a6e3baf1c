"""Logic with no AWS: claims parsing, route matching, error parsing, ranges, names, transitions."""

from __future__ import annotations

import json

import pytest

from functions.shared.auth import _parse_groups, principal_from_event
from functions.shared.errors import Unauthorized, parse_step_error
from functions.shared.keys import upload_key, video_id_from_upload_key
from functions.videos.logic.ingest import execution_name
from functions.videos.models import ALLOWED_TRANSITIONS, TERMINAL, VideoStatus, sources_of
from infra.local.edge import content_type_for, parse_range
from infra.local.http_front import match_route


@pytest.mark.parametrize(
    ("value", "roles"),
    [
        ("[admin uploader]", {"admin", "uploader"}),
        ('["viewer"]', {"viewer"}),
        (["uploader"], {"uploader"}),
        ("admin", {"admin"}),
        (None, set()),
    ],
)
def test_cognito_groups_in_every_shape_api_gateway_sends(value: object, roles: set[str]) -> None:
    assert _parse_groups(value) == roles


def test_principal_needs_a_subject_and_keeps_only_known_roles() -> None:
    event = {
        "requestContext": {"authorizer": {"jwt": {"claims": {"sub": "s1", "cognito:groups": "[admin root]"}}}}
    }
    principal = principal_from_event(event)
    assert principal.sub == "s1"
    assert principal.roles == {"admin"}
    with pytest.raises(Unauthorized):
        principal_from_event({"requestContext": {}})


@pytest.mark.parametrize(
    ("method", "path", "route_key", "params"),
    [
        ("GET", "/health", "GET /health", {}),
        ("GET", "/v1/openapi.json", "GET /v1/openapi.json", {}),
        ("POST", "/v1/videos", "ANY /v1/videos", {}),
        ("GET", "/v1/videos/abc/playback", "ANY /v1/videos/{proxy+}", {"proxy": "abc/playback"}),
    ],
)
def test_routes_match_like_api_gateway(
    method: str, path: str, route_key: str, params: dict[str, str]
) -> None:
    found = match_route(method, path)
    assert found is not None
    compiled, matched = found
    assert compiled.route_key == route_key
    assert matched == params


def test_unknown_paths_and_methods_do_not_match() -> None:
    assert match_route("GET", "/v2/videos") is None
    assert match_route("POST", "/health") is None


def test_step_errors_yield_the_reason_of_our_errors_and_nothing_for_others() -> None:
    ours = {"Error": "MediaRejected", "Cause": json.dumps({"errorMessage": "too_long: 5 h is over 4 h"})}
    assert parse_step_error(ours) == ("MediaRejected", "too_long", "5 h is over 4 h")
    bug = {"Error": "KeyError", "Cause": json.dumps({"errorMessage": "'renditions'"})}
    assert parse_step_error(bug) == ("KeyError", "", "'renditions'")
    timeout = {"Error": "States.Timeout", "Cause": "Task timed out"}
    assert parse_step_error(timeout) == ("States.Timeout", "", "Task timed out")
    assert parse_step_error(None) == ("Unknown", "", "")


@pytest.mark.parametrize(
    ("header", "size", "span"),
    [
        ("bytes=0-99", 1000, (0, 99)),
        ("bytes=900-", 1000, (900, 999)),
        ("bytes=-100", 1000, (900, 999)),
        ("bytes=0-5000", 1000, (0, 999)),
        ("bytes=1000-", 1000, None),
        ("bytes=5-1", 1000, None),
        ("bytes=-", 1000, None),
        ("items=0-1", 1000, None),
    ],
)
def test_range_parsing(header: str, size: int, span: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == span


@pytest.mark.parametrize(
    ("key", "ctype"),
    [
        ("a/master.m3u8", "application/vnd.apple.mpegurl"),
        ("a/seg_00001.ts", "video/mp2t"),
        ("a/seg.m4s", "video/iso.segment"),
        ("a/poster.jpg", "image/jpeg"),
        ("a/storyboard.vtt", "text/vtt"),
        ("a/blob", "application/octet-stream"),
    ],
)
def test_content_types(key: str, ctype: str) -> None:
    assert content_type_for(key) == ctype


def test_execution_names_are_deterministic_and_within_limits() -> None:
    video_id = "a" * 32
    name = execution_name(video_id, "0055AED6DCD90281E5", 1)
    assert name == execution_name(video_id, "0055AED6DCD90281E5", 1)
    assert name != execution_name(video_id, "0055AED6DCD90281E5", 2)
    assert len(execution_name(video_id, "x" * 200 + "/+=", 99)) <= 80
    assert all(c.isalnum() or c in "-_" for c in execution_name(video_id, "a/b+c=", 1))


def test_upload_keys_round_trip_and_reject_other_layouts() -> None:
    assert video_id_from_upload_key(upload_key("b" * 32)) == "b" * 32
    assert video_id_from_upload_key("uploads/../x/source") is None
    assert video_id_from_upload_key("uploads/" + "b" * 32 + "/other") is None


def test_terminal_states_only_reenter_the_pipeline_by_retry_or_admin_override() -> None:
    # A takedown (issue 13) is the only way out of READY; DELETED is terminal for good.
    assert ALLOWED_TRANSITIONS[VideoStatus.READY] == {VideoStatus.DELETED}
    # admin approval re-runs; safe retry
    assert ALLOWED_TRANSITIONS[VideoStatus.REJECTED] == {VideoStatus.UPLOADED, VideoStatus.DELETED}
    assert ALLOWED_TRANSITIONS[VideoStatus.FAILED] == {VideoStatus.UPLOADED, VideoStatus.DELETED}
    assert ALLOWED_TRANSITIONS[VideoStatus.DELETED] == frozenset()
    assert sources_of(VideoStatus.DELETED) == set(VideoStatus) - {VideoStatus.DELETED}
    # VIEWABLE (chunked path: the lowest rung plays) is the only other way to READY.
    assert sources_of(VideoStatus.READY) == {VideoStatus.PROCESSING, VideoStatus.VIEWABLE}
    assert sources_of(VideoStatus.VIEWABLE) == {VideoStatus.PROCESSING}
    assert ALLOWED_TRANSITIONS[VideoStatus.VIEWABLE] == {
        VideoStatus.READY,
        VideoStatus.REJECTED,
        VideoStatus.FAILED,
        VideoStatus.DELETED,
    }
    assert sources_of(VideoStatus.IN_REVIEW) == {VideoStatus.PROCESSING}
    assert ALLOWED_TRANSITIONS[VideoStatus.IN_REVIEW] == {
        VideoStatus.PROCESSING,
        VideoStatus.REJECTED,
        VideoStatus.FAILED,
        VideoStatus.DELETED,
    }
    assert {VideoStatus.READY, VideoStatus.REJECTED, VideoStatus.FAILED, VideoStatus.DELETED} == TERMINAL
