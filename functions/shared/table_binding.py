"""Points PynamoDB models at the tables the settings name: the one home of that binding.

PynamoDB reads a model's table from ``Meta.table_name`` and caches a connection per model. A
binding sets them from the current settings the first time it is used, and again whenever the
table or region they name changes, dropping the old connections. Keyed on the names, not on the
settings object: in the embedded mode each invocation has its function's own settings, and
functions that name the same table must share the connection rather than rebind on every call.
A function whose environment lacks the table fails here (``MissingSetting``), as on AWS. The
embedded mode resets every binding when it starts a stack on new endpoints (``reset_all``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pynamodb.connection import Connection
from pynamodb.models import Model

from functions.shared.settings import Settings, get_settings


class TableBinding:
    _all: ClassVar[list[TableBinding]] = []

    def __init__(self, *models: type[Model], table: Callable[[Settings], str]):
        self._models = models
        self._table = table
        self._bound: tuple[str, str] | None = None  # (table, region)
        self._connection: Connection | None = None
        TableBinding._all.append(self)

    def bind(self) -> Connection:
        """Bind if needed; returns a connection for calls no model offers (transactions)."""
        settings = get_settings()
        bound = (self._table(settings), settings.aws_region)
        if self._bound != bound or self._connection is None:
            table, region = bound
            for model in self._models:
                meta: Any = model.Meta
                meta.table_name = table
                meta.region = region
                model._connection = None
            self._connection = Connection(region=region)
            self._bound = bound
        return self._connection

    def reset(self) -> None:
        self._bound = None
        self._connection = None
        for model in self._models:
            model._connection = None

    @classmethod
    def reset_all(cls) -> None:
        for binding in cls._all:
            binding.reset()
