"""The base of the HTTP API's request and response models.

pydantic builds a model's validator and serializer when the class is created, unless told to wait:
with ``defer_build`` it builds them the first time the model validates or serializes, so a cold
start pays only for the models of the route it serves (tests/bench/import_bench.py measured
~110 ms of the API handler's import in building models that most requests never touch). The
document and the validation are the same either way (tests/unit/test_openapi_contract.py).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    model_config = ConfigDict(defer_build=True)
