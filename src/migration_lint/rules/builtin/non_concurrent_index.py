from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Fix, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.fixes import after_token, edit, new_name, run_outside_transaction
from migration_lint.rules.recipes import prisma_edit_hint
from migration_lint.syntax import ast


class NonConcurrentIndex(Rule):
    """`CREATE INDEX`, `DROP INDEX` or `REINDEX` without `CONCURRENTLY` on a table in use.

    Tables created earlier in the same migration are empty and not reported.

    ## Why is this bad?
    A plain `CREATE INDEX` holds a SHARE lock on the table for the whole build:
    every INSERT, UPDATE and DELETE waits until the index is built, which on a
    large table takes minutes. `DROP INDEX` takes ACCESS EXCLUSIVE on the table
    (reads wait too) and has to wait for every running query first; `REINDEX`
    blocks writes and the reads that use the index. The `CONCURRENTLY` forms
    take SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.

    ## Example
    ```sql
    CREATE INDEX "Post_authorId_idx" ON "Post" ("authorId");
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY "Post_authorId_idx" ON "Post" ("authorId");
    ```

    ## When it's fine
    On a table created in the same migration, or one known to stay small.
    `CONCURRENTLY` cannot run inside a transaction block: see
    `concurrently-in-transaction` for what that means for your migration tool.
    A concurrent build that fails leaves an INVALID index behind: drop it and
    try again.

    ## References
    - PostgreSQL: [CREATE INDEX, Building Indexes Concurrently](https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY)
    - PostgreSQL: [DROP INDEX](https://www.postgresql.org/docs/current/sql-dropindex.html)
    - PostgreSQL: [REINDEX](https://www.postgresql.org/docs/current/sql-reindex.html)
    """

    id = "non-concurrent-index"
    summary = "CREATE/DROP INDEX or REINDEX without CONCURRENTLY blocks writes (or reads) on a table in use"
    severity = Severity.ERROR
    checklist = ("lock-timeout", "long-lock")
    statements = ("IndexStmt", "DropStmt", "ReindexStmt")
    risk = Risk.MEDIUM
    lock = "SHARE / ACCESS EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if stmt.node_type == "IndexStmt":
            yield from self._create(node, ctx)
        elif stmt.node_type == "DropStmt":
            yield from self._drop(node, ctx)
        else:
            yield from self._reindex(node, ctx)

    def _create(self, node: dict, ctx: Context) -> Iterable[Finding]:
        if node.get("concurrent"):
            return
        table = ast.relation_name(node.get("relation"))
        if ctx.is_new_table(table):
            return
        if not node.get("relation", {}).get("inh"):
            # CREATE INDEX ON ONLY parent: creates an invalid index on the partitioned parent only (catalog-only)
            return
        qt = ast.quote_qualified(table)
        unique = "UNIQUE " if node.get("unique") else ""
        sql = ctx.statement.sql
        position = sql.upper().find("INDEX")
        fixed = sql[: position + 5] + " CONCURRENTLY" + sql[position + 5:] if position >= 0 else sql
        yield ctx.finding(
            node.get("relation"),
            f"CREATE {unique}INDEX takes a SHARE lock on {qt}: INSERT, UPDATE and DELETE on {qt} wait until the whole "
            "index is built",
            help=f"Build it without blocking writes: `{fixed.strip()};` (it must run outside a transaction block)."
            + prisma_edit_hint(ctx),
            fix=_concurrently(ctx, ("INDEX",), "Build the index concurrently"),
        )

    def _drop(self, node: dict, ctx: Context) -> Iterable[Finding]:
        if node.get("removeType") != "OBJECT_INDEX" or node.get("concurrent"):
            return
        for obj in node.get("objects") or ():
            kind, value = ast.unwrap(obj)
            names = ast.strings(value.get("items")) if kind == "List" else ast.strings([obj])
            name = ".".join(names)
            index = ctx.schema.index(name)
            if index is not None and ctx.is_new_table(index.table):
                continue
            on = f" {ast.quote_ident(index.table)}" if index is not None else " its table"
            exists = " IF EXISTS" if node.get("missing_ok") else ""
            yield ctx.finding(
                ctx.statement,
                f"DROP INDEX {ast.quote_qualified(name)} takes an ACCESS EXCLUSIVE lock on{on}: it waits for every "
                "running query on the table, and reads and writes queue behind it",
                help=f"`DROP INDEX CONCURRENTLY{exists} {ast.quote_qualified(name)};` (one index per statement, outside "
                "a transaction block)." + prisma_edit_hint(ctx),
                # CONCURRENTLY drops one index per statement, and not with CASCADE
                fix=_concurrently(ctx, ("INDEX",), "Drop the index concurrently")
                if len(node.get("objects") or ()) == 1 and node.get("behavior") != "DROP_CASCADE" else None,
            )

    def _reindex(self, node: dict, ctx: Context) -> Iterable[Finding]:
        if ast.option_true(node.get("params"), "concurrently"):
            return
        kind = node.get("kind", "")
        relation = node.get("relation")
        target = ast.relation_name(relation) if relation else node.get("name", "?")
        if kind == "REINDEX_OBJECT_TABLE" and ctx.is_new_table(target):
            return
        what = {"REINDEX_OBJECT_INDEX": "INDEX", "REINDEX_OBJECT_TABLE": "TABLE", "REINDEX_OBJECT_SCHEMA": "SCHEMA",
                "REINDEX_OBJECT_DATABASE": "DATABASE", "REINDEX_OBJECT_SYSTEM": "SYSTEM"}.get(kind, "")
        if kind == "REINDEX_OBJECT_SYSTEM":
            yield ctx.finding(
                ctx.statement,
                "REINDEX SYSTEM rebuilds every index of the system catalogs, locking each catalog while its indexes are "
                "rebuilt: DDL, and queries that need those catalogs (planning, new connections), wait until it ends",
                help="System catalogs have no CONCURRENTLY rebuild (PostgreSQL rejects REINDEX SYSTEM CONCURRENTLY): "
                     "remove it from the migration, and run it only to repair a corrupted catalog index, in a "
                     "maintenance window.",
            )
            return
        if ctx.pg_version < 12:
            help_text = ("PostgreSQL before 12 has no REINDEX CONCURRENTLY: build a replacement with "
                         "CREATE INDEX CONCURRENTLY, then drop the old index with DROP INDEX CONCURRENTLY.")
        else:
            help_text = f"`REINDEX {what} CONCURRENTLY {ast.quote_qualified(target)};` (outside a transaction block)."
        fix = None
        if ctx.pg_version >= 12 and not node.get("params"):  # REINDEX (…) options: the author's to combine
            fix = _concurrently(ctx, ("INDEX", "TABLE", "SCHEMA", "DATABASE"), "Rebuild concurrently")
        yield ctx.finding(
            relation if relation else ctx.statement,
            f"REINDEX {what} {ast.quote_qualified(target)} blocks writes to the table, and reads that use the index, "
            "until the rebuild ends",
            help=help_text,
            fix=fix,
        )


def _concurrently(ctx: Context, keywords: tuple[str, ...], title: str) -> Fix | None:
    """The statement with CONCURRENTLY after its first `keywords` token, where it can run outside a transaction."""
    stmt = ctx.statement
    at = after_token(stmt, keywords, skip_parenthesised=True)
    if at is None:
        return None
    sql = stmt.sql[: at - stmt.start] + " CONCURRENTLY" + stmt.sql[at - stmt.start:]
    return run_outside_transaction(ctx, stmt, sql, title, new_name(ctx, "concurrently"),
                                   inline=[edit(ctx, at, at, " CONCURRENTLY")])
