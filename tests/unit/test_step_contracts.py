"""The state machines and the step contracts cannot drift apart.

For every Task state of every definition (Map item processors included) the function is found as
the wiring finds it (placeholder -> infra.spec function -> handler module), and the handler's
declared ``INPUT`` and ``OUTPUT`` models are checked against the definition:

* what the state sends (``Parameters``, a lambda:invoke ``Payload``, or the enclosing Map's
  ``ItemSelector``) is accepted by the input model, and every required input field is sent;
* every JSONPath the definition reads from a task's result (``$.probe.plan.chunked`` in a
  Choice, ``$.split.count`` in a Parameters, a Map's ``ItemsPath``, ``$$.Map.Item.Value.chunk``)
  exists in that task's output model (every task that writes that ResultPath);
* a field that receives a task's result reads only what that result's model has.

The checker returns its findings; the last tests prove it finds a renamed field.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, TypeAdapter

from infra.spec import FUNCTIONS_BY_NAME, STATE_MACHINES

EVENTS = Path(__file__).resolve().parents[2] / "events"
PLACEHOLDER = re.compile(r"^\$\{(\w+)\}$")
MAP_ITEM = "$$.Map.Item.Value"
Schema = dict[str, Any]


@dataclass
class Contract:
    input: type
    output: type


@dataclass
class TaskState:
    name: str
    function: str
    contract: Contract
    payload: dict[str, Any]  # what the state sends the function
    result_path: str | None  # where its result goes in the state's data (None: discarded)
    waits_for_token: bool  # the result is what SendTaskSuccess sends, not the function's return
    item_schema: Schema | None = None  # inside a Map: the schema of $$.Map.Item.Value


@dataclass
class Definition:
    spec_name: str
    asl: dict[str, Any]
    substitutions: dict[str, str]
    tasks: list[TaskState] = field(default_factory=list)


# --- Schemas ------------------------------------------------------------------------------------------


def name_of(model: Any) -> str:
    return getattr(model, "__name__", None) or str(model)  # a union of models has no __name__


def schema_of(model: Any, mode: Literal["validation", "serialization"]) -> Schema:
    result: Schema = TypeAdapter(model).json_schema(mode=mode)
    return result


def _alternatives(node: Schema, root: Schema) -> list[Schema]:
    """A node's possible shapes: $ref followed, anyOf/oneOf/allOf unfolded, null dropped."""
    if "$ref" in node:
        return _alternatives(root["$defs"][node["$ref"].rsplit("/", 1)[1]], root)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            return [alt for sub in node[key] for alt in _alternatives(sub, root)]
    return [] if node.get("type") == "null" else [node]


def _segments(path: str) -> list[str | int]:
    """``a.b[0].c`` -> ["a", "b", 0, "c"]."""
    out: list[str | int] = []
    for part in path.split("."):
        if not part:
            continue
        name, *indexes = re.split(r"\[", part)
        if name:
            out.append(name)
        out.extend(int(i.rstrip("]")) if i.rstrip("]").isdigit() else "*" for i in indexes)
    return out


def walk(root: Schema, path: str, start: Schema | None = None) -> Schema | None:
    """The schema at ``path`` (relative, ``plan.chunked``), or None when the model has no such field."""
    nodes = [start if start is not None else root]
    for segment in _segments(path):
        found: list[Schema] = []
        for node in nodes:
            for alt in _alternatives(node, root):
                if isinstance(segment, str) and segment != "*":
                    if segment in alt.get("properties", {}):
                        found.append(alt["properties"][segment])
                elif alt.get("type") == "array" and "items" in alt:
                    found.append(alt["items"])
        if not found:
            return None
        nodes = found
    return nodes[0] if len(nodes) == 1 else {"anyOf": nodes}


def properties(node: Schema, root: Schema, prefix: str = "") -> Iterator[str]:
    """Every field path under an object schema (``video.width``, ``renditions[*].name``)."""
    for alt in _alternatives(node, root):
        if alt.get("type") == "array" and "items" in alt:
            yield from properties(alt["items"], root, f"{prefix}[*]")
        for name, sub in alt.get("properties", {}).items():
            here = f"{prefix}.{name}" if prefix else name
            yield here
            yield from properties(sub, root, here)


# --- Reading the definitions -----------------------------------------------------------------------------


def _contract(function: str) -> Contract:
    module = importlib.import_module(FUNCTIONS_BY_NAME[function].module)
    missing = [name for name in ("INPUT", "OUTPUT") if not hasattr(module, name)]
    assert not missing, f"{module.__name__} declares no {' or '.join(missing)} model"
    return Contract(input=module.INPUT, output=module.OUTPUT)


