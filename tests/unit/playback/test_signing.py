"""propagate_query: the signed query reaches every URI a player resolves from a playlist."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import m3u8
import pytest

from functions.playback.signing import SIGNED_PARAMS, propagate_query, signed_query

SIGNED = {"Policy": "eyJTdGF0ZW1lbnQiOltdfQ__", "Signature": "abc~def-ghi_", "Key-Pair-Id": "K2JCJMDEHXQW5F"}
SUFFIX = "Policy=eyJTdGF0ZW1lbnQiOltdfQ__&Signature=abc~def-ghi_&Key-Pair-Id=K2JCJMDEHXQW5F"

MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",DEFAULT=YES,URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=5000000,AVERAGE-BANDWIDTH=4500000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=30.000,AUDIO="aud"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1400000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="aud"
360p/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=200000,RESOLUTION=640x360,URI="360p/iframes.m3u8"
"""

MEDIA = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:4
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.000000,
seg_00000.m4s
#EXTINF:4.000000,
  seg_00001.m4s
#EXTINF:1.500000,
seg_00002.m4s?part=last
#EXT-X-ENDLIST
"""


def _query(uri: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(uri).query, keep_blank_values=True))


def test_master_playlist_stream_uris_and_uri_attributes_carry_the_signed_query() -> None:
    # When the master playlist is rewritten
    out = m3u8.loads(propagate_query(MASTER, SIGNED))

    # Then every variant, the audio rendition and the I-frame playlist carry the signed query
    assert [p.uri for p in out.playlists] == [f"720p/index.m3u8?{SUFFIX}", f"360p/index.m3u8?{SUFFIX}"]
    assert [m.uri for m in out.media] == [f"audio/index.m3u8?{SUFFIX}"]
    assert [p.uri for p in out.iframe_playlists] == [f"360p/iframes.m3u8?{SUFFIX}"]
    # And the tags and attributes are otherwise untouched
    info = out.playlists[0].stream_info
    assert (info.bandwidth, info.resolution, info.codecs) == (5000000, (1280, 720), "avc1.64001f,mp4a.40.2")


def test_media_playlist_segments_and_map_carry_the_signed_query() -> None:
    out_text = propagate_query(MEDIA, SIGNED)
    out = m3u8.loads(out_text)

    assert [s.uri for s in out.segments] == [
        f"seg_00000.m4s?{SUFFIX}",
        f"seg_00001.m4s?{SUFFIX}",
        f"seg_00002.m4s?part=last&{SUFFIX}",  # a URI that already has a query gets '&'
    ]
    assert out.segment_map[0].uri == f"init.mp4?{SUFFIX}"
    assert _query(out.segments[2].uri) == {"part": "last", **SIGNED}
    assert out.is_endlist and out.target_duration == 4
    assert out_text.count("#EXTINF") == 3


def test_signed_values_survive_the_round_trip() -> None:
    # Values CloudFront's URL-safe base64 can hold come back as they were signed
    for uri in (line for line in propagate_query(MEDIA, SIGNED).splitlines() if not line.startswith("#")):
        assert {k: v for k, v in _query(uri).items() if k in SIGNED_PARAMS} == SIGNED


def test_without_signed_parameters_the_playlist_is_unchanged() -> None:
    assert propagate_query(MASTER, {}) == MASTER
    assert propagate_query(MEDIA, {}) == MEDIA


@pytest.mark.parametrize(
    "uri",
    [
        "https://other.example/seg.ts",  # another host must not receive the signature
        "//other.example/seg.ts",
        "skd://key-id",  # a key-server URI stays as written
        "data:text/plain;base64,AAAA",
    ],
)
def test_absolute_uris_are_left_alone(uri: str) -> None:
    playlist = f'#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI="{uri}"\n#EXTINF:4,\n{uri}\n'
    assert propagate_query(playlist, SIGNED) == playlist


def test_root_relative_uris_and_uris_already_signed() -> None:
    playlist = "#EXTM3U\n/videos/a/hls/720p/index.m3u8\n720p/index.m3u8?Signature=x&Key-Pair-Id=K\n"
    out = propagate_query(playlist, SIGNED).splitlines()
    assert out[1] == f"/videos/a/hls/720p/index.m3u8?{SUFFIX}"
    assert out[2] == "720p/index.m3u8?Signature=x&Key-Pair-Id=K"  # not signed twice


def test_signed_query_keeps_only_cloudfront_parameters_in_canonical_order() -> None:
    query = {"Key-Pair-Id": "K", "utm_source": "x", "Signature": "s", "Expires": "1", "Policy": "p"}
    assert list(signed_query(query).items()) == [
        ("Policy", "p"),
        ("Signature", "s"),
        ("Key-Pair-Id", "K"),
        ("Expires", "1"),
    ]
    assert signed_query({"a": "b"}) == {}
