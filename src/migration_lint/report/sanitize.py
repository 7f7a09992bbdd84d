"""Make text taken from migrations safe for each output channel."""

from __future__ import annotations

import re

# C0 and C1 controls (but tab and line feed), bidi embeddings, overrides, isolates and marks, and the
# Unicode line and paragraph separators: none of them may reach a terminal or a CI log raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\n\x0b-\x0d\x85\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: str) -> str:
    """No raw control characters (escape sequences, bidi overrides) reach the terminal."""
    return _CONTROL.sub(_shown, text)


def terminal_line(text: str) -> str:
    """`terminal`, valid UTF-8, and on one line: a line break inside it is shown escaped as well.

    For the parts of a one-line record (``path:line:col: … message``) that come from a migration, so
    that a file name or an identifier with a line break cannot start a line of its own.
    """
    return terminal(_LINE_BREAKS.sub(_shown, utf8(text)))


def one_line(text: str, limit: int = 0) -> str:
    text = " ".join(text.split())
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def utf8(text: str) -> str:
    """Valid UTF-8 always: lone surrogates become U+FFFD.

    They come from file names that are not valid UTF-8 (Python decodes their bytes as surrogates).
    """
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)
