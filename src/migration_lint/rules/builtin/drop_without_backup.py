from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast


class DropWithoutBackup(Rule):
    """Data is destroyed and no comment says where the backup is.

    Covers `DROP TABLE`, `ALTER TABLE … DROP COLUMN`, `TRUNCATE`,
    `DROP SCHEMA`, `DROP DATABASE` and `DELETE` without `WHERE`. A comment
    `-- backup: <where the backup is>` before the statement covers it; one in
    the comments at the top of the file covers the whole file. An empty note or
    a placeholder (`TODO`, `TBD`, `n/a`, …) does not count. Tables created
    earlier in the same migration hold no data and are not reported.

    ## Why is this bad?
    Migrations are forward-only: once the statement commits, the data is gone,
    and the only way back is a restore of the whole database to a point in
    time, which also throws away every write made since. A backup of just the
    data being dropped, taken before the deploy, makes the change reversible.
    The note makes the reviewer check that it exists.

    ## Example
    ```sql
    ALTER TABLE "User" DROP COLUMN "legacyId";
    ```

    ## Use instead
    ```sql
    -- backup: s3://acme-db-backups/2026-11-20/User_legacyId.csv (pg_dump of "User"."legacyId")
    ALTER TABLE "User" DROP COLUMN "legacyId";
    ```

    ## When it's fine
    When the data can be rebuilt from elsewhere (a cache, a derived table), say
    so in the note: `-- backup: not needed, rebuilt nightly from events`.

    ## References
    - PostgreSQL: [pg_dump](https://www.postgresql.org/docs/current/app-pgdump.html)
    - PostgreSQL: [COPY](https://www.postgresql.org/docs/current/sql-copy.html)
    """

    id = "drop-without-backup"
    summary = "DROP TABLE/COLUMN/SCHEMA/DATABASE, TRUNCATE or DELETE without WHERE, with no `-- backup:` note"
    severity = Severity.ERROR
    checklist = ("backup", "deploy-first")
    statements = ("DropStmt", "AlterTableStmt", "TruncateStmt", "DropdbStmt", "DeleteStmt")
    risk = Risk.HIGH
    lock = "ACCESS EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if ctx.directives.backup_for(stmt.index) is not None:
            return
        placeholder = ctx.directives.placeholder_backup_for(stmt.index)
        for anchor, what, table, backup_sql in self._destroyed(stmt.node_type, node, ctx):
            message = f"{what} destroys data and no `-- backup:` note says where the backup is"
            if placeholder is not None:
                message = (f"{what} destroys data; the backup note on line {placeholder.line} "
                           f"(`{placeholder.where or 'empty'}`) is a placeholder, not a location")
            help_text = (
                f"Take a backup before the deploy, e.g. {backup_sql}, and say where it is in a comment on the line "
                "before the statement: `-- backup: <where the backup is>`."
            )
            if table:
                help_text += (" Deploy the application change that stops using it first: the running code breaks "
                              "as soon as this commits.")
            yield ctx.finding(anchor, message, help=help_text)

    def _destroyed(self, node_type: str, node: dict, ctx: Context):
        if node_type == "DropStmt":
            remove = node.get("removeType")
            if remove not in ("OBJECT_TABLE", "OBJECT_SCHEMA"):
                return
            for obj in node.get("objects") or ():
                kind, value = ast.unwrap(obj)
                names = ast.strings(value.get("items")) if kind == "List" else ast.strings([obj])
                name = ".".join(names)
                if remove == "OBJECT_TABLE":
                    if ctx.is_new_table(name):
                        continue
                    q = ast.quote_qualified(name)
                    yield (ctx.statement, f"DROP TABLE {q}", True,
                           f"`pg_dump --table='{q}' --format=custom > {names[-1]}.dump`")
                else:
                    q = ast.quote_ident(name)
                    cascade = " CASCADE" if node.get("behavior") == "DROP_CASCADE" else ""
                    yield (ctx.statement, f"DROP SCHEMA {q}{cascade}", True,
                           f"`pg_dump --schema='{q}' --format=custom > {name}.dump`")
        elif node_type == "AlterTableStmt":
            if node.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
                return
            table = ast.relation_name(node.get("relation"))
            if ctx.is_new_table(table):
                return
            qt = ast.quote_qualified(table)
            for cmd in ast.alter_commands(node):
                if cmd.subtype == "AT_DropColumn":
                    name = cmd.name or "col"
                    column = ast.quote_ident(cmd.name or "?")
                    yield (cmd.relation, f"DROP COLUMN {column} of {qt}", True,
                           f"`CREATE TABLE {ast.quote_ident(table.split('.')[-1] + '_' + name + '_backup')} "
                           f"AS SELECT <primary key>, {column} FROM {qt};` or `\\copy (SELECT <primary key>, {column} FROM {qt}) TO '{table.split('.')[-1]}_{name}.csv' CSV`")
        elif node_type == "TruncateStmt":
            for rel in node.get("relations") or ():
                table = ast.relation_name(rel)
                if ctx.is_new_table(table):
                    continue
                q = ast.quote_qualified(table)
                yield (rel, f"TRUNCATE {q}", False, f"`pg_dump --table='{q}' --data-only --format=custom > {table.split('.')[-1]}.dump`")
        elif node_type == "DropdbStmt":
            name = node.get("dbname", "?")
            yield (ctx.statement, f"DROP DATABASE {ast.quote_ident(name)}", False,
                   f"`pg_dump --format=custom {ast.quote_ident(name)} > {name}.dump`")
        elif node_type == "DeleteStmt":
            if node.get("whereClause") is not None:
                return
            table = ast.relation_name(node.get("relation"))
            if ctx.is_new_table(table):
                return
            q = ast.quote_qualified(table)
            yield (node.get("relation"), f"DELETE FROM {q} without WHERE", False,
                   f"`pg_dump --table='{q}' --data-only --format=custom > {table.split('.')[-1]}.dump`")
