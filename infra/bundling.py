"""Docker-free assets for the Lambda functions: their code and their layers (deps, one per
pyproject extra a function names in ``FunctionSpec.layers``, one per media tool).

CDK asks an ``ILocalBundling`` first and falls back to Docker only when it answers False. The
bundlers here always bundle locally (or raise), so the Docker image named in the options is
never pulled: it is there because ``BundlingOptions`` requires one. ``try_bundle`` takes the
options as keywords: jsii expands the ``BundlingOptions`` struct into the keyword-only
parameters a Python implementation declares, which is also the shape of the typed protocol.

When a stack is excluded from bundling (context ``aws:cdk:bundling-stacks``: ``[]``, as the
tests do), CDK calls none of this and stages the source folders unchanged: no network needed.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from layers import paths as layer_paths
from layers.deps_layer import AWS_SDK_DISTRIBUTIONS, build_deps_layer, normalize_dist_name
from layers.limits import LAMBDA_UNZIPPED_LIMIT as LAMBDA_UNZIPPED_LIMIT  # re-exported for infra/app.py
from layers.limits import tree_size
from layers.media_layer import build_media_layer

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
LAYERS_DIR = layer_paths.PACKAGE_DIR
MEDIA_LOCK_FILE = layer_paths.LOCK_PATH  # pins (and checksums) of the media tools
PYPROJECT = REPO_ROOT / "pyproject.toml"

# Only named because BundlingOptions requires an image; local bundling never falls back to it.
BUILD_IMAGE = "public.ecr.aws/sam/build-python3.12"

# The Lambda Python runtime ships these; packaging them again only bloats the layer.
PROVIDED_BY_RUNTIME = frozenset({"boto3"})

# Distributions an extra's layer leaves out although its requirements declare them, each with
# why: Lambda refuses a function whose code and layers unzip to more than 250 MiB.
#   moderation: imagehash 4.3.2 declares scipy (about 140 MB unzipped with scipy.libs), but imports
#   only numpy and PIL at module level; scipy is imported inside phash/phash_simple alone, and
#   pywt inside whash. The platform fingerprints with dhash. What scipy alone needed goes too;
#   numpy, Pillow and PyWavelets stay (imagehash requires them itself).
LAYER_EXCLUDES: dict[str, tuple[str, ...]] = {"moderation": ("scipy",)}

LayerKind = Literal["deps", "media"]


def distribution_name(requirement: str) -> str:
    """``"aws-lambda-powertools[tracer]==3.37.0"`` -> ``"aws-lambda-powertools"`` (PEP 503 normalised)."""
    return normalize_dist_name(re.split(r"[\s\[\]<>=!~;@(]", requirement.strip(), maxsplit=1)[0])


def runtime_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """The functions' runtime dependencies from ``[project].dependencies``, minus what Lambda provides."""
    dependencies: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [req for req in dependencies if distribution_name(req) not in PROVIDED_BY_RUNTIME]


def extra_requirements(extra: str, pyproject: Path = PYPROJECT) -> list[str]:
    """``[project.optional-dependencies].<extra>``, minus what Lambda provides: the requirements
    of the layer a function asks for with ``FunctionSpec.layers = ("<extra>",)``."""
    extras: dict[str, list[str]] = tomllib.loads(pyproject.read_text())["project"].get(
        "optional-dependencies", {}
    )
    if extra not in extras:
        raise KeyError(
            f"no extra {extra!r} in {pyproject.name} [project.optional-dependencies] (has {sorted(extras)})"
        )
    requirements = [req for req in extras[extra] if distribution_name(req) not in PROVIDED_BY_RUNTIME]
    if not requirements:
        raise ValueError(f"extra {extra!r} has no requirements a layer could install")
    return requirements


