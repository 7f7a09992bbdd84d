from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migration_lint.facts.columns import column_site, old_type
from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import prisma_schema_hint
from migration_lint.syntax import ast
from migration_lint.syntax.text import replace_type
from migration_lint.syntax.types import type_base


class PreferJsonb(Rule):
    """A column declared `json` instead of `jsonb`.

    Checked where the type is chosen: columns of `CREATE TABLE`,
    `ALTER TABLE … ADD COLUMN`, and `ALTER COLUMN … TYPE json` when the
    column's earlier type (from the replayed migrations) was not already `json`.

    ## Why is this bad?
    `json` stores the input text verbatim and re-parses it on every access.
    It has no equality operator, so `SELECT DISTINCT`, `GROUP BY`, `UNION` and
    unique constraints on it fail with "could not identify an equality operator
    for type json", and it cannot be indexed with GIN (`@>`, `?` lookups).
    `jsonb` is parsed once on write, compares, indexes and supports every
    json operator. Converting later is an `ALTER COLUMN … TYPE jsonb`, which
    rewrites the table under an ACCESS EXCLUSIVE lock.

    ## Example
    ```sql
    CREATE TABLE "Webhook" ("id" bigint PRIMARY KEY, "payload" json NOT NULL);
    ```

    ## Use instead
    ```sql
    CREATE TABLE "Webhook" ("id" bigint PRIMARY KEY, "payload" jsonb NOT NULL);
    ```

    ## When it's fine
    When the exact input text must be kept: key order, duplicate keys and
    white space (for example a webhook body whose signature is checked later).
    Suppress with that reason.

    ## References
    - PostgreSQL: [JSON Types](https://www.postgresql.org/docs/current/datatype-json.html)
    - PostgreSQL: [jsonb Indexing](https://www.postgresql.org/docs/current/datatype-json.html#JSON-INDEXING)
    """

    id = "prefer-jsonb"
    summary = "json column: no equality operator, no GIN index, re-parsed on every access; use jsonb"
    severity = Severity.WARNING
    nodes = ("ColumnDef",)

    def check_node(self, node: dict, ctx: Context) -> Iterable[Finding]:
        site = column_site(node, ctx)
        if site is None:
            return
        kind, table, column, _ = site
        type_node: dict = node.get("typeName") or {}
        if not _is_json(type_node):
            return
        if kind == "type":
            old = old_type(ctx.schema, table, column)
            if old is None or type_base(old) == "json":
                return  # unknown or already json: the choice was made (and reported) earlier
        qt, qc = ast.quote_qualified(table), ast.quote_ident(column)
        replaced = replace_type(ctx.source, ctx.statement, type_node, "jsonb")
        if kind == "create" or replaced is None:
            fix = f"Declare it as `{qc} jsonb{'[]' * len(type_node.get('arrayBounds') or ())}` in CREATE TABLE {qt}."
        else:
            fix = f"`{replaced}`"
        yield ctx.finding(
            type_node,
            f"{qt}.{qc} {'becomes' if kind == 'type' else 'is declared'} json: it is re-parsed on every access, has no equality operator (DISTINCT, "
            "GROUP BY, UNION and unique constraints fail on it) and cannot use a GIN index",
            help=fix + prisma_schema_hint(ctx, "remove `@db.Json` from the field (a plain `Json` field is jsonb)"),
        )


def _is_json(type_node: Any) -> bool:
    if not isinstance(type_node, dict):
        return False
    names = ast.strings(type_node.get("names"))
    if not names or (len(names) == 2 and names[0] != "pg_catalog") or len(names) > 2:
        return False
    return names[-1] == "json"
