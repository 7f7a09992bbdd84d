from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import prisma_schema_hint
from migration_lint.syntax import ast
from migration_lint.syntax.names import MAX_IDENTIFIER_BYTES, truncate

# A first pass: an identifier over 63 bytes is a quoted one, or an unquoted run of identifier characters
# (PostgreSQL's lexer: letters, digits, `_`, `$` and every non-ASCII character), of 16+ characters (4 bytes
# each at most), or 64+ in ASCII text.
_MAYBE_LONG_ASCII = re.compile(r'[A-Za-z0-9_$]{64,}|"[^"]{64,}')


@functools.cache
def _maybe_long() -> re.Pattern[str]:
    """For non-ASCII text (compiled on first use: the character class takes milliseconds to build)."""
    return re.compile(r'[A-Za-z0-9_$\x80-\U0010ffff]{16,}|"[^"]{16,}')

# keys whose value names the object a statement defines, wherever they appear in the tree
_DEFINING_KEYS = ("colname", "conname", "idxname", "newname", "trigname", "policy_name", "rulename")
# statement → the field that holds the relation (RangeVar) or the name list it creates
_RELATION_FIELD = {
    "CreateStmt": ("relation",), "CreateSeqStmt": ("sequence",), "ViewStmt": ("view",),
    "CreateTableAsStmt": ("into", "rel"), "CompositeTypeStmt": ("typevar",),
    "CreateForeignTableStmt": ("base", "relation"),
}
_NAME_LIST_FIELD = {
    "CreateEnumStmt": "typeName", "CreateRangeStmt": "typeName", "CreateDomainStmt": "domainname",
    "CreateFunctionStmt": "funcname", "DefineStmt": "defnames", "CreateStatsStmt": "defnames",
}
_TARGETS = tuple(sorted(set(_RELATION_FIELD) | set(_NAME_LIST_FIELD) | {
    "IndexStmt", "AlterTableStmt", "RenameStmt", "CreateTrigStmt", "CreatePolicyStmt", "RuleStmt",
    "CreateSchemaStmt", "CreateEventTrigStmt"}))


class IdentifierTooLong(Rule):
    """A name longer than 63 bytes, which PostgreSQL silently truncates.

    Reported where the name is defined: a table, view, sequence, column,
    index, constraint, trigger, policy, type, function or schema that the
    statement creates, and the new name of a `RENAME`. Later statements that
    use the same long name are not reported again. The limit counts UTF-8
    bytes, so a name with accents or other non-ASCII letters reaches it with
    fewer characters.

    ## Why is this bad?
    PostgreSQL cuts identifiers to 63 bytes (NAMEDATALEN - 1) with only a
    NOTICE, so the object gets a different name from the one in the migration.
    Two long names that share their first 63 bytes become the same name, and
    the second `CREATE` fails with "already exists" (or `IF NOT EXISTS` quietly
    skips it). Tools that compare names with the database (Prisma's drift
    check, ORMs, schema dumps, queries on `pg_indexes` or `to_regclass('…')`
    with the full name) see a name that does not exist.

    ## Example
    ```sql
    CREATE INDEX "WorkflowRunAttempt_organizationId_environmentId_createdAt_status_idx"
        ON "WorkflowRunAttempt" ("organizationId", "environmentId", "createdAt", "status");
    ```

    ## Use instead
    ```sql
    CREATE INDEX "WorkflowRunAttempt_org_env_createdAt_status_idx"
        ON "WorkflowRunAttempt" ("organizationId", "environmentId", "createdAt", "status");
    ```

    ## When it's fine
    Never needed: a shorter name costs nothing. If the truncated name is the
    one already deployed, rename it explicitly in a new migration.

    ## References
    - PostgreSQL: [Identifiers and Key Words](https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS)
    - Prisma: [Index and constraint name length](https://www.prisma.io/docs/orm/prisma-schema/data-model/database-mapping#constraint-and-index-names)
    """

    id = "identifier-too-long"
    summary = "identifier over 63 bytes: PostgreSQL silently truncates it, so names can collide or not match"
    severity = Severity.WARNING
    statements = _TARGETS

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        for offset, full, cut in _defined_long_names(ctx, stmt):
            clash = ""
            for other, other_offset, other_full in _by_truncated_name(ctx).get(cut, ()):
                if other is not stmt and other_full != full:
                    line = ctx.source.position(other.start + other_offset).line
                    clash = f"; {_show(other_full)} on line {line} truncates to the same name"
                    break
            pos = ctx.source.position(stmt.start + offset)
            yield ctx.finding(
                (pos.line, pos.column),
                f"the name {_show(full)} is {len(full.encode())} bytes long: PostgreSQL silently truncates it to "
                f"63 bytes, {ast.quote_ident(cut)}, so the object does not get the name this migration gives it{clash}",
                help=f"Use a name of at most 63 bytes (the truncated one would be {ast.quote_ident(cut)}), "
                "e.g. by abbreviating some of its words."
                + prisma_schema_hint(ctx, 'give it a shorter name with `map: "…"` on the attribute'),
            )


