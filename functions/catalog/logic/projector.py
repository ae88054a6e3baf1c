"""Keeps the listing and search projections in step with the write model.

``apply`` handles one ``vod.catalog`` event: it projects the snapshot the event carries, unless
the projections already show that version or a newer one (events may arrive twice or out of
order: the version settles it). ``rebuild`` recomputes every projection from the write model
(a Scan: an operator's command, never a request path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.catalog.dal import titles as titles_dal
from functions.catalog.dal import views
from functions.catalog.logic.projection import rows_for
from functions.catalog.logic.render import snapshot
from functions.catalog.models import TITLE_DELETED, ViewRow
from functions.shared.observability import logger


def apply(kind: str, detail: dict[str, Any]) -> str:
    """Project one event; returns what happened: ``projected``, ``stale`` or ``superseded``."""
    title_id = str(detail["title_id"])
    version = int(detail["version"])
    manifest = views.get_manifest(title_id)
    if manifest is not None and int(manifest.version) >= version:
        return "stale"
    deleted = kind == TITLE_DELETED
    rows = [] if deleted else rows_for(detail["title"])
    if not views.replace(title_id, rows, version=version, deleted=deleted, previous=manifest):
        logger.warning("a newer version was projected meanwhile", extra={"title_id": title_id})
        return "superseded"
    return "projected"


@dataclass
class RebuildReport:
    titles: int = 0
    published: int = 0
    rows_written: int = 0
    rows_deleted: int = 0


def rebuild() -> RebuildReport:
    """Recompute every projection from the write model, then delete rows nobody owns any more.

    Rows are overwritten in place (no window where a listing is empty); run it when the
    projections are suspect or their layout changed. Events processed meanwhile are not lost:
    a manifest never goes back to an older version, and a title projected at a newer version
    than the scan saw keeps its rows.
    """
    report = RebuildReport()
    existing = set(views.scan_row_keys())
    wanted: set[str] = set()
    seen: set[str] = set()
    for title in titles_dal.scan_titles():
        report.titles += 1
        data = snapshot(title)
        seen.add(data["title_id"])
        rows: list[ViewRow] = rows_for(data)
        report.published += bool(rows)
        previous = views.get_manifest(data["title_id"])
        if previous is not None and int(previous.version) > data["version"]:
            wanted.update(str(key) for key in previous.keys)
            continue
        views.replace(data["title_id"], rows, version=data["version"], deleted=False, previous=previous)
        wanted.update(row.key for row in rows)
        report.rows_written += len(rows)
    for manifest in views.scan_manifests():
        title_id = manifest.pk.removeprefix(views.manifest_pk(""))
        if title_id not in seen and not manifest.deleted:
            # Deleted from the write model but its deletion never reached the projections.
            views.replace(title_id, [], version=int(manifest.version) + 1, deleted=True, previous=manifest)
    orphans = sorted(existing - wanted)
    views.delete_rows(orphans)
    report.rows_deleted = len(orphans)
    return report
