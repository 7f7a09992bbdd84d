from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.facts.types import SERIAL_BASE, plain_cast, split_type, type_change_rewrites
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import batched_update, prisma_edit_hint
from migration_lint.syntax import ast
from migration_lint.syntax.text import clause_text
from migration_lint.syntax.types import sql_type, type_words


class AlterColumnType(Rule):
    """`ALTER COLUMN … TYPE` that rewrites a table in use.

    The old type is taken from the earlier migrations. Changes that need no
    rewrite are not reported: `varchar(n)` to `varchar(m ≥ n)`, to `varchar`
    or to `text`; `text` to `varchar`; `numeric(p,s)` to `numeric(q ≥ p,s)` or
    `numeric`; dropping or raising a `timestamp`/`time`/`interval` precision;
    `cidr` to `inet`; `timestamp` to `timestamptz` on PostgreSQL 12+ when the
    migration session runs with `TimeZone = 'UTC'` (`timezone_utc`, on by
    default). A `USING` clause that only casts the column to the new type is
    the same as none. When the old type is not known from the migrations, the
    change is assumed to rewrite, and the message says so.

    ## Why is this bad?
    PostgreSQL copies every row into a new file and rebuilds every index of the
    table while it holds an ACCESS EXCLUSIVE lock: reads and writes wait for the
    whole rewrite, minutes on a large table, and it needs disk space for a
    second copy.

    ## Example
    ```sql
    ALTER TABLE "Order" ALTER COLUMN "quantity" TYPE bigint;
    ```

    ## Use instead
    ```sql
    ALTER TABLE "Order" ADD COLUMN "quantity_new" bigint;
    -- keep it in sync with a trigger, backfill it in batches, then in one short transaction:
    -- ALTER TABLE "Order" RENAME COLUMN "quantity" TO "quantity_old";
    -- ALTER TABLE "Order" RENAME COLUMN "quantity_new" TO "quantity";
    ```

    ## When it's fine
    On a table created in the same migration, or a small one. If the change is
    binary-coercible but the old type is not known from the migrations (the
    table was created outside them), suppress the finding with that reason.

    ## References
    - PostgreSQL: [ALTER TABLE, Notes](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES) ("changing the type of an existing column will require the entire table and its indexes to be rewritten", with the binary-coercible exceptions)
    - PostgreSQL 12 release notes: timestamp to timestamptz without a rewrite when the session time zone is UTC
    - strong_migrations: [Changing the type of a column](https://github.com/ankane/strong_migrations#changing-the-type-of-a-column)
    """

    id = "alter-column-type"
    summary = "ALTER COLUMN … TYPE rewrites the table and its indexes under ACCESS EXCLUSIVE"
    severity = Severity.ERROR
    checklist = ("lock-timeout", "long-lock")
    statements = ("AlterTableStmt",)
    lock = "ACCESS EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if node.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
            return
        table = ast.relation_name(node.get("relation"))
        if ctx.is_new_table(table):
            return
        qt = ast.quote_qualified(table)
        model = ctx.schema.table(table)
        found: list[tuple[dict | Statement, str, str, str]] = []  # (anchor, column, message, help) per rewriting subcommand
        rescans: list[tuple[dict | Statement, str, str, list[str]]] = []  # no rewrite, but indexes or CHECKs read it all
        # one ALTER TABLE statement rewrites the table once, however many columns it changes: one finding
        for cmd in ast.alter_commands(node):
            if cmd.subtype != "AT_AlterColumnType":
                continue
            column = cmd.name or "?"
            _, coldef = cmd.definition
            new_type = ast.type_name(coldef.get("typeName"))
            new_sql = sql_type(coldef.get("typeName"))
            using = coldef.get("raw_default")
            if using is not None and plain_cast(using, column, new_type):
                using = None
            known = model.columns.get(column) if model is not None else None
            old_type = SERIAL_BASE.get(known.type, known.type) if known is not None else None
            if using is None and old_type is not None and not _rewrites(old_type, new_type, ctx):
                rechecks = ctx.locks.type_change_rechecks(table, column, coldef)
                if rechecks:
                    rescans.append((coldef if coldef.get("location") is not None else stmt, column, new_sql, rechecks))
                continue
            qc = ast.quote_ident(column)
            old_words = type_words(old_type) if old_type is not None else ""
            if using is not None:
                why = "the USING expression is computed for every row"
            elif old_type is not None and {split_type(old_type)[0], split_type(new_type)[0]} == _TIMESTAMPS:
                why = f"{old_words} to {new_sql} " + _timestamptz_note(ctx)
            elif old_type is not None:
                why = f"{old_words} to {new_sql} is not binary-coercible"
            if old_type is None and using is None:
                message = (f"ALTER COLUMN {qc} TYPE {new_sql} rewrites {qt} and its indexes under an ACCESS EXCLUSIVE "
                           f"lock unless the change is binary-coercible (the old type of {qc} is not known from the "
                           f"migrations): reads and writes of {qt} wait until it ends")
            else:
                message = (f"ALTER COLUMN {qc} TYPE {new_sql} rewrites {qt} and its indexes ({why}) under an ACCESS "
                           f"EXCLUSIVE lock: reads and writes of {qt} wait until it ends")
            new_column = ast.quote_ident(f"{column}_new")
            using_sql = ""
            if using is not None:
                using_sql = clause_text(ctx.source, ctx.statement, _using_location(ctx, coldef), frozenset({"COLLATE"}))
            expression = using_sql or f"{qc}::{new_sql}"
            pending = f"{new_column} IS NULL AND {qc} IS NOT NULL"
            help_text = (
                f"Change it without a long lock: `ALTER TABLE {qt} ADD COLUMN {new_column} {new_sql};`, keep it in "
                f"sync for new writes with a trigger, backfill it in batches outside the migration "
                f"(`{batched_update(ctx.schema, table, f'{new_column} = {expression}', pending)}` "
                f"until it updates no row), then swap them in one short transaction: "
                f"`ALTER TABLE {qt} RENAME COLUMN {qc} TO {ast.quote_ident(column + '_old')};` and "
                f"`ALTER TABLE {qt} RENAME COLUMN {new_column} TO {qc};` (recreate indexes and constraints on the new "
                "column first, CONCURRENTLY / NOT VALID)."
            )
            if (using is not None and old_type is not None and _utc_conversion(using, column) and ctx.pg_version >= 12
                    and split_type(old_type)[0] == "timestamp" and split_type(new_type) == ("timestamptz", [], False)):
                help_text = (f"Drop the USING clause and run it in a session with `SET TimeZone = 'UTC';`: "
                             f"`ALTER TABLE {qt} ALTER COLUMN {qc} TYPE {new_sql};` then reads the old values as UTC, "
                             "the same result, and PostgreSQL 12+ skips the rewrite. Otherwise: " + help_text[0].lower()
                             + help_text[1:])
            if old_type is None:
                help_text += (" If the change is binary-coercible (varchar(n) to varchar(m ≥ n) or text, "
                              "numeric(p,s) to numeric(q ≥ p,s), …), it does not rewrite: suppress this finding "
                              "with that reason.")
            found.append((coldef if coldef.get("location") is not None else ctx.statement, qc, message,
                          help_text))
        if not found:
            if rescans:
                yield self._rescan(rescans, qt, ctx)
            return
        # one ALTER TABLE statement rewrites the table once, however many columns it changes
        anchor, _, message, help_text = found[0]
        if len(found) > 1:
            others = ", ".join(column for _, column, _, _ in found[1:])
            message += f" (the same rewrite also changes {others})"
        yield ctx.finding(anchor, message, help=help_text + prisma_edit_hint(ctx))


    @staticmethod
    def _rescan(rescans: list, qt: str, ctx: Context) -> Finding:
        """A type change that keeps the table's data but reads all of it again (index rebuilds, CHECKs)."""
        anchor, column, new_sql, rechecks = rescans[0]
        qc = ast.quote_ident(column)
        work = [r for _, _, _, items in rescans for r in items]
        shown = ", ".join(f"{kind} {ast.quote_ident(name)}" for kind, _, name in (w.partition(" ") for w in work))
        indexes = [w.partition(" ")[2] for w in work if w.startswith("index ")]
        checks = [w.partition(" ")[2] for w in work if w.startswith("constraint ")]
        steps = []
        if indexes:
            steps.append("drop the indexes first (" + ", ".join(f"`DROP INDEX CONCURRENTLY {ast.quote_ident(i)};`" for i in indexes)
                         + "), change the type, then build them again with `CREATE INDEX CONCURRENTLY …` (queries that "
                         "use them are slower in between)")
        if checks:
            steps.append("drop the CHECK constraints (" + ", ".join(f"`ALTER TABLE {qt} DROP CONSTRAINT {ast.quote_ident(c)};`" for c in checks)
                         + "), change the type, then add them back with `NOT VALID` and `VALIDATE CONSTRAINT` in a later "
                         "transaction (reads and writes go on)")
        return ctx.finding(
            anchor,
            f"ALTER COLUMN {qc} TYPE {new_sql} does not rewrite {qt}, but rebuilds or checks again {shown} under an "
            f"ACCESS EXCLUSIVE lock: reads and writes of {qt} wait while the whole table is read",
            help="To keep the lock brief: " + "; and ".join(steps) + "." + prisma_edit_hint(ctx),
        )

