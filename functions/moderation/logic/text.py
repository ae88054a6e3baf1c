"""Sensitive words in a video's title, description and tags (Aho-Corasick over normalised text).

Matching happens in a normalised space, built by :func:`fold_for_matching` for the word list and
the checked text alike (the stored text keeps what the user typed). Each character, with the
combining marks that follow it, is:

1. decomposed (``NFKD``): full-width, mathematical, circled letters and ligatures become plain
   letters, accented letters a base letter and marks;
2. stripped of what a reader does not see: format characters (category ``Cf``: zero-width
   space, soft hyphen, word joiner, bidi controls, tag characters), control characters (``Cc``,
   whitespace aside), the Hangul fillers, and combining marks of no script of their own
   (``Mn`` of the Inherited script: accents, overlays such as U+0336 and U+0338, "zalgo"
   stacks, variation selectors) and enclosing marks (``Me``). Marks that spell a script's
   letters are kept (Devanagari vowel signs, Thai tone marks, Hebrew points, kana voicing);
3. folded onto ASCII where the Unicode confusables table (UTS #39, from the
   ``confusable-homoglyphs`` package) says a letter looks like an ASCII letter or digit:
   Cyrillic small o (U+043E), Greek alpha (U+03B1), Latin small capital O (U+1D0F)... ASCII
   itself is never folded (UTS #39 would read "com" as "corn"), nor are scripts written
   without spaces;
4. casefolded ("ß" -> "ss") and recomposed (``NFC``, so a Hangul syllable stays one character);
   runs of whitespace become one space.

Each character of the normalised text remembers the span of the original it came from, so a
match reports where the term is in the text as typed (:meth:`SensitiveWords.matches`).

Terms written in a script that separates words with spaces (Latin, Cyrillic, Greek, ...) match
whole words only: the characters just before and after the match must not be letters or digits
of such a script, so "ass" does not fire inside "class" but does in "ass!" or "好ass". Terms
containing a character of a script written without spaces (Chinese, Japanese, Korean, Thai, Lao,
Khmer, Myanmar) match anywhere, since such text has no word boundaries to look for.

The word list comes from a :class:`WordListSource`: a local file (the embedded mode) or an
AWS AppConfig profile (on AWS), both cached and hot-reloaded; the automaton is rebuilt only when
the list's content actually changed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import ahocorasick
from aws_lambda_powertools.utilities.parameters import get_app_config
from confusable_homoglyphs.categories import alias as unicode_script
from confusable_homoglyphs.confusables import confusables_data

from functions.moderation.logic.verdict import CheckResult, Finding
from functions.shared.settings import Settings

logger = logging.getLogger(__name__)

CHECK = "text"
CODE = "sensitive_words"

_WHITESPACE = re.compile(r"\s+")
_ASCII_RUNS = re.compile(r"(?P<space>\s+)|[!-~]+")  # control characters match neither
_ASCII_CONTROLS = re.compile(r"[^\s!-~]")

# Scripts written without spaces between words: a term containing any of these matches as a
# substring. (start, end) inclusive code point ranges.
_CONTINUOUS_SCRIPT_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),  # ideographic iteration mark, closing mark, number zero
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x31FF),  # Bopomofo, Hangul compatibility Jamo, Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFFDC),  # half-width Katakana and Hangul (NFKC folds most of them anyway)
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


def is_continuous_script(char: str) -> bool:
    cp = ord(char)
    return any(lo <= cp <= hi for lo, hi in _CONTINUOUS_SCRIPT_RANGES)


def _is_word_char(char: str) -> bool:
    """A letter or digit of a script that separates words with spaces."""
    return char.isalnum() and not is_continuous_script(char)


# Invisible and not format characters (Default_Ignorable_Code_Point in Unicode's
# DerivedCoreProperties): the Hangul fillers, Khmer inherent vowels, Mongolian variation selectors.
_IGNORABLE = frozenset(
    map(chr, (0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x3164, 0xFFA0))
)
# Inherited-script marks that spell a letter: か + U+3099 is が, another word.
_SPELLING_MARKS = frozenset("\u3099\u309a")
# Hangul vowel and final consonant jamo typed as separate characters join the syllable before.
_JAMO_CONTINUATION = ((0x1161, 0x11FF), (0xD7B0, 0xD7FF))


def _confusable_to_ascii() -> dict[str, str]:
    """Each non-ASCII character that the Unicode confusables table maps onto ASCII letters or
    digits -> those (casefolded).

    The package's data is the table's pairs in both directions (Cyrillic "a" lists its
    prototype, Latin "a"; Latin "a" lists everything that maps to it). A character that is a
    source in the table lists exactly one entry, its prototype; no ASCII letter or digit is a
    source of a non-ASCII prototype (tests check it on the data), so a single ASCII entry is
    the prototype.
    """
    table: dict[str, str] = {}
    for char, entries in confusables_data.items():
        char = char.replace("\u200e", "")  # the package brackets right-to-left text with LRMs
        if len(char) != 1 or char.isascii() or is_continuous_script(char) or len(entries) != 1:
            continue
        target = entries[0]["c"].replace("\u200e", "")
        if target.isascii() and target.isalnum():  # not "ß", whose casefold is ASCII
            table[char] = target.casefold()
    return table


_CONFUSABLE_TO_ASCII = _confusable_to_ascii()


def _is_invisible(char: str) -> bool:
    if char.isspace():
        return False
    category = unicodedata.category(char)
    if category in ("Cf", "Cc") or char in _IGNORABLE:
        return True
    if category == "Me":  # enclosing marks (U+20DD circle, U+0489 "zalgo" rays) spell nothing
        return True
    return category == "Mn" and char not in _SPELLING_MARKS and unicode_script(char) == "INHERITED"


def _strip(text: str) -> str:
    """NFKD without what a reader does not see; whitespace becomes a space."""
    return "".join(
        " " if c.isspace() else c for c in unicodedata.normalize("NFKD", text) if not _is_invisible(c)
    )


def _fold_letter(char: str) -> str:
    lower = char.casefold()
    if lower in _CONFUSABLE_TO_ASCII:
        return _CONFUSABLE_TO_ASCII[lower]
    if char in _CONFUSABLE_TO_ASCII:  # a capital whose small letter looks like none (Cyrillic VE)
        return _CONFUSABLE_TO_ASCII[char]
    return lower


@lru_cache(maxsize=1 << 16)
def _fold_cluster(cluster: str) -> str:
    """One character and the marks after it, in the matching space ("" when invisible)."""
    if cluster.isspace():
        return " "
    folded = "".join(map(_fold_letter, _strip(cluster)))
    # casefold can produce what NFKD decomposes again (and marks to drop); NFC recomposes
    # Hangul syllables and the marks that were kept.
    return unicodedata.normalize("NFC", _strip(folded))


@lru_cache(maxsize=1 << 16)
def _continues_cluster(char: str) -> bool:
    """A combining character: it belongs with the character before it."""
    if char.isascii():
        return False
    first = unicodedata.normalize("NFKD", char)[:1]  # half-width ﾞ decomposes to U+3099
    if unicodedata.combining(first) or unicodedata.category(first).startswith("M"):
        return True
    return any(lo <= ord(char) <= hi for lo, hi in _JAMO_CONTINUATION)


def _clusters(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for i in range(1, len(text)):
        if not _continues_cluster(text[i]):
            yield start, i
            start = i
    if text:
        yield start, len(text)


@dataclass(frozen=True)
class FoldedText:
    """A text in the matching space: ``text[i]`` came from ``original[starts[i]:ends[i]]``."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]`` (end exclusive, ``start < end``)."""
        return self.starts[start], self.ends[end - 1]


