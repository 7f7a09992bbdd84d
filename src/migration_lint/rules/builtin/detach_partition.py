from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import outside_transaction_advice
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand


class DetachPartition(Rule):
    """`ALTER TABLE … DETACH PARTITION` without `CONCURRENTLY` (PostgreSQL 14+).

    Before PostgreSQL 14 there is no concurrent form and nothing is reported;
    nor is a parent table created earlier in the same migration.

    ## Why is this bad?
    A plain DETACH PARTITION takes an ACCESS EXCLUSIVE lock on the partitioned
    table (and the partition): every query on any partition of the parent
    waits, and the lock request itself queues behind every running query on
    it. `DETACH PARTITION … CONCURRENTLY` takes SHARE UPDATE EXCLUSIVE on the
    parent and lets reads and writes go on.

    ## Example
    ```sql
    ALTER TABLE "Measurement" DETACH PARTITION "Measurement_2023";
    ```

    ## Use instead
    ```sql
    ALTER TABLE "Measurement" DETACH PARTITION "Measurement_2023" CONCURRENTLY;
    ```

    ## When it's fine
    When the parent table is not in use. `CONCURRENTLY` cannot run inside a
    transaction block and not when the parent has a default partition; if it is
    interrupted, finish it with `DETACH PARTITION … FINALIZE`.

    ## References
    - PostgreSQL: [ALTER TABLE, DETACH PARTITION](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DETACH-PARTITION)
    """

    id = "detach-partition"
    summary = "DETACH PARTITION without CONCURRENTLY locks the whole partitioned table ACCESS EXCLUSIVE"
    severity = Severity.WARNING
    alter_commands = ("AT_DetachPartition",)
    lock = "ACCESS EXCLUSIVE"

    def check_alter(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        if ctx.pg_version < 14:
            return
        parent = cmd.table
        if ctx.is_new_table(parent):
            return
        qp = ast.quote_qualified(parent)
        _, part = cmd.definition
        if part.get("concurrent"):
            return
        partition = ast.quote_qualified(ast.relation_name(part.get("name")))
        where = ""
        if ctx.transaction.active:
            where = " " + outside_transaction_advice(ctx)
        yield ctx.finding(
            part.get("name") or cmd.relation,
            f"DETACH PARTITION {partition} takes an ACCESS EXCLUSIVE lock on {qp}: reads and writes of every "
            f"partition of {qp} wait, and queue behind any running query on it",
            help=(f"`ALTER TABLE {qp} DETACH PARTITION {partition} CONCURRENTLY;` (SHARE UPDATE EXCLUSIVE: reads "
                  "and writes go on; not inside a transaction block, not with a default partition)." + where),
        )