def _defined_long_names(ctx: Context, stmt: Any) -> list[tuple[int, str, str]]:
    """(character offset in the statement, full name, truncated name) of the long names a statement defines
    (worked out once per statement: the clash check asks for every statement of the file)."""
    known = ctx.memo.setdefault("identifier_too_long.names", {})
    found = known.get(stmt.index)
    if found is None:
        found = known[stmt.index] = _long_names(ctx, stmt)
    return found


def _by_truncated_name(ctx: Context) -> dict[str, list[tuple[Any, int, str]]]:
    """{truncated name: (statement, offset, full name) of each long name the file defines, in file order}, made
    once per file when a first long name asks for its clashes."""
    index = ctx.memo.get("identifier_too_long.by_cut")
    if index is None:
        index = ctx.memo["identifier_too_long.by_cut"] = {}
        for other in ctx.statements:
            for offset, full, cut in _defined_long_names(ctx, other):
                index.setdefault(cut, []).append((other, offset, full))
    return index


def _long_names(ctx: Context, stmt: Any) -> list[tuple[int, str, str]]:
    if stmt.node_type not in _TARGETS:
        return []
    long_tokens = _long_identifiers(stmt.sql)
    if not long_tokens:
        return []
    defined = _defined_names(stmt.node_type, stmt.node)
    references = _reference_offsets(ctx, stmt, stmt.node_type, stmt.node)
    out, seen = [], set()
    for offset, full, cut in long_tokens:
        if cut in defined and cut not in seen and offset not in references:
            seen.add(cut)
            out.append((offset, full, cut))
    return out


def _show(name: str) -> str:
    return ast.quote_ident(name) if len(name) <= 80 else ast.quote_ident(name[:77]) + "…"


def _long_identifiers(sql: str) -> list[tuple[int, str, str]]:
    """(character offset, full name, truncated name) of identifiers over 63 bytes in the statement."""
    if len(sql) <= MAX_IDENTIFIER_BYTES // 4 or not (_MAYBE_LONG_ASCII if sql.isascii() else _maybe_long()).search(sql):
        return []
    from pglast.parser import scan

    try:
        tokens = scan(sql)
    except Exception:  # the statement parsed, so this should not happen; report nothing rather than guess
        return []
    out = []
    for token in tokens:
        if token.name != "IDENT" or token.end - token.start + 1 <= MAX_IDENTIFIER_BYTES // 4:
            continue
        text = sql[token.start: token.end + 1]
        if text.startswith('"'):
            name = text[1:-1].replace('""', '"')
        elif text[:2].upper() == "U&":
            continue  # unicode-escaped identifier: spelled differently from its value
        else:
            name = "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in text)  # ASCII-only downcasing
        if len(name.encode()) > MAX_IDENTIFIER_BYTES:
            out.append((token.start, name, truncate(name)))
    return out


def _defined_names(node_type: str, node: dict) -> set[str]:
    """The (already truncated) names of the objects the statement defines or renames to."""
    names: set[str] = set()
    path = _RELATION_FIELD.get(node_type)
    if path:
        value: Any = node
        for key in path:
            value = ast.inner(value.get(key)) if isinstance(value, dict) else None
        if isinstance(value, dict) and value.get("relname"):
            names.add(value["relname"])
    field = _NAME_LIST_FIELD.get(node_type)
    if field:
        listed = ast.strings(node.get(field))
        if listed:
            names.add(listed[-1])
    if node_type == "CreateSchemaStmt" and node.get("schemaname"):
        names.add(node["schemaname"])
    if node_type == "CreateEventTrigStmt" and node.get("trigname"):
        names.add(node["trigname"])
    for _, child in ast.walk(node):
        for key in _DEFINING_KEYS:
            value = child.get(key)
            if isinstance(value, str):
                names.add(value)
    for key in _DEFINING_KEYS:
        if isinstance(node.get(key), str):
            names.add(node[key])
    return names


def _reference_offsets(ctx: Context, stmt: Any, node_type: str, node: dict) -> set[int]:
    """Character offsets (in the statement) of the tokens that name relations the statement only refers to."""
    defining = None
    path = _RELATION_FIELD.get(node_type)
    if path:
        value: Any = node
        for key in path:
            value = ast.inner(value.get(key)) if isinstance(value, dict) else None
        defining = value
    offsets: set[int] = set()
    start = stmt.start
    for rangevar in ast.rangevars(node):
        if rangevar is defining:
            continue
        loc = rangevar.get("location")
        if isinstance(loc, int) and loc >= 0:
            offsets.add(ctx.source.char_offset(loc) - start)
    return offsets
