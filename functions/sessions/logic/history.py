"""Resume, continue-watching and watch history per user and profile, across devices.

The entries are projected from the sessions' stream (recorder.py): a heartbeat writes only its
session, and the entry of (profile, video) follows within the stream's latency. Each listing
page is one Query on an index (``history``, or the sparse ``continue-watching``), newest first;
the title and episode were recorded at playback, so a page needs no other read. A cursor is the
page's last key: entries written meanwhile sort before it, so the pages after it do not shift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from functions.sessions.dal import sessions as store
from functions.sessions.logic.sessions import viewer_key
from functions.sessions.models import HistoryEntry, HistoryPage, TitleRef, ViewerSettings
from functions.shared.errors import DomainError
from functions.shared.settings import get_settings


class InvalidCursor(DomainError):
    status = 400
    code = "invalid_cursor"


def _entry(item: Mapping[str, Any]) -> HistoryEntry:
    titles = item.get("titles") or []
    title = TitleRef.model_validate(titles[0]) if titles else None
    return HistoryEntry(
        video_id=str(item["video_id"]),
        video_title=item.get("video_title"),
        position_seconds=float(item.get("position_seconds") or 0),
        duration_seconds=item.get("duration_seconds"),
        percentage=item.get("percentage"),
        watched_at=str(item["watched_at"]),
        finished=bool(item.get("finished")),
        title=title,
    )


def _page(
    user_id: str, profile_id: str | None, *, continue_only: bool, cursor: str | None, limit: int | None
) -> HistoryPage:
    size = min(limit or get_settings().history_page_size, 100)
    try:
        items, next_cursor = store.entries_page(
            viewer_key(user_id, profile_id), continue_only=continue_only, limit=size, cursor=cursor
        )
    except store.InvalidPageCursor as exc:
        raise InvalidCursor(str(exc)) from None
    return HistoryPage(items=[_entry(i) for i in items], next_cursor=next_cursor)


def continue_watching(
    user_id: str, profile_id: str | None, *, cursor: str | None = None, limit: int | None = None
) -> HistoryPage:
    """Videos between 5 % and 95 % watched, newest first (one Query)."""
    return _page(user_id, profile_id, continue_only=True, cursor=cursor, limit=limit)


def history(
    user_id: str, profile_id: str | None, *, cursor: str | None = None, limit: int | None = None
) -> HistoryPage:
    """Every video watched, newest first, cursor-paged (one Query a page)."""
    return _page(user_id, profile_id, continue_only=False, cursor=cursor, limit=limit)


def forget(user_id: str, profile_id: str | None, video_id: str) -> None:
    """Drop one video from the profile's history (and its resume point). Idempotent."""
    store.delete_entry(viewer_key(user_id, profile_id), video_id)


def forget_all(user_id: str, profile_id: str | None) -> int:
    return store.delete_all_entries(viewer_key(user_id, profile_id))


def viewer_settings(user_id: str, profile_id: str | None) -> ViewerSettings:
    item = store.get_settings_item(viewer_key(user_id, profile_id)) or {}
    return ViewerSettings(history_paused=bool(item.get("history_paused")))


def update_settings(user_id: str, profile_id: str | None, *, history_paused: bool | None) -> ViewerSettings:
    if history_paused is not None:
        store.put_settings(viewer_key(user_id, profile_id), history_paused=history_paused)
    return viewer_settings(user_id, profile_id)
