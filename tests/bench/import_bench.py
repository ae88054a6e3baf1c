"""Cold start: how long each function's handler module takes to import (issue 11, point 9).

Every handler module is imported in a fresh interpreter under ``python -X importtime``, with the
environment its function gets (``infra.spec.function_environment`` over placeholder resources),
``RUNS`` times after one warm-up that compiles the bytecode. Two medians per module: importtime's
cumulative time for the import (``import_ms``, wall clock) and the CPU time the import took
(``cpu_ms``). On a quiet machine they agree; on a shared one the wall clock also counts the waits
for a core, so the budget is checked on ``cpu_ms``. The bare ``import aws_lambda_powertools`` is the
baseline, with ``boto3`` and ``pydantic`` beside it for context. A breakdown (the modules with the
most self time, and self time summed by top-level package) comes from the median run.

The environment is what the embedded mode gives a handler: no Lambda runtime variables, so
Powertools turns tracing off. HTTP-facing handlers are also measured with the runtime's
``LAMBDA_TASK_ROOT`` and ``AWS_LAMBDA_FUNCTION_NAME`` set (``lambda_runtime``): tracing on, the X-Ray
SDK imported and libraries patched at cold start, as on AWS; and with no bytecode (``no_bytecode``):
what a cold start costs when the bundle ships sources only.

The code before issue 11 (``BASELINE_COMMIT``) is measured in the same run, interleaved run by run
with this one so that both see the same load, from a temporary ``git worktree``; ``--before TREE``
names another checkout instead. An HTTP-facing handler passes within ``BUDGET_MS``, or at most
``TARGET_SHARE`` of its same-run before (the issue's 250 of 450 ms, on a machine whose speed drifts).

    python -m tests.bench.import_bench [--runs 5] [--before /tmp/before]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SECTION = "imports"
ROOT = Path(__file__).resolve().parents[2]
RUNS = 5
BUDGET_MS = 250.0  # issue 11: every HTTP-facing handler at most 250 ms on the bench machine
# The same target as a share of the code before issue 11, measured in the same run: the issue gave
# 450 ms for the API handler "here today" and 250 ms as the target. This machine's speed drifts
# (the same 073a2d4 import measured 450 ms then and 750-1000 ms on later days), so a handler passes
# when it is within the absolute budget or at most this share of its same-run before.
BASELINE_COMMIT = "073a2d4"  # the last commit before issue 11's changes
TARGET_SHARE = 250.0 / 450.0
BASELINES = ("aws_lambda_powertools", "boto3", "pydantic")
TOP = 5

_START, _END = "--import-bench-start--", "--import-bench-end--"
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")

# Run inside each tree: its own spec, its own FunctionSpecs, the environment each function gets.
_DESCRIBE = """
import dataclasses, json
from infra import spec

def dummy(name):
    if name.endswith("_arn"):
        return "arn:aws:states:us-east-1:123456789012:stateMachine:bench"
    if name.endswith("_secret"):
        return "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench"
    if name.endswith("_url"):
        return "https://cdn.example.com"
    return "bench-" + name.replace("_", "-")

res = spec.Resources(**{f.name: dummy(f.name) for f in dataclasses.fields(spec.Resources)})
routed = {r.function for r in spec.ROUTES}
print(json.dumps([
    {"name": fn.name, "module": fn.module, "http": fn.name in routed or fn.function_url,
     "env": spec.function_environment(fn, res, {})}
    for fn in spec.FUNCTIONS
]))
"""

# The measured interpreter: markers around the import so that only its lines count.
_IMPORT = """
import importlib, sys, time
sys.stderr.write({start!r} + "\\n"); sys.stderr.flush()
started, cpu_started = time.perf_counter(), time.process_time()
importlib.import_module({module!r})
wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
sys.stderr.write({end!r} + "\\n"); sys.stderr.flush()
import functions
print(round(wall * 1e6), round(cpu * 1e6), functions.__file__)
"""


def _base_env(root: Path, pycache: Path) -> dict[str, str]:
    """A clean environment: no variables of the caller's shell leak into the measurement."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        # The tree under test first on sys.path (the venv's editable finder maps `functions` to
        # /work/main, but it comes after sys.path); bytecode outside the trees, shared by runs.
        "PYTHONPATH": str(root),
        "PYTHONPYCACHEPREFIX": str(pycache),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
    }


