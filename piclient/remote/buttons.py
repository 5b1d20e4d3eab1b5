"""Virtual buttons: the only input the screens ever see.

Every source (keyboard, HDMI-CEC, the control socket) maps its own codes to these in one table
(``piclient.remote.keymap``), so a screen never knows which remote was used.
"""

from __future__ import annotations

import enum


class Button(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    LEFT = "left"
    RIGHT = "right"
    OK = "ok"
    BACK = "back"
    PLAY = "play"
    PAUSE = "pause"
    PLAYPAUSE = "playpause"
    STOP = "stop"
    FF = "ff"
    RW = "rw"
    RED = "red"
    GREEN = "green"
    YELLOW = "yellow"
    BLUE = "blue"
    INFO = "info"
    DIGIT_0 = "0"
    DIGIT_1 = "1"
    DIGIT_2 = "2"
    DIGIT_3 = "3"
    DIGIT_4 = "4"
    DIGIT_5 = "5"
    DIGIT_6 = "6"
    DIGIT_7 = "7"
    DIGIT_8 = "8"
    DIGIT_9 = "9"

    @classmethod
    def parse(cls, name: str) -> Button:
        """Accept 'up', 'UP' or 'DIGIT_1'/'1'; raise ValueError naming the choices otherwise."""
        text = name.strip()
        try:
            return cls(text.lower())
        except ValueError:
            pass
        try:
            return cls[text.upper()]
        except KeyError:
            choices = ", ".join(b.name for b in cls)
            raise ValueError(f"unknown button {name!r}; choose one of {choices}") from None

    @classmethod
    def _missing_(cls, value: object) -> Button | None:
        # Lets pydantic (and config files) accept "UP" as well as "up".
        if isinstance(value, str):
            for member in cls:
                if member.name == value.upper() or member.value == value.lower():
                    return member
        return None


# Buttons that repeat while held; the others fire once per press (holding OK must not play twice).
REPEATING: frozenset[Button] = frozenset({Button.UP, Button.DOWN, Button.LEFT, Button.RIGHT, Button.FF, Button.RW})
