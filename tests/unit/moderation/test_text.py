from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from functions.moderation.logic import text
from functions.moderation.logic.text import (
    AppConfigWordListSource,
    FileWordListSource,
    SensitiveWords,
    WordList,
    check_text,
    source_from_settings,
)
from functions.shared.settings import Settings


def full_width(ascii_text: str) -> str:
    """ "BAD" -> the full-width forms U+FF22 U+FF21 U+FF24, as East Asian keyboards type them."""
    return "".join(chr(ord(c) + 0xFEE0) for c in ascii_text)


WORDS = SensitiveWords.from_terms(["badword", "ass", "Two Words", "坏蛋", "ばか"])


def test_clean_text_passes() -> None:
    result = check_text("A day at the beach", "Sun, sea and a classic car", ["travel", "summer"], WORDS)
    assert result.check == "text"
    assert result.verdict == "pass"
    assert result.findings == []


def test_a_listed_term_rejects_with_the_field_and_term() -> None:
    result = check_text("My badword video", "", [], WORDS)
    assert result.verdict == "reject"
    assert [f.to_dict() for f in result.findings] == [
        {"check": "text", "code": "sensitive_words", "evidence": {"field": "title", "terms": ["badword"]}}
    ]


def test_each_field_gets_its_own_finding_and_tags_are_one_field() -> None:
    result = check_text("badword", "an ass here", ["fine", "BADWORD", "ass"], WORDS)
    assert [(f.evidence["field"], f.evidence["terms"]) for f in result.findings] == [
        ("title", ["badword"]),
        ("description", ["ass"]),
        ("tags", ["badword", "ass"]),
    ]


@pytest.mark.parametrize(
    "title", [full_width("BADWORD"), "BaDwOrD", full_width("badword") + "!", "(Badword)", "x badword."]
)
def test_full_width_and_mixed_case_match(title: str) -> None:
    assert full_width("Bad") == "\uff22\uff41\uff44"
    assert check_text(title, "", [], WORDS).verdict == "reject"


@pytest.mark.parametrize("title", ["class", "Massive", "passage", "bass", "badwords", "assassin"])
def test_a_latin_term_inside_a_longer_word_does_not_match(title: str) -> None:
    assert check_text(title, "", [], WORDS).verdict == "pass"


@pytest.mark.parametrize("title", ["ass", "ASS!", "what an ass, really", "ass-kicking", "好ass"])
def test_a_latin_term_matches_as_a_whole_word(title: str) -> None:
    assert check_text(title, "", [], WORDS).verdict == "reject"


@pytest.mark.parametrize("title", ["他是个坏蛋啊", "坏蛋", "ばかです", "really坏蛋2"])
def test_cjk_terms_match_as_substrings(title: str) -> None:
    assert check_text(title, "", [], WORDS).verdict == "reject"


def test_multi_word_terms_ignore_spacing_and_case() -> None:
    assert WORDS.find("these are two   WORDS here") == ["two words"]
    assert WORDS.find("two wordsmiths") == []


def test_an_empty_list_matches_nothing() -> None:
    empty = SensitiveWords.from_terms([])
    assert len(empty) == 0
    assert check_text("anything", "at all", ["x"], empty).verdict == "pass"


def test_word_list_parsing_skips_comments_blanks_and_duplicates() -> None:
    words = WordList.parse(f"# a comment\n\nBad\n  bad  \n{full_width('BAD')}\nother term\n")
    assert words.terms == ("bad", "other term")


def _write(path: Path, content: str, *, mtime: float) -> None:
    path.write_text(content, encoding="utf-8")
    os.utime(path, (mtime, mtime))


def test_file_source_hot_reloads_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    _write(path, "# words\nbadword\n", mtime=1_000_000)
    source = FileWordListSource(path)
    first = source.load()
    assert check_text("a badword", "", [], first).verdict == "reject"
    assert check_text("a worseword", "", [], first).verdict == "pass"
    assert source.load() is first  # unchanged file: the same automaton

    _write(path, "worseword\n", mtime=1_000_010)
    second = source.load()
    assert second is not first
    assert check_text("a badword", "", [], second).verdict == "pass"
    assert check_text("a worseword", "", [], second).verdict == "reject"


def test_file_source_checks_at_most_every_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(text.time, "monotonic", lambda: clock[0])
    path = tmp_path / "words.txt"
    _write(path, "badword\n", mtime=1_000_000)
    source = FileWordListSource(path, check_interval=30)
    first = source.load()
    _write(path, "worseword\n", mtime=1_000_010)
    clock[0] += 10
    assert source.load() is first  # not looked at yet
    clock[0] += 25
    assert source.load().find("worseword") == ["worseword"]


def test_file_source_keeps_the_last_good_list_when_the_file_goes(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("badword\n", encoding="utf-8")
    source = FileWordListSource(path)
    first = source.load()
    path.unlink()
    assert source.load() is first
    with pytest.raises(FileNotFoundError):
        FileWordListSource(tmp_path / "missing.txt").load()


class _FakeAppConfig:
    def __init__(self, document: Any):
        self.document = document
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if isinstance(self.document, Exception):
            raise self.document
        return self.document


def test_appconfig_source_rebuilds_only_when_the_content_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeAppConfig({"terms": ["badword"]})
    monkeypatch.setattr(text, "get_app_config", fake)
    source = AppConfigWordListSource("vod", "prod", "moderation", max_age=45)

    first = source.load()
    assert first.find("a badword") == ["badword"]
    assert fake.calls == [
        {
            "name": "moderation",
            "environment": "prod",
            "application": "vod",
            "max_age": 45,
            "transform": "json",
        }
    ]
    fake.document = {"terms": ["BADWORD", "badword"]}  # same content once normalised
    assert source.load() is first

    fake.document = {"terms": ["badword", "worseword"]}  # content changed -> new automaton
    second = source.load()
    assert second is not first
    assert second.find("worseword and badword") == ["worseword", "badword"]
    assert len(fake.calls) == 3


def test_appconfig_source_keeps_the_last_good_list_on_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeAppConfig({"terms": ["badword"]})
    monkeypatch.setattr(text, "get_app_config", fake)
    source = AppConfigWordListSource("vod", "prod", "moderation", max_age=45)
    first = source.load()
    fake.document = {"words": ["oops"]}
    assert source.load() is first
    fake.document = RuntimeError("AppConfig is down")
    assert source.load() is first


def test_appconfig_source_refuses_a_malformed_first_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "get_app_config", _FakeAppConfig(["badword"]))
    with pytest.raises(ValueError, match="terms"):
        AppConfigWordListSource("vod", "prod", "moderation").load()


def test_source_from_settings_picks_the_file_when_configured(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("badword\n", encoding="utf-8")
    file_source = source_from_settings(Settings(MODERATION_WORD_LIST=str(path)))
    assert isinstance(file_source, FileWordListSource)
    assert file_source.path == path

    appconfig = source_from_settings(
        Settings(
            MODERATION_WORD_LIST="",
            MODERATION_APPCONFIG_APPLICATION="app",
            MODERATION_APPCONFIG_ENVIRONMENT="env",
            MODERATION_APPCONFIG_PROFILE="prof",
            MODERATION_CONFIG_MAX_AGE_SECONDS=5,
        )
    )
    assert isinstance(appconfig, AppConfigWordListSource)
    assert (appconfig.application, appconfig.environment, appconfig.profile, appconfig.max_age) == (
        "app",
        "env",
        "prof",
        5,
    )
