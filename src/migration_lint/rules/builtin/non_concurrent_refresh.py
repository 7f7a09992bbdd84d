from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast


class NonConcurrentRefresh(Rule):
    """`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` on a view in use.

    `REFRESH … WITH NO DATA` (which empties the view on purpose) and views
    created earlier in the same migration are not reported.

    ## Why is this bad?
    A plain refresh recomputes the whole query into a new file while it holds an
    ACCESS EXCLUSIVE lock on the view: every SELECT on the view waits until the
    refresh ends. `REFRESH MATERIALIZED VIEW CONCURRENTLY` computes the new
    contents beside the old ones and applies the difference under an EXCLUSIVE
    lock, which lets reads go on; it needs a unique index on the view (plain
    columns, no WHERE clause).

    ## Example
    ```sql
    REFRESH MATERIALIZED VIEW "DailyStats";
    ```

    ## Use instead
    ```sql
    CREATE UNIQUE INDEX CONCURRENTLY "DailyStats_day_key" ON "DailyStats" ("day");
    REFRESH MATERIALIZED VIEW CONCURRENTLY "DailyStats";
    ```

    ## When it's fine
    When the view is not read while the migration runs, or refreshes in
    well under the `lock_timeout` of the readers. A concurrent refresh is slower
    and cannot be used on a view that was never populated (`WITH NO DATA`).

    ## References
    - PostgreSQL: [REFRESH MATERIALIZED VIEW](https://www.postgresql.org/docs/current/sql-refreshmaterializedview.html)
    """

    id = "non-concurrent-refresh"
    summary = "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view until it ends"
    severity = Severity.WARNING
    statements = ("RefreshMatViewStmt",)
    lock = "ACCESS EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if node.get("concurrent"):
            return
        view = ast.relation_name(node.get("relation"))
        if ctx.is_new_table(view):
            return
        qv = ast.quote_qualified(view)
        if node.get("skipData"):
            yield ctx.finding(
                node.get("relation"),
                f"REFRESH MATERIALIZED VIEW {qv} WITH NO DATA empties it and leaves it unpopulated: every query on "
                f"{qv} fails (\"materialized view has not been populated\") until a plain REFRESH fills it again",
                help=(f"Refresh it with data instead (`REFRESH MATERIALIZED VIEW CONCURRENTLY {qv};` keeps it readable), "
                      f"or drop it (`DROP MATERIALIZED VIEW {qv};`) once no code reads it."),
                risk=Risk.MEDIUM,
            )
            return
        unique = [ix for ix in ctx.schema.indexes_of(view) if ix.unique and not ix.partial]
        if unique:
            prepare = f"{ast.quote_ident(unique[0].name)} is a unique index on it, so "
        else:
            base = view.split(".")[-1]
            prepare = (f"it needs a unique index on plain columns first (`CREATE UNIQUE INDEX CONCURRENTLY "
                       f"{ast.quote_ident(base + '_key')} ON {qv} (<columns that identify a row>);`), then ")
        yield ctx.finding(
            node.get("relation"),
            f"REFRESH MATERIALIZED VIEW {qv} holds an ACCESS EXCLUSIVE lock on it while the whole query runs again: "
            f"every SELECT on {qv} waits until the refresh ends",
            help=f"Refresh it while reads go on: {prepare}`REFRESH MATERIALIZED VIEW CONCURRENTLY {qv};`.",
        )
