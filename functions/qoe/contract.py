"""The CloudFront real-time log record the CMCD collector reads: fields, order and line format.

CloudFront real-time logs (a ``CfnRealtimeLogConfig`` on the media behaviours, into a Kinesis data
stream) write one record per viewer request: the configured fields in the configured order,
separated by tabs, ``-`` for a field with no value, a newline at the end. CloudFront parses the
request's CMCD itself (query-argument or header mode) into the ``cmcd-*`` fields. The same list is
read by the CDK config (infra/constructs/qoe_construct.py), by the local edge that plays CloudFront
(infra/local/edge.py) and by the consumer (functions/qoe/logic/collect.py), so the three agree.

The query string (``cs-uri-query``) is not logged: it carries the viewer's URL signature; nor is
``cmcd-next-object-request``, which carries it too, nor the viewer's address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# CloudFront's real-time log field -> the CMCD key it carries (CloudFront's documented names).
CMCD_FIELDS: dict[str, str] = {
    "cmcd-encoded-bitrate": "br",
    "cmcd-buffer-length": "bl",
    "cmcd-buffer-starvation": "bs",
    "cmcd-content-id": "cid",
    "cmcd-object-duration": "d",
    "cmcd-deadline": "dl",
    "cmcd-measured-throughput": "mtp",
    "cmcd-next-object-request": "nor",
    "cmcd-next-range-request": "nrr",
    "cmcd-object-type": "ot",
    "cmcd-playback-rate": "pr",
    "cmcd-requested-maximum-throughput": "rtp",
    "cmcd-streaming-format": "sf",
    "cmcd-session-id": "sid",
    "cmcd-stream-type": "st",
    "cmcd-startup": "su",
    "cmcd-top-bitrate": "tb",
    "cmcd-version": "v",
}
REQUEST_FIELDS: tuple[str, ...] = ("timestamp", "sc-status", "cs-method", "cs-uri-stem", "sc-bytes")
# Not logged: ``nor`` (the next object's URL) carries the viewer's signed query as hls.js sends it
# (a relative URL with Policy/Signature/Key-Pair-Id), and says nothing about the experience.
UNLOGGED_CMCD_FIELDS = frozenset({"cmcd-next-object-request"})
REALTIME_LOG_FIELDS: tuple[str, ...] = (
    *REQUEST_FIELDS,
    *(name for name in CMCD_FIELDS if name not in UNLOGGED_CMCD_FIELDS),
)
EMPTY = "-"
# CloudFront's real-time log sampling: every request (the records are small, and QoE per session
# needs them all). A deployer with heavy traffic may lower it (CDK context).
SAMPLING_RATE = 100


def format_line(values: Mapping[str, object], fields: Sequence[str] = REALTIME_LOG_FIELDS) -> str:
    """One record as CloudFront writes it: ``fields`` in order, tab-separated, ``-`` when empty."""
    cells = []
    for name in fields:
        value = values.get(name)
        if value is None or value == "" or value is False:
            cells.append(EMPTY)
        elif value is True:
            cells.append("true")
        else:
            cells.append(str(value).replace("\t", " ").replace("\n", " "))
    return "\t".join(cells) + "\n"


def parse_line(line: str, fields: Sequence[str] = REALTIME_LOG_FIELDS) -> dict[str, str] | None:
    """A record back into ``{field: value}`` (empty fields left out); None if the field count is wrong."""
    cells = line.rstrip("\r\n").split("\t")
    if len(cells) != len(fields):
        return None
    return {name: cell for name, cell in zip(fields, cells, strict=True) if cell != EMPTY}
