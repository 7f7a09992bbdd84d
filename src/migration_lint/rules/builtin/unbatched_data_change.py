from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.facts.rows import constant_truth, key_columns, primary_key, targets_few_rows
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import batched, keyset
from migration_lint.syntax import ast


def _system_table(name: str) -> bool:
    """System catalogs (`pg_index`, `pg_catalog.pg_class`, `information_schema.…`)."""
    schema, _, relname = name.rpartition(".")
    return schema in ("pg_catalog", "information_schema") or (not schema and relname.startswith("pg_"))


@functools.lru_cache(maxsize=8)
def _tree(sql: str):
    """The statement as pglast node objects (parsed once for the several parts one finding deparses)."""
    from pglast import parse_sql

    return parse_sql(sql)[0].stmt


def deparse(sql: str, part: str) -> str | None:
    """Deparse a part of a single statement (`whereClause`, `targetList`, `fromClause`) back to SQL."""
    try:
        from pglast.stream import RawStream

        stmt = _tree(sql)
        value = getattr(stmt, part)
        if value is None:
            return None
        if part == "targetList":
            sets = []
            for target in value:
                if target.val is None or target.val.__class__.__name__ == "MultiAssignRef":
                    return None
                name = ast.quote_ident(target.name)
                if target.indirection:
                    return None
                sets.append(f"{name} = {RawStream()(target.val)}")
            return ", ".join(sets)
        if isinstance(value, tuple):
            return ", ".join(RawStream()(v) for v in value)
        return RawStream()(value)
    except Exception:  # deparsing is best effort: the help falls back to placeholders
        return None


_LONG_LITERAL = re.compile(r"'(?:[^']|'')*'")


def _short(text: str | None, fallback: str) -> str:
    """Deparsed SQL for a help text: long string constants elided (they may hold data or secrets)."""
    if not text:
        return fallback
    from migration_lint.facts.secrets import redact_text

    text = _LONG_LITERAL.sub(lambda m: m.group(0) if len(m.group(0)) <= 26 else "'…'", redact_text(text))
    return text if len(text) <= 300 else fallback


