"""The playlist origin's logic against moto's S3: read the playlist, copy the signed query into it."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import m3u8
import pytest
from moto import mock_aws

from functions.playback.logic.playlists import playlist_key, signed_playlist
from functions.shared.errors import NotFound

BUCKET = "test-media"
VIDEO_ID = "0123456789abcdef0123456789abcdef"
MASTER_KEY = f"videos/{VIDEO_ID}/hls/master.m3u8"
MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"
360p/index.m3u8
"""
MEDIA_KEY = f"videos/{VIDEO_ID}/hls/720p/index.m3u8"
MEDIA = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.0,
seg_00000.m4s
#EXTINF:4.0,
seg_00001.m4s
#EXT-X-ENDLIST
"""
QUERY = {
    "Policy": "eyJTdGF0ZW1lbnQiOlt7IlJlc291cmNlIjoiKiJ9XX0_",
    "Signature": "c2lnbmF0dXJl~-_",
    "Key-Pair-Id": "K2JCJMDEHXQW5F",
    "utm_campaign": "not-signed",
}
SIGNED = {k: v for k, v in QUERY.items() if k != "utm_campaign"}
SUFFIX = (
    "Policy=eyJTdGF0ZW1lbnQiOlt7IlJlc291cmNlIjoiKiJ9XX0_&Signature=c2lnbmF0dXJl~-_&Key-Pair-Id=K2JCJMDEHXQW5F"
)


@pytest.fixture
def media_bucket(monkeypatch: pytest.MonkeyPatch, fresh_function_caches: None) -> Iterator[None]:
    monkeypatch.setenv("MEDIA_BUCKET", BUCKET)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=MASTER_KEY, Body=MASTER.encode())
        s3.put_object(Bucket=BUCKET, Key=MEDIA_KEY, Body=MEDIA.encode())
        s3.put_object(Bucket=BUCKET, Key=f"videos/{VIDEO_ID}/hls/720p/seg_00000.m4s", Body=b"\0" * 16)
        yield


def test_master_playlist_comes_back_with_the_signed_query_on_every_variant(media_bucket: None) -> None:
    # When the master is asked for with a signed query (and one unrelated parameter)
    playlist = signed_playlist(path=f"/{MASTER_KEY}", query=QUERY)

    # Then every variant URI carries exactly the signed parameters
    assert (playlist.key, playlist.video_id) == (MASTER_KEY, VIDEO_ID)
    parsed = m3u8.loads(playlist.body)
    assert [p.uri for p in parsed.playlists] == [f"720p/index.m3u8?{SUFFIX}", f"360p/index.m3u8?{SUFFIX}"]
    assert "utm_campaign" not in playlist.body


def test_media_playlist_segments_and_map_carry_the_signed_query(media_bucket: None) -> None:
    playlist = signed_playlist(path=f"/{MEDIA_KEY}", query=QUERY)

    parsed = m3u8.loads(playlist.body)
    assert [s.uri for s in parsed.segments] == [f"seg_00000.m4s?{SUFFIX}", f"seg_00001.m4s?{SUFFIX}"]
    assert f'#EXT-X-MAP:URI="init.mp4?{SUFFIX}"' in playlist.body.splitlines()


def test_expires_form_of_a_canned_policy_is_copied_too(media_bucket: None) -> None:
    query = {"Expires": "1893456000", "Signature": "sig", "Key-Pair-Id": "K"}
    playlist = signed_playlist(path=f"/{MASTER_KEY}", query=query)
    assert "720p/index.m3u8?Signature=sig&Key-Pair-Id=K&Expires=1893456000" in playlist.body.splitlines()


def test_without_signed_parameters_the_playlist_is_unchanged(media_bucket: None) -> None:
    assert signed_playlist(path=f"/{MASTER_KEY}", query={}).body == MASTER
    assert signed_playlist(path=f"/{MASTER_KEY}", query={"utm_campaign": "x"}).body == MASTER


@pytest.mark.parametrize(
    "path",
    [
        f"/videos/{VIDEO_ID}/hls/720p/seg_00000.m4s",  # exists, but is not a playlist
        f"/uploads/{VIDEO_ID}/source.m3u8",  # not under videos/
        "/master.m3u8",
        f"/videos/{VIDEO_ID}/hls/../../../uploads/x.m3u8",
        f"/videos/{VIDEO_ID}//hls/master.m3u8",
    ],
)
def test_anything_but_a_playlist_under_videos_is_not_found(media_bucket: None, path: str) -> None:
    with pytest.raises(NotFound) as raised:
        signed_playlist(path=path, query=QUERY)
    assert raised.value.status == 404


def test_missing_playlist_is_not_found(media_bucket: None) -> None:
    with pytest.raises(NotFound) as raised:
        signed_playlist(path=f"/videos/{VIDEO_ID}/hls/1080p/index.m3u8", query=QUERY)
    assert raised.value.status == 404


def test_percent_encoded_paths_name_the_stored_key() -> None:
    assert playlist_key(f"/videos/{VIDEO_ID}/hls/720p%2Findex.m3u8") == MEDIA_KEY


def test_a_path_longer_than_any_s3_key_is_not_found_without_asking_s3() -> None:
    # S3 answers KeyTooLongError (not NoSuchKey) beyond 1,024 bytes: it must never be asked
    longest = f"/videos/{VIDEO_ID}/hls/" + "a" * (1024 - len(f"videos/{VIDEO_ID}/hls/.m3u8")) + ".m3u8"
    assert len(playlist_key(longest).encode()) == 1024
    with pytest.raises(NotFound):
        playlist_key(f"/videos/{VIDEO_ID}/hls/" + "é" * 600 + ".m3u8")


def test_a_cmcd_argument_on_the_request_is_never_copied_into_child_uris(media_bucket: None) -> None:
    # hls.js (cmcd in query mode) appends CMCD=... to the master's URL: it describes that one
    # request, so a child URI carrying it would report stale data (and break the player's own)
    playlist = signed_playlist(path=f"/{MASTER_KEY}", query={**QUERY, "CMCD": 'ot=m,sid="ses_x",su'})
    parsed = m3u8.loads(playlist.body)
    assert [p.uri for p in parsed.playlists] == [f"720p/index.m3u8?{SUFFIX}", f"360p/index.m3u8?{SUFFIX}"]
    assert "CMCD" not in playlist.body
