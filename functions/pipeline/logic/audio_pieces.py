"""The chunked path's audio rendition, encoded piece by piece beside the video chunks, spliced exactly.

Why pieces: read straight from the source (the split by index copies nothing), the audio of an hour
is one long serial AAC encode (~70 CPU-seconds) and, worse, an audio-only read of an interleaved MP4
pulls the video's bytes too (3.7 GB for an hour of 8 Mb/s). Each chunk worker of the first pass reads
its own span anyway; it encodes the audio of that span beside the lowest rung.

How the pieces join without a click, a gap or a duplicate sample:

* **On the AAC frame grid.** Piece boundaries sit on multiples of ``grid_frames(rate)`` AAC frames
  (1,024 samples at the 48 kHz output) counted from the audio's first sample, chosen nearest the
  video chunk's start. The multiple makes the boundary a whole number of samples at the *source*
  rate too (44.1 kHz: 5 frames = 4,704 source samples), so a piece's resampler starts on a source
  sample and no piece is shifted by a fraction of one (which costs ~10 dB of SNR at 3 kHz).
* **Pre-roll and post-roll.** A piece is encoded from ``pre_roll`` frames before its boundary to two
  frames after its end, so the encoder's first frames (priming, the psychoacoustic model settling,
  the source decoder's own seek warm-up) and the overlap of the last frame's window are fed real
  signal. Of the encoder's output, packet ``j`` decodes to input samples ``[(j-1)*1024, j*1024)``
  (packet 0 is priming): a piece keeps exactly the packets of its own samples, the first piece keeps
  the priming packet as a whole-file encode does.
* **Timestamps.** Kept packets are remuxed (stream copy) into MPEG-TS segments whose timestamps are
  the ones a whole-file encode gives the same packets (``-output_ts_offset``), so the stitched audio
  playlist runs on with no discontinuity, on the video's timeline.

``tests/unit/pipeline/test_audio_pieces.py`` checks the spliced rendition against a whole-file encode:
the same packet count, the same quality against the source everywhere (joins included);
``tests/unit/pipeline/test_media_chunked.py`` holds A/V in sync at every chunk boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from functions.media import ffmpeg_run
from functions.media.probe import ProbeResult, ffmpeg_input_args
from functions.pipeline.logic import ladder as presets
from functions.pipeline.logic.ladder import Rung
from functions.pipeline.logic.transcode import (
    PLAYLIST_NAME,
    SEGMENT_PATTERN,
    Segment,
    audio_options,
    read_media_playlist,
)
from functions.shared.errors import MediaFailed

RENDITION = "audio"
OUTPUT_RATE = presets.AUDIO_SAMPLE_RATE
FRAME = 1024  # samples per AAC-LC frame
MIN_PRE_ROLL_FRAMES = 4  # ~85 ms: the encoder and the source's decoder settle within it
POST_ROLL_FRAMES = 2
_ADTS_HEADER = 7


def grid_frames(source_rate: int) -> int:
    """The smallest number of output AAC frames that is also a whole number of source samples."""
    if source_rate <= 0:
        return 1
    return Fraction(FRAME * source_rate, OUTPUT_RATE).denominator


def pre_roll_frames(source_rate: int) -> int:
    step = grid_frames(source_rate)
    return step * math.ceil(MIN_PRE_ROLL_FRAMES / step)


def boundary_sample(t: float, origin: float, source_rate: int) -> int:
    """The piece boundary nearest player time ``t``, in output samples from the audio's first sample."""
    step = grid_frames(source_rate) * FRAME
    return max(0, round((t - origin) * OUTPUT_RATE / step)) * step


@dataclass(frozen=True)
class AudioPiece:
    first: int  # output samples from the audio's first sample
    end: int | None  # exclusive; None: to the end of the audio (the last piece)
    source_rate: int
    origin: float  # player time of the audio's first sample (its stream start minus the file's)

    @property
    def frames(self) -> int | None:
        return None if self.end is None else (self.end - self.first) // FRAME

    @property
    def ts_offset(self) -> float:
        """Player time of the first packet kept: a whole-file encode puts packet j at j*1024/rate."""
        first_packet = 0 if self.first == 0 else self.first // FRAME + 1
        return self.origin + first_packet * FRAME / OUTPUT_RATE


def piece_for_span(
    start: float, end: float, *, first: bool, last: bool, origin: float, source_rate: int
) -> AudioPiece:
    """The audio piece of the video span [start, end) (player times). Neighbouring spans get
    neighbouring pieces: both sides compute their shared boundary with the same function."""
    lo = 0 if first else boundary_sample(start, origin, source_rate)
    hi = None if last else boundary_sample(end, origin, source_rate)
    if hi is not None and hi < lo:
        hi = lo
    return AudioPiece(first=lo, end=hi, source_rate=source_rate, origin=origin)


