from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.fixes import new_name, run_outside_transaction
from migration_lint.rules.recipes import prisma_edit_hint
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand


class UniqueWithoutIndex(Rule):
    """`ADD CONSTRAINT … UNIQUE` or `PRIMARY KEY` that builds its index, on a table in use.

    Also covers `UNIQUE` / `PRIMARY KEY` written inside `ADD COLUMN`. The
    `USING INDEX` form, which adopts an index built beforehand, is not
    reported, nor are tables created earlier in the same migration.

    ## Why is this bad?
    PostgreSQL builds the unique index while the statement holds an ACCESS
    EXCLUSIVE lock on the table: reads and writes wait for the whole index
    build, minutes on a large table. `CREATE UNIQUE INDEX CONCURRENTLY` builds
    the same index while reads and writes go on, and `ADD CONSTRAINT … USING
    INDEX` then turns it into the constraint with only a brief lock.

    ## Example
    ```sql
    ALTER TABLE "User" ADD CONSTRAINT "User_email_key" UNIQUE ("email");
    ```

    ## Use instead
    ```sql
    CREATE UNIQUE INDEX CONCURRENTLY "User_email_key" ON "User" ("email");
    ALTER TABLE "User" ADD CONSTRAINT "User_email_key" UNIQUE USING INDEX "User_email_key";
    ```

    ## When it's fine
    On a table created in the same migration, or a small one. A plain unique
    index (`CREATE UNIQUE INDEX CONCURRENTLY` alone) enforces uniqueness just as
    well when nothing needs the constraint itself (a foreign key can reference
    a unique index). `ADD PRIMARY KEY … USING INDEX` still makes its columns
    NOT NULL, which scans the table unless they already are (see
    `set-not-null`). `CREATE INDEX CONCURRENTLY` does not work on a partitioned
    table.

    ## References
    - PostgreSQL: [ALTER TABLE, ADD table_constraint_using_index](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX)
    - PostgreSQL: [CREATE INDEX CONCURRENTLY](https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY)
    - strong_migrations: [Adding a unique constraint](https://github.com/ankane/strong_migrations#adding-a-unique-constraint)
    """

    id = "unique-without-index"
    summary = "ADD UNIQUE / PRIMARY KEY builds its index under ACCESS EXCLUSIVE (blocks reads and writes)"
    severity = Severity.ERROR
    alter_commands = ("AT_AddConstraint", "AT_AddColumn")
    lock = "ACCESS EXCLUSIVE"

    def check_alter(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        table = cmd.table
        if ctx.is_new_table(table):
            return
        _, definition = cmd.definition
        if cmd.subtype == "AT_AddConstraint":
            if definition.get("contype") in ("CONSTR_UNIQUE", "CONSTR_PRIMARY") and not definition.get("indexname"):
                yield self._finding(definition, ast.strings(definition.get("keys")), table, ctx, inline=False)
            return
        for item in definition.get("constraints") or ():
            _, con = ast.unwrap(item)
            if con.get("contype") in ("CONSTR_UNIQUE", "CONSTR_PRIMARY") and not con.get("indexname"):
                yield self._finding(con, [definition.get("colname", "?")], table, ctx, inline=True)

    def _finding(self, con: dict, columns: list[str], table: str, ctx: Context, *, inline: bool) -> Finding:
        qt = ast.quote_qualified(table)
        primary = con.get("contype") == "CONSTR_PRIMARY"
        kind = "PRIMARY KEY" if primary else "UNIQUE"
        base = table.split(".")[-1]
        name = con.get("conname") or (f"{base}_pkey" if primary else f"{base}_{'_'.join(columns)}_key")[:63]
        qn = ast.quote_ident(name)
        cols = ", ".join(ast.quote_ident(c) for c in columns)
        include = ast.strings(con.get("including"))
        include_sql = f" INCLUDE ({', '.join(ast.quote_ident(c) for c in include)})" if include else ""
        nulls = " NULLS NOT DISTINCT" if con.get("nulls_not_distinct") else ""
        index_sql = f"CREATE UNIQUE INDEX CONCURRENTLY {qn} ON {qt} ({cols}){include_sql}{nulls};"
        adopt_sql = f"ALTER TABLE {qt} ADD CONSTRAINT {qn} {kind} USING INDEX {qn};"
        steps = f"`{index_sql}` (outside a transaction block), then `{adopt_sql}` (a brief lock)"
        if inline:
            column = ast.quote_ident(columns[0])
            where = f"ADD COLUMN {column} … {kind}"
            steps = f"add the column without {kind}, then " + steps
        else:
            where = f"ADD CONSTRAINT {qn} {kind}"
        not_null = (" The primary key columns must already be NOT NULL, or ADD PRIMARY KEY scans the table to make "
                    "them so (see `set-not-null`)." if primary else "")
        fix = None
        stmt = ctx.statement
        if not inline and not primary and len(stmt.node.get("cmds") or ()) == 1 and not ctx.transactions[stmt.index].active:
            # the concurrent build must run outside a transaction: in place only (two new migrations would be
            # needed where the tool runs the file in one, the index and then the constraint)
            sql = f"{index_sql}\n{adopt_sql}"
            fix = run_outside_transaction(ctx, stmt, sql, "Build the unique index concurrently, then add the constraint "
                                          "with it", new_name(ctx, "concurrently"))
        return ctx.finding(
            con,
            f"{where} builds a unique index on {qt} under an ACCESS EXCLUSIVE lock: reads and writes of {qt} wait "
            "until the whole index is built",
            help=f"Build the index first without blocking: {steps}.{not_null}" + prisma_edit_hint(ctx),
            fix=fix,
        )
