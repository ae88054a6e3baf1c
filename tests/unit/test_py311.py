"""ast.parse is serialised on 3.11 (infra/local/py311.py: the AST constructor's shared counter)."""

from __future__ import annotations

import ast
import sys
import threading

import pytest

from infra.local import py311


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the race is fixed in 3.12; nothing is patched there")
def test_a_parse_waits_while_another_thread_is_parsing() -> None:
    py311.serialize_ast_parse()
    done = threading.Event()

    def parse() -> None:
        ast.parse("x = f(a, b)[c]")
        done.set()

    with py311._LOCK:  # as if this thread were inside ast.parse
        threading.Thread(target=parse).start()
        assert not done.wait(0.3)
    assert done.wait(10)


def test_serializing_twice_wraps_once_and_parse_still_parses() -> None:
    py311.serialize_ast_parse()
    first = ast.parse
    py311.serialize_ast_parse()
    assert ast.parse is first
    assert isinstance(ast.parse("a + 1").body[0], ast.Expr)
