"""Chunked encoding against single-pass: same frames, same timeline, audio in sync at boundaries.

The source flashes white and beeps at the same instants, twice at every chunk boundary (on the
boundary and half a second later), so the A/V offset can be measured in the stitched output
exactly where a chunked encoder would go wrong.
"""

from __future__ import annotations

import itertools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from functions.media.probe import ProbeResult, probe
from functions.pipeline.logic.encode import (
    ChunkRendition,
    encode_chunk,
    encode_chunk_audio,
    keyframe_expression,
    seek_args,
)
from functions.pipeline.logic.ladder import Rung
from functions.pipeline.logic.split import (
    AudioOutput,
    Chunk,
    chunk_dir_name,
    indexed,
    parse_chunk_list,
    split_by_index,
    split_source,
)
from functions.pipeline.logic.stitch import stitch_playlist, stitched_audio, stitched_rendition
from functions.pipeline.logic.transcode import PLAYLIST_NAME, Segment, master_playlist_text, run_ladder
from functions.shared.errors import MediaFailed
from tests.unit.pipeline.conftest import GENEROUS_LIMITS

SEGMENT = 2
CHUNK_TARGET = 4.0
DURATION = 12
FPS = 30
RUNGS = [
    Rung("240p", 320, 240, 300_000, 321_000, 450_000, 128_000),
    Rung("120p", 160, 120, 150_000, 160_500, 225_000, 128_000),
]
# Flash + beep windows: 0.1 s starting every 0.5 s... only where it matters (boundaries 4 and 8).
EVENT_STARTS = (1.0, 4.0, 4.5, 8.0, 8.5, 10.0)


def _window(var: str) -> str:
    return "+".join(f"between({var}\\,{t:.3f}\\,{t + 0.099:.3f})" for t in EVENT_STARTS)


def make_av_source(path: Path) -> Path:
    video = (
        f"color=c=black:s=320x240:r={FPS}:d={DURATION},format=yuv420p,"
        f"geq=lum='if({_window('T')}\\,235\\,16)':cb=128:cr=128"
    )
    audio = f"aevalsrc='if({_window('t')}\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:d={DURATION}"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio,
            # A keyframe every second: the splitter can cut at 4 s and 8 s exactly.
            "-c:v", "libx264", "-preset", "ultrafast", "-g", str(FPS), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "128k", "-shortest", str(path),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return path


@dataclass(frozen=True)
class Chunked:
    probe: ProbeResult
    chunks: list[Chunk]
    out: Path
    renditions: dict[str, list[ChunkRendition]]  # rung -> per chunk


@pytest.fixture(scope="module")
def av_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_av_source(tmp_path_factory.mktemp("av") / "av.mp4")


@pytest.fixture(scope="module", params=["copy", "index"])
def chunked(
    request: pytest.FixtureRequest, av_source: Path, tmp_path_factory: pytest.TempPathFactory
) -> Chunked:
    """Both ways of splitting: by copy (NUT chunks + the audio encoded whole) and by index (workers
    read their span of the source; the first pass encodes the audio piece by piece)."""
    by_index = request.param == "index"
    root = tmp_path_factory.mktemp(f"chunked-{request.param}")
    info = probe(str(av_source), size_bytes=None, limits=GENEROUS_LIMITS)
    split_dir = root / "split"
    split_dir.mkdir()
    out = root / "hls"
    audio: AudioOutput | None = None
    if by_index:
        chunks = split_by_index(str(av_source), info, target_seconds=CHUNK_TARGET, timeout=60)
        assert not list(split_dir.iterdir())  # nothing copied
    else:
        split = split_source(
            str(av_source), split_dir, out / "audio", info,
            target_seconds=CHUNK_TARGET, segment_seconds=SEGMENT, timeout=60,
        )  # fmt: skip
        chunks, audio = split.chunks, split.audio
    per_rung: dict[str, list[ChunkRendition]] = {r.name: [] for r in RUNGS}
    pieces: list[ChunkRendition] = []
    for chunk in chunks:
        source = str(av_source) if by_index else split_dir / chunk.name
        # Two passes, as the pipeline runs them: the lowest rung first, then the rest.
        for rungs in ([RUNGS[-1]], RUNGS[:-1]):
            chunk_out = root / "chunks" / chunk_dir_name(chunk.index)
            written = encode_chunk(
                source, chunk, chunk_out, rungs, info,
                segment_seconds=SEGMENT, x264_preset="ultrafast", timeout=60,
            )  # fmt: skip
            for part in written:
                per_rung[part.rung].append(part)
                dest = out / part.rung / chunk_dir_name(chunk.index)
                dest.parent.mkdir(parents=True, exist_ok=True)
                (chunk_out / part.rung).rename(dest)
        if by_index:
            pieces.append(
                encode_chunk_audio(
                    str(av_source),
                    chunk,
                    out / "audio" / chunk_dir_name(chunk.index),
                    info,
                    segment_seconds=SEGMENT,
                    timeout=60,
                )
            )
    if by_index:
        (out / "audio" / PLAYLIST_NAME).write_text(
            stitch_playlist([(chunk_dir_name(i), p) for i, p in enumerate(pieces)])
        )
        audio = stitched_audio(pieces, Path("audio") / PLAYLIST_NAME)
    assert audio is not None
    renditions = []
    for rung in RUNGS:
        parts = per_rung[rung.name]
        playlist = out / rung.name / PLAYLIST_NAME
        playlist.write_text(stitch_playlist([(chunk_dir_name(i), p) for i, p in enumerate(parts)]))
        renditions.append(stitched_rendition(rung, parts, playlist, frame_rate=FPS, audio=audio))
    (out / "master.m3u8").write_text(master_playlist_text(renditions, audio_uri="audio/index.m3u8"))
    return Chunked(probe=info, chunks=chunks, out=out, renditions=per_rung)


