"""What text shown to other people may hold: titles, names, tags and descriptions keep what the
user typed (emoji, CJK, accents, joiners) but no control characters and no bidirectional controls.

A NUL or ESC in a title breaks terminals, logs and downstream systems; a right-to-left override
(U+202E) makes "evil\u202efdp.exe" read as "evilexe.pdf" in a listing. Category Cc is refused
outright (descriptions may keep line breaks and tabs); of category Cf only the bidirectional
embeddings, overrides, isolates and marks are refused, because the zero-width joiner and the
variation selectors are parts of emoji and scripts people really type.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

# ALM, LRM and RLM, the embeddings and overrides (U+202A-E), the isolates (U+2066-9).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r\t")


def refused_characters(text: str, *, multiline: bool = False) -> list[str]:
    """The code points of ``text`` that may not be shown, as U+XXXX, in order of first appearance."""
    allowed = LINE_BREAKS if multiline else frozenset()
    found: dict[str, None] = {}
    for char in text:
        if char in allowed:
            continue
        if unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS:
            found.setdefault(f"U+{ord(char):04X}")
    return list(found)


def _check(text: str, *, multiline: bool) -> str:
    refused = refused_characters(text, multiline=multiline)
    if refused:
        listed = ", ".join(refused)
        raise ValueError(f"must not contain control or bidirectional control characters ({listed})")
    return text


def single_line(text: str) -> str:
    return _check(text, multiline=False)


def multi_line(text: str) -> str:
    return _check(text, multiline=True)


# For pydantic fields: ``title: PlainLine``, ``description: PlainText``.
PlainLine = Annotated[str, AfterValidator(single_line)]
PlainText = Annotated[str, AfterValidator(multi_line)]
