from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import prisma_schema_hint
from migration_lint.syntax import ast
from migration_lint.syntax.names import index_name


class ForeignKeyWithoutIndex(Rule):
    """A foreign key whose referencing columns do not lead any index of their table.

    Covers `FOREIGN KEY` / `REFERENCES` in `CREATE TABLE`, `ALTER TABLE … ADD
    CONSTRAINT` and `ALTER TABLE … ADD COLUMN`. An index counts when its first
    columns are the foreign key's columns (in any order): indexes created by
    earlier migrations, earlier in the same migration or later in it (Prisma
    writes the foreign keys after the indexes, hand-written migrations often the
    other way round), and the indexes behind `PRIMARY KEY` and `UNIQUE`
    constraints. Partial and non-btree indexes on those columns count too
    (conservatively). A table created outside the migrations (its indexes are
    unknown) is not reported. A foreign key that is dropped and re-added in the same
    migration (Prisma does this to change `onDelete`) is not reported again.

    ## Why is this bad?
    PostgreSQL indexes the referenced side of a foreign key (it must be a
    primary key or unique) but not the referencing side. Every `DELETE` of a
    referenced row, and every update of its key, looks up the referencing rows
    with `SELECT … FOR KEY SHARE` on the referencing table: without an index
    that is a full scan of the referencing table per deleted row, holding row
    locks as it goes, so deleting a user (or an `ON DELETE CASCADE`) gets slower
    as the child table grows. Joins from the parent to its children scan as
    well.

    ## Example
    ```sql
    CREATE TABLE "Comment" (
        "id" bigint PRIMARY KEY,
        "postId" bigint NOT NULL REFERENCES "Post" ("id") ON DELETE CASCADE
    );
    ```

    ## Use instead
    ```sql
    CREATE TABLE "Comment" (
        "id" bigint PRIMARY KEY,
        "postId" bigint NOT NULL REFERENCES "Post" ("id") ON DELETE CASCADE
    );
    CREATE INDEX "Comment_postId_idx" ON "Comment" ("postId");
    ```

    ## When it's fine
    When rows of the referenced table are never deleted and their key never
    changes (an append-only lookup table), and nobody joins from the parent to
    the children, or the referencing table stays small. Suppress with that
    reason.

    ## References
    - PostgreSQL: [Foreign Keys](https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK)
      ("it is often a good idea to index the referencing columns too")
    - Prisma: [Indexes on relation scalars](https://www.prisma.io/docs/orm/prisma-schema/data-model/relations/relation-mode#indexes)
    """

    id = "foreign-key-without-index"
    summary = "foreign key without an index on its columns: deleting a referenced row scans the referencing table"
    severity = Severity.WARNING
    statements = ("CreateStmt", "AlterTableStmt")

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if stmt.node_type == "AlterTableStmt" and node.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
            return
        if stmt.node_type == "CreateStmt" and node.get("partbound"):
            return  # a partition: its foreign keys and indexes come from the partitioned table
        table = ast.relation_name(node.get("relation"))
        if stmt.node_type == "AlterTableStmt":
            model = ctx.schema.table(table)
            if model is None or model.partial:
                return  # a table created outside the migrations: its indexes are unknown
        keys = None
        for anchor, columns, con in _foreign_keys(stmt.node_type, node):
            if keys is None:
                keys = _index_keys(ctx, table)
            if any(_leads(key, columns) for key in keys):
                continue
            if _readded(ctx, table, con.get("conname")):
                continue
            qt = ast.quote_qualified(table)
            cols = ", ".join(ast.quote_ident(c) for c in columns)
            target = ast.quote_qualified(ast.relation_name(con.get("pktable")))
            name = ast.quote_ident(index_name(table, columns))
            if ctx.is_new_table(table) or stmt.node_type == "CreateStmt":
                sql = f"CREATE INDEX {name} ON {qt} ({cols});"
                when = "(the table is new, so a plain CREATE INDEX is fine)"
            else:
                sql = f"CREATE INDEX CONCURRENTLY {name} ON {qt} ({cols});"
                when = "(outside a transaction block)"
            prisma_cols = ", ".join(columns)
            yield ctx.finding(
                anchor,
                f"foreign key {qt} ({cols}) → {target} has no index on {qt} ({cols}): every DELETE on {target} "
                f"(and every change of its key) scans the whole of {qt} to find the referencing rows",
                help=f"Index the referencing columns: `{sql}` {when}."
                + prisma_schema_hint(ctx, f"add `@@index([{prisma_cols}])` to the model"),
            )


def _foreign_keys(node_type: str, node: dict) -> Iterable[tuple[Any, list[str], dict]]:
    """(anchor, referencing columns, constraint) of every foreign key the statement adds."""
    if node_type == "CreateStmt":
        for element in node.get("tableElts") or ():
            kind, value = ast.unwrap(element)
            if kind == "ColumnDef":
                yield from _column_foreign_keys(value)
            elif kind == "Constraint" and value.get("contype") == "CONSTR_FOREIGN":
                yield value, ast.strings(value.get("fk_attrs")), value
    else:
        for cmd in ast.alter_commands(node):
            kind, value = cmd.definition
            if cmd.subtype == "AT_AddColumn" and kind == "ColumnDef":
                yield from _column_foreign_keys(value)
            elif cmd.subtype == "AT_AddConstraint" and kind == "Constraint" and value.get("contype") == "CONSTR_FOREIGN":
                yield value, ast.strings(value.get("fk_attrs")), value