@pytest.fixture(scope="module")
def single_pass(av_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("single")
    info = probe(str(av_source), size_bytes=None, limits=GENEROUS_LIMITS)
    run_ladder(str(av_source), out, RUNGS, info, segment_seconds=SEGMENT, x264_preset="ultrafast", timeout=60)
    return out


def video_frame_times(playlist: Path) -> list[float]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
         "-of", "csv=p=0", str(playlist)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [float(line.split(",")[0]) for line in out.split() if line.strip()]


def decode_errors(playlist: Path) -> str:
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(playlist), "-f", "null", "-"], capture_output=True, text=True
    ).stderr.strip()


def flash_onsets(playlist: Path) -> list[float]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "lavfi", "-i", f"movie={playlist},signalstats",
         "-show_entries", "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    onsets, lit = [], False
    for line in out.split():
        t, yavg = (float(v) for v in line.split(",")[:2])
        if yavg > 128 and not lit:
            onsets.append(t)
        lit = yavg > 128
    return onsets


def beep_onsets(playlist: Path) -> list[float]:
    err = subprocess.run(
        ["ffmpeg", "-v", "info", "-nostats", "-f", "lavfi",
         "-i", f"amovie={playlist},silencedetect=n=-30dB:d=0.05", "-f", "null", "-"],
        capture_output=True, text=True,
    ).stderr  # fmt: skip
    # (The last silence_end marks the end of the stream, not a beep.)
    return [float(v) for v in re.findall(r"silence_end: ([0-9.]+)", err)][: len(EVENT_STARTS)]


def test_split_cuts_at_keyframes_near_the_target(chunked: Chunked) -> None:
    starts = [round(c.start, 3) for c in chunked.chunks]
    assert starts[0] <= 0.1 and starts[1:] == [4.0, 8.0]
    assert chunked.chunks[-1].end == pytest.approx(DURATION, abs=0.1)


def test_stitched_output_matches_single_pass(chunked: Chunked, single_pass: Path) -> None:
    for rung in RUNGS:
        stitched = video_frame_times(chunked.out / rung.name / PLAYLIST_NAME)
        single = video_frame_times(single_pass / rung.name / PLAYLIST_NAME)
        assert len(stitched) == len(single) == DURATION * FPS  # same frame count: no gap, no duplicate
        # Same timeline: every frame at the time the single-pass encode gave it (within a frame).
        assert stitched[0] == pytest.approx(single[0], abs=1 / FPS)
        assert stitched[-1] - stitched[0] == pytest.approx(single[-1] - single[0], abs=1 / FPS)
        steps = [b - a for a, b in itertools.pairwise(stitched)]
        assert max(steps) == pytest.approx(1 / FPS, abs=0.002) and min(steps) > 0  # continuous, monotonic
        assert decode_errors(chunked.out / rung.name / PLAYLIST_NAME) == ""


def test_segments_align_across_rungs_and_no_sliver_segments(chunked: Chunked) -> None:
    durations = {
        name: [round(s.duration, 3) for part in parts for s in part.segments]
        for name, parts in chunked.renditions.items()
    }
    assert durations["240p"] == durations["120p"]
    assert all(SEGMENT - 0.05 <= d <= SEGMENT + 1.05 for d in durations["240p"])
    assert sum(durations["240p"]) == pytest.approx(DURATION, abs=1 / FPS)


def test_audio_in_sync_at_every_chunk_boundary(chunked: Chunked) -> None:
    flashes = flash_onsets(chunked.out / "120p" / PLAYLIST_NAME)
    beeps = beep_onsets(chunked.out / "audio" / PLAYLIST_NAME)
    assert len(flashes) == len(EVENT_STARTS) == len(beeps)
    base = flashes[0] - EVENT_STARTS[0]
    for expected, flash, beep in zip(EVENT_STARTS, flashes, beeps, strict=True):
        assert flash - base == pytest.approx(expected, abs=1 / FPS)
        assert abs(beep - flash) <= 0.040, f"A/V offset {beep - flash:+.3f} s at {expected} s"


def test_master_lists_every_rung_with_the_audio_group(chunked: Chunked) -> None:
    master = (chunked.out / "master.m3u8").read_text()
    assert '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio"' in master and 'URI="audio/index.m3u8"' in master
    assert master.count('AUDIO="audio"') == len(RUNGS)
    assert master.count("mp4a.40.2") == len(RUNGS)
    assert decode_errors(chunked.out / "master.m3u8") == ""