def describe(root: Path, pycache: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-c", _DESCRIBE],
        cwd=root,
        env=_base_env(root, pycache),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def parse_importtime(stderr: str) -> tuple[int, list[tuple[str, int, int]]]:
    """(total µs, [(module, self µs, cumulative µs)]) of the lines between the markers: the total
    is the sum of the top-level entries (the module and the packages above it)."""
    inside, total, rows = False, 0, []
    for line in stderr.splitlines():
        if line == _START:
            inside = True
        elif line == _END:
            break
        elif inside and (m := _LINE.match(line)):
            self_us, cumulative_us, indent, name = int(m[1]), int(m[2]), m[3], m[4]
            rows.append((name, self_us, cumulative_us))
            if not indent:
                total += cumulative_us
    return total, rows


def measure_once(root: Path, module: str, env: dict[str, str], pycache: Path) -> dict[str, Any]:
    code = _IMPORT.format(start=_START, end=_END, module=module)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=root,
        env={**_base_env(root, pycache), **env},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"import {module} failed in {root}:\n{proc.stderr[-2000:]}")
    wall_us, cpu_us, functions_file = proc.stdout.split()
    if not Path(functions_file).resolve().is_relative_to(root.resolve()):
        raise RuntimeError(f"{module}: imported functions from {functions_file}, not from {root}")
    total_us, rows = parse_importtime(proc.stderr)
    return {"cpu_us": int(cpu_us), "import_us": total_us, "wall_us": int(wall_us), "rows": rows}


def _breakdown(rows: Iterable[tuple[str, int, int]]) -> dict[str, Any]:
    rows = list(rows)
    by_package: dict[str, int] = defaultdict(int)
    for name, self_us, _ in rows:
        by_package[name.split(".")[0]] += self_us
    top_self = sorted(rows, key=lambda r: r[1], reverse=True)[:TOP]
    return {
        "modules": len(rows),
        "top_self_ms": {name: round(self_us / 1000, 1) for name, self_us, _ in top_self},
        "by_package_ms": {
            name: round(us / 1000, 1) for name, us in sorted(by_package.items(), key=lambda kv: -kv[1])[:8]
        },
    }


def _summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    median = statistics.median(s["cpu_us"] for s in samples)
    closest = min(samples, key=lambda s: abs(s["cpu_us"] - median))
    return {
        "cpu_ms": round(median / 1000, 1),
        "import_ms": round(statistics.median(s["import_us"] for s in samples) / 1000, 1),
        "cpu_runs_ms": [round(s["cpu_us"] / 1000, 1) for s in samples],
        **_breakdown(closest["rows"]),
    }


def _variants(name: str, no_pycache: Path) -> dict[str, dict[str, str]]:
    """The HTTP-facing handlers again, under what AWS changes (variant -> environment)."""
    return {
        # What Powertools and the X-Ray SDK look for (/var/task need not exist for either): tracing
        # on, the SDK imported and libraries patched at cold start.
        "lambda_runtime": {"LAMBDA_TASK_ROOT": "/var/task", "AWS_LAMBDA_FUNCTION_NAME": name},
        # No bytecode to read and none written, as on Lambda when the bundle ships sources only
        # (its file system is read-only): every module is compiled at every cold start.
        "no_bytecode": {"PYTHONPYCACHEPREFIX": str(no_pycache), "PYTHONDONTWRITEBYTECODE": "1"},
    }


def _targets(
    functions: list[dict[str, Any]], no_pycache: Path
) -> list[tuple[str, str, dict[str, str], bool]]:
    """(key, module, env, http-facing): every handler, the HTTP-facing ones again in each variant
    (key ``name@variant``), then the baselines under the API's env."""
    targets = [(f["name"], f["module"], f["env"], f["http"]) for f in functions]
    targets += [
        (f"{f['name']}@{variant}", f["module"], {**f["env"], **env}, False)
        for f in functions
        if f["http"]
        for variant, env in _variants(f["name"], no_pycache).items()
    ]
    api_env = next((f["env"] for f in functions if f["http"]), functions[0]["env"])
    targets += [(f"baseline:{m}", m, api_env, False) for m in BASELINES]
    return targets


