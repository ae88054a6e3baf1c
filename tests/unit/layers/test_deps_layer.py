"""Resolving and trimming the deps layer (layers.deps_layer), offline: pip's resolution report is
given, never produced."""

import re
from pathlib import Path
from typing import Any

from layers.deps_layer import (
    AWS_SDK_DISTRIBUTIONS,
    Pin,
    pyproject_dependencies,
    render_pins,
    select_layer_packages,
    strip_tree,
)
from tests.unit.layers.conftest import sha256

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _item(
    name: str, version: str, requires: list[str], *, requested: bool = False, **kw: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "metadata": {"name": name, "version": version, "requires_dist": requires},
        "requested": requested,
        "download_info": {"archive_info": {"hashes": {"sha256": sha256(name.encode())}}},
    }
    item.update(kw)
    return item


def test_select_layer_packages_leaves_out_the_aws_sdk_and_what_only_it_needs() -> None:
    report = {
        "install": [
            _item(
                "aws_lambda_powertools",
                "3.37.0",
                [
                    "jmespath<2,>=1.0.1",
                    "typing-extensions>=4.11",
                    "aws-xray-sdk>=2.8; extra == 'tracer'",
                    "urllib3<3,>=2.7; extra == 'jwt'",
                    "boto3<2,>=1.34; extra == 'aws-sdk'",
                ],
                requested=True,
                requested_extras=["tracer"],
            ),
            _item("pynamodb", "6.1.0", ["botocore>=1.12.54"], requested=True),
            _item("boto3", "1.44.5", ["botocore<1.45", "s3transfer<0.20"], requested=True),
            _item("aws-xray-sdk", "2.15.0", ["wrapt", "botocore>=1.11.3"]),
            _item("botocore", "1.44.5", ["jmespath<2", "python-dateutil<3", "urllib3!=2.2.0,<3"]),
            _item("s3transfer", "0.19.3", ["botocore<2"]),
            _item("python-dateutil", "2.9.0", ["six>=1.5"]),
            _item("six", "1.17.0", []),
            _item("urllib3", "2.8.0", []),
            _item("jmespath", "1.1.0", []),
            _item("typing_extensions", "4.16.0", []),
            _item("wrapt", "2.5.2", []),
        ]
    }
    pins, dropped = select_layer_packages(report, AWS_SDK_DISTRIBUTIONS)

    assert sorted(p.name for p in pins) == sorted(
        ["aws_lambda_powertools", "pynamodb", "aws-xray-sdk", "jmespath", "typing_extensions", "wrapt"]
    )
    assert dropped == [
        "boto3==1.44.5",
        "botocore==1.44.5",
        "python-dateutil==2.9.0",
        "s3transfer==0.19.3",
        "six==1.17.0",
        "urllib3==2.8.0",
    ]
    assert all(HEX64.fullmatch(p.sha256 or "") for p in pins)

    pins, dropped = select_layer_packages(report, ())
    assert dropped == []  # --keep-aws-sdk keeps the whole resolution
    assert len(pins) == len(report["install"])


def test_render_pins_uses_hashes_only_when_every_pin_has_one() -> None:
    text, hashed = render_pins([Pin("a", "1", "0" * 64), Pin("b", "2", "1" * 64)])
    assert hashed
    assert text.splitlines() == [f"a==1 --hash=sha256:{'0' * 64}", f"b==2 --hash=sha256:{'1' * 64}"]
    text, hashed = render_pins([Pin("a", "1", "0" * 64), Pin("b", "2", None)])
    assert not hashed
    assert text.splitlines() == ["a==1", "b==2"]


def test_strip_tree_removes_caches_tests_and_scripts_but_keeps_metadata(tmp_path: Path) -> None:
    root = tmp_path / "python"
    files = {
        "bin/dotenv": "#!/build/venv/bin/python",
        "pkg/__init__.py": "",
        "pkg/__pycache__/__init__.cpython-312.pyc": "",
        "pkg/tests/test_pkg.py": "",
        "pkg/sub/tests/conftest.py": "",
        "pkg/sub/module.py": "",
        "pkg/stale.pyc": "",
        "pkg/testing.py": "",
        "pkg-1.0.dist-info/METADATA": "Name: pkg",
        "pkg-1.0.dist-info/RECORD": "",
        "pkg-1.0.dist-info/tests/keep": "",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)

    removed = strip_tree(root)

    remaining = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert remaining == [
        "pkg-1.0.dist-info/METADATA",
        "pkg-1.0.dist-info/RECORD",
        "pkg-1.0.dist-info/tests/keep",
        "pkg/__init__.py",
        "pkg/sub/module.py",
        "pkg/testing.py",
    ]
    assert root / "bin" in removed


def test_pyproject_dependencies_are_read(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["pynamodb==6.1.0", "boto3>=1.34"]\n')
    assert pyproject_dependencies(pyproject) == ["pynamodb==6.1.0", "boto3>=1.34"]
