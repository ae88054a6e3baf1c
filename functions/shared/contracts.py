"""What every Step Functions task contract shares: the models' base and the way out to JSON.

Each task's input and output is a model (``functions/<domain>/contracts.py``), parsed once in its
handler; ``tests/unit/test_step_contracts.py`` checks them against every path the state machines
read, so the definitions and the code cannot drift apart.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter


class StepModel(BaseModel):
    """A task's input or output. An unknown field is an error, not a silent drop: a state that
    sends something no model declares is a definition and a handler that disagree."""

    # defer_build: validators are built at first use, not at import (functions/shared/schema.py)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


@cache
def _adapter(kind: type) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def step_result(model: type, value: object, *, exclude_none: bool = False) -> dict[str, Any]:
    """A step's output as JSON types, named as the states read it: ``value`` (an instance of
    ``model``, or what validates into one) checked against the model the handler declares.
    ``exclude_none`` only where no state reads the result (a path to a dropped field would fail)."""
    adapter = _adapter(model)
    result: dict[str, Any] = adapter.dump_python(
        adapter.validate_python(value), mode="json", by_alias=True, exclude_none=exclude_none
    )
    return result
