"""The one error a publish run ends with: a plain sentence for the maintainer, the detail kept apart."""

from __future__ import annotations


class PublishError(RuntimeError):
    """Publishing stopped. ``str()`` is one plain sentence; ``detail`` is the technical part (ffmpeg's
    last lines, a path), shown one tap away on the dashboard and with ``--verbose`` on the CLI."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail
