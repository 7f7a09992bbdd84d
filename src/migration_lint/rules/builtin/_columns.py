"""Where a column definition sits and how its type is written: shared by the column-type rules."""

from __future__ import annotations

from migration_lint.facts.context import Context
from migration_lint.syntax import ast


def clip(name: str) -> str:
    """A generated identifier cut to PostgreSQL's 63 bytes."""
    data = name.encode()
    if len(data) <= 63:
        return name
    return data[:63].decode(errors="ignore")


def base(type_text: str) -> str:
    return type_text.split("(")[0].split("[")[0].strip().lower()


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


def old_type(ctx: Context, table: str, column: str) -> str | None:
    model = ctx.schema.table(table)
    if model is None:
        return None
    col = model.columns.get(column)
    return col.type if col is not None else None


_TYPE_WORDS = frozenset({"VARYING", "PRECISION", "WITH", "WITH_LA", "WITHOUT", "WITHOUT_LA", "TIME", "ZONE", "ARRAY"})


def type_span(ctx: Context, type_node: dict) -> tuple[int, int] | None:
    """Character offsets in the file of a type as written (`timestamp(3) without time zone`)."""
    from pglast.parser import scan

    loc = type_node.get("location")
    if not isinstance(loc, int) or loc < 0:
        return None
    start = ctx.source.char_offset(loc)
    text = ctx.source.text[start: ctx.statement.end]
    try:
        tokens = [t for t in scan(text) if t.name not in ("SQL_COMMENT", "C_COMMENT")]
    except Exception:  # the scanner rejects the fragment: no ready-made fix
        return None
    if not tokens:
        return None
    i = 1
    while i + 1 < len(tokens) and tokens[i].name == "ASCII_46":  # schema-qualified: pg_catalog.json
        i += 2
    while i < len(tokens):
        name = tokens[i].name
        if name in _TYPE_WORDS:
            i += 1
        elif name in ("ASCII_40", "ASCII_91"):
            close = "ASCII_41" if name == "ASCII_40" else "ASCII_93"
            depth, j = 0, i
            while j < len(tokens):
                if tokens[j].name == name:
                    depth += 1
                elif tokens[j].name == close:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(tokens):
                return None
            i = j + 1
        else:
            break
    return start, start + tokens[i - 1].end + 1


def replace_type(ctx: Context, type_node: dict, new: str, suffix: str = "") -> str | None:
    """The current statement with the column's type replaced by `new` (in the user's letter case) + `suffix`."""
    span = type_span(ctx, type_node)
    if span is None:
        return None
    text, stmt = ctx.source.text, ctx.statement
    written = text[span[0]: span[1]]
    if written[:1].isupper():
        new = new.upper()
    new += "[]" * len(type_node.get("arrayBounds") or ()) + suffix
    return (text[stmt.start: span[0]] + new + text[span[1]: stmt.end]).strip() + ";"
