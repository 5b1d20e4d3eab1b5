from __future__ import annotations

import pytest

from piclient.server.i18n import TEXT, choose, translator


@pytest.mark.parametrize(("cookie", "header", "expected"), [
    (None, "ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
    (None, "en-GB,en;q=0.9,ko;q=0.8", "en"),
    (None, "fr-FR,ko;q=0.5", "ko"),
    (None, "fr-FR,de;q=0.5", "en"),
    (None, None, "en"),
    ("ko", "en", "ko"),
    ("xx", "ko", "ko"),
    (None, "en;q=0.2,ko;q=0.9", "ko"),
    (None, "ko;q=garbage,en", "en"),
])
def test_the_language_comes_from_the_toggle_then_the_browser(cookie: str | None, header: str | None,
                                                             expected: str) -> None:
    assert choose(cookie, header) == expected


def test_every_english_text_has_a_korean_one_with_the_same_placeholders() -> None:
    import string

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    assert TEXT["en"].keys() == TEXT["ko"].keys()
    for key, english in TEXT["en"].items():
        assert fields(english) == fields(TEXT["ko"][key]), key


def test_a_missing_key_falls_back_to_its_name() -> None:
    assert translator("ko")("no-such-key") == "no-such-key"
