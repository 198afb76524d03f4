"""Text helpers shared by every layer (like errors.py and files.py, this module imports nothing of perfscore).

``width``: how many columns a string takes on a terminal or in a fixed-width cell (CJK characters count two);
``tight``: Chinese set as an official document is, with no space between Chinese and figures.
"""
from __future__ import annotations

import re
import unicodedata


def width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


_CJK = "\u4e00-\u9fff（），。；：、“”"
_TIGHT = re.compile(rf"(?<=[{_CJK}])[ \u00a0]+(?=[0-9])|(?<=[0-9%])[ \u00a0]+(?=[{_CJK}])")


def tight(text: str) -> str:
    """No space between Chinese and figures, as an official document is set (the engine's reasons have some)."""
    return _TIGHT.sub("", text)
