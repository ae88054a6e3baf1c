"""A listed word written with invisible characters or look-alikes is rejected by the moderation
step exactly as the plain word is (issue 12, point 3), through the handler, against moto.

Mirrors the "sensitive-title" case of tests/integration/test_moderation_fanout.py (its fixtures:
a word list file holding "forbiddenword", a stand-in frame classifier, a short clip).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from functions.videos.dal import videos as dal
from tests.integration.conftest import Account
from tests.integration.test_moderation_fanout import (  # noqa: F401 (fixtures)
    _reasons,
    _single,
    _upload,
    clip,
    moderation,
)

EVASIONS = {
    "zero-width space": "my forbidden\u200bword clip",
    "soft hyphen": "my forbid\u00addenword clip",
    "word joiner": "my forbidden\u2060word clip",
    "combining overlay": "my " + "".join(c + "\u0336" for c in "forbiddenword") + " clip",
    "Cyrillic look-alikes": "my f\u043erbidd\u0435nw\u043erd clip",
    "mathematical bold": "my " + "".join(chr(0x1D41A + ord(c) - ord("a")) for c in "forbiddenword") + " clip",
}


def _moderate(account: Account, source: Path, title: str) -> tuple[dict[str, Any], bool, str]:
    up = _upload(account, source, title)
    result, errored = _single(up)
    return result, errored, up.video_id


@pytest.mark.parametrize("title", EVASIONS.values(), ids=EVASIONS.keys())
def test_an_evasive_title_is_rejected_as_the_plain_word_is(
    account: Account,
    moderation: Callable[..., None],  # noqa: F811
    clip: Path,  # noqa: F811
    title: str,
) -> None:
    # Given the same clip titled with the plain listed word and with an evasion of it
    plain, plain_errored, plain_id = _moderate(account, clip, "my forbiddenword clip")
    evasive, evasive_errored, evasive_id = _moderate(account, clip, title)

    # Then both are rejected, for the same reasons and with the same evidence
    assert plain_errored and evasive_errored, evasive
    assert evasive["errorType"] == plain["errorType"] == "MediaRejected"
    assert evasive["errorMessage"] == plain["errorMessage"]
    assert evasive["errorMessage"].startswith("moderation_rejected")
    assert _reasons(evasive_id) == _reasons(plain_id)
    assert [(r["check"], r["code"]) for r in _reasons(evasive_id)] == [("text", "sensitive_words")]
    # And the video keeps its title as typed: only matching is normalised
    assert dal.get(evasive_id).title == title


def test_an_ordinary_accented_or_cjk_title_passes(
    account: Account,
    moderation: Callable[..., None],  # noqa: F811
    clip: Path,  # noqa: F811
) -> None:
    result, errored, video_id = _moderate(account, clip, "Café crème à Paris 🎉 今天天气很好 Привет")
    assert not errored, result
    assert result["verdict"] == "pass"
    assert _reasons(video_id) == []
