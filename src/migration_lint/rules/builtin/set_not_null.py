from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.ingest.source import MappedSource
from migration_lint.model import Finding, Fix, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.fixes import edit, in_new_migration, new_name, stays_outside
from migration_lint.rules.recipes import prisma_edit_hint
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand
from migration_lint.syntax.names import not_null_check_name


class SetNotNull(Rule):
    """`ALTER COLUMN … SET NOT NULL` on a table in use, without a validated `CHECK (col IS NOT NULL)`.

    ## Why is this bad?
    PostgreSQL checks every row while it holds an ACCESS EXCLUSIVE lock: reads
    and writes of the table wait for a full table scan. From PostgreSQL 12 the
    scan is skipped when a validated `CHECK (col IS NOT NULL)` constraint
    already proves it, and that constraint can be added `NOT VALID` (instant)
    and validated under a lock that lets reads and writes go on.

    ## Example
    ```sql
    ALTER TABLE "Client" ALTER COLUMN "companySize" SET NOT NULL;
    ```

    ## Use instead
    ```sql
    ALTER TABLE "Client" ADD CONSTRAINT "Client_companySize_not_null" CHECK ("companySize" IS NOT NULL) NOT VALID;
    ALTER TABLE "Client" VALIDATE CONSTRAINT "Client_companySize_not_null";
    ALTER TABLE "Client" ALTER COLUMN "companySize" SET NOT NULL;
    ALTER TABLE "Client" DROP CONSTRAINT "Client_companySize_not_null";
    ```

    ## When it's fine
    On a table created in the same migration, or a small one. Earlier
    migrations are taken into account: a validated `CHECK (col IS NOT NULL)`
    created before silences this rule. Before PostgreSQL 12 there is no
    scan-free way; keep the CHECK constraint instead of SET NOT NULL.

    ## References
    - PostgreSQL: [ALTER TABLE SET NOT NULL](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL)
    """

    id = "set-not-null"
    summary = "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE (blocks reads and writes)"
    severity = Severity.ERROR
    checklist = ("lock-timeout", "long-lock")
    alter_commands = ("AT_SetNotNull", "AT_AddConstraint")
    lock = "ACCESS EXCLUSIVE"

    def check_alter(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        table = cmd.table
        if ctx.is_new_table(table):
            return
        if cmd.subtype == "AT_AddConstraint":
            yield from self._primary_key_using_index(cmd, ctx)
            return
        model = ctx.schema.table(table)
        qt = ast.quote_qualified(table)
        column = cmd.name or "?"
        if model is not None and ctx.pg_version >= 12:
            col = model.columns.get(column)
            if col is not None and col.not_null:
                return
            if any(c.kind == "CONSTR_CHECK" and c.validated and c.not_null_column == column for c in model.constraints):
                return
        qc = ast.quote_ident(column)
        check = ast.quote_ident(not_null_check_name(table, column))
        if ctx.pg_version >= 12:
            recipe = (
                f"Prove it first, without a long lock: `ALTER TABLE {qt} ADD CONSTRAINT {check} CHECK ({qc} IS NOT NULL) NOT VALID;` "
                f"then (another migration, or after a COMMIT) `ALTER TABLE {qt} VALIDATE CONSTRAINT {check};` "
                f"(SHARE UPDATE EXCLUSIVE: reads and writes go on), then `ALTER TABLE {qt} ALTER COLUMN {qc} SET NOT NULL;` "
                f"(no scan) and `ALTER TABLE {qt} DROP CONSTRAINT {check};`."
            )
        else:
            recipe = (f"Before PostgreSQL 12 SET NOT NULL always scans: keep a validated `CHECK ({qc} IS NOT NULL)` "
                      "constraint (added NOT VALID, then VALIDATE) instead.")
        yield ctx.finding(
            cmd.cmd if cmd.cmd.get("location") else cmd.relation,
            f"SET NOT NULL on {qt}.{qc} scans the whole table under an ACCESS EXCLUSIVE lock: reads and writes "
            f"of {qt} wait until every row is checked",
            help=recipe + prisma_edit_hint(ctx),
            fix=self._fix(cmd, qt, qc, check, ctx) if ctx.pg_version >= 12 else None,
        )

    @staticmethod
    def _fix(cmd: AlterCommand, qt: str, qc: str, check: str, ctx: Context) -> Fix | None:
        """The four-step recipe in place of the statement (its only command); VALIDATE and what follows it in
        a migration of their own when the file runs in one transaction."""
        stmt = ctx.statement
        if len(cmd.stmt_node.get("cmds") or ()) != 1:
            return None
        add = f"ALTER TABLE {qt} ADD CONSTRAINT {check} CHECK ({qc} IS NOT NULL) NOT VALID"
        rest = (f"ALTER TABLE {qt} VALIDATE CONSTRAINT {check};\nALTER TABLE {qt} ALTER COLUMN {qc} SET NOT NULL;\n"
                f"ALTER TABLE {qt} DROP CONSTRAINT {check};")
        title = "Prove NOT NULL with a CHECK constraint validated apart, then SET NOT NULL without a scan"
        transaction = ctx.transactions[stmt.index]
        if not transaction.active and stays_outside(ctx, 3):
            if stmt.parent is not None or isinstance(ctx.file_source, MappedSource):
                return None
            return Fix(title, [edit(ctx, stmt.start, stmt.end, f"{add};\n{rest.rstrip(';')}")])
        if transaction.explicit:
            return None
        return in_new_migration(ctx, stmt, rest, title + " (in a migration of its own)", new_name(ctx, "set_not_null"),
                                keep=f"{add};\n")

    def _primary_key_using_index(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        """ADD PRIMARY KEY USING INDEX sets NOT NULL on the index's columns: a scan for each nullable one."""
        _, con = cmd.definition
        if con.get("contype") != "CONSTR_PRIMARY" or not con.get("indexname"):
            return
        index = ctx.schema.index(con["indexname"])
        model = ctx.schema.table(cmd.table)
        if index is None or model is None:
            return
        nullable = [c for c in index.columns if c in model.columns and not model.columns[c].not_null]
        if not nullable:
            return
        qt = ast.quote_qualified(cmd.table)
        cols = ", ".join(ast.quote_ident(c) for c in nullable)
        steps = " ".join(
            f"`ALTER TABLE {qt} ADD CONSTRAINT {ast.quote_ident(not_null_check_name(cmd.table, c))} CHECK "
            f"({ast.quote_ident(c)} IS NOT NULL) NOT VALID;`, `ALTER TABLE {qt} VALIDATE CONSTRAINT "
            f"{ast.quote_ident(not_null_check_name(cmd.table, c))};`, `ALTER TABLE {qt} ALTER COLUMN {ast.quote_ident(c)} "
            "SET NOT NULL;` (no scan)," for c in nullable)
        yield ctx.finding(
            con,
            f"ADD PRIMARY KEY USING INDEX {ast.quote_ident(con['indexname'])} makes {cols} NOT NULL: PostgreSQL scans "
            f"the whole of {qt} under an ACCESS EXCLUSIVE lock to check it, and reads and writes of {qt} wait",
            help=(f"Make {'it' if len(nullable) == 1 else 'them'} NOT NULL first, without a long lock: {steps} then add "
                  "the primary key (it then only checks the catalog)." + prisma_edit_hint(ctx)),
        )
