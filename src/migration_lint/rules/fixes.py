"""Machine-applicable fixes: text edits that rules attach to their findings (`ctx.finding(..., fix=...)`).

Each builder returns None when it cannot make a change that certainly removes the finding: a
statement inside a DO block, placeholders in the statement, a migration tool whose transaction the
statement cannot leave. Where the statement must run outside the transaction its tool runs the
file in, the fix moves it (or the part that must run on its own) into a new migration right after
this one (`ingest.layout.next_migration`): that changes the migration files, so it is unsafe.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pglast import parse_sql
from pglast.parser import scan

from migration_lint.facts.context import Context
from migration_lint.facts.transactions import non_transactional
from migration_lint.ingest.layout import next_migration
from migration_lint.ingest.source import MappedSource
from migration_lint.model import Edit, Fix, Statement


def _editable(ctx: Context, stmt: Statement) -> bool:
    """Can the statement's text be edited where it stands (not inside a DO body, no placeholders)?"""
    return stmt.parent is None and not isinstance(ctx.file_source, MappedSource)


def edit(ctx: Context, start: int, end: int, text: str) -> Edit:
    """Replace characters [start, end) of the file's text with `text`."""
    begin = ctx.file_source.position(start)
    finish = ctx.file_source.position(end)
    return Edit(begin.line, begin.column, finish.line, finish.column, text)


def statement_span(ctx: Context, stmt: Statement) -> tuple[int, int]:
    """The statement's characters with its `;` and the rest of its line (to remove it whole)."""
    text = ctx.file_source.text
    end = _past_blanks(text, stmt.end)
    end = end + 1 if text.startswith(";", end) else stmt.end
    after = _past_blanks(text, end)
    if text.startswith("\r\n", after):
        end = after + 2
    elif text.startswith(("\n", "\r"), after):
        end = after + 1
    return stmt.start, end


def _past_blanks(text: str, at: int) -> int:
    """The offset of the first character from `at` on that is not a space or a tab."""
    while at < len(text) and text[at] in " \t":
        at += 1
    return at


def after_token(stmt: Statement, names: Sequence[str], skip_parenthesised: bool = False) -> int | None:
    """The offset (in the file) just past the first token named one of `names` in the statement."""
    try:
        tokens = scan(stmt.sql)
    except Exception:
        return None
    depth = 0
    for token in tokens:
        if token.name == "ASCII_40":
            depth += 1
        elif token.name == "ASCII_41":
            depth -= 1
        elif token.name in names and (depth == 0 or not skip_parenthesised):
            return stmt.start + token.end + 1
    return None


def in_new_migration(ctx: Context, stmt: Statement, sql: str, title: str, name: str,
                     keep: str = "") -> Fix | None:
    """Move the statement (as `sql`) into a new migration right after this one; `keep` stays in its place."""
    if not _editable(ctx, stmt):
        return None
    target = next_migration(ctx.file, name)
    if target is None:
        return None
    start, end = statement_span(ctx, stmt)
    edits = [edit(ctx, start, end, keep)]
    for path, content in target.files(sql.rstrip().rstrip(";") + ";\n").items():
        edits.append(Edit(1, 1, 1, 1, content, path=str(path)))
    return Fix(title, edits, safe=False)


def run_outside_transaction(ctx: Context, stmt: Statement, sql: str, title: str, name: str,
                            inline: list[Edit] | None = None) -> Fix | None:
    """`sql` replaces the statement, and must run outside a transaction block: in place when the statement
    runs outside one (as `inline` edits when given, the smallest change), else in a new migration of its own."""
    if not _editable(ctx, stmt):
        return None
    transaction = ctx.transactions[stmt.index]
    if not transaction.active and not _splitter_wraps(ctx, sql) and stays_outside(ctx, _count(sql) - 1):
        edits = inline or [edit(ctx, stmt.start, stmt.end, sql.rstrip().rstrip(";"))]
        return Fix(title, edits, safe=True)
    if transaction.explicit:
        return None  # the file's own BEGIN … COMMIT: where it should go is the author's call
    return in_new_migration(ctx, stmt, sql, title + ", in a migration of its own", name)


def stays_outside(ctx: Context, added: int) -> bool:
    """Does the file still run outside a transaction once a fix adds `added` statements to it? (Prisma before
    7.4, golang-migrate and the Supabase CLI run a file of several statements as one implicit transaction.)"""
    return not ctx.implicit_with(added)


def wraps_non_transactional(ctx: Context, added: int) -> bool:
    """Would `added` more statements put a statement that cannot run in a transaction into an implicit one?"""
    if ctx.implicit or stays_outside(ctx, added):
        return False
    key = "wraps_non_transactional"
    if key not in ctx.memo:
        ctx.memo[key] = any(non_transactional(s, ctx.pg_version) for s in ctx.top_level)
    return ctx.memo[key]


def _count(sql: str) -> int:
    try:
        return max(1, len(parse_sql(sql)))
    except Exception:
        return 1


def _splitter_wraps(ctx: Context, sql: str) -> bool:
    """Prisma sends a migration.sql whole (one transaction) when its splitter cannot parse DROP INDEX
    CONCURRENTLY: with other statements in the file, the fixed statement would land in a transaction."""
    return (ctx.file.framework == "prisma" and "DROP INDEX CONCURRENTLY" in " ".join(sql.upper().split())
            and len(ctx.top_level) > 1)


def new_name(ctx: Context, what: str) -> str:
    """The name of a migration a fix creates: this migration's name and what it does apart."""
    base = ctx.file.name or (Path(ctx.file.display).stem if ctx.file.display else "migration")
    return f"{base}_{what}"


_DIRECTIVES = ("-- migrate:", "-- +goose", "--> statement-breakpoint", "-- +migrate")


def prepend(ctx: Context, text: str) -> Edit:
    """Insert `text` before the file's first statement and the comment lines right above it (Prisma's
    `-- AlterTable` belongs to its statement), but after the tool's directives (`-- migrate:up`)."""
    first = next((s for s in ctx.statements if s.parent is None), None)
    if first is None:
        return edit(ctx, 0, 0, text)
    source = ctx.file_source.text
    offset = source.rfind("\n", 0, first.start) + 1
    if source[offset:first.start].strip():
        offset = first.start  # something else on the statement's line
    while offset > 0:
        above = source.rfind("\n", 0, offset - 1) + 1
        line = source[above:offset].strip()
        if not line.startswith("--") or line.startswith(_DIRECTIVES):
            break
        offset = above
    return edit(ctx, offset, offset, text)
