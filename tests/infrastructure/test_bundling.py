"""Docker-free assets: what goes into the function package and how the layers get built.
None of this downloads anything: the layer builder is replaced by a recorder."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import tomllib
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, DockerImage

from infra import bundling, spec
from infra.app import size_report
from infra.stack import StackConfig
from layers import deps_layer, limits, media_layer

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
    # Given a recorder in place of the layers package's builders
    calls: list[tuple[Any, ...]] = []
    sdk = frozenset({"boto3", "botocore", "s3transfer"})
    monkeypatch.setattr(
        bundling,
        "build_media_layer",
        lambda arch, out, *, tools: calls.append(("media", arch, out, tuple(tools))),
    )
    monkeypatch.setattr(
        bundling,
        "build_deps_layer",
        lambda arch, out, requirements, *, exclude: calls.append(
            ("deps", arch, out, tuple(requirements), tuple(exclude))
        ),
    )

    # When each kind of layer is bundled, a dependency layer with exclusions among them
    bundling.LayerBundling(kind="media", architecture="arm64", tools=["ffprobe"]).try_bundle(
        str(tmp_path), image=IMAGE
    )
    bundling.LayerBundling(kind="deps", architecture="x86_64", requirements=["pydantic==2.14.3"]).try_bundle(
        str(tmp_path), image=IMAGE
    )
    bundling.LayerBundling(
        kind="deps",
        architecture="x86_64",
        requirements=["imagehash==4.3.2"],
        exclude=["SciPy"],
        name="moderation",
    ).try_bundle(str(tmp_path), image=IMAGE)

    # Then the builder gets the architecture, the output folder and what to put in it; the AWS
    # SDK is always left out of a dependency layer, and the exclusions besides it
    assert calls == [
        ("media", "arm64", tmp_path, ("ffprobe",)),
        ("deps", "x86_64", tmp_path, ("pydantic==2.14.3",), tuple(sorted(sdk))),
        ("deps", "x86_64", tmp_path, ("imagehash==4.3.2",), tuple(sorted({*sdk, "scipy"}))),
    ]


def test_extra_requirements_are_the_pyproject_extra(tmp_path: Path) -> None:
    declared = tomllib.loads(bundling.PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert bundling.extra_requirements("moderation") == declared["moderation"]
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = []\n'
        '[project.optional-dependencies]\nfoo = ["boto3>=1.34", "numpy==2.0.0"]\nsdk = ["boto3"]\n'
    )
    assert bundling.extra_requirements("foo", pyproject) == ["numpy==2.0.0"]
    with pytest.raises(KeyError, match="no extra 'bar'"):
        bundling.extra_requirements("bar", pyproject)
    with pytest.raises(ValueError, match="no requirements"):
        bundling.extra_requirements("sdk", pyproject)


def test_every_layer_a_function_names_is_a_pyproject_extra() -> None:
    for extra in {extra for fn in spec.FUNCTIONS for extra in fn.layers}:
        assert bundling.extra_requirements(extra), extra


def test_moderation_layer_leaves_scipy_out() -> None:
    # imagehash declares scipy, which would not fit next to ffmpeg, deps and numpy in 250 MiB
    assert "scipy" in bundling.LAYER_EXCLUDES["moderation"]
    assert "imagehash" in {bundling.distribution_name(r) for r in bundling.extra_requirements("moderation")}


def _imports_at_import_time(node: ast.AST) -> set[str]:
    """Top-level packages a module imports when it is imported: everything outside function bodies
    (class bodies and if/try blocks run at import time)."""
    names: set[str] = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(child, ast.Import):
            names |= {alias.name.split(".")[0] for alias in child.names}
        elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
            names.add(child.module.split(".")[0])
        names |= _imports_at_import_time(child)
    return names


def test_imagehash_dhash_needs_neither_scipy_nor_pywt() -> None:
    # The reason LAYER_EXCLUDES may drop scipy: read the installed imagehash (the version the
    # moderation extra pins), whose module imports numpy and PIL only, and whose dhash imports
    # nothing. A new imagehash that imports scipy at module level fails here, not in Lambda.
    found = importlib.util.find_spec("imagehash")
    if found is None or found.origin is None:
        pytest.skip("imagehash is not installed (the moderation extra)")
    tree = ast.parse(Path(found.origin).read_text())
    module_imports = _imports_at_import_time(tree)
    assert {"numpy", "PIL"} <= module_imports
    assert not module_imports & {"scipy", "pywt"}
    (dhash,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "dhash"]
    assert not [n for n in ast.walk(dhash) if isinstance(n, ast.Import | ast.ImportFrom)]


def test_unzipped_sizes_add_code_and_layers_from_the_staged_assets(tmp_path: Path) -> None:
    # Given a cloud assembly with a code asset and two layer assets
    for asset, size in (("code1", 1000), ("deps1", 20_000), ("tool1", 300_000)):
        folder = tmp_path / f"asset.{asset}" / "sub"
        folder.mkdir(parents=True)
        (folder / "file").write_bytes(b"x" * size)
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Code": {"S3Key": "code1.zip"}, "Layers": [{"Ref": "Deps"}, {"Ref": "Tool"}]},
            },
            "Deps": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": {"S3Key": "deps1.zip"}}},
            "Tool": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": {"S3Key": "tool1.zip"}}},
            "Other": {"Type": "AWS::S3::Bucket", "Properties": {}},
        }
    }

    # Then each part is measured on its staged folder
    assert bundling.unzipped_sizes(tmp_path, template) == {
        "Fn": {"code": 1000, "Deps": 20_000, "Tool": 300_000}
    }


def test_size_report_flags_a_function_over_lambdas_limit() -> None:
    lines, fits = size_report(
        {"small": {"code": 10, "deps": 20}, "big": {"code": 10, "ffmpeg": 100}}, limit=100
    )
    assert not fits
    assert lines[0].startswith("  big: 110 B") and "OVER" in lines[0]
    assert size_report({"small": {"code": 10}}, limit=100)[1]


def test_layer_fingerprint_follows_what_the_layer_is_built_from() -> None:
    def excluding(exclude: list[str]) -> str:
        return bundling.LayerBundling(
            kind="deps", architecture="x86_64", requirements=["imagehash==4.3.2"], exclude=exclude
        ).fingerprint()

    assert excluding(["scipy"]) == excluding(["SciPy"]) != excluding([])

    def media(arch: str, tool: str) -> str:
        return bundling.LayerBundling(kind="media", architecture=arch, tools=[tool]).fingerprint()

    assert media("x86_64", "ffmpeg") == media("x86_64", "ffmpeg")
    assert len({media("x86_64", "ffmpeg"), media("arm64", "ffmpeg"), media("x86_64", "ffprobe")}) == 3
    deps = bundling.LayerBundling(kind="deps", architecture="x86_64", requirements=["a==1"]).fingerprint()
    assert (
        deps
        != bundling.LayerBundling(kind="deps", architecture="x86_64", requirements=["a==2"]).fingerprint()
    )


def test_layer_builder_is_the_layers_package() -> None:
    # LayerBundling passes the exclusions (the AWS SDK and LAYER_EXCLUDES) by keyword
    assert "exclude" in inspect.signature(deps_layer.build_deps_layer).parameters
    assert "tools" in inspect.signature(media_layer.build_media_layer).parameters
    assert {"boto3", "botocore"} <= set(deps_layer.AWS_SDK_DISTRIBUTIONS)
    # One home for the size limit and the measure: bundling (and the size report) use the package's
    assert bundling.LAMBDA_UNZIPPED_LIMIT is limits.LAMBDA_UNZIPPED_LIMIT
    assert bundling.tree_size is limits.tree_size
    assert bundling.MEDIA_LOCK_FILE.is_file()


def test_layer_fingerprint_follows_every_module_of_the_builder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = bundling.layer_builder_sources()
    assert {path.name for path in sources} >= {"__init__.py", "media_layer.py", "deps_layer.py", "lock.py"}
    copies = [tmp_path / path.name for path in sources]
    for source, copy in zip(sources, copies, strict=True):
        copy.write_bytes(source.read_bytes())
    monkeypatch.setattr(bundling, "layer_builder_sources", lambda: copies)
    layer = bundling.LayerBundling(kind="deps", architecture="arm64", requirements=["a==1"])
    before = layer.fingerprint()

    # When any one module of the builder changes, the layer is built again
    (tmp_path / "platforms.py").write_text((tmp_path / "platforms.py").read_text() + "\n# changed\n")
    assert layer.fingerprint() != before


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
