"""One synthesis of the whole stack for every infrastructure test.

Bundling is skipped (context ``aws:cdk:bundling-stacks: []``): no layer is built, nothing is
downloaded, and CDK stages the asset source folders as they are. The CloudFront public key is
generated here. Validation failures do not abort synthesis, so that test_nag can list them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.app import build_app
from infra.stack import VodStack

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every infrastructure test shares one synthesis: keep them on one xdist worker
    (``--dist loadgroup``) so that it happens once."""
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.xdist_group("infrastructure"))


@dataclass(frozen=True)
class Synthesized:
    app: App
    stack: VodStack
    template: Template
    resources: dict[str, dict[str, Any]]
    assembly_dir: Path
    public_key_pem: str

    def logical_id(self, construct: Any) -> str:
        child = construct.node.default_child
        logical_id: str = self.stack.resolve(self.stack.get_logical_id(child))
        return logical_id

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == resource_type}

    def function_id(self, name: str) -> str:
        return self.logical_id(self.stack.functions.by_name[name])


def public_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    # Given the app as the CLI would build it, without bundling and with a generated key
    pem = public_key_pem()
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app(
        {
            "aws:cdk:bundling-stacks": [],
            "cloudfront_public_key_pem": pem,
            "@aws-cdk/core:failSynthOnValidationErrors": False,
        },
        outdir=str(outdir),
    )
    # When it is synthesized once
    app.synth()
    template = Template.from_stack(stack)
    resources = json.loads(json.dumps(template.to_json()))["Resources"]
    return Synthesized(app, stack, template, resources, outdir, pem)
