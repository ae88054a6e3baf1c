"""Text shown to others keeps what people type but refuses control and bidi control characters
(issue 12, point 10): video titles, tags and descriptions; catalog titles, tags, cast, synopses;
profile names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.catalog.contract import CreateTitleRequest
from functions.identity.models import CreateProfileRequest
from functions.shared.text import refused_characters
from functions.videos.models import CreateVideoRequest

REFUSED = {
    "NUL": "a\x00b",
    "ESC": "\x1b[31mred",
    "DEL": "a\x7fb",
    "C1 control": "a\x85b",
    "right-to-left override": "evil\u202efdp.exe",
    "left-to-right embedding": "a\u202ab",
    "first strong isolate": "a\u2068b",
    "right-to-left mark": "a\u200fb",
    "Arabic letter mark": "a\u061cb",
}
KEPT = {
    "emoji with joiner": "family \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "emoji with variation selector": "\u2764\ufe0f",
    "CJK": "千と千尋の神隠し",
    "accents": "Amélie à Montréal",
    "Arabic": "مرحبا",
    "Hebrew": "שלום",
}


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_control_and_bidi_characters_are_refused_everywhere_people_read_text(text: str) -> None:
    for build in (
        lambda: CreateVideoRequest(title=text),
        lambda: CreateVideoRequest(title="ok", tags=[text]),
        lambda: CreateVideoRequest(title="ok", description=text),
        lambda: CreateTitleRequest.model_validate({"kind": "movie", "title": text}),
        lambda: CreateTitleRequest.model_validate({"kind": "movie", "title": "ok", "tags": [text]}),
        lambda: CreateTitleRequest.model_validate({"kind": "movie", "title": "ok", "synopsis": text}),
        lambda: CreateProfileRequest(name=text),
    ):
        with pytest.raises(ValidationError, match="control characters"):
            build()


@pytest.mark.parametrize("text", KEPT.values(), ids=KEPT.keys())
def test_what_people_really_type_is_kept_as_typed(text: str) -> None:
    assert CreateVideoRequest(title=text, tags=[text], description=text).title == text
    assert CreateTitleRequest.model_validate({"kind": "movie", "title": text}).title == text
    assert CreateProfileRequest(name=text[:50]).name == text[:50]


def test_descriptions_keep_line_breaks_and_tabs_titles_do_not() -> None:
    text = "line one\nline two\tcolumn\r\n"
    assert CreateVideoRequest(title="ok", description=text).description == text.strip()
    with pytest.raises(ValidationError):
        CreateVideoRequest(title="a\nb")


def test_the_error_names_each_refused_code_point_once() -> None:
    assert refused_characters("a\x00b\x00\u202e") == ["U+0000", "U+202E"]
