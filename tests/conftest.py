from __future__ import annotations

import os

# No test ever opens a real window or sound device.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from tests.browser import phone_page  # noqa: F401 - the browser tests' fixture, shared from here
