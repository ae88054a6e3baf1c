"""Points PynamoDB models at the tables the settings name: the one home of that binding.

PynamoDB reads a model's table from ``Meta.table_name`` and caches a connection per model. A
binding sets them from the current settings the first time it is used, and again whenever the
settings object changes (the embedded mode clears the settings cache when it starts a stack on
new endpoints), dropping the old connections.
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
        self._bound: Settings | None = None
        self._connection: Connection | None = None
        TableBinding._all.append(self)

    def bind(self) -> Connection:
        """Bind if needed; returns a connection for calls no model offers (transactions)."""
        settings = get_settings()
        if self._bound is not settings or self._connection is None:
            for model in self._models:
                meta: Any = model.Meta
                meta.table_name = self._table(settings)
                meta.region = settings.aws_region
                model._connection = None
            self._connection = Connection(region=settings.aws_region)
            self._bound = settings
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