@jsii.implements(ILocalBundling)
class FunctionCodeBundling:
    """Copies the ``functions`` package's modules (``*.py`` only) under ``<output>/functions/``.

    The zip root then holds the package, so a handler such as
    ``functions.api.handle_api.handler`` imports as it does in the repository, and
    nothing else (caches, tests, the virtualenv) ends up in the function package.
    """

    def __init__(self, source: Path = FUNCTIONS_DIR, patterns: Sequence[str] = ("*.py",)) -> None:
        self._source = source
        self._patterns = tuple(patterns)

    def files(self) -> list[Path]:
        found = {path for pattern in self._patterns for path in self._source.rglob(pattern)}
        return sorted(path for path in found if path.is_file() and "__pycache__" not in path.parts)

    def try_bundle(self, output_dir: str, *, image: DockerImage, **options: Any) -> bool:
        target = Path(output_dir) / self._source.name
        for path in self.files():
            destination = target / path.relative_to(self._source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
        return True


def layer_builder_sources() -> list[Path]:
    """The modules of the ``layers`` package: what every layer's content is built by."""
    return sorted(layer_paths.PACKAGE_DIR.glob("*.py"))


@jsii.implements(ILocalBundling)
class LayerBundling:
    """Builds a layer with the ``layers`` package: Python dependencies (``requirements``,
    resolved together, then installed without ``exclude`` and whatever only the excluded
    distributions needed; the AWS SDK is always left out) or media tools (``tools``, e.g.
    ``("ffprobe",)``: one layer per tool keeps each function under Lambda's 250 MB unzipped
    limit, see layers/media/README.md)."""

    def __init__(
        self,
        *,
        kind: LayerKind,
        architecture: str,
        requirements: Sequence[str] = (),
        tools: Sequence[str] = (),
        exclude: Sequence[str] = (),
        name: str | None = None,
    ) -> None:
        if kind == "deps" and not requirements:
            raise ValueError("a dependency layer needs requirements")
        if kind == "media" and not tools:
            raise ValueError("a media layer needs at least one tool")
        if kind == "media" and exclude:
            raise ValueError("exclude applies to dependency layers only")
        self.kind = kind
        self.architecture = architecture
        self.requirements = list(requirements)
        self.tools = list(tools)
        self.exclude = sorted(distribution_name(dist) for dist in exclude)
        self.name = name or ("+".join(self.tools) if kind == "media" else "deps")

    def try_bundle(self, output_dir: str, *, image: DockerImage, **options: Any) -> bool:
        out_dir = Path(output_dir)
        print(f"building the {self.name} layer for {self.architecture} in {out_dir}", file=sys.stderr)
        if self.kind == "media":
            build_media_layer(self.architecture, out_dir, tools=self.tools)
        else:
            build_deps_layer(
                self.architecture,
                out_dir,
                self.requirements,
                exclude=sorted(AWS_SDK_DISTRIBUTIONS | set(self.exclude)),
            )
        return True

    def fingerprint(self) -> str:
        """What the layer's content depends on. A custom asset hash from it lets CDK reuse
        ``cdk.out/asset.<hash>`` instead of rebuilding (and downloading) on every synth."""
        digest = hashlib.sha256()
        parts = (self.kind, self.architecture, BUILD_IMAGE, *self.requirements, *self.tools)
        # Only a layer with exclusions hashes them, so the deps and media layers keep the
        # hashes, and the cdk.out assets, they had before exclusions existed.
        if self.exclude:
            parts += ("exclude", *self.exclude)
        for part in parts:
            digest.update(part.encode() + b"\0")
        inputs = layer_builder_sources() + ([MEDIA_LOCK_FILE] if self.kind == "media" else [])
        for path in inputs:
            if path.is_file():
                digest.update(path.read_bytes())
        return digest.hexdigest()


def function_code() -> lambda_.Code:
    """One code asset for every function: the ``functions`` package alone."""
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        bundling=BundlingOptions(image=DockerImage.from_registry(BUILD_IMAGE), local=FunctionCodeBundling()),
    )


def layer_code(
    kind: LayerKind,
    *,
    architecture: str,
    requirements: Sequence[str] = (),
    tools: Sequence[str] = (),
    exclude: Sequence[str] = (),
    name: str | None = None,
) -> lambda_.Code:
    """A layer asset. Its source folder (``layers/``) is neither read nor copied: the content
    comes from the ``layers`` package and the hash from :meth:`LayerBundling.fingerprint`."""
    bundler = LayerBundling(
        kind=kind,
        architecture=architecture,
        requirements=requirements,
        tools=tools,
        exclude=exclude,
        name=name,
    )
    return lambda_.Code.from_asset(
        str(LAYERS_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=bundler.fingerprint(),
        bundling=BundlingOptions(image=DockerImage.from_registry(BUILD_IMAGE), local=bundler),
    )


def unzipped_sizes(assembly_dir: Path, template: dict[str, Any]) -> dict[str, dict[str, int]]:
    """For every ``AWS::Lambda::Function`` of a synthesized template: the unzipped bytes of its
    code asset (``"code"``) and of each of its layers (by the layer's logical id), measured on
    the staged ``asset.<hash>`` folders of the cloud assembly. Meaningful only when the stack
    was bundled: without bundling the staged folders are the source folders.

    A part whose asset is not a staged folder of this assembly (an inline function, a layer
    from elsewhere) is left out.
    """
    resources: dict[str, dict[str, Any]] = template.get("Resources", {})

    def asset_size(location: Any) -> int | None:
        key = location.get("S3Key") if isinstance(location, dict) else None
        if not isinstance(key, str) or not key.endswith(".zip"):
            return None
        staged = Path(assembly_dir) / f"asset.{key.removesuffix('.zip')}"
        return tree_size(staged).size_bytes if staged.is_dir() else None

    sizes: dict[str, dict[str, int]] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        props = resource.get("Properties", {})
        parts: dict[str, int] = {}
        code = asset_size(props.get("Code"))
        if code is not None:
            parts["code"] = code
        for layer in props.get("Layers", []):
            layer_id = layer.get("Ref") if isinstance(layer, dict) else None
            layer_resource = resources.get(layer_id or "", {})
            size = asset_size(layer_resource.get("Properties", {}).get("Content"))
            if layer_id and size is not None:
                parts[layer_id] = size
        sizes[logical_id] = parts
    return sizes
