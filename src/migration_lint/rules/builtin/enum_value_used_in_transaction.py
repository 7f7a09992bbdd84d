from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast

#: statements whose string constants are not enum input (comments, settings, other enums, function bodies)
_NOT_USES = frozenset({"CommentStmt", "AlterEnumStmt", "CreateEnumStmt", "CreateFunctionStmt", "VariableSetStmt",
                       "TransactionStmt", "AlterFunctionStmt", "CreateRoleStmt", "AlterRoleStmt", "GrantStmt"})


def _base(name: str) -> str:
    return name.rpartition(".")[2].strip('"')


def _walk_with_parent(node: Any, parent: tuple[str | None, Any] = (None, None)) -> Iterator[tuple[dict, tuple[str | None, Any]]]:
    """A_Const nodes below `node` with their nearest typed parent node (depth first, without recursion)."""
    stack: list[tuple[Any, tuple[str | None, Any]]] = [(node, parent)]
    while stack:
        node, parent = stack.pop()
        if isinstance(node, dict):
            if len(node) == 1:
                key = next(iter(node))
                child = node[key]
                if key[:1].isupper() and isinstance(child, dict):
                    if key == "A_Const":
                        yield child, parent
                        continue
                    stack.extend((value, (key, child)) for value in reversed(list(child.values())))
                    continue
            stack.extend((value, parent) for value in reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend((value, parent) for value in reversed(node))


def _column_type(ctx: Context, table: str | None, column: str | None) -> str | None:
    if not table or not column:
        return None
    model = ctx.schema.table(table)
    if model is None or column not in model.columns:
        return None
    return model.columns[column].type.rstrip("[]")


def _other_type(ctx: Context, stmt: Statement, const: dict, parent: tuple[str | None, Any], enum: str) -> bool:
    """Is the literal clearly given to something other than the enum (a cast or a column of another type)?"""
    kind, value = parent
    if kind == "TypeCast":
        cast = ast.type_name(value.get("typeName"))
        return _base(cast.rstrip("[]")) != _base(enum)
    table = ast.relation_name(stmt.node.get("relation")) if isinstance(stmt.node.get("relation"), dict) else None
    column = None
    if kind == "ResTarget":
        column = value.get("name")
    elif kind == "A_Expr":
        for side in (value.get("lexpr"), value.get("rexpr")):
            side_kind, side_value = ast.unwrap(side)
            if side_kind == "ColumnRef":
                names = ast.strings(side_value.get("fields"))
                column = names[-1] if names else None
    elif kind == "AlterTableCmd":
        column = value.get("name")
    elif kind == "List" and stmt.node_type == "InsertStmt":
        cols = [ast.inner(c).get("name") for c in stmt.node.get("cols") or ()]
        items = value.get("items") or ()
        for position, item in enumerate(items):
            if ast.inner(item) is const and position < len(cols):
                column = cols[position]
    col_type = _column_type(ctx, table, column)
    return col_type is not None and _base(col_type) != _base(enum)


def _use(ctx: Context, stmt: Statement, value: str, enum: str) -> Any:
    """The node (or statement) where a later statement uses the label, or None."""
    if stmt.node_type in _NOT_USES:
        return None
    if stmt.node_type == "DoStmt":
        body = next((ast.inner(arg).get("arg") for arg in stmt.node.get("args") or ()
                     if ast.inner(arg).get("defname") == "as"), None)
        text = ast.inner(body).get("sval", "") if body else ""
        return stmt if "'" + value.replace("'", "''") + "'" in text else None
    for const, parent in _walk_with_parent(stmt.node):
        sval = const.get("sval")
        literal = sval.get("sval") if isinstance(sval, dict) else None
        if literal != value:
            continue
        if _other_type(ctx, stmt, const, parent, enum):
            continue
        return {"A_Const": const}
    return None


class EnumValueUsedInTransaction(Rule):
    """A label added with `ALTER TYPE … ADD VALUE` is used later in the same transaction.

    The transaction is an explicit `BEGIN … COMMIT` or the one the migration
    tool wraps around the file (Flyway, golang-migrate, dbmate, Diesel,
    Drizzle, Supabase CLI, Prisma before 7.4). A use is a string constant equal
    to the new label in a later statement of that transaction: an INSERT or
    UPDATE value, a `WHERE`, a column `DEFAULT`, a `CHECK`, an index predicate,
    or a DO block. Constants cast to another type, or given to a column whose
    type the schema model knows to be another type, are not uses. Enums created
    in the same transaction are not reported (PostgreSQL allows that), nor
    PostgreSQL before 12, where `ADD VALUE` cannot run in a transaction at all
    (`concurrently-in-transaction` reports that).

    ## Why is this bad?
    A new enum label cannot be used until the transaction that added it has
    committed: PostgreSQL stops the statement with *unsafe use of new value*
    (SQLSTATE 55P04), the whole migration rolls back and the deploy fails.
    With Prisma the migration is then marked as failed (P3018).

    ## Example
    ```sql
    BEGIN;
    ALTER TYPE "Role" ADD VALUE 'AUDITOR';
    UPDATE "User" SET "role" = 'AUDITOR' WHERE "email" = 'audit@example.com';
    COMMIT;
    ```

    ## Use instead
    ```sql
    ALTER TYPE "Role" ADD VALUE 'AUDITOR';
    BEGIN;
    UPDATE "User" SET "role" = 'AUDITOR' WHERE "email" = 'audit@example.com';
    COMMIT;
    ```

    ## When it's fine
    Never in one transaction. Split the migration: the `ADD VALUE` in one, the
    statements that use the label in the next.

    ## References
    - PostgreSQL: [ALTER TYPE … ADD VALUE](https://www.postgresql.org/docs/current/sql-altertype.html) ("the new value cannot be used until after the transaction has been committed")
    - Prisma: [Enum value added and used in one migration](https://www.prisma.io/docs/orm/reference/error-reference#p3018)
    """

    id = "enum-value-used-in-transaction"
    summary = "A new enum label is used in the transaction that added it: the migration fails (55P04)"
    severity = Severity.ERROR
    fails_deploy = True
    predicts = ("55P04",)
    checklist = ("outside-transaction",)
    migration = True
    risk = Risk.HIGH

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        if ctx.pg_version < 12:
            return
        segments = [transaction.id for transaction in ctx.transactions]
        statements = ctx.statements
        for i, stmt in enumerate(statements):
            node = stmt.node
            if stmt.node_type != "AlterEnumStmt" or node.get("oldVal") or node.get("newVal") is None:
                continue
            segment = segments[i]
            if segment is None:
                continue
            enum = ".".join(ast.strings(node.get("typeName")))
            value = node["newVal"]
            created_here = any(
                segments[k] == segment and s.node_type == "CreateEnumStmt"
                and ast.table_key(".".join(ast.strings(s.node.get("typeName")))) == ast.table_key(enum)
                for k, s in enumerate(statements[:i]))
            if created_here:
                continue
            for j in range(i + 1, len(statements)):
                if segments[j] != segment:
                    break
                block = ctx.do_blocks.get(j)
                if block is not None and block.resolved:
                    continue  # its statements come next and are judged one by one
                anchor = _use(ctx, statements[j], value, enum)
                if anchor is None:
                    continue
                literal = "'" + value.replace("'", "''") + "'"
                qt = ast.quote_qualified(enum)
                reason = ctx.transactions[i].reason or "the same transaction"
                yield ctx.finding(
                    anchor,
                    f"{literal} was added to enum {qt} on line {stmt.line} in the same transaction ({reason}): using it "
                    f"before that transaction commits fails with \"unsafe use of new value {literal} of enum type\" "
                    "(SQLSTATE 55P04) and the whole migration rolls back",
                    help=self._advice(ctx, i, qt, literal),
                    at=statements[j],
                )

    @staticmethod
    def _advice(ctx: Context, add_index: int, qt: str, literal: str) -> str:
        add = f"`ALTER TYPE {qt} ADD VALUE {literal};`"
        transaction = ctx.transactions[add_index]
        if transaction.explicit:
            return f"Commit the new label before using it: run {add} before BEGIN, or add a COMMIT right after it."
        if ctx.file.framework == "prisma":
            return (f"Put {add} alone in a migration of its own (`prisma migrate dev --create-only`) that runs before "
                    "the one that uses the label, or upgrade to Prisma 7.4 or later, which sends statements one at a "
                    "time (set `prisma_version` to match).")
        return (f"Put {add} in a migration of its own that runs (and commits) before the statements that use "
                f"{literal}.")
