"""QoE against moto: the CMCD collector (Kinesis records as CloudFront writes them), the
session.ended recorder (idempotent, EMF metrics), and GET /v1/videos/{id}/qoe (who, and the
numbers)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from functions.qoe.contract import format_line
from functions.qoe.dal import sessions as dal
from functions.qoe.logic.cmcd import parse_query
from infra import spec
from infra.local.edge import realtime_log_values
from infra.local.lambda_runtime import invoke
from infra.spec.qoe import CMCD_COLLECTOR, SESSION_RECORDER
from tests.integration.conftest import Account, ApiCall, sqs_event
from tests.integration.test_profiles import put_video

OWNER = "qoe-owner"


def session_id() -> str:
    return "ses_" + uuid.uuid4().hex[:24]


def cmcd_line(sid: str, video_id: str, **extra: Any) -> str:
    pairs = {"ot": "av", "br": 800, "bl": 4000, "tb": 2400, "sf": "h", "st": "v", **extra}
    payload = ",".join(
        k if v is True else f'{k}="{v}"' if k in ("sid", "cid") else f"{k}={v}"
        for k, v in sorted({**pairs, "sid": sid, "cid": video_id}.items())
    )
    cmcd = parse_query("Policy=p&Signature=s&Key-Pair-Id=k&CMCD=" + quote(payload, safe=""))
    values = realtime_log_values(
        method="GET", path=f"/videos/{video_id}/hls/360p/seg_001.ts", status=200, size=1000, cmcd=cmcd
    )
    return format_line(values)


def kinesis_event(*lines: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "kinesis": {
                    "partitionKey": "p",
                    "sequenceNumber": str(i),
                    "data": base64.b64encode(line.encode()).decode(),
                    "approximateArrivalTimestamp": 1.0,
                    "kinesisSchemaVersion": "1.0",
                },
                "eventSource": "aws:kinesis",
                "eventID": f"shardId-000000000000:{i}",
                "eventName": "aws:kinesis:record",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/vod-cmcd-logs",
            }
            for i, line in enumerate(lines)
        ]
    }


def ended(
    sid: str,
    video_id: str,
    *,
    ended_at: str,
    startup: int | None = 600,
    watch: int = 60_000,
    rebuffers: int = 0,
    rebuffer_ms: int = 0,
    errored: bool = False,
    ebvs: bool = False,
    reason: str = "ended",
) -> str:
    return json.dumps(
        {
            "version": "0",
            "source": "vod.sessions",
            "detail-type": "session.ended",
            "detail": {
                "session_id": sid,
                "video_id": video_id,
                "user_id": "viewer-1",
                "profile_id": None,
                "started_at": "2026-12-07T10:00:00.000Z",
                "ended_at": ended_at,
                "end_reason": reason,
                "final_state": "ended",
                "position_seconds": 60.0,
                "duration_seconds": 60.0,
                "qoe": {
                    "first_playing_at": None if startup is None else "2026-12-07T10:00:00.600Z",
                    "startup_time_ms": startup,
                    "watch_time_ms": watch,
                    "rebuffer_count": rebuffers,
                    "rebuffer_duration_ms": rebuffer_ms,
                    "errored": errored,
                    "error_code": "MEDIA_ERR_DECODE" if errored else None,
                    "exited_before_start": ebvs,
                },
            },
        }
    )


def collect(*lines: str) -> None:
    result, errored = invoke(spec.FUNCTIONS_BY_NAME[CMCD_COLLECTOR], kinesis_event(*lines))
    assert not errored, result
    assert result == {"batchItemFailures": []}


def record(*bodies: str) -> dict[str, Any]:
    result, errored = invoke(
        spec.FUNCTIONS_BY_NAME[SESSION_RECORDER], sqs_event(*bodies, queue="vod-qoe-sessions")
    )
    assert not errored, result
    return dict(result)


def test_cmcd_records_are_counted_per_session_across_batches(account: Account) -> None:
    # Given two batches of one session's segment requests (one after a stall) and a junk line
    sid, video = session_id(), uuid.uuid4().hex
    collect(cmcd_line(sid, video, su=True), cmcd_line(sid, video, br=2400), "junk\n")
    collect(cmcd_line(sid, video, bs=True, su=True, br=800))
    # Then the session's item holds the sums of both
    item = dal.get(sid)
    assert item is not None
    assert item.video_id == video
    assert item.cmcd_requests == 3 and item.cmcd_media_requests == 3
    assert item.cmcd_bitrate_sum_kbps == 4000 and item.cmcd_bitrate_samples == 3
    assert item.cmcd_bitrates_kbps == {800, 2400}
    assert item.cmcd_starvations == 1 and item.cmcd_startup_requests == 2
    assert item.cmcd_top_bitrate_kbps == 2400
    assert item.expires_at is not None
    assert item.ended_at is None  # not listed under its video until it ends


def test_a_session_end_is_recorded_once_with_its_metrics(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    sid, video = session_id(), uuid.uuid4().hex
    collect(cmcd_line(sid, video))
    capsys.readouterr()
    # When the same event arrives twice (SQS delivers at least once)
    body = ended(
        sid, video, ended_at="2026-12-07T10:01:00.000Z", rebuffers=1, rebuffer_ms=3_000, watch=57_000
    )
    assert record(body) == {"batchItemFailures": []}
    first = capsys.readouterr().out
    record(body)
    second = capsys.readouterr().out
    # Then the end is written beside the CMCD counters
    item = dal.get(sid)
    assert item is not None
    assert (item.startup_time_ms, item.watch_time_ms, item.rebuffer_count) == (600, 57_000, 1)
    assert item.end_reason == "ended" and item.cmcd_requests == 1
    # and the metrics went out once: overall and per video
    docs = [json.loads(line) for line in first.splitlines() if line.startswith("{") and '"_aws"' in line]
    startup = [d for d in docs if "VideoStartupTime" in d]
    assert any(d.get("video_id") == video for d in startup)
    assert any("video_id" not in d for d in startup)
    rebuffer = [v for d in docs if "RebufferPercentage" in d for v in _values(d["RebufferPercentage"])]
    assert rebuffer and all(v == pytest.approx(5.0) for v in rebuffer)  # 3 s of 60 s
    assert "VideoStartupTime" not in second


def _values(value: Any) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


def test_an_event_that_breaks_the_contract_is_dropped_not_retried(account: Account) -> None:
    bad = json.dumps({"detail-type": "session.ended", "detail": {"session_id": "x"}})
    assert record(bad, "not json") == {"batchItemFailures": []}


def _end_sessions(video: str) -> None:
    # Five sessions: three clean starts, one with stalls, one exit before start, one failure
    cases = [
        {"startup": 400},
        {"startup": 800},
        {"startup": 1_200, "watch": 54_000, "rebuffers": 2, "rebuffer_ms": 6_000},
        {"startup": None, "watch": 0, "ebvs": True},
        {"startup": None, "watch": 0, "errored": True, "reason": "error"},
    ]
    bodies = [
        ended(session_id(), video, ended_at=f"2026-12-07T10:0{i}:00.000Z", **case)
        for i, case in enumerate(cases)
    ]
    record(*bodies)


def test_the_summary_of_the_last_sessions(account: Account, api: ApiCall) -> None:
    video = uuid.uuid4().hex
    put_video(account, video, owner=OWNER)
    _end_sessions(video)
    resp = api("GET", f"/v1/videos/{video}/qoe", role="uploader", sub=OWNER)
    assert resp.status == 200, resp.body
    s = resp.body
    assert s["count"] == 5
    assert (s["startup_time_p50_ms"], s["startup_time_p95_ms"], s["startup_time_p99_ms"]) == (800, 1200, 1200)
    assert s["rebuffer_percentage"] == pytest.approx(100 * 6 / 180)
    assert s["rebuffer_frequency_per_minute"] == pytest.approx(2 / 3)
    assert s["rebuffer_duration_ms"] == pytest.approx(1200)
    assert s["playback_failure_percentage"] == pytest.approx(20.0)
    assert s["exits_before_video_start_percentage"] == pytest.approx(20.0)
    assert [x["ended_at"] for x in s["sessions"]] == sorted(
        (x["ended_at"] for x in s["sessions"]), reverse=True
    )
    # limit: the newest two only
    two = api("GET", f"/v1/videos/{video}/qoe", role="uploader", sub=OWNER, query="limit=2").body
    assert two["count"] == 2
    assert [x["ended_at"] for x in two["sessions"]] == [
        "2026-12-07T10:04:00.000Z",
        "2026-12-07T10:03:00.000Z",
    ]


@pytest.mark.parametrize(
    "limit", ["0", "-1", "abc", "1.5", "100000", "", "\uff15"]
)  # the last: a full-width 5
def test_a_bad_limit_is_400(account: Account, api: ApiCall, limit: str) -> None:
    video = uuid.uuid4().hex
    put_video(account, video, owner=OWNER)
    resp = api("GET", f"/v1/videos/{video}/qoe", role="uploader", sub=OWNER, query=f"limit={quote(limit)}")
    assert resp.status == 400, resp.body
    assert resp.body["error"]["code"] == "invalid_limit"


def test_only_the_owner_and_admins_read_a_video_qoe(account: Account, api: ApiCall) -> None:
    video = uuid.uuid4().hex
    put_video(account, video, owner=OWNER)
    _end_sessions(video)
    assert api("GET", f"/v1/videos/{video}/qoe", role="admin", sub="some-admin").body["count"] == 5
    other = api("GET", f"/v1/videos/{video}/qoe", role="uploader", sub="another-creator")
    assert other.status == 403 and "sessions" not in other.body
    assert api("GET", f"/v1/videos/{video}/qoe", role="viewer", sub=OWNER).status == 403
    assert api("GET", f"/v1/videos/{uuid.uuid4().hex}/qoe", role="uploader", sub=OWNER).status == 404
    assert api("GET", f"/v1/videos/{video}/qoe", role=None).status == 401