def test_parse_chunk_list_extends_the_last_chunk_to_the_probed_duration() -> None:
    chunks = parse_chunk_list("c00000.nut,0.000000,4.000000\nc00001.nut,4.000000,7.900000\n", 8.0)
    assert [(c.index, c.name, c.start, c.end) for c in chunks] == [
        (0, "c00000.nut", 0.0, 4.0),
        (1, "c00001.nut", 4.0, 8.0),
    ]


def test_keyframe_expression_forces_the_first_frame_and_spares_the_tail() -> None:
    expr = keyframe_expression(Chunk(2, "c00002.nut", 8.0, 12.0), 4)
    assert expr.startswith("expr:if(eq(n,0),1,") and "lt(t,11.000000)" in expr


def test_stitch_playlist_concatenates_in_order_with_an_honest_target_duration() -> None:
    part = ChunkRendition(
        "r", "avc1.64001e", 4, [Segment("seg_00000.ts", 4.0, 10), Segment("seg_00001.ts", 4.9, 10)]
    )
    text = stitch_playlist([("c00000", part), ("c00001", part)])
    assert "#EXT-X-TARGETDURATION:5" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert uris == [
        "c00000/seg_00000.ts",
        "c00000/seg_00001.ts",
        "c00001/seg_00000.ts",
        "c00001/seg_00001.ts",
    ]
    with pytest.raises(ValueError):
        stitch_playlist([])


def test_a_broken_chunk_fails_with_a_reason(tmp_path: Path, chunked: Chunked) -> None:
    bad = tmp_path / "c00000.nut"
    bad.write_bytes(b"not a nut file")
    with pytest.raises(MediaFailed) as err:
        encode_chunk(
            bad, chunked.chunks[0], tmp_path / "out", RUNGS, chunked.probe,
            segment_seconds=SEGMENT, x264_preset="ultrafast", timeout=30,
        )  # fmt: skip
    assert err.value.reason == "transcode_failed"


def _frame_hashes(*args: str) -> list[str]:
    out = subprocess.run(
        ["ffmpeg", "-v", "error", *args, "-map", "0:v:0", "-f", "framemd5", "-"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [line.rsplit(",", 1)[-1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def test_split_by_index_reads_every_frame_exactly_once(tmp_path: Path) -> None:
    """B-frames, keyframes every 47 frames (not on the chunk grid): the spans the workers read
    from the source, one after another, are the source's frames, each exactly once."""
    source = tmp_path / "b.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=30:d=20",
         "-c:v", "libx264", "-preset", "fast", "-g", "47", "-bf", "3", "-pix_fmt", "yuv420p", str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    info = probe(str(source), size_bytes=None, limits=GENEROUS_LIMITS)
    chunks = split_by_index(str(source), info, target_seconds=4, timeout=60)
    keyframes = {round(47 * k / 30, 3) for k in range(20)}
    assert len(chunks) == 5
    assert all(round(c.start, 3) in keyframes for c in chunks[1:])
    # The keyframe at or before every multiple of 4 s.
    assert [round(c.start, 3) for c in chunks[1:]] == [3.133, 7.833, 10.967, 15.667]
    assert [c.end for c in chunks[:-1]] == [c.start for c in chunks[1:]] and chunks[-1].last
    spans = [h for c in chunks for h in _frame_hashes("-copyts", *seek_args(c), "-i", str(source))]
    assert spans == _frame_hashes("-i", str(source))


def test_seek_args_read_the_span_and_leave_the_ends_open() -> None:
    first = Chunk(0, "", 0.0, 4.0, offset=0.0)
    middle = Chunk(1, "", 4.0, 8.5, offset=0.5)
    last = Chunk(2, "", 8.5, 12.0, offset=0.5, last=True)
    assert seek_args(first) == ["-to", "4.000000"]
    assert seek_args(middle) == ["-ss", "3.500000", "-to", "8.000000"]
    assert seek_args(last) == ["-ss", "8.000000"]
    assert seek_args(Chunk(1, "c00001.nut", 4.0, 8.0)) == []  # a copied chunk is read whole
    assert Chunk.from_dict(middle.to_dict()) == middle


def test_one_keyframe_means_one_chunk_and_unindexed_containers_are_split_by_copy(tmp_path: Path) -> None:
    source = tmp_path / "one.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=30:d=10",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "1000", "-pix_fmt", "yuv420p", str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    info = probe(str(source), size_bytes=None, limits=GENEROUS_LIMITS)
    assert indexed(info)
    [chunk] = split_by_index(str(source), info, target_seconds=4, timeout=60)
    assert chunk.start == 0.0 and chunk.last and chunk.end == pytest.approx(10.0, abs=0.05)
    ts = tmp_path / "one.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-c", "copy", str(ts)], check=True)
    assert not indexed(probe(str(ts), size_bytes=None, limits=GENEROUS_LIMITS))
