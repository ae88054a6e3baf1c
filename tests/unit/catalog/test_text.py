"""Search tokens: case- and accent-insensitive words, CJK by character bigrams."""

from __future__ import annotations

import pytest

from functions.catalog.logic.text import facet_value, normalize, tokenize


def test_english_words_are_casefolded_tokens() -> None:
    assert tokenize("The Godfather, Part II") == ["the", "godfather", "part", "ii"]


@pytest.mark.parametrize("spelling", ["Amélie", "AMELIE", "amelie", "Ame\u0301lie"])
def test_accented_word_is_one_token_however_spelled(spelling: str) -> None:
    # Given precomposed, decomposed, upper-case and accent-less spellings
    # Then they all index and query as the same token
    assert tokenize(spelling) == ["amelie"]


def test_cafe_matches_café() -> None:
    assert tokenize("Café Society") == tokenize("cafe society") == ["cafe", "society"]


def test_compatibility_characters_fold() -> None:
    assert normalize("Straße ﬁre") == "strasse fire"


def test_apostrophe_words_index_parts_and_joined_form() -> None:
    tokens = tokenize("Le Fabuleux Destin d'Amélie Poulain")
    assert {"amelie", "damelie", "d"} <= set(tokens)
    assert set(tokenize("Ocean\u2019s Eleven")) == {"ocean", "s", "oceans", "eleven"}


def test_chinese_title_is_indexed_by_bigrams() -> None:
    assert tokenize("千与千寻") == ["千与", "与千", "千寻"]


def test_two_chinese_characters_query_one_bigram_of_the_title() -> None:
    # When a viewer types two consecutive characters of the title
    query = tokenize("千寻")
    # Then every query token is among the title's tokens
    assert query == ["千寻"]
    assert set(query) <= set(tokenize("千与千寻"))


def test_mixed_scripts_split_into_words_and_bigrams() -> None:
    assert tokenize("Spirited Away 千と千尋") == ["spirited", "away", "千と", "と千", "千尋"]


def test_a_lone_cjk_character_is_its_own_token() -> None:
    assert tokenize("雨") == ["雨"]


def test_punctuation_only_has_no_tokens() -> None:
    assert tokenize(" -- !? ") == []


def test_facet_values_normalize_like_tokens() -> None:
    assert facet_value("  Science   Fiction ") == facet_value("science fiction")
    assert facet_value("Comédie") == "comedie"