def _function_of(state: dict[str, Any], substitutions: dict[str, str]) -> str | None:
    resource = str(state.get("Resource", ""))
    if resource.startswith("arn:aws:states:::lambda:invoke"):
        resource = str(state.get("Parameters", {}).get("FunctionName", ""))
    match = PLACEHOLDER.match(resource)
    return substitutions[match.group(1)] if match else None


def _payload(state: dict[str, Any], enclosing_selector: dict[str, Any] | None) -> dict[str, Any]:
    parameters: dict[str, Any] = state.get("Parameters") or {}
    if str(state.get("Resource", "")).startswith("arn:aws:states:::lambda:invoke"):
        return dict(parameters["Payload"])
    if "Parameters" in state:
        return dict(parameters)
    # A Task without Parameters receives its input whole: in a Map, the item selector's output.
    assert enclosing_selector is not None, "a Task without Parameters outside a Map: not modelled"
    return dict(enclosing_selector)


def _states(states: dict[str, Any], selector: dict[str, Any] | None = None) -> Iterator[tuple[str, Any, Any]]:
    """(name, state, the enclosing Map's item selector) for every state, nested ones included."""
    for name, state in states.items():
        yield name, state, selector
        if state["Type"] == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator")
            inner = state.get("ItemSelector") or state.get("Parameters")
            yield from _states(processor["States"], inner)
        for branch in state.get("Branches", []):
            yield from _states(branch["States"], None)


def load(spec_name: str, asl: dict[str, Any], substitutions: dict[str, str]) -> Definition:
    definition = Definition(spec_name, asl, substitutions)
    for name, state, selector in _states(asl["States"]):
        if state["Type"] != "Task":
            continue
        function = _function_of(state, substitutions)
        if function is None:
            continue  # a service integration without our code (none today)
        assert "ResultSelector" not in state, f"{name}: ResultSelector is not modelled by this test yet"
        definition.tasks.append(
            TaskState(
                name=name,
                function=function,
                contract=_contract(function),
                payload=_payload(state, selector),
                result_path=state.get("ResultPath", "$"),
                waits_for_token=str(state.get("Resource", "")).endswith(".waitForTaskToken"),
            )
        )
    return definition


_INPUT_TEMPLATES = ("Parameters", "ItemSelector", "Payload")


def _reads(node: Any, where: str, fills: str | None = None) -> Iterator[tuple[str, str, str | None]]:
    """(state, JSONPath, the input field it fills or None) for every path the definition reads.
    ``fills``: inside a task's input template, the field path so far ("" at its top)."""
    if isinstance(node, list):
        for item in node:
            yield from _reads(item, where, fills)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key.endswith(".$") and isinstance(value, str):
            name = key[:-2]
            yield where, value, None if fills is None else f"{fills}.{name}".lstrip(".")
        elif isinstance(value, str) and (key == "Variable" or (key.endswith("Path") and key != "ResultPath")):
            yield where, value, None
        elif key == "States" and isinstance(value, dict):
            for name, state in value.items():
                yield from _reads(state, name)
        elif key == "ItemReader":
            # The reader's own parameters (the manifest's bucket and key) feed no task.
            yield from ((w, path, None) for w, path, _ in _reads(value, where))
        elif key in _INPUT_TEMPLATES and fills is None:
            yield from _reads(value, where, "")
        elif key == "Payload" and fills == "":
            yield from _reads(value, where, "")  # lambda:invoke: the Payload is the function's event
        else:
            yield from _reads(value, where, None if fills is None else f"{fills}.{key}".lstrip("."))


# --- The checks ------------------------------------------------------------------------------------------


def _producers(definition: Definition) -> dict[str, list[TaskState]]:
    producers: dict[str, list[TaskState]] = {}
    for task in definition.tasks:
        if task.result_path:
            producers.setdefault(task.result_path, []).append(task)
    return producers


def _resolve(definition: Definition, path: str) -> list[tuple[TaskState, str]] | None:
    """The tasks whose result ``path`` reads, each with the path inside that result; None: a path
    into the execution's input or a Catch's error, which no task contract describes."""
    for prefix, tasks in _producers(definition).items():
        if prefix == "$":
            continue
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return [(task, path[len(prefix) :].lstrip(".")) for task in tasks]
    return None


def _output_at(task: TaskState, inner: str) -> tuple[Schema, Schema | None]:
    root = schema_of(task.contract.output, "serialization")
    return root, walk(root, inner)