def fold_for_matching(text: str) -> FoldedText:
    """``text`` in the matching space (see the module's docstring), mapped back to the original."""
    return _fold_ascii(text) if text.isascii() else _fold_clusters(text)


def _fold_clusters(text: str) -> FoldedText:
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for start, end in _clusters(text):
        for char in _fold_cluster(text[start:end]):
            if char == " " and (not out or out[-1] == " "):
                continue  # leading spaces, and runs of spaces, become nothing and one space
            out.append(char)
            starts.append(start)
            ends.append(end)
    if out and out[-1] == " ":
        del out[-1], starts[-1], ends[-1]
    return FoldedText("".join(out), tuple(starts), tuple(ends))


def _fold_ascii(text: str) -> FoldedText:
    """What :func:`_fold_clusters` makes of ASCII (most texts), a run at a time rather than a character:
    letters lowercased, control characters dropped, whitespace runs one space."""
    parts: list[str] = []
    starts: list[int] = []
    for run in _ASCII_RUNS.finditer(text):
        if run.lastgroup == "space":
            if parts and parts[-1] != " ":
                parts.append(" ")
                starts.append(run.start())
        else:
            parts.append(run.group().lower())
            starts.extend(range(run.start(), run.end()))
    if parts and parts[-1] == " ":
        del parts[-1], starts[-1]
    return FoldedText("".join(parts), tuple(starts), tuple(map((1).__add__, starts)))


