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


class PreferText(Rule):
    """A column declared `varchar(n)`: the length limit is part of the type (off by default).

    Checked where the type is chosen: columns of `CREATE TABLE`,
    `ALTER TABLE … ADD COLUMN`, and `ALTER COLUMN … TYPE varchar(n)` when the
    column's earlier type (from the replayed migrations) was not already
    `varchar`. `varchar` without a length, arrays and generated columns are
    not reported. This rule is opinionated (`text` and `varchar(n)` are stored
    the same way), so it is off unless selected, and its findings are `info`.

    ## Why is this bad?
    The limit lives in the column type, so changing it is an
    `ALTER COLUMN … TYPE`: it takes an ACCESS EXCLUSIVE lock, it fails while a
    view or rule uses the column (they must be dropped and recreated around
    it), and lowering the limit rewrites the whole table. A `text` column with
    a named `CHECK (char_length(col) <= n)` constraint enforces the same limit,
    performs the same, and its limit is changed by swapping the constraint:
    `ADD CONSTRAINT … NOT VALID`, then `VALIDATE CONSTRAINT`, which lets reads
    and writes go on.

    ## Example
    ```sql
    CREATE TABLE "Customer" ("id" bigint PRIMARY KEY, "name" varchar(100) NOT NULL);
    ```

    ## Use instead
    ```sql
    CREATE TABLE "Customer" (
        "id" bigint PRIMARY KEY,
        "name" text NOT NULL CONSTRAINT "Customer_name_max_length" CHECK (char_length("name") <= 100)
    );
    ```

    ## When it's fine
    When the limit is a fixed fact that will not change (an ISO currency code,
    a hash of known length), or the column is only ever widened: raising a
    `varchar` limit does not rewrite the table (it still fails while a view
    uses the column).

    ## References
    - PostgreSQL: [Character Types](https://www.postgresql.org/docs/current/datatype-character.html)
    - PostgreSQL wiki: [Don't use varchar(n) by default](https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_varchar.28n.29_by_default)
    - PostgreSQL: [ALTER TABLE, Notes](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES)
    """

    id = "prefer-text"
    summary = "varchar(n): changing the limit is an ALTER COLUMN TYPE; prefer text with a CHECK constraint"
    severity = Severity.INFO
    nodes = ("ColumnDef",)
    enabled_by_default = False

    def check_node(self, node: dict, ctx: Context) -> Iterable[Finding]:
        site = column_site(node, ctx)
        if site is None:
            return
        kind, table, column, _ = site
        type_node: dict = node.get("typeName") or {}
        length = _varchar_length(type_node)
        if length is None:
            return
        if any(ast.inner(c).get("contype") == "CONSTR_GENERATED" for c in node.get("constraints") or ()):
            return  # a generated column: the expression decides the value
        old = old_type(ctx.schema, table, column) if kind == "type" else None
        if kind == "type":
            if old is None or type_base(old) in ("varchar", "bpchar"):
                return  # unknown, or already a length-limited string: the choice was made earlier
        qt, qc = ast.quote_qualified(table), ast.quote_ident(column)
        name = ast.quote_ident(truncate(f"{table.split('.')[-1]}_{column}_max_length"))
        check = f"CONSTRAINT {name} CHECK (char_length({qc}) <= {length})"
        replaced = replace_type(ctx.source, ctx.statement, type_node, "text", " " + check) if kind == "add" else None
        if replaced is not None:
            fix = f"`{replaced}`"
        elif kind == "type":
            steps = (f"`ALTER TABLE {qt} ADD {check} NOT VALID;` then `ALTER TABLE {qt} VALIDATE CONSTRAINT {name};` "
                     "(the validation lets reads and writes go on)")
            if type_base(old or "") == "text":
                fix = f"Keep {qt}.{qc} text and add the limit as a constraint: {steps}."
            else:
                fix = f"`ALTER TABLE {qt} ALTER COLUMN {qc} TYPE text;`; {steps}."
        else:
            fix = f"Declare it as `{qc} text {check}` in CREATE TABLE {qt}."
        yield ctx.finding(
            type_node,
            f"{qt}.{qc} is varchar({length}): changing the limit later is an ALTER COLUMN TYPE under an ACCESS "
            "EXCLUSIVE lock, which fails while a view uses the column, and rewrites the table when the limit is "
            "lowered",
            help=fix + prisma_schema_hint(
                ctx, "declare it as a plain `String` (text) and add the CHECK constraint in a `--create-only` migration"),
        )


def _varchar_length(type_node: Any) -> int | None:
    if not isinstance(type_node, dict) or type_node.get("arrayBounds"):
        return None
    names = ast.strings(type_node.get("names"))
    if names != ["pg_catalog", "varchar"] and names != ["varchar"]:
        return None
    mods = type_node.get("typmods") or []
    if len(mods) != 1:
        return None
    value = ast.const_value(mods[0])
    return value if isinstance(value, int) else None
