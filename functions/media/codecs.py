"""Codec strings (RFC 6381) and the H.264 SPS reader that finds what an encoder really declared.

HLS master playlists name each variant's ``CODECS``; a player that trusts a wrong one may refuse a
rendition it could play. The single-pass and chunked encoders both read the SPS of their first
segment here, so the playlist states what the bitstream holds.
"""

from __future__ import annotations

import re
from pathlib import Path


def avc1_codec_string(profile_idc: int, constraint_flags: int, level_idc: int) -> str:
    """RFC 6381 codec string, e.g. avc1.640028 for High profile level 4.0."""
    return f"avc1.{profile_idc:02x}{constraint_flags:02x}{level_idc:02x}"


_TS_PACKET = 188
_H264_STREAM_TYPE = 0x1B
_SPS_START = re.compile(rb"\x00\x00\x01[\x27\x47\x67]")  # start code + NAL header of an SPS


def sps_codec_string(segment: Path) -> str | None:
    """avc1.PPCCLL read from the first SPS in an MPEG-TS segment: what the encoder really declared.

    The three bytes after the SPS NAL header are profile_idc, constraint flags and level_idc, which
    is exactly what RFC 6381 puts in the codec string. Only the H.264 elementary stream (found via
    PAT and PMT) is searched, so bytes of the audio stream can never be mistaken for an SPS.
    """
    with segment.open("rb") as fh:
        data = fh.read(512 * 1024)
    video = _ts_h264_payload(data, limit=64 * 1024)
    match = _SPS_START.search(video)
    if match is None or match.end() + 3 > len(video):
        return None
    profile_idc, constraints, level_idc = video[match.end() : match.end() + 3]
    return avc1_codec_string(profile_idc, constraints, level_idc)


def _ts_h264_payload(data: bytes, *, limit: int) -> bytes:
    """The first ``limit`` bytes of payload (PES headers included) of the H.264 stream in a TS."""
    pmt_pid: int | None = None
    video_pid: int | None = None
    out = bytearray()
    for offset in range(0, len(data) - _TS_PACKET + 1, _TS_PACKET):
        packet = data[offset : offset + _TS_PACKET]
        if packet[0] != 0x47:
            break
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        unit_start = bool(packet[1] & 0x40)
        adaptation = (packet[3] >> 4) & 0x3
        if adaptation == 2:
            continue  # adaptation field only, no payload
        payload = packet[5 + packet[4] :] if adaptation == 3 else packet[4:]
        if not payload:
            continue
        if pid == video_pid:
            out += payload
            if len(out) >= limit:
                break
        elif pid == 0 and unit_start and pmt_pid is None:
            pmt_pid = _first_pmt_pid(payload[1 + payload[0] :])
        elif pid == pmt_pid and unit_start and video_pid is None:
            video_pid = _h264_pid(payload[1 + payload[0] :])
    return bytes(out)


def _first_pmt_pid(section: bytes) -> int | None:
    if len(section) < 12:
        return None
    section_end = min(len(section), 3 + (((section[1] & 0x0F) << 8) | section[2]) - 4)
    for i in range(8, section_end - 3, 4):
        program = (section[i] << 8) | section[i + 1]
        if program != 0:  # program 0 points at the network information table
            return ((section[i + 2] & 0x1F) << 8) | section[i + 3]
    return None


def _h264_pid(section: bytes) -> int | None:
    if len(section) < 12:
        return None
    section_end = min(len(section), 3 + (((section[1] & 0x0F) << 8) | section[2]) - 4)
    i = 12 + (((section[10] & 0x0F) << 8) | section[11])
    while i + 5 <= section_end:
        stream_type = section[i]
        pid = ((section[i + 1] & 0x1F) << 8) | section[i + 2]
        if stream_type == _H264_STREAM_TYPE:
            return pid
        i += 5 + (((section[i + 3] & 0x0F) << 8) | section[i + 4])
    return None
