"""A migration file → its parsed statements, or the reason it cannot be analysed.

Reading is bounded (`MAX_FILE_BYTES`); the text is decoded as UTF-8; a dbmate file keeps only its
`-- migrate:up` section; configured placeholders are substituted with the positions of the file kept
(findings point into the file as written). A file that cannot be read, decoded or parsed gives a
`Failure` at the line where reading stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migration_lint.ingest.source import MappedSource, Source, decode
from migration_lint.model import MigrationFile
from migration_lint.syntax.parse import Parsed, parse

# The parse tree of a file takes about 400 times its size in memory: beyond this, a file is reported, not
# parsed (the largest migration of the shared corpus is 33 kB; a schema dump of several MB is not a migration).
MAX_FILE_BYTES = 8 * 1024 * 1024


@dataclass
class Failure:
    message: str
    line: int = 1
    column: int = 1
    help: str = ""


@dataclass
class Loaded:
    parsed: Parsed | None
    error: Failure | None = None


def load(file: MigrationFile, placeholders: dict[str, str]) -> Loaded:
    text = file.text
    if text is None and file.data is not None:  # bytes read from stdin
        text, decode_error = decode(file.data)
        if decode_error:
            return _decode_failure(text, decode_error)
    elif text is None:
        try:
            size = file.path.stat().st_size if file.path else 0
            if size > MAX_FILE_BYTES:
                return Loaded(None, Failure(f"file is too large to lint ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})"))
            data = file.path.read_bytes() if file.path else b""
        except OSError as exc:
            return Loaded(None, Failure(f"cannot read file: {exc.strerror or exc}"))
        text, decode_error = decode(data)
        if decode_error:
            return _decode_failure(text, decode_error)
    if len(text) > MAX_FILE_BYTES:
        return Loaded(None, Failure(f"file is too large to lint ({len(text):,} characters; the limit is {MAX_FILE_BYTES:,} bytes)"))
    source = None
    if file.framework == "dbmate":
        text = dbmate_up_section(text)
    if placeholders:
        original = text
        text, edits = apply_placeholders(text, placeholders)
        if edits:
            source = MappedSource(text, original, edits)
    parsed = parse(text, source=source)
    if parsed.failure is not None:
        from migration_lint.facts.secrets import redact_text

        failure = parsed.failure
        # the parser quotes the SQL near the error: never a secret
        return Loaded(parsed, Failure(redact_text(failure.message), failure.line, failure.column, failure.hint))
    return Loaded(parsed)


def _decode_failure(text: str, decode_error: str) -> Loaded:
    pos = Source(text).position(max(0, text.find("\ufffd")))
    return Loaded(None, Failure(f"cannot be decoded as UTF-8: {decode_error}", pos.line, pos.column,
                                "Save the file as UTF-8; PostgreSQL migration tools read migrations as UTF-8."))


def apply_placeholders(text: str, placeholders: dict[str, str]) -> tuple[str, list[tuple[int, int, int, int]]]:
    """Substitute placeholders (`schema` means `${schema}`; a key with `$ { } :` is used as written).

    Returns the new text and the edits that map its offsets back to the file's.
    """
    if not placeholders:
        return text, []
    tokens = {(key if any(ch in key for ch in "${}:") else "${" + key + "}"): value for key, value in placeholders.items()}
    pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
    out: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    last = shift = 0
    for match in pattern.finditer(text):
        value = tokens[match.group()]
        out.append(text[last:match.start()])
        out.append(value)
        edits.append((match.start() + shift, len(value), match.start(), len(match.group())))
        shift += len(value) - len(match.group())
        last = match.end()
    out.append(text[last:])
    return "".join(out), edits


def dbmate_up_section(text: str) -> str:
    """Only the `-- migrate:up` part of a dbmate file; the rest is blanked (positions are kept)."""
    match = re.search(r"^--\s*migrate:down\b", text, re.M)
    if not match:
        return text
    tail = text[match.start():]
    return text[: match.start()] + re.sub(r"[^\r\n]", " ", tail)
