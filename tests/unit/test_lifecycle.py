"""One owner of the video lifecycle: no module but functions/videos/logic/lifecycle.py writes a
video record through the DAL, nothing writes ``status`` around the DAL's ``transition``, and no
other domain imports the videos DAL at all. (The moves themselves: tests/integration/test_lifecycle.py.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from functions.videos.models import ALLOWED_TRANSITIONS, IllegalTransition, VideoStatus, check_transition

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
DAL = "functions.videos.dal.videos"
LIFECYCLE = "functions/videos/logic/lifecycle.py"
DAL_FILE = "functions/videos/dal/videos.py"
WRITES = {"create", "transition", "update_fields", "increment", "write_progress_in_order"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), filename=str(path)))
        for path in sorted(FUNCTIONS.rglob("*.py"))
    ]


def _dal_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names bound to the videos DAL module, and DAL functions imported by name."""
    modules: set[str] = set()
    functions: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "functions.videos.dal":
            modules |= {a.asname or a.name for a in node.names if a.name == "videos"}
        elif isinstance(node, ast.ImportFrom) and node.module == DAL:
            functions |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == DAL and a.asname}
    return modules, functions


def _dal_writes(tree: ast.Module) -> list[str]:
    modules, functions = _dal_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in modules:
            if f.attr in WRITES:
                found.append(f"{f.value.id}.{f.attr} (line {node.lineno})")
        elif isinstance(f, ast.Name) and f.id in functions and f.id in WRITES:
            found.append(f"{f.id} (line {node.lineno})")
    return found


def _status_writes(tree: ast.Module) -> list[str]:
    """``<model>.status.set(...)`` / ``.status.remove()``, or ``status=`` given to a write."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        f = node.func
        if (
            f.attr in {"set", "remove", "add"}
            and isinstance(f.value, ast.Attribute)
            and f.value.attr == "status"
        ):
            found.append(f"status.{f.attr} (line {node.lineno})")
        if f.attr in WRITES | {"update", "update_item", "put_item"} and any(
            k.arg == "status" for k in node.keywords
        ):
            found.append(f"{f.attr}(status=...) (line {node.lineno})")
    return found


def test_only_the_lifecycle_writes_video_records_through_the_dal() -> None:
    offenders = {
        path: calls
        for path, tree in _modules()
        if path not in (LIFECYCLE, DAL_FILE) and (calls := _dal_writes(tree))
    }
    assert offenders == {}


def test_nothing_writes_status_around_the_transition_table() -> None:
    offenders = {
        path: found for path, tree in _modules() if path != DAL_FILE and (found := _status_writes(tree))
    }
    assert offenders == {}


def test_no_other_domain_imports_the_videos_dal() -> None:
    importers = set()
    for path, tree in _modules():
        if path.startswith("functions/videos/"):
            continue
        for node in ast.walk(tree):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(n == "functions.videos.dal" or n.startswith("functions.videos.dal.") for n in names):
                importers.add(path)
    assert importers == set()


def test_the_scan_sees_a_status_write_when_there_is_one() -> None:
    # The detectors themselves, on code that does what they forbid
    bad = ast.parse(
        "from functions.videos.dal import videos as d\n"
        "d.transition('v', 'READY')\n"
        "VideoModel.status.set('READY')\n"
        "d.update_fields('v', status='READY')\n"
    )
    assert _dal_writes(bad) == ["d.transition (line 2)", "d.update_fields (line 4)"]
    assert _status_writes(bad) == ["status.set (line 3)", "update_fields(status=...) (line 4)"]


# -- the table itself -----------------------------------------------------------------------------
def test_check_transition_refuses_any_source_the_table_does_not_allow() -> None:
    check_transition(frozenset({VideoStatus.UPLOADED, VideoStatus.PROCESSING}), VideoStatus.PROCESSING)
    with pytest.raises(IllegalTransition, match="READY -> PROCESSING"):
        check_transition(frozenset({VideoStatus.READY, VideoStatus.IN_REVIEW}), VideoStatus.PROCESSING)
    with pytest.raises(IllegalTransition):
        check_transition(frozenset(), VideoStatus.READY)


def test_the_table_states_the_retried_probe_and_the_review_moves() -> None:
    assert VideoStatus.PROCESSING in ALLOWED_TRANSITIONS[VideoStatus.PROCESSING]  # a retried Probe
    assert ALLOWED_TRANSITIONS[VideoStatus.IN_REVIEW] == {
        VideoStatus.PROCESSING,  # approved
        VideoStatus.REJECTED,  # rejected by an admin
        VideoStatus.FAILED,  # review_timed_out, or compensation of a later step
        VideoStatus.DELETED,  # taken down while held
    }


# -- the takedown (issue 13) ----------------------------------------------------------------------
@pytest.mark.parametrize("status", sorted(set(VideoStatus) - {VideoStatus.DELETED}))
def test_every_status_but_deleted_may_be_taken_down(status: VideoStatus) -> None:
    # The takedown works in every status: READY included (before, READY had no way out)
    assert VideoStatus.DELETED in ALLOWED_TRANSITIONS[status]
    check_transition(frozenset({status}), VideoStatus.DELETED)


def test_deleted_is_terminal_for_good() -> None:
    # Nothing moves a taken-down video again: no step, retry, approval or second takedown
    assert ALLOWED_TRANSITIONS[VideoStatus.DELETED] == frozenset()
    for target in VideoStatus:
        with pytest.raises(IllegalTransition, match="DELETED ->"):
            check_transition(frozenset({VideoStatus.DELETED}), target)


def test_only_the_takedown_move_leads_to_deleted() -> None:
    # Of the lifecycle's moves, take_down alone names DELETED as its target
    tree = ast.parse((ROOT / LIFECYCLE).read_text())
    movers = {
        fn.name
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef)
        for node in ast.walk(fn)
        if isinstance(node, ast.Attribute) and node.attr == "DELETED"
    }
    assert movers == {"take_down", "record_takedown_announced", "record_purged"}
