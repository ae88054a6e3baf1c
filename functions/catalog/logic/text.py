"""Search tokens and facet keys: case- and accent-insensitive, CJK by character bigrams.

A title is indexed by the tokens of its title; a query is tokenized the same way and matches the
titles holding all its tokens. Normalization is NFKD, combining marks removed, then casefold, so
"Amélie", "AMELIE" and "amélie" are one token, "ﬁ" is "fi" and "ß" is "ss". Letters and digits
form words; a word with an apostrophe is indexed as its parts and joined ("d'Amélie" -> d, amelie,
damelie; "Ocean's" -> ocean, s, oceans), so either spelling finds it. Runs of CJK ideographs and
kana/hangul have no spaces between words, so such a run is indexed by its overlapping character
bigrams ("千与千寻" -> 千与, 与千, 千寻), and a query of two or more CJK characters finds it; a
lone CJK character is its own token.
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = re.compile(r"['\u2019\u02bc]")
MAX_TOKENS = 30  # per title: bounds the write amplification of the search index
MAX_TOKEN_LENGTH = 40


def normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped.casefold())


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xAC00 <= code <= 0xD7AF  # hangul syllables
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0x20000 <= code <= 0x2FA1F  # extensions B-F, compatibility supplement
    )


def _runs(text: str) -> list[tuple[str, bool]]:
    """Maximal runs of word characters, each flagged CJK or not; everything else separates."""
    runs: list[tuple[str, bool]] = []
    current: list[str] = []
    current_cjk = False
    for ch in text:
        cjk = is_cjk(ch)
        word = cjk or ch.isalnum()
        if word and current and cjk == current_cjk:
            current.append(ch)
            continue
        if current:
            runs.append(("".join(current), current_cjk))
            current = []
        if word:
            current, current_cjk = [ch], cjk
    if current:
        runs.append(("".join(current), current_cjk))
    return runs


def _run_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for run, cjk in _runs(text):
        if not cjk:
            tokens.append(run[:MAX_TOKEN_LENGTH])
        elif len(run) == 1:
            tokens.append(run)
        else:
            tokens += [run[i : i + 2] for i in range(len(run) - 1)]
    return tokens


def tokenize(text: str) -> list[str]:
    """Distinct tokens in order of appearance."""
    tokens: dict[str, None] = {}
    for chunk in normalize(text).split():
        tokens.update(dict.fromkeys(_run_tokens(chunk)))
        if _APOSTROPHES.search(chunk):
            tokens.update(dict.fromkeys(_run_tokens(_APOSTROPHES.sub("", chunk))))
    return list(tokens)[:MAX_TOKENS]


def facet_value(value: str) -> str:
    """A genre or tag as a key: normalized like search tokens, inner whitespace collapsed."""
    return " ".join(normalize(value).split())
