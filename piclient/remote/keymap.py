"""The one table from device codes to virtual buttons.

Keyboard keys and HDMI-CEC user-control codes both land here, so a screen never knows which remote
was used and the config file can retarget any key in one place (``remote.keyboard`` / ``remote.cec``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from piclient.config.schema import RemoteConfig
from piclient.remote.buttons import Button

# Keyed by what ``pygame.key.name()`` returns, lowercased (pygame says "AC Back", config files say
# whatever their author typed). Every button has at least one key, so the whole UI can be driven from
# a keyboard on a desk as well as from the TV remote.
DEFAULT_KEYBOARD: Mapping[str, Button] = MappingProxyType(
    {
        "up": Button.UP,
        "down": Button.DOWN,
        "left": Button.LEFT,
        "right": Button.RIGHT,
        "return": Button.OK,
        "enter": Button.OK,  # the keypad's Enter
        "escape": Button.BACK,
        "backspace": Button.BACK,
        "ac back": Button.BACK,  # the Back key of air-mouse remotes and Android-style keyboards
        "space": Button.PLAYPAUSE,
        "p": Button.PLAYPAUSE,
        "s": Button.STOP,
        "f": Button.FF,
        "r": Button.RW,
        ".": Button.FF,
        ",": Button.RW,
        "f1": Button.RED,
        "f2": Button.GREEN,
        "f3": Button.YELLOW,
        "f4": Button.BLUE,
        "i": Button.INFO,
        **{str(d): Button(str(d)) for d in range(10)},
        **{f"[{d}]": Button(str(d)) for d in range(10)},  # keypad digits
    }
)

# HDMI-CEC user-control codes (CEC 1.4 table 27), named as libcec names them. Codes that have no
# sensible meaning in a two-level launcher stay unmapped on purpose (ROOT_MENU 0x09, SETUP_MENU 0x0A,
# CONTENTS_MENU 0x0B, POWER 0x40, volume 0x41-0x43, FORWARD/BACKWARD 0x4B/0x4C which are chapter skips):
# an unmapped code is logged at debug and ignored, and the config can still map any of them.
DEFAULT_CEC: Mapping[int, Button] = MappingProxyType(
    {
        0x00: Button.OK,  # CEC_USER_CONTROL_CODE_SELECT
        0x01: Button.UP,  # CEC_USER_CONTROL_CODE_UP
        0x02: Button.DOWN,  # CEC_USER_CONTROL_CODE_DOWN
        0x03: Button.LEFT,  # CEC_USER_CONTROL_CODE_LEFT
        0x04: Button.RIGHT,  # CEC_USER_CONTROL_CODE_RIGHT
        0x0D: Button.BACK,  # CEC_USER_CONTROL_CODE_EXIT
        0x2B: Button.OK,  # CEC_USER_CONTROL_CODE_ENTER (some remotes send it for their OK key)
        **{0x20 + d: Button(str(d)) for d in range(10)},  # CEC_USER_CONTROL_CODE_NUMBER0..NUMBER9
        0x35: Button.INFO,  # CEC_USER_CONTROL_CODE_DISPLAY_INFORMATION
        0x44: Button.PLAY,  # CEC_USER_CONTROL_CODE_PLAY
        0x45: Button.STOP,  # CEC_USER_CONTROL_CODE_STOP
        0x46: Button.PAUSE,  # CEC_USER_CONTROL_CODE_PAUSE
        0x48: Button.RW,  # CEC_USER_CONTROL_CODE_REWIND
        0x49: Button.FF,  # CEC_USER_CONTROL_CODE_FAST_FORWARD
        0x60: Button.PLAY,  # CEC_USER_CONTROL_CODE_PLAY_FUNCTION
        0x61: Button.PLAYPAUSE,  # CEC_USER_CONTROL_CODE_PAUSE_PLAY_FUNCTION
        0x64: Button.STOP,  # CEC_USER_CONTROL_CODE_STOP_FUNCTION
        # CEC numbers the colour keys F1 blue, F2 red, F3 green, F4 yellow; the colours are what the
        # viewer sees on her remote, so the colours are what we map.
        0x71: Button.BLUE,  # CEC_USER_CONTROL_CODE_F1_BLUE
        0x72: Button.RED,  # CEC_USER_CONTROL_CODE_F2_RED
        0x73: Button.GREEN,  # CEC_USER_CONTROL_CODE_F3_GREEN
        0x74: Button.YELLOW,  # CEC_USER_CONTROL_CODE_F4_YELLOW
        0x91: Button.BACK,  # CEC_USER_CONTROL_CODE_AN_RETURN: Samsung (Anynet+) sends it for Return
    }
)


class Keymap:
    """Defaults plus config overrides; lookups answer ``None`` for keys that mean nothing here."""

    def __init__(self, keyboard: Mapping[str, Button], cec: Mapping[int, Button]) -> None:
        self._keyboard = {name.lower(): button for name, button in keyboard.items()}
        self._cec = dict(cec)

    @classmethod
    def from_config(cls, remote: RemoteConfig | None = None) -> Keymap:
        """The defaults with ``remote.keyboard`` and ``remote.cec`` laid over them, entry by entry."""
        remote = remote or RemoteConfig()
        return cls(
            keyboard={**DEFAULT_KEYBOARD, **{k.lower(): v for k, v in remote.keyboard.items()}},
            cec={**DEFAULT_CEC, **remote.cec},
        )

    def keyboard(self, key_name: str) -> Button | None:
        return self._keyboard.get(key_name.lower())

    def cec(self, code: int) -> Button | None:
        return self._cec.get(code)
