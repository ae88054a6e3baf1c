"""Stitch the chunks' segments into one media playlist per rendition, and measure it for the master.

A rendition's playlist (:func:`stitch_playlist`) is its chunks' segment lists joined in chunk order,
each URI relative to the rendition's folder (``c00003/seg_00001.ts``). Nothing is re-encoded or even
copied: the segments stay where the chunk encoders wrote them. The chunks were encoded with their
source timestamps (``encode``: ``-copyts``), so timestamps run on across chunk boundaries and no
``EXT-X-DISCONTINUITY`` is needed. The audio pieces of a split by index are stitched the same way.

:func:`stitched_rendition` and :func:`stitched_audio` give the master playlist its BANDWIDTH and
AVERAGE-BANDWIDTH (RFC 8216) from the segment sizes and durations the encoders reported, without
reading a segment; a video variant's figures and CODECS include the audio rendition every variant
refers to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from functions.pipeline.logic import ladder as presets
from functions.pipeline.logic.encode import ChunkRendition
from functions.pipeline.logic.ladder import Rung
from functions.pipeline.logic.split import EPSILON, AudioOutput
from functions.pipeline.logic.transcode import RenditionOutput, peak_and_average_bitrate


def stitch_playlist(parts: Sequence[tuple[str, ChunkRendition]]) -> str:
    """One rung's media playlist from its chunks' segment lists, in chunk order.

    ``parts`` pairs each chunk's folder (relative to the rung folder, e.g. ``c00003``) with what
    its encoder wrote. The target duration is the longest segment rounded up (RFC 8216 4.3.3.1).
    """
    if not parts:
        raise ValueError("nothing to stitch")
    longest = max(s.duration for _, part in parts for s in part.segments)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{max(1, math.ceil(longest - EPSILON))}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for folder, part in parts:
        for seg in part.segments:
            lines.append(f"#EXTINF:{seg.duration:.6f},")
            lines.append(f"{folder}/{seg.uri}")
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _stitched_bitrates(parts: Sequence[ChunkRendition]) -> tuple[int, int]:
    """Peak and average bitrate over every segment of a stitched playlist's parts."""
    segments = [s for part in parts for s in part.segments]
    target = max(math.ceil(s.duration - EPSILON) for s in segments)
    return peak_and_average_bitrate(target, segments)


def stitched_audio(parts: Sequence[ChunkRendition], playlist_path: Path) -> AudioOutput:
    """BANDWIDTH/AVERAGE-BANDWIDTH of the audio rendition stitched from its pieces."""
    peak, average = _stitched_bitrates(parts)
    return AudioOutput(bandwidth=peak, average_bandwidth=average, playlist_path=playlist_path)


def stitched_rendition(
    rung: Rung,
    parts: Sequence[ChunkRendition],
    playlist_path: Path,
    *,
    frame_rate: float,
    audio: AudioOutput | None,
) -> RenditionOutput:
    """BANDWIDTH/AVERAGE-BANDWIDTH/CODECS of a stitched rung, audio included when there is audio."""
    peak, average = _stitched_bitrates(parts)
    codecs = parts[0].codecs
    if audio is not None:
        peak += audio.bandwidth
        average += audio.average_bandwidth
        codecs = f"{codecs},{presets.AUDIO_CODECS_TAG}"
    return RenditionOutput(
        name=rung.name,
        width=rung.width,
        height=rung.height,
        bandwidth=peak,
        average_bandwidth=average,
        codecs=codecs,
        frame_rate=round(frame_rate, 3),
        playlist_path=playlist_path,
    )
