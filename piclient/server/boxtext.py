"""Text a box sent, made safe to show: no control or bidi characters, no lone surrogates.

A box name or a film title holding U+202E reads backwards on the page and can disguise what follows;
C0/C1 controls garble a line; a lone surrogate cannot be encoded at all. Pages also wrap box text in
``<bdi>`` so a right-to-left title cannot reorder the words around it.
"""

from __future__ import annotations

import re

# C0 and C1 controls, the bidi embeddings, overrides, isolates and marks, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile("[\t\n\r]+")
_LINE_ENDS = re.compile("\r\n?")
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean(value: object, limit: int = 200) -> str:
    """``value`` as one line of plain text of at most ``limit`` characters."""
    text = value if isinstance(value, str) else str(value)
    text = _SURROGATES.sub("\ufffd", text[: limit * 2])
    text = _SPACES.sub(" ", _UNSAFE.sub("", text))
    return text[:limit]


def clean_block(value: object, limit: int = 2000) -> str:
    """``clean`` for text of several lines (an error's detail): line breaks stay, the rest goes."""
    text = value if isinstance(value, str) else str(value)
    return "\n".join(clean(line, limit) for line in text[: limit * 2].split("\n"))[:limit]


def clean_log(value: str) -> str:
    """A box's log as it is shown in a ``<pre>``: every line and tab kept, nothing that can hide or reorder.

    Unlike ``clean_block`` no line is cut short: the maintainer reads logs whole. A carriage return alone
    would let a line be overwritten on a terminal, so it becomes a line break, which shows both.
    """
    return _UNSAFE.sub("", _SURROGATES.sub("\ufffd", _LINE_ENDS.sub("\n", value)))
