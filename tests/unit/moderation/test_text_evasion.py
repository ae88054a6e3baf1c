"""Sensitive words written to evade the list (issue 12, point 3), and ordinary text that must pass.

Each evasion class writes a listed term so that it looks the same to a reader but is a different
code point sequence: invisible characters inside it, combining overlays on its letters, letters of
another script that look like Latin ones, or compatibility forms. Matching must see through them,
on the word list and the checked text alike, and report where the term is in the text as typed.
"""

from __future__ import annotations

import unicodedata

import pytest

from functions.moderation.logic import text
from functions.moderation.logic.text import (
    Match,
    SensitiveWords,
    check_text,
    fold_for_matching,
    normalize_for_matching,
)

WORDS = SensitiveWords.from_terms(["forbiddenword", "badword", "ass", "坏蛋", "ばか", "кот", "ม้า", "कुल"])


def _interleave(word: str, mark: str) -> str:
    """``mark`` after every letter: an overlay on each one, or an invisible between each pair."""
    return "".join(c + mark for c in word)


def _math_bold(ascii_text: str) -> str:
    """'ab' -> MATHEMATICAL BOLD SMALL A, B (U+1D41A...): the "fancy text" generators' output."""
    return "".join(chr(0x1D41A + ord(c) - ord("a")) for c in ascii_text)


def _full_width(ascii_text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in ascii_text)


EVASIONS = {
    "zero-width space U+200B": "forbidden\u200bword",
    "zero-width space between every letter": _interleave("forbiddenword", "\u200b"),
    "soft hyphen U+00AD": "forbid\u00addenword",
    "word joiner U+2060": "forbidden\u2060word",
    "zero-width joiner and non-joiner": "forbid\u200ddenw\u200cord",
    "byte order mark U+FEFF": "forbidden\ufeffword",
    "bidi override U+202E ... U+202C": "forbidden\u202eword\u202c",
    "tag characters U+E0061": "forbidden\U000e0061word",
    "Hangul filler U+3164": "forbidden\u3164word",
    "C0 control": "forbidden\x7fword",
    "combining long stroke overlay U+0336": _interleave("forbiddenword", "\u0336"),
    "combining long solidus overlay U+0338": _interleave("forbiddenword", "\u0338"),
    "zalgo (stacked diacritics)": "f\u0301\u0316o\u0308\u0353rbi\u0361dd\u0489enword",
    "variation selector U+FE0F": "forbidden\ufe0fword",
    "Cyrillic o": "forbiddenw\u043erd",
    "Cyrillic a and e": "b\u0430dword forbidd\u0435nword",
    "Cyrillic capitals": "FORBIDD\u0415NW\u041eRD",
    "Greek omicron and alpha": "forbiddenw\u03bfrd b\u03b1dword",
    "Greek capitals (Beta, Alpha)": "\u0392\u0391DWORD",
    "Latin small capitals": "forbiddenw\u1d0frd",
    "full-width forms": _full_width("FORBIDDENWORD"),
    "mathematical bold letters": _math_bold("forbiddenword"),
    "mixed case": "FoRbIdDeNwOrD",
    "several classes at once": "F\u043er\u200bb\u0336\u0456dd\u0435nw" + _math_bold("o") + "rd",
}


@pytest.mark.parametrize("title", EVASIONS.values(), ids=EVASIONS.keys())
def test_an_evasion_is_rejected_as_the_plain_term_is(title: str) -> None:
    result = check_text(title, "", [], WORDS)
    assert result.verdict == "reject"
    assert result.findings[0].evidence["field"] == "title"
    assert set(result.findings[0].evidence["terms"]) <= {"forbiddenword", "badword"}


@pytest.mark.parametrize("field", ["title", "description", "tags"])
def test_every_field_sees_through_evasions(field: str) -> None:
    evasive = "forbidden\u200bw\u043erd"
    fields = {"title": "", "description": "", "tags": [], field: [evasive] if field == "tags" else evasive}
    result = check_text(fields["title"], fields["description"], fields["tags"], WORDS)  # type: ignore[arg-type]
    assert [(f.evidence["field"], f.evidence["terms"]) for f in result.findings] == [
        (field, ["forbiddenword"])
    ]


def test_the_word_list_goes_through_the_same_normalisation() -> None:
    # A term listed with an evasion in it matches the plain word and every other spelling
    words = SensitiveWords.from_terms(["forb\u00adidden\u200bw\u043erd"])
    assert words.words.terms == ("forbiddenword",)
    evasions = [title for title in EVASIONS.values() if "forbiddenword" in WORDS.find(title)]
    assert len(evasions) == len(EVASIONS) - 1  # all but the Greek capitals, which spell "badword"
    for title in ("forbiddenword", *evasions):
        assert words.find(title) == ["forbiddenword"], title


def test_normalize_for_matching_is_the_one_function_for_terms_and_texts() -> None:
    assert normalize_for_matching("  Forbidden\u200b W\u043eRD\t\n ") == "forbidden word"
    assert normalize_for_matching("Stra\u00dfe") == "strasse"
    assert normalize_for_matching("caf\u00e9 / cafe\u0301") == "cafe / cafe"
    assert normalize_for_matching("\u200b\u00ad\u2060") == ""


