"""Docker-free assets: what goes into the function package and how the layers get built.
None of this downloads anything: the layer builder is replaced by a recorder."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aws_cdk import App, DockerImage

from infra import bundling, spec
from infra.stack import StackConfig

MAX_FUNCTION_PACKAGE_BYTES = 2 * 1024 * 1024
IMAGE = DockerImage.from_registry(bundling.BUILD_IMAGE)  # named, never pulled


def test_deps_layer_requirements_are_the_project_dependencies_minus_boto3() -> None:
    declared = tomllib.loads(bundling.PYPROJECT.read_text())["project"]["dependencies"]
    requirements = bundling.runtime_requirements()
    assert requirements == [r for r in declared if not r.startswith("boto3")]
    assert all(bundling.distribution_name(r) != "boto3" for r in requirements)


@pytest.mark.parametrize(
    ("requirement", "name"),
    [
        ("aws-lambda-powertools[tracer,parser]==3.37.0", "aws-lambda-powertools"),
        ("boto3>=1.34", "boto3"),
        ("Pydantic_Settings==2.16.3", "pydantic-settings"),
        ("ffmpeg-python ; python_version >= '3.8'", "ffmpeg-python"),
    ],
)
def test_distribution_name(requirement: str, name: str) -> None:
    assert bundling.distribution_name(requirement) == name


def test_function_package_holds_only_the_functions_modules(tmp_path: Path) -> None:
    # When the function code is bundled (local copy, no network)
    assert bundling.FunctionCodeBundling().try_bundle(str(tmp_path), image=IMAGE) is True

    # Then the package root holds the `functions` package, Python modules only
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files
    assert {p.relative_to(tmp_path).parts[0] for p in files} == {"functions"}
    assert {p.suffix for p in files} == {".py"}
    assert sum(p.stat().st_size for p in files) < MAX_FUNCTION_PACKAGE_BYTES
    # And every handler of the spec imports as `functions.x.y` from the package root
    for fn in spec.FUNCTIONS:
        assert (tmp_path / Path(*fn.module.split("."))).with_suffix(".py").is_file(), fn.handler


def test_layer_bundling_calls_the_layer_builder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a recorder in place of layers/build_layers.py
    calls: list[tuple[Any, ...]] = []
    recorder = SimpleNamespace(
        build_media_layer=lambda arch, out, *, tools: calls.append(("media", arch, out, tuple(tools))),
        build_deps_layer=lambda arch, out, requirements: calls.append(
            ("deps", arch, out, tuple(requirements))
        ),
    )
    monkeypatch.setattr(bundling, "load_build_layers", lambda: recorder)

    # When both kinds of layer are bundled
    bundling.LayerBundling(kind="media", architecture="arm64", tools=["ffprobe"]).try_bundle(
        str(tmp_path), image=IMAGE
    )
    bundling.LayerBundling(kind="deps", architecture="x86_64", requirements=["pydantic==2.14.3"]).try_bundle(
        str(tmp_path), image=IMAGE
    )

    # Then the builder gets the architecture, the output folder and what to put in it
    assert calls == [
        ("media", "arm64", tmp_path, ("ffprobe",)),
        ("deps", "x86_64", tmp_path, ("pydantic==2.14.3",)),
    ]


def test_layer_fingerprint_follows_what_the_layer_is_built_from() -> None:
    def media(arch: str, tool: str) -> str:
        return bundling.LayerBundling(kind="media", architecture=arch, tools=[tool]).fingerprint()

    assert media("x86_64", "ffmpeg") == media("x86_64", "ffmpeg")
    assert len({media("x86_64", "ffmpeg"), media("arm64", "ffmpeg"), media("x86_64", "ffprobe")}) == 3
    deps = bundling.LayerBundling(kind="deps", architecture="x86_64", requirements=["a==1"]).fingerprint()
    assert (
        deps
        != bundling.LayerBundling(kind="deps", architecture="x86_64", requirements=["a==2"]).fingerprint()
    )


def test_layer_builder_loads_from_its_file() -> None:
    if not bundling.BUILD_LAYERS_FILE.is_file():
        pytest.skip("layers/build_layers.py is not there yet")
    module = bundling.load_build_layers()
    assert callable(module.build_media_layer)
    assert callable(module.build_deps_layer)


def test_stack_config_requires_the_public_key() -> None:
    with pytest.raises(ValueError, match="cloudfront_public_key_pem"):
        StackConfig.from_context(App(context={"cloudfront_public_key_pem": ""}).node)


def test_stack_config_reads_cli_style_context() -> None:
    pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"
    node = App(
        context={
            "cloudfront_public_key_pem": pem,
            "architecture": "arm64",
            "cors_allowed_origins": "https://a.example, https://b.example",
            "function_settings": '{"MAX_DURATION_SECONDS": "600"}',
        }
    ).node
    config = StackConfig.from_context(node)
    assert config.architecture == "arm64"
    assert config.cors_allowed_origins == ("https://a.example", "https://b.example")
    assert config.function_settings == {"MAX_DURATION_SECONDS": "600"}
    assert config.cloudfront_private_key_secret_name == "vod/cloudfront-private-key"


def test_app_module_imports_without_synthesizing() -> None:
    assert callable(importlib.import_module("infra.app").build_app)
