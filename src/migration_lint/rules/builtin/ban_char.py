from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migration_lint.facts.columns import column_site, old_type
from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import prisma_schema_hint
from migration_lint.syntax import ast
from migration_lint.syntax.names import truncate
from migration_lint.syntax.text import replace_type
from migration_lint.syntax.types import type_base


class BanChar(Rule):
    """A column declared `char(n)` / `character(n)` (blank-padded), instead of `text`.

    Checked where the type is chosen: columns of `CREATE TABLE`,
    `ALTER TABLE … ADD COLUMN`, and `ALTER COLUMN … TYPE char(n)` when the
    column's earlier type (from the replayed migrations) was not already
    `char(n)`. The one-byte internal type `"char"` (quoted) is not reported.

    ## Why is this bad?
    `char(n)` pads every shorter value with spaces up to `n` characters. The
    padding is ignored by `=` but not by `LIKE`, regular expressions, or
    anything that reads the stored value (clients receive `'ab   '`), and it is
    dropped when the value is cast to `text`, so the same row compares
    differently depending on the expression. It is not faster than `text` or
    `varchar` (all three are stored the same way, `char(n)` wastes the padding),
    and a value longer than `n` is an error, so it does not even guarantee the
    length it suggests for shorter values. `char` without a length is `char(1)`.

    ## Example
    ```sql
    CREATE TABLE "Country" ("id" bigint PRIMARY KEY, "code" char(2) NOT NULL);
    ```

    ## Use instead
    ```sql
    CREATE TABLE "Country" (
        "id" bigint PRIMARY KEY,
        "code" text NOT NULL CONSTRAINT "Country_code_length" CHECK (char_length("code") = 2)
    );
    ```

    ## When it's fine
    When a legacy client or a standard (SQL interoperability, fixed-width
    export) needs the padded semantics. Suppress with that reason.

    ## References
    - PostgreSQL: [Character Types](https://www.postgresql.org/docs/current/datatype-character.html)
    - PostgreSQL wiki: [Don't use char(n)](https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_char.28n.29)
    """

    id = "ban-char"
    summary = "char(n) pads values with blanks and is no faster than text; use text (with a CHECK if needed)"
    severity = Severity.WARNING
    nodes = ("ColumnDef",)

    def check_node(self, node: dict, ctx: Context) -> Iterable[Finding]:
        site = column_site(node, ctx)
        if site is None:
            return
        kind, table, column, _ = site
        type_node: dict = node.get("typeName") or {}
        length = _char_length(type_node)
        if length is None:
            return
        old = old_type(ctx.schema, table, column) if kind == "type" else None
        if kind == "type" and (old is None or type_base(old) == "bpchar"):
            return  # unknown, or already char(n): the choice was made (and reported) earlier
        qt, qc = ast.quote_qualified(table), ast.quote_ident(column)
        name = ast.quote_ident(truncate(f"{table.split('.')[-1]}_{column}_length"))
        check = f"CONSTRAINT {name} CHECK (char_length({qc}) = {length})"
        replaced = replace_type(ctx.source, ctx.statement, type_node, "text") if kind != "create" else None
        if replaced is not None:
            fix = f"`{replaced}`"
        else:
            fix = f"Declare it as `{qc} text{'[]' * len(type_node.get('arrayBounds') or ())}` in CREATE TABLE {qt}."
        if not type_node.get("arrayBounds"):
            fix += f" If every value must have exactly {length} character{'s' if length != 1 else ''}, add `{check}` to the column."
        written = f"char({length})"
        yield ctx.finding(
            type_node,
            f"{qt}.{qc} is {written}: shorter values are padded with spaces, which comparisons ignore but LIKE, "
            "regular expressions and clients see (and a cast to text strips); it is no faster than text",
            help=fix + prisma_schema_hint(ctx, f"replace `@db.Char({length})` with a plain `String` (text)"),
        )


def _char_length(type_node: Any) -> int | None:
    """n for char(n) / character(n) / bpchar(n); 1 for a bare char; None for any other type."""
    if not isinstance(type_node, dict):
        return None
    names = ast.strings(type_node.get("names"))
    if names != ["pg_catalog", "bpchar"] and names != ["bpchar"]:
        return None
    mods = type_node.get("typmods") or ()
    if not mods:
        # `char` / `character` mean char(1); a bare `bpchar` has no length (blank-trimming text)
        return 1 if names[0] == "pg_catalog" else None
    value = ast.const_value(mods[0])
    return value if isinstance(value, int) else None
