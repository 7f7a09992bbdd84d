from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand


def _repeated(targets: Iterable[Any]) -> Iterator[tuple[dict, str]]:
    """(ResTarget, column) of each assignment that PostgreSQL refuses: a column assigned as a whole more
    than once, or as a whole and through a subscript or field (`b = …, b[1] = …`). Two subscripts or
    fields of one column (`b[1] = …, b[2] = …`) are allowed."""
    whole: set[str] = set()
    partly: set[str] = set()
    for item in targets or ():
        target = ast.inner(item)
        name = target.get("name") if isinstance(target, dict) else None
        if not name:
            continue
        if target.get("indirection"):
            if name in whole:
                yield target, name
            partly.add(name)
        else:
            if name in whole or name in partly:
                yield target, name
            whole.add(name)


class AlwaysFails(Rule):
    """A statement PostgreSQL always rejects: the migration fails when it is deployed.

    Found without a database: a column assigned twice in one `UPDATE` (or
    `INSERT … ON CONFLICT DO UPDATE`), listed twice in an `INSERT`, declared
    twice in a `CREATE TABLE`, or added by `ALTER TABLE … ADD COLUMN` (without
    `IF NOT EXISTS`) while it exists: twice in one statement, or already
    defined by this migration or the earlier ones; `REINDEX SYSTEM
    CONCURRENTLY`.

    ## Why is this bad?
    PostgreSQL parses these statements but refuses them before running them
    (*multiple assignments to same column*, SQLSTATE 42601; *column specified
    more than once* or *already exists*, 42701). The migration stops there:
    with a transaction around it nothing is applied, without one it is left
    half applied, and the deploy fails.

    ## Example
    ```sql
    UPDATE "Order" SET "status" = 'paid', "status" = 'shipped' WHERE "id" = 1;
    ```

    ## Use instead
    ```sql
    UPDATE "Order" SET "status" = 'shipped' WHERE "id" = 1;
    ```

    ## When it's fine
    Never: PostgreSQL rejects it every time.

    ## References
    - PostgreSQL: [UPDATE](https://www.postgresql.org/docs/current/sql-update.html)
    - PostgreSQL: [ALTER TABLE ADD COLUMN IF NOT EXISTS](https://www.postgresql.org/docs/current/sql-altertable.html)
    """

    id = "always-fails"
    summary = "a statement PostgreSQL always rejects (a column assigned, listed or added twice): the deploy fails"
    severity = Severity.ERROR
    risk = Risk.HIGH
    fails_deploy = True
    predicts = ("42601", "42701", "0A000")
    statements = ("CreateStmt", "ReindexStmt")
    nodes = ("UpdateStmt", "InsertStmt")
    alter_commands = ("AT_AddColumn",)

    def check_node(self, node_type: str, node: dict, ctx: Context) -> Iterable[Finding]:
        if ctx.statement.conditional:
            return  # a DO block's statement under a guard: it may never run
        if node_type == "InsertStmt":
            table = ast.quote_qualified(ast.relation_name(node.get("relation")))
            for target, column in _repeated(node.get("cols") or ()):
                yield self._finding(ctx, target, f"INSERT INTO {table} lists {ast.quote_ident(column)} twice",
                                    f'column "{column}" specified more than once', "42701",
                                    "List each column once.")
            conflict = node.get("onConflictClause") or {}
            for target, column in _repeated(conflict.get("targetList") or ()):
                yield self._finding(ctx, target, f"ON CONFLICT DO UPDATE assigns {ast.quote_ident(column)} twice",
                                    f'multiple assignments to same column "{column}"', "42601",
                                    "Assign each column once.")
            return
        table = ast.quote_qualified(ast.relation_name(node.get("relation")))
        for target, column in _repeated(node.get("targetList") or ()):
            yield self._finding(ctx, target, f"UPDATE {table} assigns {ast.quote_ident(column)} twice",
                                f'multiple assignments to same column "{column}"', "42601", "Assign each column once.")

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        if stmt.conditional:
            return
        if stmt.node_type == "ReindexStmt":
            if stmt.node.get("kind") == "REINDEX_OBJECT_SYSTEM" and ast.option_true(stmt.node.get("params"), "concurrently"):
                yield self._finding(ctx, stmt, "REINDEX SYSTEM CONCURRENTLY", "cannot reindex system catalogs concurrently",
                                    "0A000", "Remove CONCURRENTLY (system catalogs cannot be rebuilt concurrently), or "
                                    "better, the whole REINDEX SYSTEM: it belongs in a maintenance window, not a migration.")
            return
        seen: set[str] = set()
        table = ast.quote_qualified(ast.relation_name(stmt.node.get("relation")))
        for element in stmt.node.get("tableElts") or ():
            kind, column = ast.unwrap(element)
            if kind != "ColumnDef" or not column.get("colname"):
                continue
            name = column["colname"]
            if name in seen:
                yield self._finding(ctx, column, f"CREATE TABLE {table} declares {ast.quote_ident(name)} twice",
                                    f'column "{name}" specified more than once', "42701",
                                    "Declare each column once.")
            seen.add(name)

    def check_alter(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        if cmd.cmd.get("missing_ok") or ctx.statement.conditional:  # ADD COLUMN IF NOT EXISTS, or a guarded one
            return
        _, coldef = cmd.definition
        name = coldef.get("colname")
        if not name:
            return
        qt, qc = ast.quote_qualified(cmd.table), ast.quote_ident(name)
        model = ctx.schema.table(cmd.table)
        exists = model is not None and name in model.columns  # as the statements before this one left it
        where = "this migration created it" if ctx.is_new_table(cmd.table) else "the earlier migrations created it"
        for earlier in cmd.siblings():  # and as the commands before this one in the statement leave it
            if earlier.position >= cmd.position:
                break
            if earlier.subtype == "AT_AddColumn" and earlier.definition[1].get("colname") == name:
                exists, where = True, "this statement adds it already"
            elif earlier.subtype == "AT_DropColumn" and earlier.name == name:
                exists = False
        if not exists:
            return
        yield self._finding(
            ctx, coldef, f"ADD COLUMN {qc} to {qt} fails: the column exists ({where})",
            f'column "{name}" of relation "{cmd.table.rpartition(".")[2]}" already exists', "42701",
            f"Remove it, or give it another name; `ALTER TABLE {qt} ADD COLUMN IF NOT EXISTS {qc} …` skips it when "
            "it exists.")

    @staticmethod
    def _finding(ctx: Context, anchor: Any, what: str, error: str, sqlstate: str, fix: str) -> Finding:
        return ctx.finding(anchor, f"{what}: PostgreSQL rejects the statement ({error}, SQLSTATE {sqlstate}) and the "
                                   "migration fails", help=fix)