def _item_schema(definition: Definition, map_state: dict[str, Any]) -> tuple[Schema, Schema] | None:
    """The schema of a Map's items: at its ItemsPath, or, read from S3 by an ItemReader, the
    ``items`` of the result that names the manifest (Split writes the same items to both)."""
    if "ItemsPath" in map_state:
        resolved = _resolve(definition, map_state["ItemsPath"])
        path = map_state["ItemsPath"]
    else:
        path = map_state["ItemReader"]["Parameters"]["Key.$"]
        resolved = _resolve(definition, path)
        resolved = [(task, "items") for task, _ in resolved or []]
    assert resolved, f"the items of a Map come from {path}, which no task writes"
    task, inner = resolved[0]
    root, node = _output_at(task, inner)
    items = next(
        (alt["items"] for alt in _alternatives(node or {}, root) if alt.get("type") == "array"), None
    )
    return (root, items) if items is not None else None


def check(definition: Definition) -> list[str]:
    problems: list[str] = []
    tasks_by_name = {task.name: task for task in definition.tasks}

    # (a) what each state sends, against its input model
    for task in definition.tasks:
        model = task.contract.input
        root = schema_of(model, "validation")
        accepted = set(root.get("properties", {}))
        sent = {key.removesuffix(".$"): value for key, value in task.payload.items()}
        for name in sorted(set(sent) - accepted):
            problems.append(f"{task.name}: sends {name!r}, which {model.__name__} does not accept")
        for name in sorted(set(root.get("required", [])) - set(sent)):
            problems.append(f"{task.name}: does not send {name!r}, which {model.__name__} requires")
        for key, value in task.payload.items():
            if key.endswith(".$") or key not in accepted or not issubclass(model, BaseModel):
                continue
            fields = {f.alias or n: f for n, f in model.model_fields.items()}
            try:
                TypeAdapter(fields[key].annotation or Any).validate_python(value)
            except ValueError as exc:
                problems.append(f"{task.name}: sends {key}={value!r}, refused by {model.__name__}: {exc}")

    # (b) every path read from a task's result exists in that task's output model; (c) a field that
    # receives a result (or a Map item) reads nothing the result's model lacks
    items_of = {
        name: _item_schema(definition, state)
        for name, state, _ in _states(definition.asl["States"])
        if state["Type"] == "Map"
    }
    for where, path, target in _reads(definition.asl, "(top)"):
        receivers = _receivers(definition, tasks_by_name, where, target)
        if path.startswith(MAP_ITEM):
            item = items_of.get(where)
            if item is None:
                problems.append(f"{where}: reads {path}, but the Map's items have no model")
                continue
            root, node = item
            found = walk(root, path[len(MAP_ITEM) :].lstrip("."), node)
            if found is None:
                problems.append(f"{where}: reads {path}, which the Map's items do not have")
            else:
                problems += _consumed(receivers, target, root, found, f"{where}: {path}")
            continue
        if path.startswith("$$"):
            continue  # the context object (execution name, start time, task token)
        for task, inner in _resolve(definition, path) or []:
            if task.waits_for_token:
                problems.append(f"{where}: reads {path}, the result of {task.name}, which no model describes")
                continue
            root, found = _output_at(task, inner)
            if found is None:
                output = name_of(task.contract.output)
                problems.append(f"{where}: reads {path}, but {output} ({task.name}) has no {inner!r}")
            else:
                problems += _consumed(receivers, target, root, found, f"{where}: {path} from {task.name}")
    return problems


def _receivers(
    definition: Definition, tasks_by_name: dict[str, TaskState], where: str, target: str | None
) -> list[TaskState]:
    """The tasks whose input field ``target`` a read at state ``where`` fills: the state itself,
    or, for a Map's item selector, the tasks inside the Map."""
    if target is None:
        return []
    if where in tasks_by_name:
        return [tasks_by_name[where]]
    state: dict[str, Any] = next((s for n, s, _ in _states(definition.asl["States"]) if n == where), {})
    processor = state.get("ItemProcessor") or state.get("Iterator") or {}
    return [tasks_by_name[name] for name in processor.get("States", {}) if name in tasks_by_name]


def _consumed(
    receivers: list[TaskState], target: str | None, out_root: Schema, produced: Schema, what: str
) -> list[str]:
    problems = []
    for task in receivers:
        in_root = schema_of(task.contract.input, "validation")
        field_schema = walk(in_root, target or "")
        if target is None or field_schema is None:
            continue  # a field the input model does not accept: reported by (a)
        have = set(properties(produced, out_root))
        for needed in properties(field_schema, in_root):
            if needed not in have:
                name = name_of(task.contract.input)
                problems.append(f"{what}: {name}.{target} reads {needed!r}, which the result lacks")
    return problems


