"""Sensitive words in a video's title, description and tags (Aho-Corasick over normalised text).

Matching happens in a normalised space: ``NFKC`` folds compatibility forms (full-width letters,
ligatures, circled letters) onto their plain letters and ``casefold`` removes case (including
"ß" -> "ss"); runs of whitespace become one space. Terms and texts go through the same function.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import ahocorasick
from aws_lambda_powertools.utilities.parameters import get_app_config

from functions.moderation.logic.verdict import CheckResult, Finding
from functions.shared.settings import Settings

logger = logging.getLogger(__name__)

CHECK = "text"
CODE = "sensitive_words"

_WHITESPACE = re.compile(r"\s+")

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


def normalise(text: str) -> str:
    """The matching form of ``text``: NFKC, casefolded, whitespace runs collapsed to one space."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # casefold can produce sequences NFKC would compose differently; a second NFKC settles them.
    folded = unicodedata.normalize("NFKC", folded)
    return _WHITESPACE.sub(" ", folded).strip()


def is_continuous_script(char: str) -> bool:
    cp = ord(char)
    return any(lo <= cp <= hi for lo, hi in _CONTINUOUS_SCRIPT_RANGES)


def _is_word_char(char: str) -> bool:
    """A letter or digit of a script that separates words with spaces."""
    return char.isalnum() and not is_continuous_script(char)


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
            norm = normalise(term)
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
        if self._automaton is None or not text:
            return []
        norm = normalise(text)
        found: dict[str, None] = {}
        for end, (term, substring) in self._automaton.iter(norm):
            if term in found:
                continue
            start = end - len(term) + 1
            if not substring:
                if start > 0 and _is_word_char(norm[start - 1]) and _is_word_char(term[0]):
                    continue
                if end + 1 < len(norm) and _is_word_char(norm[end + 1]) and _is_word_char(term[-1]):
                    continue
            found[term] = None
        return list(found)


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