def normalize_for_matching(text: str) -> str:
    """The matching form of ``text``: what terms and checked texts are compared in.

    ``fold_for_matching(text).text``, without the offsets (tests hold them equal): matching
    needs the offsets only when a term was found.
    """
    if text.isascii():
        folded = _ASCII_CONTROLS.sub("", text).lower()
    else:
        folded = "".join(_fold_cluster(text[start:end]) for start, end in _clusters(text))
    return _WHITESPACE.sub(" ", folded).strip()


@dataclass(frozen=True)
class WordList:
    """Normalised, de-duplicated terms (in their first-seen order)."""

    terms: tuple[str, ...]

    @classmethod
    def from_terms(cls, terms: Iterable[str]) -> WordList:
        seen: dict[str, None] = {}
        for term in terms:
            if not isinstance(term, str):
                raise TypeError(f"a term must be a string, not {type(term).__name__}")
            norm = normalize_for_matching(term)
            if norm:
                seen.setdefault(norm, None)
        return cls(tuple(seen))

    @classmethod
    def parse(cls, text: str) -> WordList:
        """One term per line; blank lines and lines starting with ``#`` are ignored."""
        lines = (line.strip() for line in text.splitlines())
        return cls.from_terms(line for line in lines if line and not line.startswith("#"))

    def digest(self) -> str:
        return hashlib.sha256("\n".join(self.terms).encode("utf-8")).hexdigest()

    def __len__(self) -> int:
        return len(self.terms)


class SensitiveWords:
    """An Aho-Corasick automaton over a :class:`WordList`; ``find`` is linear in the text."""

    def __init__(self, words: WordList):
        self.words = words
        self.digest = words.digest()
        self._automaton: Any = None
        if words.terms:
            automaton = ahocorasick.Automaton()
            for term in words.terms:
                substring = any(is_continuous_script(c) for c in term)
                automaton.add_word(term, (term, substring))
            automaton.make_automaton()
            self._automaton = automaton

    @classmethod
    def from_terms(cls, terms: Iterable[str]) -> SensitiveWords:
        return cls(WordList.from_terms(terms))

    def __len__(self) -> int:
        return len(self.words)

    def find(self, text: str) -> list[str]:
        """The (normalised) terms found in ``text``, each once, in order of first appearance."""
        return list(dict.fromkeys(match.term for match in self.matches(text)))

    def matches(self, text: str) -> list[Match]:
        """Every occurrence of a term in ``text``, with its span in ``text`` as typed: from its
        first character to its last, the marks and invisible characters inside it included."""
        if self._automaton is None or not text:
            return []
        norm = normalize_for_matching(text)
        folded: FoldedText | None = None
        found: list[Match] = []
        for end, (term, substring) in self._automaton.iter(norm):
            start = end - len(term) + 1
            if not substring:
                if start > 0 and _is_word_char(norm[start - 1]) and _is_word_char(term[0]):
                    continue
                if end + 1 < len(norm) and _is_word_char(norm[end + 1]) and _is_word_char(term[-1]):
                    continue
            folded = folded or fold_for_matching(text)
            found.append(Match(term, *folded.span(start, end + 1)))
        return found


@dataclass(frozen=True)
class Match:
    """A listed term (normalised) found in ``text[start:end]`` of the text as typed."""

    term: str
    start: int
    end: int


