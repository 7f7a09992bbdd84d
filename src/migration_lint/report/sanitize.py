"""Make text taken from migrations safe for each output channel."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal(text: str) -> str:
    """No raw control characters (escape sequences, bidi overrides) reach the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def one_line(text: str, limit: int = 0) -> str:
    text = " ".join(text.split())
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def utf8(text: str) -> str:
    """Valid UTF-8 always: lone surrogates (from odd input) become U+FFFD."""
    return text.encode("utf-8", "replace").decode("utf-8")
