"""A CPython 3.11 race the embedded mode and the tests would otherwise hit.

In 3.11 the AST constructor's recursion counter is shared by all threads (cpython gh-106905,
gone in 3.12). If a garbage collection inside one thread's ``ast.parse`` runs a finalizer and
the interpreter switches to another thread that also calls ``ast.parse``, the counter no longer
matches and one of them raises ``SystemError: AST constructor recursion depth mismatch``. In one
process the embedded stack formats tracebacks on its server threads (3.11's ``traceback`` calls
``ast.parse`` for the ``^^^`` markers) while hypothesis parses source files for constants; CI hit
it once in the API fuzz test. Serialising ``ast.parse`` removes the race.
"""

from __future__ import annotations

import ast
import functools
import sys
import threading
from typing import Any

_LOCK = threading.RLock()  # re-entrant: a finalizer run inside a parse may parse again


def serialize_ast_parse() -> None:
    if sys.version_info >= (3, 12) or getattr(ast.parse, "_vod_serialized", False):
        return
    original = ast.parse

    @functools.wraps(original)
    def parse(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original(*args, **kwargs)

    parse._vod_serialized = True  # type: ignore[attr-defined]
    ast.parse = parse
