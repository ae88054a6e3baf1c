"""The wiring declaration as a package: assembled once from its domain modules, its resource
environment derived from ``Resources``, and in step with the functions' settings."""

from __future__ import annotations

import ast
import dataclasses
from collections import Counter
from pathlib import Path

from functions.shared.settings import RESOURCE_VARIABLES, Settings
from infra import spec
from infra.spec import api, catalog, moderation, pipeline, playback, sessions, videos, webhooks

DOMAINS = (api, videos, pipeline, playback, moderation, webhooks, catalog, sessions)
SPEC_DIR = Path(spec.__file__).parent


def test_resource_env_covers_every_resources_field_by_its_upper_cased_name() -> None:
    # Given the Resources dataclass, then each field is one variable and nothing else is
    fields = [f.name for f in dataclasses.fields(spec.Resources)]
    assert {name.upper(): name for name in fields} == spec.RESOURCE_ENV


def test_settings_read_exactly_the_resources_infra_fills() -> None:
    # Then a resource added to Resources is a setting the functions can read, and the reverse
    assert set(RESOURCE_VARIABLES) == set(spec.RESOURCE_ENV)
    for attr in spec.RESOURCE_ENV.values():
        assert hasattr(Settings, attr), attr


def test_every_declared_env_entry_is_a_resource() -> None:
    for fn in spec.FUNCTIONS:
        assert set(fn.env) <= set(spec.RESOURCE_ENV), fn.name
        assert len(set(fn.env)) == len(fn.env), f"{fn.name} declares a variable twice"


def test_the_assembly_has_no_duplicates() -> None:
    declared: dict[str, list[object]] = {
        "function": [f.name for f in spec.FUNCTIONS],
        "queue": [q.name for q in spec.QUEUES],
        "bus rule": [r.name for r in spec.BUS_RULES],
        "state machine": [m.name for m in spec.STATE_MACHINES],
        "execution rule": [r.name for r in spec.EXECUTION_RULES],
        "route": [(r.method, r.path) for r in spec.ROUTES],
        "schedule": [s.name for s in spec.SCHEDULES],
        "bucket notification": [(n.bucket, n.prefix) for n in spec.BUCKET_NOTIFICATIONS],
    }
    for kind, names in declared.items():
        repeated = [name for name, count in Counter(names).items() if count > 1]
        assert not repeated, f"{kind} declared twice: {repeated}"
    assert len(spec.FUNCTIONS_BY_NAME) == len(spec.FUNCTIONS)


def test_the_assembly_is_the_domain_modules_in_order() -> None:
    # Then every domain's declarations are in the assembly, in the order of the domains
    assert tuple(fn for domain in DOMAINS for fn in domain.FUNCTIONS) == spec.FUNCTIONS
    assert tuple(q for domain in DOMAINS for q in getattr(domain, "QUEUES", ())) == spec.QUEUES
    assert tuple(r for domain in DOMAINS for r in getattr(domain, "BUS_RULES", ())) == spec.BUS_RULES


def test_every_reference_names_something_declared() -> None:
    functions = set(spec.FUNCTIONS_BY_NAME)
    queues = {q.name for q in spec.QUEUES}
    assert {q.consumer for q in spec.QUEUES} <= functions
    assert {r.queue for r in spec.BUS_RULES} <= queues
    assert {n.queue for n in spec.BUCKET_NOTIFICATIONS} <= queues
    assert {s.consumer for s in spec.TABLE_STREAMS} <= functions
    assert {r.function for r in spec.ROUTES} <= functions
    assert {r.target for r in spec.EXECUTION_RULES} <= functions
    assert {s.target for s in spec.SCHEDULES} <= functions
    for machine in spec.STATE_MACHINES:
        assert set(machine.function_substitutions.values()) <= functions, machine.name
    resources = set(spec.RESOURCE_ENV.values())
    for fn in spec.FUNCTIONS:
        assert set(fn.grants) <= resources, fn.name


def test_no_module_of_the_package_rebinds_a_name() -> None:
    # Given each module's top-level assignments, then no name is assigned twice (the old spec.py
    # grew by `FUNCTIONS = (*FUNCTIONS, ...)`)
    for path in sorted(SPEC_DIR.glob("*.py")):
        assigned: list[str] = []
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                if isinstance(target, ast.Name):
                    assigned.append(target.id)
                elif isinstance(target, ast.Tuple):
                    assigned.extend(t.id for t in target.elts if isinstance(t, ast.Name))
        repeated = [name for name, count in Counter(assigned).items() if count > 1]
        assert not repeated, f"{path.name} rebinds {repeated}"


def test_state_machine_definitions_are_still_found() -> None:
    for machine in spec.STATE_MACHINES:
        assert machine.path.is_file(), machine.path
