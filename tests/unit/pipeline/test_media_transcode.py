"""run_ladder() and friends: one ffmpeg run, aligned HLS renditions, an honest master playlist."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import m3u8
import pytest

from functions.media.codecs import avc1_codec_string
from functions.media.probe import ProbeResult, probe
from functions.pipeline.logic.ladder import Rung, choose_ladder
from functions.pipeline.logic.transcode import (
    RenditionOutput,
    Segment,
    build_ladder_command,
    peak_and_average_bitrate,
    run_ladder,
    write_master_playlist,
)
from functions.shared.errors import MediaFailed
from tests.unit.pipeline.conftest import GENEROUS_LIMITS, ffprobe_json

SEGMENT = 2
SMALL_RUNG = Rung("180p", 320, 180, 300_000, 321_000, 450_000, 128_000)


@dataclass(frozen=True)
class Encoded:
    probe: ProbeResult
    out_dir: Path
    renditions: list[RenditionOutput]
    master: Path
    progress: list[float]


# profile_idc and constraint flags x264 writes for the profiles ffprobe names
SPS_PROFILES = {"High": (100, 0x00), "Main": (77, 0x40), "Constrained Baseline": (66, 0xC0)}


def encode(
    source: Path, out_dir: Path, ladder: list[Rung] | None = None, x264_preset: str = "ultrafast"
) -> Encoded:
    info = probe(str(source), size_bytes=None, limits=GENEROUS_LIMITS)
    assert info.video is not None
    rungs = (
        ladder if ladder is not None else choose_ladder(info.video.display_width, info.video.display_height)
    )
    progress: list[float] = []
    renditions = run_ladder(
        str(source),
        out_dir,
        rungs,
        info,
        segment_seconds=SEGMENT,
        x264_preset=x264_preset,
        timeout=120,
        on_progress=progress.append,
    )
    master = write_master_playlist(out_dir, renditions)
    return Encoded(info, out_dir, renditions, master, progress)


@pytest.fixture(scope="module")
def av_ladder(clip_av: Path, tmp_path_factory: pytest.TempPathFactory) -> Encoded:
    """The 640x360 clip with audio, encoded to two rungs (360p from the ladder plus a 180p) with
    the production x264 preset (ultrafast would drop CABAC and B-frames, hence High profile)."""
    out = tmp_path_factory.mktemp("hls-av")
    ladder = [*choose_ladder(640, 360), SMALL_RUNG]
    return encode(clip_av, out, ladder, x264_preset="veryfast")


def segment_stream_info(segment: Path) -> dict[str, dict]:
    info = ffprobe_json(segment, "-show_streams", "-count_frames")
    return {s["codec_type"]: s for s in info["streams"]}


def first_video_packet_is_key(segment: Path) -> bool:
    out = subprocess.run(
        [
            "ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
            "-show_entries", "packet=flags", "-of", "csv=p=0", str(segment),
        ],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return out.strip().startswith("K")


def test_every_rung_is_valid_hls_with_aligned_segments(av_ladder: Encoded) -> None:
    # Given the two-rung encode of a 4 s clip with 2 s segments
    # When each media playlist is parsed
    playlists = {r.name: m3u8.load(str(r.playlist_path)) for r in av_ladder.renditions}

    # Then every rung is a VOD playlist with the same number of segments of the same durations
    assert set(playlists) == {"360p", "180p"}
    durations = {name: [s.duration for s in p.segments] for name, p in playlists.items()}
    counts = {len(d) for d in durations.values()}
    assert counts == {2}
    for a, b in zip(durations["360p"], durations["180p"], strict=True):
        assert a == pytest.approx(b, abs=0.05)
    assert sum(durations["360p"]) == pytest.approx(4.0, abs=0.1)
    for p in playlists.values():
        assert p.is_endlist
        assert p.playlist_type == "vod"
        assert p.target_duration == SEGMENT
        assert p.is_independent_segments


def test_every_segment_starts_with_a_keyframe_and_decodes(av_ladder: Encoded) -> None:
    # Given the encoded renditions
    for rendition in av_ladder.renditions:
        playlist = m3u8.load(str(rendition.playlist_path))
        for segment in playlist.segments:
            path = rendition.playlist_path.parent / segment.uri
            # Then each segment opens on a keyframe (players can switch rungs there)
            assert first_video_packet_is_key(path), path
        # And ffprobe decodes a segment: H.264 High at the rung size plus AAC-LC stereo 48 kHz
        streams = segment_stream_info(rendition.playlist_path.parent / playlist.segments[0].uri)
        video, audio = streams["video"], streams["audio"]
        assert (video["codec_name"], video["profile"]) == ("h264", "High")
        assert (video["width"], video["height"]) == (rendition.width, rendition.height)
        assert int(video["nb_read_frames"]) >= SEGMENT * 30 - 1
        assert video["pix_fmt"] == "yuv420p"
        assert (audio["codec_name"], audio["profile"]) == ("aac", "LC")
        assert (audio["channels"], audio["sample_rate"]) == (2, "48000")
        # And CODECS declares the profile and level the stream really has
        assert rendition.codecs == f"{avc1_codec_string(100, 0, int(video['level']))},mp4a.40.2"
        assert int(video["level"]) == 30  # the lowest level that fits 640x360 at 30 fps


def test_master_playlist_lists_every_rung_with_all_attributes(av_ladder: Encoded) -> None:
    # Given the master playlist written for the renditions
    master = m3u8.load(str(av_ladder.master))
    text = av_ladder.master.read_text()

    # Then it is a variant playlist with one entry per rung, highest first, relative URIs
    assert master.is_variant
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in text
    assert "#EXT-X-VERSION:" in text
    assert [p.uri for p in master.playlists] == ["360p/index.m3u8", "180p/index.m3u8"]
    by_uri = {r.playlist_path.parent.name + "/index.m3u8": r for r in av_ladder.renditions}
    for variant in master.playlists:
        info = variant.stream_info
        rendition = by_uri[variant.uri]
        assert info.bandwidth == rendition.bandwidth
        assert info.average_bandwidth == rendition.average_bandwidth
        assert info.resolution == (rendition.width, rendition.height)
        assert info.codecs == rendition.codecs
        assert info.frame_rate == pytest.approx(30.0)
        assert "FRAME-RATE=30.000" in text
        assert (av_ladder.out_dir / variant.uri).is_file()


def test_bandwidth_is_measured_from_the_segments(av_ladder: Encoded) -> None:
    for rendition in av_ladder.renditions:
        # Given the segment files and their playlist durations
        playlist = m3u8.load(str(rendition.playlist_path))
        sizes = [(rendition.playlist_path.parent / s.uri).stat().st_size for s in playlist.segments]
        seconds = sum(s.duration for s in playlist.segments)

        # Then AVERAGE-BANDWIDTH is total bits over total time, and the peak is at least that
        assert rendition.average_bandwidth == pytest.approx(sum(sizes) * 8 / seconds, rel=0.001)
        assert rendition.bandwidth >= rendition.average_bandwidth
        # And it includes audio: well above the video target alone would allow for the small rung
        assert rendition.average_bandwidth > 128_000


def test_progress_is_reported_in_increasing_fractions_up_to_one(av_ladder: Encoded) -> None:
    progress = av_ladder.progress
    # Then the callback saw increasing fractions within 0..1, ending at 1.0
    assert len(progress) >= 2
    assert all(0.0 <= f <= 1.0 for f in progress)
    assert progress == sorted(progress)
    assert len(set(progress)) == len(progress)
    assert progress[-1] == pytest.approx(1.0)


def test_video_only_source_gives_video_only_renditions(clip_video_only: Path, tmp_path: Path) -> None:
    # Given a 320x240 source without audio
    # When it is encoded
    encoded = encode(clip_video_only, tmp_path)

    # Then there is one rung at source size, with no audio in segments or CODECS
    assert [(r.width, r.height) for r in encoded.renditions] == [(320, 240)]
    rendition = encoded.renditions[0]
    segment = next(rendition.playlist_path.parent.glob("seg_*.ts"))
    streams = segment_stream_info(segment)
    assert set(streams) == {"video"}
    assert "mp4a" not in rendition.codecs
    # (ultrafast uses no High-profile tool, so x264 signals Constrained Baseline: CODECS says so)
    profile_idc, constraints = SPS_PROFILES[streams["video"]["profile"]]
    assert rendition.codecs == avc1_codec_string(profile_idc, constraints, int(streams["video"]["level"]))
    assert rendition.frame_rate == pytest.approx(25.0)


def test_rotated_source_is_encoded_upright(clip_rotated: Path, tmp_path: Path) -> None:
    # Given a clip coded 320x240 that displays as 240x320
    # When it is encoded
    encoded = encode(clip_rotated, tmp_path)

    # Then the rendition is 240x320 pixels, with no rotation left for players to apply
    assert [(r.width, r.height) for r in encoded.renditions] == [(240, 320)]
    segment = next(encoded.renditions[0].playlist_path.parent.glob("seg_*.ts"))
    video = segment_stream_info(segment)["video"]
    assert (video["width"], video["height"]) == (240, 320)
    assert not any(sd.get("side_data_type") == "Display Matrix" for sd in video.get("side_data_list", []))
    assert "rotate" not in video.get("tags", {})


def test_timeout_kills_ffmpeg_and_fails_the_transcode(clip_for_timeout: Path, tmp_path: Path) -> None:
    # Given a 6 s source and a deadline far too short to encode it
    info = probe(str(clip_for_timeout), size_bytes=None, limits=GENEROUS_LIMITS)

    # When the ladder runs
    with pytest.raises(MediaFailed) as caught:
        run_ladder(
            str(clip_for_timeout),
            tmp_path,
            choose_ladder(640, 360),
            info,
            segment_seconds=SEGMENT,
            x264_preset="slow",
            timeout=0.3,
        )

    # Then it fails as a timeout
    assert caught.value.reason == "transcode_timeout"


def test_ffmpeg_failure_reports_its_last_error_lines(clip_av: Path, tmp_path: Path) -> None:
    # Given a probe result for a real clip but a source that is not media
    info = probe(str(clip_av), size_bytes=None, limits=GENEROUS_LIMITS)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_text("not a video\n")

    # When the ladder runs on it
    with pytest.raises(MediaFailed) as caught:
        run_ladder(
            str(garbage), tmp_path / "out", choose_ladder(640, 360), info,
            segment_seconds=SEGMENT, x264_preset="ultrafast", timeout=60,
        )  # fmt: skip

    # Then the failure says what ffmpeg said
    assert caught.value.reason == "transcode_failed"
    assert "garbage.mp4" in caught.value.human or "moov" in caught.value.human


def test_command_is_one_process_with_one_decode(clip_av: Path, tmp_path: Path) -> None:
    # Given a 4-rung ladder for a 1080p source with audio
    info = probe(str(clip_av), size_bytes=None, limits=GENEROUS_LIMITS)
    ladder = choose_ladder(1920, 1080)

    # When the command is built
    argv = build_ladder_command(
        str(clip_av), tmp_path, ladder, info, segment_seconds=4, x264_preset="veryfast"
    )

    # Then there is a single input, split four ways in one filter graph, and four HLS outputs
    assert argv.count("-i") == 1
    graph = argv[argv.index("-filter_complex") + 1]
    assert "split=4" in graph
    assert graph.count("scale=") == 4
    outputs = output_options(argv)
    assert [path for path, _ in outputs] == [str(tmp_path / r.name / "index.m3u8") for r in ladder]
    for rung, (_, opts) in zip(ladder, outputs, strict=True):
        assert f"scale={rung.width}:{rung.height}" in graph
        assert opts["-f"] == "hls"
        assert opts["-hls_time"] == "4"
        assert opts["-hls_playlist_type"] == "vod"
        assert opts["-hls_segment_type"] == "mpegts"
        assert opts["-hls_flags"] == "independent_segments"
        assert opts["-hls_segment_filename"] == str(tmp_path / rung.name / "seg_%05d.ts")
        assert (opts["-c:v"], opts["-profile:v"], opts["-pix_fmt"]) == ("libx264", "high", "yuv420p")
        assert opts["-preset"] == "veryfast"
        assert (opts["-b:v"], opts["-maxrate"], opts["-bufsize"]) == (
            str(rung.video_bitrate),
            str(rung.maxrate),
            str(rung.bufsize),
        )
        # Keyframes on segment boundaries: GOP = fps x segment, forced by timestamp, closed GOPs
        assert (opts["-g"], opts["-keyint_min"], opts["-sc_threshold"]) == ("120", "120", "0")
        assert opts["-force_key_frames"] == "expr:gte(t,n_forced*4)"
        assert opts["-flags"] == "+cgop"
        # Audio: AAC-LC stereo 48 kHz at 128 kb/s in every rung
        assert (opts["-c:a"], opts["-profile:a"], opts["-b:a"]) == ("aac", "aac_low", "128000")
        assert (opts["-ac"], opts["-ar"]) == ("2", "48000")
    # Progress on stdout for the progress parser
    assert argv[argv.index("-progress") + 1] == "pipe:1"
    assert "-nostats" in argv


def output_options(argv: list[str]) -> list[tuple[str, dict[str, str]]]:
    """Split the argv after the filter graph into (output path, {option: value}) per output."""
    rest = argv[argv.index("-filter_complex") + 2 :]
    outputs: list[tuple[str, dict[str, str]]] = []
    options: dict[str, str] = {}
    i = 0
    while i < len(rest):
        if rest[i].startswith("-"):
            options[rest[i]] = rest[i + 1]
            i += 2
        else:
            outputs.append((rest[i], options))
            options = {}
            i += 1
    return outputs


def test_command_skips_audio_for_video_only_sources(clip_video_only: Path, tmp_path: Path) -> None:
    info = probe(str(clip_video_only), size_bytes=None, limits=GENEROUS_LIMITS)
    argv = build_ladder_command(
        str(clip_video_only),
        tmp_path,
        choose_ladder(320, 240),
        info,
        segment_seconds=4,
        x264_preset="veryfast",
    )
    (_, options), *_ = output_options(argv)
    assert "-c:a" not in options
    assert "aac" not in argv


def test_peak_bandwidth_ignores_a_tiny_final_segment() -> None:
    # Given four 4 s segments at 1 Mb/s and a 0.1 s final segment holding a keyframe (10 Mb/s)
    segments = [Segment(f"s{i}.ts", 4.0, 500_000) for i in range(4)] + [Segment("s4.ts", 0.1, 125_000)]

    # When the bandwidths are computed over runs of 0.5-1.5 target durations (RFC 8216)
    peak, average = peak_and_average_bitrate(4.0, segments)

    # Then the peak stays near the real rate, and the average is bits over time
    assert 1_000_000 <= peak <= 1_250_000
    assert average == pytest.approx((4 * 500_000 + 125_000) * 8 / 16.1, abs=1)


def test_master_playlist_orders_by_bandwidth(tmp_path: Path) -> None:
    # Given renditions in arbitrary order
    def rendition(name: str, width: int, height: int, bandwidth: int) -> RenditionOutput:
        return RenditionOutput(
            name,
            width,
            height,
            bandwidth,
            bandwidth - 1000,
            "avc1.64001f",
            29.97,
            tmp_path / name / "index.m3u8",
        )

    renditions = [rendition("360p", 640, 360, 900_000), rendition("720p", 1280, 720, 3_300_000)]

    # When the master is written
    path = write_master_playlist(tmp_path, renditions)

    # Then the highest rung comes first, with a 3-decimal frame rate and video-only CODECS
    lines = path.read_text().splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[3] == (
        "#EXT-X-STREAM-INF:BANDWIDTH=3300000,AVERAGE-BANDWIDTH=3299000,RESOLUTION=1280x720,"
        'CODECS="avc1.64001f",FRAME-RATE=29.970'
    )
    assert lines[4] == "720p/index.m3u8"
    assert lines[6] == "360p/index.m3u8"
