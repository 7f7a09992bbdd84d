from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.facts.locks import ACCESS_EXCLUSIVE, EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, blocks
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast

_MODE_NAMES = {1: "ACCESS SHARE", 2: "ROW SHARE", 3: "ROW EXCLUSIVE", 4: "SHARE UPDATE EXCLUSIVE", 5: "SHARE",
               6: "SHARE ROW EXCLUSIVE", 7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE"}
_MODES = {5: SHARE, 6: SHARE_ROW_EXCLUSIVE, 7: EXCLUSIVE, 8: ACCESS_EXCLUSIVE}


class LockTable(Rule):
    """An explicit `LOCK TABLE` in a mode that blocks reads or writes.

    Modes that block neither (`ACCESS SHARE` … `SHARE UPDATE EXCLUSIVE`) and
    tables created earlier in the same migration are not reported.

    ## Why is this bad?
    The lock is held until the transaction ends, so everything that runs after
    it in the migration runs while other sessions wait: `ACCESS EXCLUSIVE` (the
    default mode) blocks every read and write, `SHARE`, `SHARE ROW EXCLUSIVE`
    and `EXCLUSIVE` block every write. While the LOCK waits for running queries
    to finish, every later query on the table queues behind it. Outside a
    transaction block, `LOCK TABLE` fails (SQLSTATE 25P01).

    ## Example
    ```sql
    BEGIN;
    LOCK TABLE "Order";
    UPDATE "Order" SET "status" = 'archived' WHERE "createdAt" < '2020-01-01';
    COMMIT;
    ```

    ## Use instead
    ```sql
    UPDATE "Order" SET "status" = 'archived' WHERE "createdAt" < '2020-01-01';
    ```

    ## When it's fine
    When it is taken on purpose to order locks and avoid a deadlock, as the
    first statement of a short transaction, with a `lock_timeout` set before it.

    ## References
    - PostgreSQL: [LOCK](https://www.postgresql.org/docs/current/sql-lock.html)
    - PostgreSQL: [Explicit Locking, table-level lock modes](https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES)
    """

    id = "lock-table"
    summary = "explicit LOCK TABLE blocks reads or writes of the table until the transaction ends"
    severity = Severity.WARNING
    predicts = ("25P01",)
    statements = ("LockStmt",)
    lock = "as requested (ACCESS EXCLUSIVE by default)"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        number = node.get("mode", 8)
        tables = [ast.relation_name(r) for r in node.get("relations") or ()]
        names = ", ".join(ast.quote_qualified(t) for t in tables)
        mode_name = _MODE_NAMES.get(number, "ACCESS EXCLUSIVE")
        if not ctx.transaction.active:
            yield ctx.finding(
                ctx.statement,
                f"LOCK TABLE {names} IN {mode_name} MODE runs outside a transaction block, where it fails "
                "(SQLSTATE 25P01: LOCK TABLE can only be used in transaction blocks)",
                help=("Drop it: each statement already takes the lock it needs. If the lock is meant to cover several "
                      "statements, put them between BEGIN and COMMIT, with `SET LOCAL lock_timeout = '5s';` first."),
                risk=Risk.HIGH,  # the deploy fails
            )
            return
        mode = _MODES.get(number)
        existing = [t for t in tables if not ctx.is_new_table(t)]
        if mode is None or not existing:
            return
        names = ", ".join(ast.quote_qualified(t) for t in existing)
        blocked = blocks(mode)
        what = "reads and writes" if "reads" in blocked else "INSERT, UPDATE and DELETE"
        queued = "every later query" if "reads" in blocked else "every later write"
        timeout = "" if ctx.timeouts[ctx.index].lock_timeout else (
            " Set `SET lock_timeout = '5s';` before it so that the wait cannot stall the table.")
        yield ctx.finding(
            ctx.statement,
            f"LOCK TABLE {names} IN {mode_name} MODE: {what} of {names} wait until the transaction commits, "
            f"and while the lock waits for running queries, {queued} on {'them' if len(existing) > 1 else 'it'} "
            "queues behind it",
            help=("Drop it unless it orders locks on purpose: each statement takes the lock it needs for as long "
                  "as it needs it. Keep whatever follows it in the transaction short."
                  + (" If the point is to stop concurrent writes, `LOCK TABLE " + names + " IN SHARE ROW EXCLUSIVE "
                     "MODE;` does that and lets reads go on." if mode == ACCESS_EXCLUSIVE else "")
                  + timeout),
        )
