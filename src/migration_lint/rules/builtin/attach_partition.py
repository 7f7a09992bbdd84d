from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import prisma_edit_hint
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand
from migration_lint.syntax.text import clause_text


class AttachPartition(Rule):
    """`ALTER TABLE … ATTACH PARTITION` of a table that holds rows, without a constraint proving the bound.

    A table created earlier in the same migration is empty and not reported.

    ## Why is this bad?
    PostgreSQL checks every row of the table being attached against the
    partition bound while it holds an ACCESS EXCLUSIVE lock on that table:
    reads and writes of it wait for a full scan (and the default partition, if
    there is one, is scanned too). From PostgreSQL 12 the partitioned table
    itself only gets SHARE UPDATE EXCLUSIVE; before 12 it is locked ACCESS
    EXCLUSIVE as well. The scan is skipped when a validated CHECK constraint on
    the table already implies the bound, and that constraint can be added
    `NOT VALID` and validated without blocking reads or writes.

    ## Example
    ```sql
    ALTER TABLE "Event" ATTACH PARTITION "Event_2025" FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    ```

    ## Use instead
    ```sql
    ALTER TABLE "Event_2025" ADD CONSTRAINT "Event_2025_bound"
      CHECK ("createdAt" IS NOT NULL AND "createdAt" >= '2025-01-01' AND "createdAt" < '2026-01-01') NOT VALID;
    ALTER TABLE "Event_2025" VALIDATE CONSTRAINT "Event_2025_bound";
    -- then, in the next migration (the scan is skipped):
    -- ALTER TABLE "Event" ATTACH PARTITION "Event_2025" FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    -- ALTER TABLE "Event_2025" DROP CONSTRAINT "Event_2025_bound";
    ```

    ## When it's fine
    On a table created in the same migration (it is empty), or one that is
    small. When a validated CHECK constraint on the table already implies the
    bound (the recipe above), PostgreSQL skips the scan: suppress the finding
    with that reason.

    ## References
    - PostgreSQL: [ALTER TABLE ATTACH PARTITION](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-ATTACH-PARTITION)
    - PostgreSQL: [Partition Maintenance](https://www.postgresql.org/docs/current/ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-MAINTENANCE)
    """

    id = "attach-partition"
    summary = "ATTACH PARTITION scans the attached table under ACCESS EXCLUSIVE unless a CHECK proves the bound"
    severity = Severity.WARNING
    checklist = ("lock-timeout", "long-lock")
    alter_commands = ("AT_AttachPartition",)
    lock = "ACCESS EXCLUSIVE (the partition)"

    def check_alter(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        _, part = cmd.definition
        if not part.get("name"):
            return
        partition = ast.relation_name(part["name"])
        if ctx.is_new_table(partition):
            return
        qp, qt = ast.quote_qualified(partition), ast.quote_qualified(cmd.table)
        bound = part.get("bound") or {}
        if bound.get("is_default"):
            bound_sql = "DEFAULT"
        else:  # the bound's location is the word after FOR VALUES (FROM, IN, WITH)
            bound_sql = "FOR VALUES " + (clause_text(ctx.source, ctx.statement, bound.get("location")) or "…")
        check = ast.quote_ident(f"{partition.rpartition('.')[2]}_bound")
        parent = "" if ctx.pg_version >= 12 else f", and before PostgreSQL 12 {qt} is locked ACCESS EXCLUSIVE too"
        yield ctx.finding(
            part["name"],
            f"ATTACH PARTITION {qp} checks every row of {qp} against the bound under an ACCESS EXCLUSIVE lock on it: "
            f"reads and writes of {qp} wait for a full scan{parent}",
            help=(f"Prove the bound first, without a long lock: `ALTER TABLE {qp} ADD CONSTRAINT {check} CHECK "
                  f"(<the bound on the partition key, NOT NULL included>) NOT VALID;` and `ALTER TABLE {qp} VALIDATE "
                  f"CONSTRAINT {check};` (SHARE UPDATE EXCLUSIVE: reads and writes go on), then `ALTER TABLE {qt} "
                  f"ATTACH PARTITION {qp} {bound_sql};` (no scan) and `ALTER TABLE {qp} DROP CONSTRAINT {check};`."
                  + prisma_edit_hint(ctx)),
        )