_TIMESTAMPS = {"timestamp", "timestamptz"}


def _rewrites(old_type: str, new_type: str, ctx: Context) -> bool:
    return type_change_rewrites(old_type, new_type, pg_version=ctx.pg_version, timezone_utc=ctx.config.timezone_utc)


def _timestamptz_note(ctx: Context) -> str:
    if ctx.pg_version < 12:
        return "rewrites before PostgreSQL 12"
    if not ctx.config.timezone_utc:
        return "rewrites unless the session time zone is UTC (`timezone_utc` is off)"
    return "rewrites when the new type has a precision; without one it would not in a UTC session"


def _utc_conversion(using: object, column: str) -> bool:
    """Is USING ``col AT TIME ZONE 'UTC'``?"""
    kind, value = ast.unwrap(using)
    if kind != "FuncCall" or ast.strings(value.get("funcname"))[-1:] != ["timezone"]:
        return False
    args = value.get("args") or []
    if len(args) != 2 or str(ast.const_value(args[0])).upper() not in ("UTC", "ETC/UTC", "Z"):
        return False
    return plain_cast(args[1], column, "")


def _using_location(ctx: Context, coldef: dict) -> int | None:
    """Byte offset of the first token after USING in the ALTER COLUMN clause."""
    from pglast.parser import scan

    location = coldef.get("location")
    if location is None:
        return None
    stmt = ctx.statement
    start = ctx.source.char_offset(location)
    piece = ctx.source.text[start: stmt.start + len(stmt.sql)]
    try:
        tokens = scan(piece)
    except Exception:  # pragma: no cover
        return None
    for token, following in zip(tokens, tokens[1:]):
        if token.name == "USING":
            return ctx.source.byte_offset(start + following.start)
    return None