def check_text(title: str, description: str, tags: Sequence[str], words: SensitiveWords) -> CheckResult:
    """Reject when any field contains a listed term; one finding per field that does.

    Tags are matched one by one (a term cannot straddle two tags) and reported as one field.
    """
    findings: list[Finding] = []
    for field_name, texts in (("title", [title]), ("description", [description]), ("tags", list(tags))):
        terms: dict[str, None] = {}
        for text in texts:
            for term in words.find(text or ""):
                terms.setdefault(term, None)
        if terms:
            evidence = {"field": field_name, "terms": list(terms)}
            findings.append(Finding(check=CHECK, code=CODE, evidence=evidence))
    return CheckResult(check=CHECK, verdict="reject" if findings else "pass", findings=findings)


class WordListSource(Protocol):
    def load(self) -> SensitiveWords:
        """The current word list; cheap when nothing changed (the automaton is cached)."""
        ...


class FileWordListSource:
    """A local text file, one term per line, ``#`` comments. Reloaded when the file's mtime or
    size changes, looked at no more often than every ``check_interval`` seconds.

    A file that disappears or cannot be read after a successful load keeps the last good list
    (logged); it must be readable the first time.
    """

    def __init__(self, path: str | os.PathLike[str], *, check_interval: float = 0.0):
        self.path = Path(path)
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._words: SensitiveWords | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked_at = float("-inf")

    def load(self) -> SensitiveWords:
        with self._lock:
            now = time.monotonic()
            if self._words is not None and now - self._checked_at < self.check_interval:
                return self._words
            self._checked_at = now
            try:
                stat = self.path.stat()
                stamp = (stat.st_mtime_ns, stat.st_size)
                if self._words is not None and stamp == self._stamp:
                    return self._words
                word_list = WordList.parse(self.path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                if self._words is None:
                    raise
                logger.warning("cannot reload the word list %s, keeping the last one: %s", self.path, exc)
                return self._words
            self._stamp = stamp
            if self._words is None or word_list.digest() != self._words.digest:
                self._words = SensitiveWords(word_list)
            return self._words


class AppConfigWordListSource:
    """An AppConfig configuration profile holding ``{"terms": ["...", ...]}`` (JSON).

    Powertools caches the fetched document for ``max_age`` seconds; the automaton is rebuilt
    only when the terms changed. A failed or malformed fetch after a successful one keeps the
    last good list (logged); the first fetch must succeed.
    """

    def __init__(self, application: str, environment: str, profile: str, max_age: int = 60):
        self.application = application
        self.environment = environment
        self.profile = profile
        self.max_age = max_age
        self._lock = threading.Lock()
        self._words: SensitiveWords | None = None

    def load(self) -> SensitiveWords:
        with self._lock:
            try:
                document = get_app_config(
                    name=self.profile,
                    environment=self.environment,
                    application=self.application,
                    max_age=self.max_age,
                    transform="json",
                )
                word_list = _word_list_from_document(document)
            except Exception as exc:
                if self._words is None:
                    raise
                logger.warning("cannot refresh the word list from AppConfig, keeping the last one: %s", exc)
                return self._words
            if self._words is None or word_list.digest() != self._words.digest:
                self._words = SensitiveWords(word_list)
            return self._words


def _word_list_from_document(document: Any) -> WordList:
    if not isinstance(document, dict) or not isinstance(document.get("terms"), list):
        raise ValueError('the moderation configuration must be a JSON object {"terms": [...]}')
    return WordList.from_terms(document["terms"])


def source_from_settings(settings: Settings, *, file_check_interval: float = 1.0) -> WordListSource:
    """The file named by ``MODERATION_WORD_LIST`` when set (embedded mode), else AppConfig.

    Build it once per process (module level in the handler) so that its cache lives on.
    """
    if settings.moderation_word_list:
        return FileWordListSource(settings.moderation_word_list, check_interval=file_check_interval)
    return AppConfigWordListSource(
        application=settings.moderation_appconfig_app,
        environment=settings.moderation_appconfig_env,
        profile=settings.moderation_appconfig_profile,
        max_age=settings.moderation_config_max_age_s,
    )
