"""The chunked path's audio, encoded piece by piece and spliced: as good as one whole-file encode.

A splice that is off by one sample costs ~20 dB at these frequencies, a lost or repeated AAC frame
much more: comparing the spliced rendition and a whole-file encode against the source, overall and
at every join, catches both.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from functions.media.probe import probe
from functions.pipeline.logic import audio_pieces
from functions.pipeline.logic.audio_pieces import (
    FRAME,
    AudioPiece,
    adts_frames,
    boundary_sample,
    grid_frames,
    kept_frames,
    piece_for_span,
    pre_roll_frames,
    segment_time,
)
from functions.pipeline.logic.encode import encode_chunk_audio
from functions.pipeline.logic.split import chunk_dir_name, split_by_index
from functions.pipeline.logic.stitch import stitch_playlist
from functions.pipeline.logic.transcode import PLAYLIST_NAME
from functions.shared.errors import MediaFailed
from tests.unit.pipeline.conftest import GENEROUS_LIMITS

RATE = 48_000
SECONDS = 14
# Tones, a sweep and bursts of noise: a join in the wrong place cannot hide in silence.
SIGNAL = "0.3*sin(2*PI*440*t)+0.2*sin(2*PI*3000*t*(1+0.1*sin(t)))+0.2*(random(0)-0.5)*gt(mod(t\\,1.3)\\,1.2)"


def make_source(path: Path) -> Path:
    """44.1 kHz audio (boundaries must fall on whole source samples) beside H.264 with keyframes
    every 1.5 s, so chunk boundaries are not on the AAC frame grid."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"aevalsrc='{SIGNAL}':s=44100:d={SECONDS}",
         "-f", "lavfi", "-i", f"testsrc2=s=160x120:r=30:d={SECONDS}",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "45", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "192k", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return path


def pcm(*args: str) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", *args, "-f", "s16le", "-ac", "2", "-ar", str(RATE), "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.int16).reshape(-1, 2).astype(float)


def snr_db(reference: np.ndarray, test: np.ndarray) -> float:
    noise = float(((test - reference) ** 2).sum())
    return 10 * float(np.log10(float((reference**2).sum()) / max(noise, 1e-9)))


@pytest.fixture(scope="module")
def spliced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("pieces")
    source = make_source(root / "src.mp4")
    info = probe(str(source), size_bytes=None, limits=GENEROUS_LIMITS)
    chunks = split_by_index(str(source), info, target_seconds=4, timeout=60)
    out = root / "audio"
    parts = [
        encode_chunk_audio(str(source), c, out / chunk_dir_name(c.index), info, segment_seconds=2, timeout=60)
        for c in chunks
    ]
    (out / PLAYLIST_NAME).write_text(stitch_playlist([(chunk_dir_name(i), p) for i, p in enumerate(parts)]))
    whole = root / "whole.aac"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-map", "0:a", "-c:a", "aac", "-b:a", "128k",
         "-ac", "2", "-ar", str(RATE), "-f", "adts", str(whole)],
        check=True, capture_output=True,
    )  # fmt: skip
    return {
        "chunks": chunks,
        "source": pcm("-i", str(source), "-map", "0:a"),
        "spliced": pcm("-i", str(out / PLAYLIST_NAME)),
        "whole": pcm("-i", str(whole)),
        "packets": len(adts_frames(whole.read_bytes())),
    }


def test_spliced_audio_has_exactly_the_whole_encodes_samples(spliced: dict[str, object]) -> None:
    chunks = spliced["chunks"]
    assert isinstance(chunks, list) and len(chunks) >= 3  # the source really was cut
    whole, joined = spliced["whole"], spliced["spliced"]
    assert isinstance(whole, np.ndarray) and isinstance(joined, np.ndarray)
    assert len(joined) == len(whole) == int(spliced["packets"]) * FRAME  # type: ignore[call-overload]