def test_matches_give_offsets_in_the_text_as_typed() -> None:
    typed = "Look: f\u0336o\u0336rbidden\u200bw\u043erd\u0336! and b\u0430dword"
    found = WORDS.matches(typed)
    assert found == [
        Match(term="forbiddenword", start=6, end=typed.index("!")),
        Match(term="badword", start=typed.index("b\u0430d"), end=len(typed)),
    ]
    # the span covers the term as typed, marks on its last letter included, nothing around it
    assert typed[found[0].start : found[0].end] == "f\u0336o\u0336rbidden\u200bw\u043erd\u0336"
    assert typed[found[1].start : found[1].end] == "b\u0430dword"


def test_a_fold_maps_each_matching_character_back_to_the_typed_text() -> None:
    typed = "\u0391\u00df\uff42 x"
    folded = fold_for_matching(typed)
    assert folded.text == "assb x"
    assert [typed[s:e] for s, e in zip(folded.starts, folded.ends, strict=True)] == [
        "\u0391", "\u00df", "\u00df", "\uff42", " ", "x"
    ]  # fmt: skip


def test_the_stored_text_is_not_changed() -> None:
    typed = "forbidden\u200bw\u043erd"
    copy = str(typed)
    check_text(typed, typed, [typed], WORDS)
    assert typed == copy and len(typed) == 14


ORDINARY = {
    "English": "A classic day at the beach: sun, sea and a bass guitar at 10:30",
    "an ASCII word that UTS #39 alone would fold onto another (com/corn, 1/l)": "dot com, 101 ways",
    "French": "Un café crème à la terrasse, naïve résumé, Noël",
    "German": "Straße, Größe, Übermaß",
    "Spanish": "El niño y la cigüeña en São Paulo",
    "Vietnamese": "Tiếng Việt có dấu",
    "Polish and Czech": "Zażółć gęślą jaźń, příliš žluťoučký kůň",
    "Russian": "Привет, как дела? Сегодня хорошая погода",
    "Greek": "Καλημέρα κόσμε, τι κάνεις;",
    "Chinese": "今天天气很好\uff0c我们去公园",
    "Japanese (a voiced kana differs from its plain one)": "はかせの研究",
    "Korean": "안녕하세요 반갑습니다",
    "Thai (a tone mark is part of the spelling)": "ฉันมาที่นี่",
    "Hindi (a vowel sign is part of the spelling)": "कल मिलते हैं",
    "Arabic": "مرحبا بالعالم",
    "Hebrew": "שָׁלוֹם עוֹלָם",
    "emoji": "Party 🎉🔥 with 👨\u200d👩\u200d👧 and 👍🏽 ❤️",
    "symbols": "≠ ≤ © ™ ½ ① №5",
}


@pytest.mark.parametrize("sample", ORDINARY.values(), ids=ORDINARY.keys())
def test_ordinary_text_is_not_flagged(sample: str) -> None:
    assert check_text(sample, sample, sample.split(), WORDS).verdict == "pass", WORDS.find(sample)


@pytest.mark.parametrize("title", ["classé", "Massé", "assises", "badwordé", "übass"])
def test_a_latin_term_inside_an_accented_word_does_not_match(title: str) -> None:
    assert WORDS.find(title) == []


@pytest.mark.parametrize(
    ("listed", "typed"),
    [
        ("ばか", "ばかです"),
        ("坏蛋", "他是个坏\u200b蛋"),
        ("кот", "мой кот"),
        ("ม้า", "ม้าวิ่ง"),
        ("कुल", "कुल मिलाकर"),
    ],
)
def test_terms_in_other_scripts_still_match(listed: str, typed: str) -> None:
    assert WORDS.find(typed) == [normalize_for_matching(listed)]


def test_half_width_katakana_matches_the_full_width_term() -> None:
    words = SensitiveWords.from_terms(["バカ"])
    assert words.find("ﾊﾞｶだ") == ["バカ"]


def test_confusables_come_from_the_package_data_and_fold_only_onto_ascii() -> None:
    table = text._CONFUSABLE_TO_ASCII
    assert len(table) > 1000  # the Unicode confusables, not a hand-written list
    assert table["\u043e"] == "o" and table["\u0456"] == "i" and table["\u03bd"] == "v"
    assert all(not k.isascii() and v.isascii() and v.isalnum() for k, v in table.items())
    # The package keeps the pairs in both directions; a one-entry character is read as a source
    # mapped to its prototype, which holds only if no ASCII letter or digit maps to a non-ASCII one
    for char, entries in text.confusables_data.items():
        if len(char) == 1 and char.isascii() and char.isalnum() and len(entries) == 1:
            assert entries[0]["c"].isascii(), (char, entries)
    # A Hangul syllable is matched whole: a term is not found inside a longer syllable
    assert SensitiveWords.from_terms(["시바"]).find("시발") == []
    assert unicodedata.is_normalized("NFC", normalize_for_matching("시발"))


def test_the_ascii_fast_path_folds_as_the_general_one() -> None:
    # Every ASCII character, alone and between letters and spaces, and runs of them
    samples = [chr(c) for c in range(128)]
    samples += [f"  a{c}b {c}{c} C{c}\t" for c in samples] + ["".join(samples), "".join(reversed(samples))]
    for sample in samples:
        assert text._fold_ascii(sample) == text._fold_clusters(sample), repr(sample)


def test_the_matching_form_is_the_folded_text() -> None:
    ascii_samples = ["".join(map(chr, range(128))), " \t a\x00b \x1f c\x7f "]
    for sample in [*EVASIONS.values(), *ORDINARY.values(), *ascii_samples, " \u00a0\u0301x\t\u0308 \u3000"]:
        assert normalize_for_matching(sample) == fold_for_matching(sample).text, repr(sample)
