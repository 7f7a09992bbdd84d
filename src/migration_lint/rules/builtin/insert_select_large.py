from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from migration_lint.facts.context import Context
from migration_lint.facts.rows import key_columns, primary_key, targets_few_rows
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import keyset
from migration_lint.syntax import ast

_SYSTEM_SCHEMAS = ("pg_catalog.", "information_schema.")


def _branches(select: Any) -> Iterator[dict]:
    """The plain SELECTs of a (possibly UNION-ed) query."""
    stack = [select]
    while stack:  # a loop, not recursion: UNION chains can be thousands long
        _, value = ast.unwrap(stack.pop())
        if not isinstance(value, dict):
            continue
        if value.get("op", "SETOP_NONE") != "SETOP_NONE":
            stack.append(value.get("rarg"))
            stack.append(value.get("larg"))
        else:
            yield value


def _from_tables(select: dict, ctes: set[str]) -> list[tuple[dict, str]]:
    """(RangeVar, name) of the tables in the SELECT's own FROM clause (joins included, subqueries not)."""
    found: list[tuple[dict, str]] = []

    stack = list(reversed(select.get("fromClause") or ()))
    while stack:  # a loop, not recursion: JOIN chains can be thousands long
        kind, value = ast.unwrap(stack.pop())
        if kind == "RangeVar" or (kind is None and isinstance(value, dict) and "relname" in value):
            name = ast.relation_name(value)
            if name not in ctes and not name.startswith(_SYSTEM_SCHEMAS) and not value.get("relname", "").startswith("pg_"):
                found.append((value, name))
        elif kind == "JoinExpr":
            stack.append(value.get("rarg"))
            stack.append(value.get("larg"))
    return found


class InsertSelectLarge(Rule):
    """`INSERT … SELECT` that copies a whole table in use, in one statement.

    Reported when the SELECT reads a table that existed before the migration,
    has no `LIMIT`, and its `WHERE` does not pick rows by key (the same test as
    `unbatched-data-change`: a key-like column compared with constants). Not
    reported: `INSERT … VALUES`, a SELECT that reads (or joins) a table created
    earlier in the same migration (including `SELECT … INTO TEMP TABLE`), a
    SELECT from CTEs, functions (`generate_series`) or the system catalogs, or
    without a FROM clause.

    ## Why is this bad?
    The copy is one transaction as long as the source table is large: it writes
    every row (and its index entries) to WAL in one burst that replicas must
    replay, keeps VACUUM from cleaning up behind it on every table, and inside
    a migration's transaction keeps every lock taken before it for as long as
    it runs. Rows written to the source while it runs are not copied, and if it
    fails, all the work is lost.

    ## Example
    ```sql
    INSERT INTO "ProjectMember" ("projectId", "userId") SELECT "id", "ownerId" FROM "Project";
    ```

    ## Use instead
    ```sql
    -- run repeatedly (outside the migration's transaction), moving :last_key forward, until it inserts no row
    INSERT INTO "ProjectMember" ("projectId", "userId")
    SELECT "id", "ownerId" FROM "Project" WHERE "id" > :last_key ORDER BY "id" LIMIT 1000
    ON CONFLICT DO NOTHING;
    ```

    ## When it's fine
    When the source table is small (a lookup table), or the copy runs while the
    application is stopped. Say so in a suppression.

    ## References
    - strong_migrations: [Backfilling data](https://github.com/ankane/strong_migrations#backfilling-data)
    - PostgreSQL: [INSERT](https://www.postgresql.org/docs/current/sql-insert.html)
    - PostgreSQL: [Populating a Database](https://www.postgresql.org/docs/current/populate.html)
    """

    id = "insert-select-large"
    summary = "INSERT … SELECT copies a whole table in one transaction: batch it by key"
    severity = Severity.WARNING
    checklist = ("batch",)
    statements = ("InsertStmt",)
    lock = "ROW EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if node.get("selectStmt") is None:
            return
        select = node["selectStmt"]
        outer = ast.inner(select)
        if outer.get("limitCount") is not None:
            return
        ctes: set[str] = {c["ctename"] for _, c in ast.walk(node.get("withClause") or {}) if c.get("ctename")}
        ctes |= {c["ctename"] for _, c in ast.walk(outer.get("withClause") or {}) if c.get("ctename")}
        for branch in _branches(select):
            if branch.get("valuesLists") or branch.get("limitCount") is not None:
                continue
            tables = _from_tables(branch, ctes)
            if not tables or any(ctx.is_new_table(name) for _, name in tables):
                continue  # rows driven by a table this migration created and filled
            where = branch.get("whereClause")
            if where is not None and any(targets_few_rows(where, key_columns(ctx.schema, name), stmt.variables) for _, name in tables):
                continue
            rangevar, source = tables[0]
            target = ast.relation_name(node.get("relation"))
            qs, qt = ast.quote_qualified(source), ast.quote_qualified(target)
            key = ast.quote_ident(primary_key(ctx.schema, source))
            alias = (rangevar.get("alias") or {}).get("aliasname")
            ref = f"{ast.quote_ident(alias)}.{key}" if alias else f"{qs}.{key}"
            yield ctx.finding(
                rangevar,
                f"INSERT INTO {qt} … SELECT copies every {'matching ' if where is not None else ''}row of {qs} in one "
                f"statement: on a large {qs} that is one long transaction that writes every copied row to WAL at "
                "once (replica lag), keeps VACUUM from cleaning up, and holds the locks taken before it in this "
                "transaction until it ends",
                help=(f"Copy in batches by key, outside the migration's transaction: add `{'AND' if where is not None else 'WHERE'} "
                      f"{keyset(ref)}` to the SELECT (and `ON CONFLICT DO NOTHING` if a "
                      f"batch may run twice), and repeat with :last_key set to the largest {key} copied until it "
                      "inserts no row."),
            )
            return