def test_spliced_audio_is_as_good_as_one_encode_everywhere_joins_included(spliced: dict[str, object]) -> None:
    src, whole, joined = spliced["source"], spliced["whole"], spliced["spliced"]
    assert isinstance(src, np.ndarray) and isinstance(whole, np.ndarray) and isinstance(joined, np.ndarray)
    n = min(len(src), len(whole) - FRAME)
    reference = src[:n]
    # Both carry the encoder's 1,024 priming samples first, as HLS players play them.
    whole_snr = snr_db(reference, whole[FRAME : FRAME + n])
    joined_snr = snr_db(reference, joined[FRAME : FRAME + n])
    assert whole_snr > 20  # the comparison itself is sound
    assert joined_snr >= whole_snr - 4, (joined_snr, whole_snr)
    chunks = spliced["chunks"]
    assert isinstance(chunks, list)
    for chunk in chunks[1:]:
        join = boundary_sample(chunk.start - chunk.offset, chunk.audio_origin, 44_100)
        window = slice(join - 2 * FRAME, join + 2 * FRAME)
        at_join = snr_db(reference[window], joined[FRAME:][window])
        whole_at_join = snr_db(reference[window], whole[FRAME:][window])
        assert at_join >= min(15.0, whole_at_join - 6), (chunk.index, at_join, whole_at_join)


def test_boundaries_fall_on_whole_samples_at_the_source_rate() -> None:
    assert grid_frames(48_000) == 1
    assert grid_frames(44_100) == 5  # 5 x 1,024 samples at 48 kHz = 4,704 at 44.1 kHz
    assert grid_frames(32_000) == 3
    for rate in (44_100, 48_000, 32_000, 22_050, 96_000):
        step = grid_frames(rate) * FRAME
        assert (step * rate) % RATE == 0
        assert pre_roll_frames(rate) % grid_frames(rate) == 0 and pre_roll_frames(rate) >= 4
        sample = boundary_sample(7.3, 0.0, rate)
        assert sample % step == 0 and abs(sample / RATE - 7.3) <= step / RATE / 2


def test_neighbouring_spans_share_their_boundary_and_the_ends_are_open() -> None:
    a = piece_for_span(0.0, 4.1, first=True, last=False, origin=0.0, source_rate=44_100)
    b = piece_for_span(4.1, 8.3, first=False, last=False, origin=0.0, source_rate=44_100)
    c = piece_for_span(8.3, 9.0, first=False, last=True, origin=0.0, source_rate=44_100)
    assert a.first == 0 and a.end == b.first and b.end == c.first and c.end is None
    assert a.ts_offset == 0.0  # the first piece keeps the priming packet at the start
    assert b.ts_offset == pytest.approx((b.first + FRAME) / RATE)


def test_kept_frames_drop_priming_and_pre_roll_but_not_the_first_pieces_priming() -> None:
    frames = [bytes([i]) for i in range(40)]
    first = AudioPiece(first=0, end=10 * FRAME, source_rate=48_000, origin=0.0)
    assert kept_frames(frames, first) == frames[0:11]  # priming + 10 frames
    pre = pre_roll_frames(48_000)
    middle = AudioPiece(first=10 * FRAME, end=20 * FRAME, source_rate=48_000, origin=0.0)
    assert kept_frames(frames, middle) == frames[pre + 1 : pre + 11]
    last = AudioPiece(first=20 * FRAME, end=None, source_rate=48_000, origin=0.0)
    assert kept_frames(frames, last) == frames[pre + 1 :]


def test_a_broken_adts_stream_is_a_clear_failure() -> None:
    with pytest.raises(MediaFailed) as err:
        adts_frames(b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 3 + b"garbage")
    assert err.value.reason == "transcode_failed"
    with pytest.raises(MediaFailed):
        adts_frames(b"not adts at all")


def test_segment_time_leaves_no_sliver() -> None:
    assert segment_time(4.010667, 4) == pytest.approx(4.010667)
    assert segment_time(9.0, 4) == pytest.approx(4.5)
    assert segment_time(0.5, 4) == pytest.approx(0.5)


def test_an_audio_piece_past_the_end_of_the_audio_fails_with_a_reason(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src.mp4")
    info = probe(str(source), size_bytes=None, limits=GENEROUS_LIMITS)
    beyond = AudioPiece(
        first=boundary_sample(SECONDS + 5, 0.0, 44_100), end=None, source_rate=44_100, origin=0.0
    )
    with pytest.raises(MediaFailed) as err:
        audio_pieces.encode_piece(str(source), beyond, tmp_path / "out", info, segment_seconds=2, timeout=30)
    assert err.value.reason == "transcode_failed"