# --- The tests ---------------------------------------------------------------------------------------


def _definitions() -> list[Definition]:
    return [
        load(sm.name, json.loads(sm.path.read_text()), dict(sm.function_substitutions))
        for sm in STATE_MACHINES
    ]


@pytest.fixture(scope="module")
def definitions() -> list[Definition]:
    return _definitions()


def test_every_task_of_every_state_machine_has_a_typed_contract(definitions: list[Definition]) -> None:
    # Given every state machine and the functions its Task states call
    called = {task.function for d in definitions for task in d.tasks}
    substituted = {fn for d in definitions for fn in d.substitutions.values()}
    # Then each one was found (and _contract asserted its handler declares INPUT and OUTPUT)
    assert called == substituted
    for d in definitions:
        for task in d.tasks:
            assert task.contract.input is not None and task.contract.output is not None


def test_the_definitions_and_the_step_contracts_agree(definitions: list[Definition]) -> None:
    problems = [f"{d.spec_name}: {p}" for d in definitions for p in check(d)]
    assert problems == []


def test_the_paths_read_from_results_are_really_checked(definitions: list[Definition]) -> None:
    # Given the checks found the Choice and Parameters paths the pipeline reads from results
    pipeline = next(d for d in definitions if d.spec_name == "media-pipeline")
    reads = {path for _, path, _ in _reads(pipeline.asl, "(top)")}
    assert {"$.probe.plan.chunked", "$.split.count", "$.moderation.verdict", "$.compensation.status"} <= reads
    assert "$$.Map.Item.Value.chunk" in reads


@pytest.mark.parametrize(
    ("event", "function"),
    [
        ("sfn_probe_input.json", "pipeline-probe"),
        ("sfn_compensate_input.json", "pipeline-compensate"),
        ("eventbridge_execution_failed.json", "pipeline-safety-net"),
    ],
)
def test_the_sample_step_events_parse_into_their_input_models(event: str, function: str) -> None:
    # Given a sample event of events/ (what sam local invoke -e sends the function)
    payload = json.loads((EVENTS / event).read_text())
    # Then the handler's input model takes it as it is
    TypeAdapter(_contract(function).input).validate_python(payload)


def _mutated(definition: Definition, old: str, new: str) -> Definition:
    text = json.dumps(definition.asl).replace(old, new)
    return load(definition.spec_name, json.loads(text), definition.substitutions)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('"$.probe.plan.chunked"', '"$.probe.plan.chunky"', "ProbeOutput (Probe) has no 'plan.chunky'"),
        ('"$.split.count"', '"$.split.total"', "SplitOutput (Split) has no 'total'"),
        ('"$$.Map.Item.Value.chunk"', '"$$.Map.Item.Value.piece"', "the Map's items do not have"),
        ('"stage": "final"', '"stage": "last"', "sends stage='last', refused by StitchInput"),
        ('"count.$": "$.split.count"', '"total.$": "$.split.count"', "does not send 'count'"),
    ],
)
def test_a_drifted_definition_is_reported(
    definitions: list[Definition], old: str, new: str, expected: str
) -> None:
    # Given the pipeline with one path or field renamed in the definition
    pipeline = next(d for d in definitions if d.spec_name == "media-pipeline")
    assert old in json.dumps(pipeline.asl)
    # Then the check names it
    problems = check(_mutated(pipeline, old, new))
    assert any(expected in p for p in problems), problems


def test_a_renamed_output_field_is_reported(definitions: list[Definition]) -> None:
    # Given Split's output model loses 'count' (as a rename in contracts.py would)
    pipeline = copy.copy(next(d for d in definitions if d.spec_name == "media-pipeline"))
    from pydantic import create_model

    from functions.pipeline import contracts

    fields = {n: (f.annotation, f) for n, f in contracts.SplitOutput.model_fields.items() if n != "count"}
    renamed = create_model("SplitOutput", __base__=contracts.StepModel, total=(int, ...), **fields)  # type: ignore[call-overload]
    pipeline.tasks = [
        TaskState(**{**t.__dict__, "contract": Contract(t.contract.input, renamed)})
        if t.name == "Split"
        else t
        for t in pipeline.tasks
    ]
    # Then every read of $.split.count is reported
    problems = check(pipeline)
    assert any("reads $.split.count" in p for p in problems), problems
