"""The viewer's sentences: every one the launcher can pick exists in both languages and fits the screen."""

from __future__ import annotations

import pytest

from piclient.catalog.cache import ErrorKind
from piclient.ui.i18n import STRINGS, Strings
from piclient.ui.theme import Fonts


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_catalog_failure_kind_has_a_short_calm_sentence(language: str) -> None:
    strings = Strings(language)
    fonts = Fonts(scale=1.0)  # a 1080p screen
    sentences = set()
    for kind in ErrorKind:
        assert language in STRINGS[f"sync.{kind}"]
        text = strings(f"sync.{kind}")
        # The footer is one line at 32 px: it must fit with room to spare, and never be technical.
        assert fonts.render(text, 32).get_width() < 0.8 * 1920, text
        assert not any(word in text.lower() for word in ("error", "http", "token", "오류")), text
        sentences.add(text)
    assert len(sentences) == len(ErrorKind)  # each kind says something different