def build_piece_command(
    source: str, piece: AudioPiece, out_path: Path, probe: ProbeResult, *, ffmpeg: str = "ffmpeg"
) -> list[str]:
    """Encode the piece with its pre-roll and post-roll to raw ADTS (packets, no timestamps)."""
    if probe.audio is None:
        raise ValueError("the source has no audio stream")
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats"]
    pre = 0 if piece.first == 0 else pre_roll_frames(piece.source_rate)
    if piece.first > 0:
        argv += ["-ss", f"{piece.origin + (piece.first - pre * FRAME) / OUTPUT_RATE:.6f}"]
    if piece.frames is not None:
        samples = (piece.frames + pre + POST_ROLL_FRAMES) * FRAME
        argv += ["-t", f"{samples / OUTPUT_RATE:.6f}"]
    argv += [*ffmpeg_input_args(source), "-map", f"0:{probe.audio.index}", "-vn", "-sn", "-dn"]
    for key, value in audio_options(audio_rung()).items():
        argv += [f"-{key}", str(value)]
    argv += ["-map_metadata", "-1", "-f", "adts", str(out_path)]
    return argv


def adts_frames(data: bytes) -> list[bytes]:
    """Split an ADTS stream into its frames (a header's 13-bit length field gives each frame's size)."""
    frames: list[bytes] = []
    i = 0
    while i < len(data):
        if len(data) - i < _ADTS_HEADER or data[i] != 0xFF or data[i + 1] & 0xF0 != 0xF0:
            raise MediaFailed("transcode_failed", f"the audio encoder wrote a broken ADTS stream at byte {i}")
        length = ((data[i + 3] & 0x03) << 11) | (data[i + 4] << 3) | (data[i + 5] >> 5)
        if length < _ADTS_HEADER or i + length > len(data):
            raise MediaFailed("transcode_failed", f"the audio encoder wrote a short ADTS frame at byte {i}")
        frames.append(data[i : i + length])
        i += length
    return frames


def kept_frames(frames: list[bytes], piece: AudioPiece) -> list[bytes]:
    """The packets that decode to the piece's own samples (see the module docstring)."""
    if piece.first == 0:
        start, count = 0, None if piece.frames is None else piece.frames + 1
    else:
        start, count = pre_roll_frames(piece.source_rate) + 1, piece.frames
    return frames[start:] if count is None else frames[start : start + count]


def segment_time(seconds: float, segment_seconds: int) -> float:
    """hls_time that cuts ``seconds`` into near-equal segments near ``segment_seconds`` long: the
    muxer cuts at multiples of it, so no sliver is left at the end of a piece."""
    count = max(1, round(seconds / segment_seconds))
    return seconds / count


@dataclass(frozen=True)
class AudioPieceOutput:
    target_duration: float
    segments: list[Segment]
    frames: int


def encode_piece(
    source: str,
    piece: AudioPiece,
    out_dir: Path,
    probe: ProbeResult,
    *,
    segment_seconds: int,
    ffmpeg: str = "ffmpeg",
    timeout: float,
) -> AudioPieceOutput:
    """Encode the piece and write ``out_dir/index.m3u8`` + ``seg_*.ts`` on the whole-file timeline."""
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / "piece.aac"
    _run(build_piece_command(source, piece, raw, probe, ffmpeg=ffmpeg), timeout, "encoding the audio")
    frames = kept_frames(adts_frames(raw.read_bytes()), piece)
    raw.unlink()
    if not frames:
        raise MediaFailed("transcode_failed", "the audio piece has no samples (the audio ends before it)")
    kept = out_dir / "kept.aac"
    kept.write_bytes(b"".join(frames))
    seconds = len(frames) * FRAME / OUTPUT_RATE
    remux = [
        ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats",
        "-f", "aac", "-i", str(kept), "-c", "copy", "-output_ts_offset", f"{piece.ts_offset:.6f}",
        "-f", "hls", "-hls_time", f"{segment_time(seconds, segment_seconds):.6f}",
        "-hls_playlist_type", "vod", "-hls_list_size", "0", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", str(out_dir / SEGMENT_PATTERN),
        "-map_metadata", "-1", str(out_dir / PLAYLIST_NAME),
    ]  # fmt: skip
    _run(remux, timeout, "packaging the audio")
    kept.unlink()
    target, segments = read_media_playlist(out_dir / PLAYLIST_NAME)
    if not segments:
        raise MediaFailed("transcode_failed", "packaging the audio wrote no segments")
    return AudioPieceOutput(target_duration=target, segments=segments, frames=len(frames))


def _run(argv: list[str], timeout: float, what: str) -> None:
    ffmpeg_run.run_or_fail(
        argv, timeout=timeout, what=what, reason="transcode_failed", timeout_reason="transcode_timeout"
    )


def audio_rung() -> Rung:
    """The audio rendition as a rung: its encoder settings, whether encoded in pieces or whole."""
    return Rung(RENDITION, 0, 0, 0, 0, 0, presets.AUDIO_BITRATE)