class UnbatchedDataChange(Rule):
    """`UPDATE` or `DELETE` of many rows of a table in use, in one statement.

    Reported: an `UPDATE` without `WHERE`, and an `UPDATE` or `DELETE` whose
    `WHERE` does not pick rows by key or in batches. A `WHERE` picks rows by
    key when one of its AND-ed conditions compares a key-like column (`id`,
    `…_id`, `…Id`, a primary or unique key the schema model knows, or a
    natural key: `email`, `slug`, `name`, `code`, `key`, `username`) with
    constants (`=`, `IN (…)`, `= ANY(…)`, `BETWEEN`, `<`, `>`), or is
    `… IN (SELECT … LIMIT n)`. So `WHERE "status" = 'trial'` or
    `WHERE "plan" IS NULL` is reported and `WHERE "id" = 42` is not. Tables
    created earlier in the same migration are not reported; `DELETE` without
    `WHERE` is reported by `drop-without-backup`.

    ## Why is this bad?
    One statement that changes every matching row is one transaction: it
    locks each row it changes until it commits (concurrent updates of those
    rows wait, and deadlock with it), writes a new version of every row (a
    burst of WAL that replicas must replay, and table bloat), and keeps VACUUM
    from cleaning up behind it. Inside a migration's transaction it also keeps
    every lock taken before it for as long as it runs. On a large table that
    is minutes of blocked writes; and if it fails, all the work is lost.

    ## Example
    ```sql
    UPDATE "Project" SET "plan" = 'free' WHERE "plan" IS NULL;
    ```

    ## Use instead
    ```sql
    -- run repeatedly (outside the migration's transaction) until it updates no row
    UPDATE "Project" SET "plan" = 'free'
    WHERE "id" IN (SELECT "id" FROM "Project" WHERE "plan" IS NULL LIMIT 1000);
    ```

    ## When it's fine
    When the table is small (a lookup table, a feature-flag table), or the
    condition matches only a few rows even though it is not on a key. Say so
    in a suppression.

    ## References
    - strong_migrations: [Backfilling data](https://github.com/ankane/strong_migrations#backfilling-data)
    - PostgreSQL: [Row-Level Locks](https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-ROWS)
    - PostgreSQL: [Routine Vacuuming](https://www.postgresql.org/docs/current/routine-vacuuming.html)
    """

    id = "unbatched-data-change"
    summary = "UPDATE/DELETE of many rows in one statement: row locks, WAL and bloat; batch it by key"
    severity = Severity.WARNING
    checklist = ("batch",)
    statements = ("UpdateStmt", "DeleteStmt")
    lock = "ROW EXCLUSIVE + row locks"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        relation = node.get("relation")
        table = ast.relation_name(relation)
        if ctx.is_new_table(table) or _system_table(table):
            return
        where = node.get("whereClause")
        truth = constant_truth(where) if where is not None else True
        if truth is False:
            return  # WHERE false: no row changes
        if truth is True:
            where = None  # WHERE true: every row
        is_update = stmt.node_type == "UpdateStmt"
        if where is None and not is_update:
            return  # drop-without-backup reports a DELETE of every row
        keys = key_columns(ctx.schema, table)
        if where is not None and targets_few_rows(where, keys, stmt.variables):
            return
        qt = ast.quote_qualified(table)
        key = ast.quote_ident(primary_key(ctx.schema, table))
        condition = _short(deparse(stmt.sql, "whereClause"), "<your condition>") if where is not None else None
        join = node.get("fromClause") if is_update else node.get("usingClause")
        alias = (relation or {}).get("alias", {}).get("aliasname") if isinstance(relation, dict) else None
        column_ref = f"{ast.quote_ident(alias)}.{key}" if alias else f"{qt}.{key}" if join else key
        if is_update:
            sets = _short(deparse(stmt.sql, "targetList"), "…")
            verb = "UPDATE"
            what = "every row" if where is None else "every row that matches"
            head = f"UPDATE {qt}{' ' + ast.quote_ident(alias) if alias else ''} SET {sets}"
        else:
            verb = "DELETE FROM"
            what = "every row that matches"
            head = f"DELETE FROM {qt}{' ' + ast.quote_ident(alias) if alias else ''}"
        if join:
            source = _short(deparse(stmt.sql, "fromClause" if is_update else "usingClause"), "…")
            batch = (f"{head} {'FROM' if is_update else 'USING'} {source} WHERE ({condition or 'true'}) AND "
                     f"{column_ref} IN (SELECT {key} FROM {qt} WHERE {keyset(key)});` "
                     f"repeated with :last_key set to the batch's largest {key}, until the batch is empty")
        elif where is None:
            batch = (f"{head} WHERE {key} IN (SELECT {key} FROM {qt} WHERE {keyset(key)}) RETURNING {key};` repeated "
                     f"with :last_key set to the largest {key} returned, until it returns no row")
        else:
            batch = (f"{batched(head, qt, key, condition or 'true')};` repeated until "
                     f"it {'updates' if is_update else 'deletes'} no row"
                     + (f" (the condition must stop matching the rows already done; otherwise batch by {key} ranges)"
                        if is_update else ""))
        why = "has no WHERE clause" if where is None else "has a WHERE clause that does not pick rows by key"
        yield ctx.finding(
            relation,
            f"{verb} {qt} {why}: it {'changes' if is_update else 'deletes'} {what} in one transaction, holding a lock on each of those rows until it "
            f"commits (concurrent writes to them wait) and writing {'a new version of each' if is_update else 'each deletion'} "
            "to WAL (replica lag, bloat)",
            help=(f"{'Backfill' if is_update else 'Delete'} in batches, outside the migration's transaction: `{batch}.")
        )
