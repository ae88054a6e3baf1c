"""CloudFront real-time log records -> per-session CMCD counters (the aggregation, no table)."""

from __future__ import annotations

from functions.qoe.contract import REALTIME_LOG_FIELDS, format_line, parse_line
from functions.qoe.logic.collect import aggregate

SID = "ses_AbCdEfGhIjKlMnOpQrStUv"
OTHER = "ses_ZyXwVuTsRqPoNmLkJiHgFe"


def line(sid: str | None = SID, **cmcd: object) -> bytes:
    values: dict[str, object] = {
        "timestamp": cmcd.pop("timestamp", "1796000000.250"),
        "sc-status": cmcd.pop("status", "200"),
        "cs-method": "GET",
        "cs-uri-stem": "/videos/v1/hls/720p/seg_001.ts",
        "sc-bytes": "1000",
        "cmcd-session-id": sid,
        "cmcd-content-id": "v1",
        "cmcd-streaming-format": "h",
        "cmcd-stream-type": "v",
    }
    names = {
        "br": "cmcd-encoded-bitrate",
        "bl": "cmcd-buffer-length",
        "bs": "cmcd-buffer-starvation",
        "su": "cmcd-startup",
        "ot": "cmcd-object-type",
        "tb": "cmcd-top-bitrate",
        "mtp": "cmcd-measured-throughput",
    }
    values.update({names[k]: v for k, v in cmcd.items()})
    return format_line(values).encode()


def test_the_line_format_round_trips() -> None:
    text = format_line({"timestamp": "1.5", "cmcd-startup": True, "cmcd-session-id": "a\tb"})
    assert text.endswith("\n") and text.count("\t") == len(REALTIME_LOG_FIELDS) - 1
    assert parse_line(text) == {"timestamp": "1.5", "cmcd-startup": "true", "cmcd-session-id": "a b"}
    assert parse_line("too\tfew") is None


def test_a_batch_is_counted_per_session() -> None:
    # Given: a manifest request, three segments at two bitrates (one after a stall), another session
    batch = aggregate(
        [
            line(ot="m", su=True, timestamp="1796000000.000"),
            line(ot="av", br="800", bl="0", su=True, tb="2400", mtp="5000", timestamp="1796000001.000"),
            line(ot="av", br="2400", bl="4000", tb="2400", timestamp="1796000003.000")
            + line(
                ot="av",
                br="800",
                bl="100",
                bs=True,
                su=True,
                tb="2400",
                status="404",
                timestamp="1796000002.000",
            ),
            line(sid=OTHER, ot="av", br="800"),
        ]
    )
    # Then
    assert batch.records == 5 and not batch.dropped
    s = batch.sessions[SID]
    assert (s.requests, s.media_requests) == (4, 3)
    assert s.bitrate_sum_kbps == 4000 and s.bitrate_samples == 3
    assert s.bitrates_kbps == {800, 2400}
    assert s.top_bitrate_kbps == 2400
    assert s.starvations == 1
    assert s.startup_requests == 3
    assert s.errors == 1
    assert s.last_throughput_kbps == 5000
    assert s.first_at == "2026-11-30T00:53:20.000Z"
    assert s.last_at == "2026-11-30T00:53:23.000Z"
    assert s.video_id == "v1"
    assert (s.stream_type, s.streaming_format) == ("v", "h")
    assert batch.sessions[OTHER].requests == 1


def test_records_without_a_session_of_ours_are_dropped_with_a_reason() -> None:
    batch = aggregate(
        [
            line(sid=None, ot="v"),
            line(sid="not-a-session", ot="v"),
            line(ot="v", status="403"),  # refused by the signature check: unauthenticated
            b"short\tline\n",
            b"\xff\xfe",
            b"\n",
        ]
    )
    assert batch.sessions == {}
    assert batch.dropped == {
        "no_session_id": 1,
        "foreign_session_id": 1,
        "refused_request": 1,
        "wrong_field_count": 1,
        "not_utf8": 1,
    }
