from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import prisma_schema_hint
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand


@dataclass
class _Spec:
    """A new index, reduced to what can be compared with certainty."""

    name: str | None
    columns: list[str]
    unique: bool
    method: str
    constraint: str = ""  # "UNIQUE" / "PRIMARY KEY" when added by ADD CONSTRAINT


class DuplicateIndex(Rule):
    """An index that duplicates an existing one, is a leading prefix of one, or makes one redundant.

    The new index (`CREATE INDEX`, or the index behind `ALTER TABLE … ADD
    CONSTRAINT … UNIQUE / PRIMARY KEY`) is compared with the table's indexes
    from earlier migrations and earlier in the same migration, including the
    ones behind `PRIMARY KEY` and `UNIQUE` constraints. Reported:

    - same columns, same method, and the existing index is unique or neither is:
      a duplicate;
    - a non-unique btree index whose columns are the leading columns of an
      existing btree index: redundant;
    - a btree index that starts with all the columns of an existing non-unique
      btree index, or a unique one on the same columns: the existing index
      becomes redundant.

    Compared conservatively: partial indexes, expression indexes and indexes
    with an operator class, collation, sort order, `INCLUDE` columns or
    `NULLS NOT DISTINCT` are never reported, and an existing index dropped
    later in the same migration (a replacement) is ignored. A unique index
    that is a prefix of a wider index is not redundant (it enforces
    uniqueness) and is not reported.

    ## Why is this bad?
    Every index is updated by every INSERT, by every UPDATE that is not HOT,
    and takes disk, memory in the buffer cache, vacuum time and WAL. A
    duplicate or prefix index serves no query that the other index does not
    already serve, and creating it on a busy table holds a SHARE lock (or,
    with `CONCURRENTLY`, two table scans) for nothing.

    ## Example
    ```sql
    CREATE TABLE "Order" ("id" bigint PRIMARY KEY, "customerId" bigint NOT NULL, "createdAt" timestamptz NOT NULL);
    CREATE INDEX "Order_customerId_createdAt_idx" ON "Order" ("customerId", "createdAt");
    CREATE INDEX "Order_customerId_idx" ON "Order" ("customerId");
    ```

    ## Use instead
    ```sql
    CREATE TABLE "Order" ("id" bigint PRIMARY KEY, "customerId" bigint NOT NULL, "createdAt" timestamptz NOT NULL);
    CREATE INDEX "Order_customerId_createdAt_idx" ON "Order" ("customerId", "createdAt");
    ```

    ## When it's fine
    During a replacement: build the new index, then drop the old one in the
    same or the next migration (the old one is ignored when the drop is in the
    same migration). Rarely, a much smaller index on one column is kept on
    purpose for a hot query; suppress with that reason.

    ## References
    - PostgreSQL: [Multicolumn Indexes](https://www.postgresql.org/docs/current/indexes-multicolumn.html)
    - PostgreSQL: [Unique Indexes](https://www.postgresql.org/docs/current/indexes-unique.html)
    - PostgreSQL: [ALTER TABLE … ADD table_constraint_using_index](https://www.postgresql.org/docs/current/sql-altertable.html)
    """

    id = "duplicate-index"
    summary = "index duplicates an existing index, is a leading prefix of one, or makes one redundant"
    severity = Severity.WARNING
    statements = ("IndexStmt",)
    alter_commands = ("AT_AddConstraint",)

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if stmt.conditional:
            return  # a DO block's statement under a guard: it runs when the index is missing, if ever
        if node.get("if_not_exists") and node.get("idxname") and ctx.schema.index(node["idxname"]) is not None:
            return  # IF NOT EXISTS and the name exists: a no-op
        spec = _index_spec(node)
        if spec is not None:
            yield from self._compare(ctx, ast.relation_name(node.get("relation")), spec, stmt)

    def check_alter(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        if ctx.statement.conditional:
            return
        kind, con = cmd.definition
        if kind == "Constraint":
            spec = _constraint_spec(con)
            if spec is not None:
                yield from self._compare(ctx, cmd.table, spec, con)

    def _compare(self, ctx: Context, table: str, new: _Spec, anchor: Any) -> Iterable[Finding]:
        qt = ast.quote_qualified(table)
        n = len(new.columns)
        redundant_new = redundant_old = None
        existing = _existing(ctx, table, new.name)
        for old in existing:
            cols = list(old.columns)
            if old.method != new.method:
                continue
            if cols == new.columns:
                if new.unique and not old.unique:
                    redundant_old = redundant_old or (old, "a unique index on the same columns serves the same lookups")
                else:
                    redundant_new = redundant_new or (old, "duplicates")
            elif new.method == "btree" and len(cols) > n and cols[:n] == new.columns and not new.unique:
                redundant_new = redundant_new or (old, "is redundant: its columns lead")
            elif new.method == "btree" and len(cols) < n and new.columns[: len(cols)] == cols and not old.unique:
                redundant_old = redundant_old or (old, "its columns lead this one")
        if redundant_old is not None and any(_covers(other, redundant_old[0]) for other in existing):
            redundant_old = None  # it was redundant already: reported when it (or what covers it) was created
        what = _describe(new, qt)
        if redundant_new is not None:
            old, verb = redundant_new
            shown = _show(ctx, table, old)
            from_constraint = old.created_in is None  # the index behind a PRIMARY KEY / UNIQUE constraint
            if new.constraint and old.unique and old.columns == new.columns and not from_constraint:
                extra = " (the columns must already be NOT NULL)" if new.constraint == "PRIMARY KEY" else ""
                fix = (f"Reuse it: `ALTER TABLE {qt} ADD CONSTRAINT {ast.quote_ident(new.name or 'name')} "
                       f"{new.constraint} USING INDEX {_name(old)};` (it renames the index to the "
                       f"constraint's name){extra}.")
            else:
                fix = f"Leave it out: {shown} already serves the same lookups."
            yield ctx.finding(
                anchor,
                f"{what} {verb} {shown}: every INSERT and UPDATE maintains both, and no query needs the second",
                help=fix + prisma_schema_hint(ctx, "remove the redundant `@@index` / `@unique`"),
            )
        elif redundant_old is not None:
            old, why = redundant_old
            yield ctx.finding(
                anchor,
                f"{what} makes {_show(ctx, table, old)} redundant: {why}",
                help=f"Drop the old one once this one exists: `DROP INDEX CONCURRENTLY {_name(old)};`."
                + prisma_schema_hint(ctx, f"remove the `@@index([{', '.join(old.columns)}])`"),
            )


def _show(ctx: Context, table: str, old: Any) -> str:
    """How to name an existing index in a message: its name (or its constraint), columns and origin."""
    name = _name(old)
    if old.created_in is None:
        model = ctx.schema.table(table)
        for con in model.constraints if model is not None else ():
            if con.kind == "CONSTR_PRIMARY" and con.columns == list(old.columns):
                name = f"the primary key {ast.quote_ident(con.name)}" if con.name else "the primary key"
                break
            if con.kind == "CONSTR_UNIQUE" and con.columns == list(old.columns):
                name = f"the UNIQUE constraint {ast.quote_ident(con.name)}" if con.name else "the UNIQUE constraint"
                break
    origin = ""
    if old.created_in and old.created_in == ctx.file.display:
        origin = "; created earlier in this migration"
    elif old.created_in and old.created_in != "history":
        origin = f"; created by {old.created_in}"
    return f"{name} ({_cols(old.columns)}{origin})"


def _covers(other: Any, index: Any) -> bool:
    """Does another existing index already make this (non-unique) index redundant?"""
    if other is index or index.unique or other.method != index.method:
        return False
    n = len(index.columns)
    if list(other.columns) == list(index.columns):
        return True
    return index.method == "btree" and len(other.columns) > n and list(other.columns[:n]) == list(index.columns)


def _name(index: Any) -> str:
    """The index's name for SQL; the model names an unnamed index of `schema.table` `schema.table_col_idx`."""
    return ast.quote_qualified(index.name)


def _cols(columns: list[str]) -> str:
    return ", ".join(ast.quote_ident(c) for c in columns)


def _describe(new: _Spec, qt: str) -> str:
    if new.constraint:
        name = f" {ast.quote_ident(new.name)}" if new.name else ""
        return f"the {new.constraint} constraint{name} on {qt} ({_cols(new.columns)})"
    name = f" {ast.quote_ident(new.name)}" if new.name else ""
    unique = "unique " if new.unique else ""
    return f"{unique}index{name} on {qt} ({_cols(new.columns)})"


def _plain_params(params: list | None) -> list[str] | None:
    """The column names of index parameters that are plain columns with default options, else None."""
    columns: list[str] = []
    for param in params or ():
        elem = ast.inner(param)
        if not isinstance(elem, dict) or not elem.get("name") or elem.get("expr"):
            return None
        if elem.get("opclass") or elem.get("opclassopts") or elem.get("collation"):
            return None
        if elem.get("ordering", "SORTBY_DEFAULT") != "SORTBY_DEFAULT":
            return None
        if elem.get("nulls_ordering", "SORTBY_NULLS_DEFAULT") != "SORTBY_NULLS_DEFAULT":
            return None
        columns.append(elem["name"])
    return columns or None


def _index_spec(node: dict) -> _Spec | None:
    if node.get("whereClause") or node.get("indexIncludingParams") or node.get("nulls_not_distinct"):
        return None
    columns = _plain_params(node.get("indexParams"))
    if columns is None:
        return None
    return _Spec(node.get("idxname"), columns, bool(node.get("unique")), node.get("accessMethod", "btree"))


def _constraint_spec(con: dict) -> _Spec | None:
    contype = con.get("contype")
    if contype not in ("CONSTR_UNIQUE", "CONSTR_PRIMARY"):
        return None
    if con.get("indexname") or con.get("including") or con.get("nulls_not_distinct") or con.get("options"):
        return None
    columns = ast.strings(con.get("keys"))
    if not columns:
        return None
    return _Spec(con.get("conname"), columns, True, "btree", "UNIQUE" if contype == "CONSTR_UNIQUE" else "PRIMARY KEY")


def _existing(ctx: Context, table: str, new_name: str | None) -> list[Any]:
    """The table's known indexes that can be compared: not partial, not dropped later in this migration."""
    dropped = ctx.indexed("duplicate_index.dropped", _drops)
    created = ctx.indexed("duplicate_index.created", _creates)
    out = []
    base = ast.table_key(table).split(".")[-1]
    for index in ctx.schema.indexes_of(table):
        names = {ast.table_key(index.name)}
        if index.created_in is None and index.name.endswith("_pkey"):
            names.add(f"{base}_pkey")  # PostgreSQL's name for an unnamed primary key
        if index.partial or index.name == new_name:
            continue
        if any(dropped.get(name, [-1])[-1] >= ctx.index for name in names):
            continue  # dropped by this statement or a later one: a replacement
        if any(c == "(expr)" or not c for c in index.columns):
            continue
        earlier = [i for i in created.get(index.name, ()) if i < ctx.index]
        if earlier and _index_spec(ctx.statements[earlier[-1]].node) is None:
            continue  # created in this migration with options this rule does not compare
        out.append(index)
    return out


def _creates(stmt: Statement) -> Iterator[str]:
    if stmt.node_type == "IndexStmt":
        yield _model_name(stmt.node)


def _model_name(node: dict) -> str:
    """The name the schema model gives an index of this CREATE INDEX (it makes one up for an unnamed index)."""
    if node.get("idxname"):
        return node["idxname"]
    table = ast.table_key(ast.relation_name(node.get("relation"))).split(".")[-1]
    columns = [ast.inner(p).get("name") or "(expr)" for p in node.get("indexParams") or ()]
    return f"{table}_{'_'.join(columns)}_idx"


def _drops(stmt: Statement) -> Iterator[str]:
    """Names of the indexes and constraints a statement drops."""
    node = stmt.node
    if stmt.node_type == "DropStmt" and node.get("removeType") == "OBJECT_INDEX":
        for obj in node.get("objects") or ():
            kind, value = ast.unwrap(obj)
            yield ast.table_key(".".join(ast.strings(value.get("items")) if kind == "List" else ast.strings([obj])))
    elif stmt.node_type == "AlterTableStmt":
        for item in node.get("cmds") or ():
            cmd = ast.inner(item)
            if cmd.get("subtype") == "AT_DropConstraint" and cmd.get("name"):
                yield cmd["name"]
