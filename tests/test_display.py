"""The display: which one the launcher draws on, and saying so when it is not the TV."""

from __future__ import annotations

from collections.abc import Iterator

import pygame
import pytest

from piclient import display
from piclient.tv import player_output


@pytest.fixture
def fresh_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(display, "_wanted_driver", None)
    pygame.display.quit()
    yield
    pygame.display.quit()


@pytest.mark.parametrize(("configured", "driver", "expected"), [
    ("auto", "KMSDRM", "handover"),  # SDL's own spelling of the driver's name
    ("auto", "kmsdrm", "handover"),
    ("auto", "x11", "embedded"),
    ("auto", "dummy", "embedded"),
    ("embedded", "KMSDRM", "embedded"),
    ("handover", "x11", "handover"),
])
def test_auto_output_is_the_handover_exactly_on_kms(configured: str, driver: str, expected: str) -> None:
    assert player_output(configured, driver) == expected


def test_an_off_screen_surface_is_reported_as_no_real_display(fresh_display: None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    display.open_display(False, (320, 180))
    status = display.display_status()
    assert status["driver"] == "dummy" and status["real"] is False and status["error"] is None


def test_a_display_that_cannot_be_opened_is_an_error_in_the_status(fresh_display: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "no-such-driver")
    surface = display.open_display(False, (320, 180), attempts=2, retry_s=0.01)
    assert surface.get_size() == (320, 180)  # the launcher goes on off-screen: the socket still answers
    status = display.display_status()
    assert status["driver"] == "dummy" and status["real"] is False
    assert "no display could be opened" in status["error"]


def test_a_reopen_tries_the_wanted_display_again_instead_of_staying_off_screen(
        fresh_display: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "no-such-driver")
    display.open_display(False, (320, 180))
    pygame.display.quit()
    # The real display comes back (here: the driver the launcher was started with now works).
    monkeypatch.setattr(display, "_wanted_driver", "offscreen")
    display.open_display(False, (320, 180))
    assert display.display_status()["driver"] == "offscreen"
    assert display.display_status()["error"] is None
