"""Docker-free assets for the Lambda functions: their code and their two layers.

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
import importlib.util
import re
import shutil
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
LAYERS_DIR = REPO_ROOT / "layers"
BUILD_LAYERS_FILE = LAYERS_DIR / "build_layers.py"
MEDIA_LOCK_FILE = LAYERS_DIR / "media" / "media.lock.json"  # pins (and checksums) of the media tools
PYPROJECT = REPO_ROOT / "pyproject.toml"

# Only named because BundlingOptions requires an image; local bundling never falls back to it.
BUILD_IMAGE = "public.ecr.aws/sam/build-python3.12"

# The Lambda Python runtime ships these; packaging them again only bloats the layer.
PROVIDED_BY_RUNTIME = frozenset({"boto3"})

LayerKind = Literal["deps", "media"]


def distribution_name(requirement: str) -> str:
    """``"aws-lambda-powertools[tracer]==3.37.0"`` -> ``"aws-lambda-powertools"`` (PEP 503 normalised)."""
    name = re.split(r"[\s\[\]<>=!~;@(]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """The functions' runtime dependencies from ``[project].dependencies``, minus what Lambda provides."""
    dependencies: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [req for req in dependencies if distribution_name(req) not in PROVIDED_BY_RUNTIME]


@jsii.implements(ILocalBundling)
class FunctionCodeBundling:
    """Copies the ``functions`` package's modules (``*.py`` only) under ``<output>/functions/``.

    The zip root then holds the package, so a handler such as
    ``functions.videos.handlers.handle_api.handler`` imports as it does in the repository, and
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


def load_build_layers(path: Path = BUILD_LAYERS_FILE) -> ModuleType:
    """Import ``layers/build_layers.py`` by file path; only bundling needs it, tests never do."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: it builds the Lambda layers")
    spec = importlib.util.spec_from_file_location("vod_build_layers", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@jsii.implements(ILocalBundling)
class LayerBundling:
    """Builds a layer with ``layers/build_layers.py``: Python dependencies (``requirements``) or
    media tools (``tools``, e.g. ``("ffprobe",)``: one layer per tool keeps each function under
    Lambda's 250 MB unzipped limit, see layers/media/README.md)."""

    def __init__(
        self,
        *,
        kind: LayerKind,
        architecture: str,
        requirements: Sequence[str] = (),
        tools: Sequence[str] = (),
    ) -> None:
        if kind == "deps" and not requirements:
            raise ValueError("the deps layer needs requirements")
        if kind == "media" and not tools:
            raise ValueError("a media layer needs at least one tool")
        self.kind = kind
        self.architecture = architecture
        self.requirements = list(requirements)
        self.tools = list(tools)

    def try_bundle(self, output_dir: str, *, image: DockerImage, **options: Any) -> bool:
        builder = load_build_layers()
        out_dir = Path(output_dir)
        what = "+".join(self.tools) if self.kind == "media" else "deps"
        print(f"building the {what} layer for {self.architecture} in {out_dir}", file=sys.stderr)
        if self.kind == "media":
            builder.build_media_layer(self.architecture, out_dir, tools=self.tools)
        else:
            builder.build_deps_layer(self.architecture, out_dir, self.requirements)
        return True

    def fingerprint(self) -> str:
        """What the layer's content depends on. A custom asset hash from it lets CDK reuse
        ``cdk.out/asset.<hash>`` instead of rebuilding (and downloading) on every synth."""
        digest = hashlib.sha256()
        for part in (self.kind, self.architecture, BUILD_IMAGE, *self.requirements, *self.tools):
            digest.update(part.encode() + b"\0")
        inputs = [BUILD_LAYERS_FILE, MEDIA_LOCK_FILE] if self.kind == "media" else [BUILD_LAYERS_FILE]
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
    kind: LayerKind, *, architecture: str, requirements: Sequence[str] = (), tools: Sequence[str] = ()
) -> lambda_.Code:
    """A layer asset. Its source folder (``layers/``) is neither read nor copied: the content
    comes from ``build_layers.py`` and the hash from :meth:`LayerBundling.fingerprint`."""
    bundler = LayerBundling(kind=kind, architecture=architecture, requirements=requirements, tools=tools)
    return lambda_.Code.from_asset(
        str(LAYERS_DIR),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=bundler.fingerprint(),
        bundling=BundlingOptions(image=DockerImage.from_registry(BUILD_IMAGE), local=bundler),
    )