def measure(trees: dict[str, Path], runs: int = RUNS) -> dict[str, dict[str, Any]]:
    """{tree label: {function name or baseline: summary}}, every tree measured in each round."""
    with tempfile.TemporaryDirectory(prefix="import-bench-pycache-") as tmp:
        no_pycache = Path(tmp) / "none"
        no_pycache.mkdir()
        plans = {
            label: _targets(describe(root, Path(tmp) / label), no_pycache) for label, root in trees.items()
        }
        samples: dict[str, dict[str, list[dict[str, Any]]]] = {label: defaultdict(list) for label in trees}
        for round_ in range(runs + 1):  # round 0 warms the bytecode caches and is dropped
            for label, root in trees.items():
                for key, module, env, _ in plans[label]:
                    sample = measure_once(root, module, env, Path(tmp) / label)
                    if round_:
                        samples[label][key].append(sample)
            print(f"imports: round {round_}/{runs} done", file=sys.stderr)
    results: dict[str, dict[str, Any]] = {}
    for label in trees:
        results[label] = {}
        for key, module, _, http in plans[label]:
            summary = _summary(samples[label][key])
            if "@" in key:
                name, variant = key.split("@")
                results[label][name][variant] = {k: summary[k] for k in ("cpu_ms", "import_ms")}
            else:
                results[label][key] = {"module": module, "http_facing": http, **summary}
    return results


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]  # 1, 5 and 15 minutes


def bench_section(
    *, before: Path | None = None, previous: dict[str, Any] | None = None, runs: int = RUNS
) -> dict[str, Any]:
    """The ``imports`` section of bench.json. Without ``before``, a before already recorded (by a
    run that had one) is kept, with the load it was measured under."""
    trees = {"after": ROOT, **({"before": before} if before else {})}
    load_at_start = _load()
    measured = measure(trees, runs)
    section: dict[str, Any] = {
        "budget_ms": BUDGET_MS,
        "runs": runs,
        "load_average": {"start": load_at_start, "end": _load()},
        "env": "infra.spec.function_environment over placeholder resources, no Lambda runtime variables",
        "budget_on": "cpu_ms",
        "handlers": measured["after"],
    }
    section["before_same_run"] = before is not None
    if before is not None:
        section["before"] = {"tree": _describe_tree(before), "handlers": measured["before"]}
    elif previous and "before" in previous:
        section["before"] = previous["before"]
    return section


def _describe_tree(root: Path) -> str:
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return f"{head or root} (measured in the same run, interleaved)"


def failures(section: dict[str, Any]) -> list[str]:
    before = section.get("before", {}).get("handlers", {}) if section.get("before_same_run") else {}
    problems = []
    for name, h in section["handlers"].items():
        if not h["http_facing"] or h["cpu_ms"] <= BUDGET_MS:
            continue
        was = before.get(name)
        if was is not None and h["cpu_ms"] <= TARGET_SHARE * was["cpu_ms"]:
            continue
        share = f", {h['cpu_ms'] / was['cpu_ms']:.2f} of its same-run before" if was else ""
        problems.append(
            f"imports: {name} ({h['module']}) takes {h['cpu_ms']} ms CPU to import, above {BUDGET_MS:.0f} ms"
            f"{share} (target: at most {TARGET_SHARE:.2f} of before)"
        )
    return problems


@contextmanager
def baseline_tree(commit: str = BASELINE_COMMIT) -> Iterator[Path | None]:
    """A temporary worktree of ``commit``, or None where the history lacks it."""
    known = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True
    )
    if known.returncode != 0:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="import-bench-before-") as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), commit],
            check=True,
        )
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def format_table(section: dict[str, Any]) -> str:
    """Before and after, CPU ms (importtime's wall ms in brackets), medians."""
    before = section.get("before", {}).get("handlers", {})

    def cell(h: dict[str, Any] | None) -> str:
        return "" if not h else f"{h['cpu_ms']:.0f} ({h['import_ms']:.0f})"

    lines = [f"{'import, ms CPU (importtime)':<44}{'before':>14}{'after':>14}"]
    for name, h in section["handlers"].items():
        rows = [(name + (" *" if h["http_facing"] else ""), before.get(name), h)]
        rows += [
            (f"  @{variant}", before.get(name, {}).get(variant), h[variant])
            for variant in ("lambda_runtime", "no_bytecode")
            if variant in h
        ]
        lines += [f"{label:<44}{cell(was):>14}{cell(now):>14}" for label, was, now in rows]
    lines.append(f"(* HTTP-facing, budget {BUDGET_MS:.0f} ms CPU; load average {section['load_average']})")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--before", type=Path, default=None, help="another checkout, measured alongside")
    args = parser.parse_args()
    if args.before is not None:
        section = bench_section(before=args.before, runs=args.runs)
    else:
        with baseline_tree() as before:
            section = bench_section(before=before, runs=args.runs)
    print(json.dumps(section, indent=2))
    print(format_table(section), file=sys.stderr)
    problems = failures(section)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
