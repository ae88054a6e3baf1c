"""The CMCD (CTA-5004) parser: query and header modes, the key vocabulary, bad input dropped."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from functions.qoe.logic.cmcd import (
    KEYS,
    MAX_PAYLOAD_CHARS,
    encode_payload,
    parse_fields,
    parse_headers,
    parse_payload,
    parse_query,
)

SID = "ses_AbCdEfGhIjKlMnOpQrStUv"

# What hls.js 1.6.19 (tests/browser/package-lock.json) sent in the browser test with
# ``cmcd: {sessionId, contentId, useHeaders: false}`` (captured from its requests; the policy and
# signature in ``nor`` shortened): keys sorted, strings quoted, tokens bare, a true boolean as the
# bare key, ``v`` and ``pr`` left out when 1, ``bl`` left out before the buffer exists, and ``nor``
# the next segment relative to this one, with the signed query, encodeURIComponent'd and then
# encoded again with the whole payload.
VIDEO = "af998658bfd54810b5cfb01e0adbd71c"
HLSJS_SID = "ses_w2KOCes01B7lOqrc6ztZuQ"
SIGNED = "Policy=eyJTdGF0ZW1lbnQiOlt7fV19&Signature=38DCDxq-Ztm~yllFWq4k__&Key-Pair-Id=K4908CCCCB8FC0"
HLSJS_MASTER = f'cid="{VIDEO}",mtp=500,ot=m,sf=h,sid="{HLSJS_SID}",su'
HLSJS_FIRST_SEGMENT = (
    f'br=960,cid="{VIDEO}",d=4000,mtp=1000,nor="seg_00001.ts{quote("?" + SIGNED, safe="~")}",'
    f'ot=av,sf=h,sid="{HLSJS_SID}",su,tb=960'
)
HLSJS_SECOND_SEGMENT = f'bl=4100,br=960,cid="{VIDEO}",d=2000,mtp=54700,ot=av,sf=h,sid="{HLSJS_SID}",su,tb=960'
HLSJS_SEGMENT_QUERY = f"{SIGNED}&CMCD=" + quote(HLSJS_FIRST_SEGMENT, safe="")
HLSJS_MANIFEST_QUERY = f"{SIGNED}&CMCD=" + quote(HLSJS_MASTER, safe="")


def test_the_segment_requests_hlsjs_sends() -> None:
    cmcd = parse_query(HLSJS_SEGMENT_QUERY)
    assert cmcd is not None
    assert cmcd.dropped == ()
    assert cmcd.values == {
        "br": 960,
        "cid": VIDEO,
        "d": 4000,
        "mtp": 1000,
        "nor": f"seg_00001.ts?{SIGNED}",
        "ot": "av",
        "sf": "h",
        "sid": HLSJS_SID,
        "su": True,
        "tb": 960,
    }
    second = parse_query("CMCD=" + quote(HLSJS_SECOND_SEGMENT, safe=""))
    assert second is not None and second.dropped == ()
    assert (second.get_int("bl"), second.get_int("mtp"), second.get_int("d")) == (4100, 54700, 2000)


def test_the_manifest_request_hlsjs_sends() -> None:
    cmcd = parse_query(HLSJS_MANIFEST_QUERY)
    assert cmcd is not None
    assert cmcd.values["ot"] == "m"
    assert cmcd.flag("su")
    assert not cmcd.flag("bs")


def test_no_cmcd_argument_is_none() -> None:
    assert parse_query("Policy=a&Signature=b") is None
    assert parse_headers({"accept": "*/*"}) is None


def test_header_mode_merges_the_four_headers() -> None:
    cmcd = parse_headers(
        {
            "CMCD-Request": "bl=21300,mtp=25400,su",
            "cmcd-object": "br=3200,d=4004,ot=v,tb=6000",
            "CMCD-Status": "bs,rtp=15000",
            "CMCD-Session": f'cid="faec5fc2",pr=1.08,sf=d,sid="{SID}",st=v,v=1',
        }
    )
    assert cmcd is not None and cmcd.dropped == ()
    assert cmcd.values["bs"] is True
    assert cmcd.values["pr"] == pytest.approx(1.08)
    assert cmcd.values["rtp"] == 15000
    assert cmcd.values["v"] == 1
    assert set(cmcd.values) == {
        "bl",
        "mtp",
        "su",
        "br",
        "d",
        "ot",
        "tb",
        "bs",
        "rtp",
        "cid",
        "pr",
        "sf",
        "sid",
        "st",
        "v",
    }


@pytest.mark.parametrize(
    ("payload", "key", "reason"),
    [
        ("br=fast", "br", "not_an_integer"),
        ("br=-5", "br", "out_of_range"),
        ("bl=99999999999999", "bl", "out_of_range"),
        ("ot=zz", "ot", "unknown_token"),
        ("sf=x", "sf", "unknown_token"),
        ("st=q", "st", "unknown_token"),
        ("sid=unquoted", "sid", "not_a_string"),
        (f'sid="{"x" * 65}"', "sid", "too_long"),
        ('cid="a\\nb"', "cid", "not_a_string"),  # only \" and \\ are escapes
        ("bs=maybe", "bs", "not_a_boolean"),
        ("pr=1.2.3", "pr", "not_a_decimal"),
        ('nrr="abc"', "nrr", "not_a_range"),
        ("com.example-custom=1", "com.example-custom", "unknown_key"),
        ("BR=1", "BR", "malformed_key"),
        ("br=1,br=2", "br", "duplicate_key"),
        ("d", "d", "missing_value"),
    ],
)
def test_bad_pairs_are_dropped_with_a_reason_and_the_rest_kept(payload: str, key: str, reason: str) -> None:
    cmcd = parse_payload(f"{payload},ot=v")
    assert cmcd.values.get("ot") == "v"
    assert (key, reason) in [(d.key, d.reason) for d in cmcd.dropped]


def test_a_comma_inside_a_quoted_string_is_not_a_separator() -> None:
    cmcd = parse_payload('cid="a,b",ot=v')
    assert cmcd.values == {"cid": "a,b", "ot": "v"}


def test_an_escaped_quote_inside_a_string() -> None:
    assert parse_payload('cid="say \\"hi\\""').values == {"cid": 'say "hi"'}


def test_a_false_boolean_is_as_good_as_absent() -> None:
    assert parse_payload("bs=?0,su=?1").values == {"su": True}


def test_sizes_are_bounded() -> None:
    assert parse_payload("a" * (MAX_PAYLOAD_CHARS + 1)).dropped[0].reason == "payload_too_long"
    assert parse_query("CMCD=" + "x" * (5 * MAX_PAYLOAD_CHARS)).dropped[0].reason == "query_too_long"  # type: ignore[union-attr]
    many = ",".join(f"x{i}=1" for i in range(200))
    assert len(parse_payload(many).dropped) <= 32


def test_two_cmcd_arguments_are_refused() -> None:
    cmcd = parse_query("CMCD=ot%3Dv&CMCD=ot%3Da")
    assert cmcd is not None and cmcd.values == {}
    assert cmcd.dropped[0].reason == "several_cmcd_arguments"


@pytest.mark.parametrize(
    "junk",
    ["", ",,,", "=", "==,=", '"', 'sid="', 'sid="\\', "\x00\x01", "ot=v" * 500, "%ZZ", "\ud800"],
)
def test_junk_never_raises(junk: str) -> None:
    parse_payload(junk)
    parse_query("CMCD=" + junk)
    parse_headers({"CMCD-Request": junk})


def test_encode_then_parse_round_trips_every_key() -> None:
    values = {
        "br": 3200,
        "bl": 21300,
        "bs": True,
        "cid": "vid",
        "d": 4004,
        "dl": 18500,
        "mtp": 48100,
        "nor": "seg_2.m4s",
        "nrr": "12323-48763",
        "ot": "v",
        "pr": 1.25,
        "rtp": 12000,
        "sf": "h",
        "sid": SID,
        "st": "v",
        "su": True,
        "tb": 6000,
        "v": 1,
    }
    assert set(values) == set(KEYS)
    assert parse_payload(encode_payload(values)).values == values


def test_fields_as_cloudfront_logs_them() -> None:
    cmcd = parse_fields({"sid": SID, "cid": "vid", "br": "3200", "bs": "true", "su": "0", "ot": "v"})
    assert cmcd.values == {"sid": SID, "cid": "vid", "br": 3200, "bs": True, "ot": "v"}
    assert parse_fields({"br": "x", "zz": "1"}).dropped[0].reason == "not_an_integer"
