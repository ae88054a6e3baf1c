"""probe(): what ffprobe tells us about an upload, and every reason to reject one."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from functions.media.probe import ProbeLimits, ProbeResult, VideoStream, probe
from functions.shared.errors import MediaFailed, MediaRejected
from tests.unit.pipeline.conftest import GENEROUS_LIMITS, ffmpeg, lavfi_video


def reject_reason(source: str, *, limits: ProbeLimits = GENEROUS_LIMITS, **kwargs: object) -> str:
    with pytest.raises(MediaRejected) as caught:
        probe(source, size_bytes=kwargs.pop("size_bytes", None), limits=limits, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value).startswith(f"{caught.value.reason}: ")
    assert caught.value.human  # a sentence for the uploader, not just a code
    return caught.value.reason


def test_probe_describes_a_normal_clip(clip_av: Path) -> None:
    # Given a 4 s 640x360 30 fps H.264 clip with stereo AAC at 44.1 kHz
    # When it is probed
    result = probe(str(clip_av), size_bytes=None, limits=GENEROUS_LIMITS)

    # Then every field reflects the file
    assert result.duration == pytest.approx(4.0, abs=0.1)
    assert "mp4" in result.container
    assert result.size_bytes == clip_av.stat().st_size
    assert result.bit_rate is not None
    assert result.bit_rate > 0
    video = result.video
    assert video is not None
    assert (video.codec, video.width, video.height, video.rotation) == ("h264", 640, 360, 0)
    assert video.fps == pytest.approx(30.0)
    assert video.pix_fmt == "yuv420p"
    assert (video.display_width, video.display_height) == (640, 360)
    assert video.profile is not None
    audio = result.audio
    assert audio is not None
    assert (audio.codec, audio.channels, audio.sample_rate) == ("aac", 2, 44100)


def test_probe_result_survives_a_json_round_trip(clip_av: Path) -> None:
    # Given a probe result
    result = probe(str(clip_av), size_bytes=None, limits=GENEROUS_LIMITS)

    # When it travels as a Step Functions payload (JSON) and is read back
    payload = json.loads(json.dumps(result.to_dict()))
    again = ProbeResult.from_dict(payload)

    # Then nothing is lost
    assert again == result


def test_probe_without_audio_reports_no_audio_stream(clip_video_only: Path) -> None:
    # Given a video-only clip
    # When it is probed
    result = probe(str(clip_video_only), size_bytes=None, limits=GENEROUS_LIMITS)

    # Then it is accepted, with no audio stream
    assert result.audio is None
    assert result.video is not None
    assert result.video.fps == pytest.approx(25.0)
    assert ProbeResult.from_dict(result.to_dict()).audio is None


def test_probe_reads_rotation_and_swaps_display_dimensions(clip_rotated: Path) -> None:
    # Given a clip coded 320x240 with a display matrix turning it by a quarter
    # When it is probed
    result = probe(str(clip_rotated), size_bytes=None, limits=GENEROUS_LIMITS)

    # Then the coded size is kept, the rotation normalised, and the display size is portrait
    video = result.video
    assert video is not None
    assert (video.width, video.height) == (320, 240)
    assert video.rotation in (90, 270)
    assert (video.display_width, video.display_height) == (240, 320)


@pytest.mark.parametrize(
    ("rotation", "expected"),
    [(0, (640, 360)), (90, (360, 640)), (180, (640, 360)), (270, (360, 640))],
)
def test_display_dimensions_follow_rotation(rotation: int, expected: tuple[int, int]) -> None:
    # Given a landscape stream with each possible rotation
    stream = VideoStream("h264", 640, 360, rotation, 30.0, "yuv420p", None, "High")

    # Then quarter turns swap the displayed width and height, half turns do not
    assert (stream.display_width, stream.display_height) == expected


def test_display_dimensions_make_anamorphic_pixels_square() -> None:
    # Given a 720x480 DV-style stream whose pixels are 32:27 wide (16:9 on screen)
    stream = VideoStream("dvvideo", 720, 480, 0, 29.97, "yuv411p", None, None, sample_aspect_ratio=32 / 27)

    # Then the display size is what a player shows: 853x480, not 720x480
    assert (stream.display_width, stream.display_height) == (853, 480)
    assert replace(stream, rotation=90).display_width == 480


def test_zero_byte_file_is_rejected_before_ffprobe_runs(tmp_path: Path) -> None:
    # Given an empty upload, and an ffprobe that does not exist
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")

    # When it is probed
    # Then it is rejected as empty (ffprobe was never needed)
    assert reject_reason(str(empty), ffprobe="/nonexistent/ffprobe") == "empty_file"
    assert reject_reason("", size_bytes=0, ffprobe="/nonexistent/ffprobe") == "empty_file"


def test_file_over_the_size_limit_is_rejected_before_ffprobe_runs(clip_av: Path) -> None:
    # Given a limit smaller than the clip
    limits = ProbeLimits(max_duration_seconds=3600, max_size_bytes=1000)

    # When it is probed
    # Then it is too large, decided from the size alone
    assert reject_reason(str(clip_av), limits=limits, ffprobe="/nonexistent/ffprobe") == "too_large"


def test_text_file_named_mp4_is_not_media(tmp_path: Path) -> None:
    # Given a text file with a video extension (ffprobe tries the MP4 demuxer on it)
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video, just some words\n" * 20)

    # Then it is not media (not "truncated", although ffprobe says "moov atom not found")
    assert reject_reason(str(fake)) == "not_media"


def test_playlist_disguised_as_video_is_not_media(tmp_path: Path) -> None:
    # Given an HLS playlist pointing at a local file (the classic ffmpeg file-disclosure trick)
    playlist = tmp_path / "trick.m3u8"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")

    # Then it is refused as not media, whatever ffprobe makes of it
    assert reject_reason(str(playlist)) == "not_media"


def test_still_image_is_not_media(tmp_path: Path) -> None:
    # Given a JPEG picture (ffprobe shows it as a one-frame mjpeg "video")
    image = tmp_path / "picture.jpg"
    ffmpeg(*lavfi_video("64x64", 1, 1), "-frames:v", "1", str(image))

    # Then it is not accepted as a video
    assert reject_reason(str(image)) == "not_media"


def test_mp4_cut_before_its_index_is_truncated(truncated_moov_at_end: Path) -> None:
    # Given an MP4 with the moov atom at the end, cut at 60% (the index never arrived)
    # When it is probed
    # Then it is truncated, not "not media"
    assert reject_reason(str(truncated_moov_at_end)) == "truncated"


def test_faststart_mp4_cut_in_its_media_data_is_truncated(
    clip_faststart: Path, truncated_faststart: Path
) -> None:
    # Given a +faststart MP4 (index first) cut at 60%: it still opens and claims its full length
    assert probe(str(clip_faststart), size_bytes=None, limits=GENEROUS_LIMITS).duration == pytest.approx(
        3, abs=0.1
    )

    # When the cut copy is probed
    # Then the missing tail is noticed
    assert reject_reason(str(truncated_faststart)) == "truncated"


def test_faststart_mp4_missing_only_its_last_bytes_is_truncated(clip_faststart: Path, tmp_path: Path) -> None:
    # Given a +faststart MP4 missing only its last 3% (the last packet is partial)
    data = clip_faststart.read_bytes()
    cut = tmp_path / "almost.mp4"
    cut.write_bytes(data[: int(len(data) * 0.97)])

    # Then it is still caught
    assert reject_reason(str(cut)) == "truncated"


def test_audio_only_file_has_no_video_stream(audio_only: Path) -> None:
    # Given an M4A with only an audio track
    # Then it is rejected for having no video
    assert reject_reason(str(audio_only)) == "no_video_stream"


def test_cover_art_does_not_count_as_a_video_stream(audio_with_cover_art: Path) -> None:
    # Given an MP3 whose only "video" stream is its attached cover picture
    # Then it is rejected for having no video
    assert reject_reason(str(audio_with_cover_art)) == "no_video_stream"


def test_video_longer_than_the_limit_is_too_long(clip_av: Path) -> None:
    # Given a 4 s clip and a 1 s limit
    limits = ProbeLimits(max_duration_seconds=1, max_size_bytes=10**9)

    # Then it is too long
    assert reject_reason(str(clip_av), limits=limits) == "too_long"


def test_codec_outside_the_allowed_set_is_unsupported(clip_av: Path, clip_ffv1: Path) -> None:
    # Given an H.264 clip but a policy that only allows VP9
    limits = ProbeLimits(
        max_duration_seconds=3600, max_size_bytes=10**9, allowed_video_codecs=frozenset({"vp9"})
    )

    # Then H.264 is unsupported under that policy
    assert reject_reason(str(clip_av), limits=limits) == "unsupported_codec"
    # And FFV1 is unsupported under the default policy
    assert reject_reason(str(clip_ffv1)) == "unsupported_codec"


def test_missing_ffprobe_is_a_failure_not_a_rejection(clip_av: Path) -> None:
    # Given an ffprobe path that does not exist
    # When probing
    with pytest.raises(MediaFailed) as caught:
        probe(str(clip_av), ffprobe="/nonexistent/ffprobe", size_bytes=None, limits=GENEROUS_LIMITS)

    # Then it is our failure (retryable), not the uploader's fault
    assert caught.value.reason == "probe_failed"


def test_probe_reads_a_url_with_range_requests(http_media: str, clip_faststart: Path) -> None:
    # Given the clip served over HTTP, as a presigned S3 GET URL would be
    url = f"{http_media}/{clip_faststart.name}"

    # When it is probed by URL, with the size S3 reported
    result = probe(url, size_bytes=clip_faststart.stat().st_size, limits=GENEROUS_LIMITS)

    # Then it is described just like the local file
    assert result.duration == pytest.approx(3.0, abs=0.1)
    assert result.video is not None
    assert result.video.width == 320


def test_probe_rejects_truncated_and_fake_files_over_http(
    http_media: str, truncated_faststart: Path, truncated_moov_at_end: Path, media: Path
) -> None:
    # Given cut uploads and a text file served over HTTP
    (media / "words.mp4").write_text("plain words, no video here\n" * 10)

    # When they are probed by URL (size unknown: it comes from ffprobe)
    # Then the reasons match those for local files
    assert reject_reason(f"{http_media}/{truncated_faststart.name}") == "truncated"
    assert reject_reason(f"{http_media}/{truncated_moov_at_end.name}") == "truncated"
    assert reject_reason(f"{http_media}/words.mp4") == "not_media"
