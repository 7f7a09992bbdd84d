from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from migration_lint.facts.columns import column_site, old_type
from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import prisma_schema_hint
from migration_lint.syntax import ast
from migration_lint.syntax.text import replace_type
from migration_lint.syntax.types import type_base


class PreferTimestamptz(Rule):
    """A column declared `timestamp` (without time zone) instead of `timestamptz`.

    Checked where the type is chosen: columns of `CREATE TABLE`,
    `ALTER TABLE … ADD COLUMN`, and `ALTER COLUMN … TYPE timestamp` when the
    column's earlier type (from the replayed migrations) was not already
    `timestamp`. In Prisma folders, Prisma's default mapping of `DateTime`
    (`TIMESTAMP(3)`) is not reported unless the option `prisma_default` is set:
    Prisma writes UTC from the client, every Prisma project has it, and the
    fix is an `@db.Timestamptz(3)` on every `DateTime` field. An explicit
    `@db.Timestamp(6)`, or a change away from `timestamptz`, is reported.

    ## Why is this bad?
    `timestamp without time zone` stores a wall-clock reading with no zone.
    The same instant reads differently depending on who wrote it:
    `DEFAULT now()` / `CURRENT_TIMESTAMP` store the time in the session's
    `TimeZone`, drivers convert with the client's zone, and comparing with a
    `timestamptz` value converts with the session's zone. A server or session
    not on UTC, or a daylight-saving change, silently shifts values.
    `timestamptz` stores the instant (as UTC) and takes the same 8 bytes.

    ## Example
    ```sql
    CREATE TABLE "Session" ("id" bigint PRIMARY KEY, "expiresAt" timestamp(3) NOT NULL);
    ```

    ## Use instead
    ```sql
    CREATE TABLE "Session" ("id" bigint PRIMARY KEY, "expiresAt" timestamptz(3) NOT NULL);
    ```

    ## When it's fine
    For a civil time that is not an instant (an alarm at 07:00 local time,
    a date and time typed by a user with the zone kept in another column), or
    when every writer and reader provably uses UTC. Suppress with that reason.
    With Prisma, `DateTime` maps to `TIMESTAMP(3)` by default; use
    `@db.Timestamptz(3)` on the field.

    ## References
    - PostgreSQL: [Date/Time Types](https://www.postgresql.org/docs/current/datatype-datetime.html)
    - PostgreSQL wiki: [Don't use timestamp (without time zone)](https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_timestamp_.28without_time_zone.29)
    - Prisma: [DateTime native types](https://www.prisma.io/docs/orm/reference/prisma-schema-reference#datetime)
    """

    id = "prefer-timestamptz"
    summary = "timestamp without time zone: values shift with the session's TimeZone; use timestamptz"
    severity = Severity.WARNING
    nodes = ("ColumnDef",)

    @dataclass
    class Options:
        #: also report Prisma's default mapping of `DateTime` (`TIMESTAMP(3)`) in Prisma folders
        prisma_default: bool = False

    def check_node(self, node: dict, ctx: Context) -> Iterable[Finding]:
        site = column_site(node, ctx)
        if site is None:
            return
        kind, table, column, _ = site
        type_node: dict = node.get("typeName") or {}
        if not _is_timestamp(type_node):
            return
        old = old_type(ctx.schema, table, column) if kind == "type" else None
        if kind == "type" and (old is None or type_base(old) == "timestamp"):
            return  # unknown, or already timestamp: the choice was made (and reported) earlier
        prisma_default = ctx.is_prisma and _typmods(type_node) == [3] and not type_node.get("arrayBounds")
        options = self.options or self.Options()
        if prisma_default and not options.prisma_default and not (old and type_base(old) == "timestamptz"):
            return
        qt, qc = ast.quote_qualified(table), ast.quote_ident(column)
        mods = _typmods(type_node)
        new = "timestamptz" + (f"({mods[0]})" if mods else "")
        replaced = replace_type(ctx.source, ctx.statement, type_node, new)
        if kind == "create" or replaced is None:
            fix = f"Declare it as `{qc} {new}{'[]' * len(type_node.get('arrayBounds') or ())}` in CREATE TABLE {qt}."
        else:
            fix = f"`{replaced}`"
        if old and type_base(old) == "timestamptz":
            what = f"{qt}.{qc} changes from timestamptz to timestamp without time zone"
            fix = f"Keep {qt}.{qc} timestamptz: leave its type out of this ALTER TABLE."
        else:
            what = f"{qt}.{qc} is timestamp without time zone"
        yield ctx.finding(
            type_node,
            f"{what}: it stores a wall-clock time with no zone, so values written or compared under another "
            "TimeZone setting (including DEFAULT now() / CURRENT_TIMESTAMP, which use the session's zone) shift "
            "silently",
            help=fix + prisma_schema_hint(ctx, f"declare the field as `DateTime @db.Timestamptz({mods[0] if mods else 6})`"),
        )


def _is_timestamp(type_node: Any) -> bool:
    if not isinstance(type_node, dict):
        return False
    names = ast.strings(type_node.get("names"))
    if not names or (len(names) == 2 and names[0] != "pg_catalog") or len(names) > 2:
        return False
    return names[-1] == "timestamp"


def _typmods(type_node: dict) -> list[Any]:
    return [ast.const_value(mod) for mod in type_node.get("typmods") or ()]
