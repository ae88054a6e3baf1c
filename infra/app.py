"""CDK entry point: ``cdk synth`` (through cdk.json) or ``python -m infra.app``.

cdk-nag 3 runs as a CDK policy-validation plugin and writes its findings to
``validation-report.json`` in the cloud assembly. CDK itself fails synthesis on unacknowledged
*errors* only, and under the CDK CLI it signals that through the Node process, not through
Python's exit status; so ``main`` reads the report and exits with status 1 whenever an
AwsSolutions error or warning is left unacknowledged: a finding is either fixed or excused in
writing (``infra/constructs/nag.py``).

When the layers were built (bundling not skipped), ``main`` also prints every function's
unzipped size (code plus layers) and exits with status 1 when one exceeds Lambda's 250 MiB:
CloudFormation would only find out at deploy time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.bundling import LAMBDA_UNZIPPED_LIMIT, unzipped_sizes
from infra.stack import StackConfig, VodStack

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = REPO_ROOT / "cdk.json"
STACK_NAME = "VodStack"
NAG_PLUGIN = "AwsSolutions"
VALIDATION_REPORT = "validation-report.json"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """cdk.json's context, so that ``python -m infra.app`` and the tests see the same defaults
    and feature flags as the CDK CLI (whose own context takes precedence anyway)."""
    if not path.is_file():
        return {}
    context: dict[str, Any] = json.loads(path.read_text()).get("context", {})
    return context


def build_app(context: dict[str, Any] | None = None, *, outdir: str | None = None) -> tuple[App, VodStack]:
    app = App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    stack = VodStack(app, STACK_NAME, config=StackConfig.from_context(app.node))
    # write_suppressions_to_cloud_formation: every acknowledgment and its reason also lands in the
    # template's Metadata (cdk_nag.rules_to_suppress), where reviewers and tests can read it.
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    )
    return app, stack


def validation_report(assembly_dir: Path) -> dict[str, Any]:
    path = assembly_dir / VALIDATION_REPORT
    report: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    return report


def nag_findings(assembly_dir: Path, plugin: str = NAG_PLUGIN) -> list[str]:
    """Unacknowledged findings (errors and warnings) of one validation plugin, one line each."""
    findings = []
    for plugin_report in validation_report(assembly_dir).get("pluginReports", []):
        if plugin_report.get("pluginName") != plugin:
            continue
        for violation in plugin_report.get("violations", []):
            paths = sorted(c.get("constructPath", "?") for c in violation.get("violatingConstructs", []))
            findings.append(
                f"[{violation.get('severity')}] {violation.get('ruleName')}: "
                f"{violation.get('description', '').splitlines()[0] if violation.get('description') else ''} "
                f"at {', '.join(paths)}"
            )
    return findings


def package_sizes(stack: VodStack, assembly_dir: Path) -> dict[str, dict[str, int]]:
    """Unzipped bytes of each function's code and layers, by spec name and part (``code``,
    ``deps``, an extra such as ``moderation``, a tool such as ``ffmpeg``)."""
    template = json.loads((assembly_dir / stack.template_file).read_text())

    def logical_id(construct: Any) -> str:
        resolved: str = stack.resolve(stack.get_logical_id(construct.node.default_child))
        return resolved

    functions = stack.functions
    labels = {logical_id(functions.deps_layer): "deps"}
    labels.update({logical_id(layer): extra for extra, layer in functions.extra_layers.items()})
    labels.update({logical_id(layer): tool for tool, layer in functions.media_layers.items()})
    by_id = unzipped_sizes(assembly_dir, template)
    return {
        name: {labels.get(part, part): size for part, size in by_id.get(logical_id(fn), {}).items()}
        for name, fn in functions.by_name.items()
    }


def size_report(
    sizes: dict[str, dict[str, int]], limit: int = LAMBDA_UNZIPPED_LIMIT
) -> tuple[list[str], bool]:
    """One line per function, largest first, and whether every function fits under ``limit``."""
    lines, fits = [], True
    for name, parts in sorted(sizes.items(), key=lambda item: -sum(item[1].values())):
        total = sum(parts.values())
        fits &= total <= limit
        detail = " + ".join(f"{part} {size / 1e6:.1f}" for part, size in parts.items())
        verdict = "OVER the limit" if total > limit else f"{(limit - total) / 1e6:.1f} MB left"
        lines.append(f"  {name}: {total:,} B unzipped ({detail} MB); {verdict}")
    return lines, fits


def parse_context(pairs: list[str]) -> dict[str, Any]:
    """``-c key=value`` as the CDK CLI reads it: JSON when the value parses as JSON, else text."""
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"context must be KEY=VALUE, got {pair!r}")
        try:
            context[key] = json.loads(value)
        except ValueError:
            context[key] = value
    return context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.app",
        description="Synthesize VodStack; fail on unacknowledged cdk-nag findings.",
    )
    parser.add_argument(
        "-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="context, as with cdk -c"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    # Under the CDK CLI the output folder comes from CDK_OUTDIR; alone, synthesize into ./cdk.out.
    outdir = None if os.environ.get("CDK_OUTDIR") else str(REPO_ROOT / "cdk.out")
    app, stack = build_app(parse_context(args.context), outdir=outdir)
    synth_error: Exception | None = None
    try:
        app.synth()
    except Exception as error:  # CDK raises (through jsii) when validation finds errors
        synth_error = error
    findings = nag_findings(Path(app.outdir))
    if findings:
        print(f"cdk-nag: {len(findings)} unacknowledged {NAG_PLUGIN} finding(s):", file=sys.stderr)
        for finding in findings:
            print(f"  {finding}", file=sys.stderr)
        return 1
    if synth_error is not None:
        raise synth_error
    if stack.bundling_required:
        lines, fits = size_report(package_sizes(stack, Path(app.outdir)))
        print(
            f"unzipped code + layers per function (Lambda allows {LAMBDA_UNZIPPED_LIMIT:,} B):",
            file=sys.stderr,
        )
        print("\n".join(lines), file=sys.stderr)
        if not fits:
            print("a function exceeds Lambda's unzipped size limit: it would fail to deploy", file=sys.stderr)
            return 1
    elapsed = time.monotonic() - started
    print(
        f"{stack.stack_name}: synthesized to {app.outdir} in {elapsed:.1f}s, cdk-nag clean", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
