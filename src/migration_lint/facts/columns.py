"""Facts about column definitions: where a ColumnDef sits in its statement, and what the schema model
knows of a column (its type before the migration, a table's primary key)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from migration_lint.syntax import ast

if TYPE_CHECKING:
    from migration_lint.facts.context import Context
    from migration_lint.facts.schema import Schema


def column_site(node: dict, ctx: Context) -> tuple[str, str, str, dict | None] | None:
    """("create" | "add" | "type", table, column, cmd) for a ColumnDef of CREATE TABLE / ALTER TABLE."""
    memo = ctx.memo.setdefault("column_site", {})
    key = id(node)
    if key not in memo:
        memo[key] = _column_site(node, ctx)
    return memo[key]


def _column_site(node: dict, ctx: Context) -> tuple[str, str, str, dict | None] | None:
    stmt = ctx.statement
    top = stmt.node
    if stmt.node_type == "CreateStmt":
        if top.get("partbound") or top.get("ofTypename"):
            return None  # partitions and typed tables take their columns from elsewhere
        for element in top.get("tableElts") or ():
            if ast.inner(element) is node:
                return "create", ast.relation_name(top.get("relation")), node.get("colname", "?"), None
    elif stmt.node_type == "AlterTableStmt" and top.get("objtype", "OBJECT_TABLE") == "OBJECT_TABLE":
        table = ast.relation_name(top.get("relation"))
        for item in top.get("cmds") or ():
            cmd = ast.inner(item)
            if not isinstance(cmd, dict) or ast.inner(cmd.get("def")) is not node:
                continue
            if cmd.get("subtype") == "AT_AddColumn":
                return "add", table, node.get("colname", "?"), cmd
            if cmd.get("subtype") == "AT_AlterColumnType":
                return "type", table, cmd.get("name", "?"), cmd
    return None


def old_type(schema: Schema, table: str, column: str) -> str | None:
    """The column's type as the earlier statements left it (None if unknown)."""
    model = schema.table(table)
    if model is None:
        return None
    col = model.columns.get(column)
    return col.type if col is not None else None


def primary_key_column(schema: Schema, table: str) -> str | None:
    """The single primary-key column of a table, if the schema model knows it."""
    model = schema.table(table)
    if model is None:
        return None
    for constraint in model.constraints:
        if constraint.kind == "CONSTR_PRIMARY" and len(constraint.columns) == 1:
            return constraint.columns[0]
    return None