def _column_foreign_keys(coldef: dict) -> Iterable[tuple[Any, list[str], dict]]:
    for item in coldef.get("constraints") or ():
        con = ast.inner(item)
        if con.get("contype") == "CONSTR_FOREIGN":
            yield con, [coldef.get("colname", "?")], con


def _leads(key: list[str | None], columns: list[str]) -> bool:
    """Do the index's first len(columns) columns (plain columns, any order) equal the foreign key's?"""
    head = key[: len(columns)]
    return len(head) == len(columns) and None not in head and set(head) == set(columns)


def _index_statements(stmt) -> Iterable[str]:
    """The table a statement may add an index or key to (indexed once per file)."""
    if stmt.node_type in ("IndexStmt", "AlterTableStmt"):
        yield ast.table_key(ast.relation_name(stmt.node.get("relation")))


def _index_keys(ctx: Context, table: str) -> list[list[str | None]]:
    """Column lists of every index of the table: known before, added by this statement, or later in this file."""
    key = ast.table_key(table)
    keys: list[list[str | None]] = []
    for index in ctx.schema.indexes_of(table):
        keys.append([None if c == "(expr)" else c for c in index.columns])
    model = ctx.schema.table(table)
    if model is not None:  # PRIMARY KEY / UNIQUE constraints the index model may have missed (USING INDEX …)
        keys.extend(list(c.columns) for c in model.constraints if c.kind in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"))
    current = ctx.statement
    if current.node_type == "CreateStmt":
        for element in current.node.get("tableElts") or ():
            kind, value = ast.unwrap(element)
            if kind == "ColumnDef":
                for item in value.get("constraints") or ():
                    con = ast.inner(item)
                    if con.get("contype") in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"):
                        keys.append([value.get("colname")])
            elif kind == "Constraint":
                keys.extend(_constraint_keys(value))
    for position in ctx.indexed("foreign_key_without_index.tables", _index_statements).get(key, ()):
        if position < ctx.index:
            continue
        stmt = ctx.statements[position]
        node = stmt.node
        if stmt.node_type == "IndexStmt":
            keys.append([ast.inner(p).get("name") for p in node.get("indexParams") or ()])
            continue
        for item in node.get("cmds") or ():
            cmd = ast.inner(item)
            kind, value = ast.unwrap(cmd.get("def"))
            if cmd.get("subtype") == "AT_AddConstraint" and kind == "Constraint":
                keys.extend(_constraint_keys(value))
            elif cmd.get("subtype") == "AT_AddColumn" and kind == "ColumnDef":
                for con_item in value.get("constraints") or ():
                    if ast.inner(con_item).get("contype") in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"):
                        keys.append([value.get("colname")])
    return keys


def _constraint_keys(con: dict) -> list[list[str | None]]:
    if con.get("contype") in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"):
        return [list(ast.strings(con.get("keys")))]
    if con.get("contype") == "CONSTR_EXCLUSION":  # EXCLUDE USING gist (room WITH =, during WITH &&)
        columns: list[str | None] = []
        for pair in con.get("exclusions") or ():
            items = ast.inner(pair).get("items") if isinstance(ast.inner(pair), dict) else pair
            elem = ast.inner(items[0]) if items else {}
            columns.append(elem.get("name") if isinstance(elem, dict) else None)
        return [columns]
    return []


def _dropped_constraints(stmt) -> Iterable[tuple[str, str]]:
    if stmt.node_type == "AlterTableStmt":
        key = ast.table_key(ast.relation_name(stmt.node.get("relation")))
        for item in stmt.node.get("cmds") or ():
            cmd = ast.inner(item)
            if cmd.get("subtype") == "AT_DropConstraint" and cmd.get("name"):
                yield key, cmd["name"]


def _readded(ctx: Context, table: str, name: str | None) -> bool:
    """Was a constraint of this name dropped from the (existing) table earlier in this migration?"""
    if not name or ctx.is_new_table(table):
        return False
    positions = ctx.indexed("foreign_key_without_index.dropped", _dropped_constraints).get((ast.table_key(table), name))
    return positions is not None and positions[0] < ctx.index
    key = ast.table_key(table)
    for stmt in ctx.statements[: ctx.index]:
        if stmt.node_type != "AlterTableStmt" or ast.table_key(ast.relation_name(stmt.node.get("relation"))) != key:
            continue
        for item in stmt.node.get("cmds") or ():
            cmd = ast.inner(item)
            if cmd.get("subtype") == "AT_DropConstraint" and cmd.get("name") == name:
                return True
    return False
