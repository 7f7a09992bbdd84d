from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule


class TraceMismatch(Rule):
    """What PostgreSQL did when `migration-lint trace` ran the migration contradicts the static analysis.

    Only with `migration-lint trace` (or `migration-lint review --trace`): the
    migrations run on a PostgreSQL server (a disposable one unless
    `--database-url` names a database), and for each statement
    the locks PostgreSQL granted, whether it rewrote a table and whether it
    failed are compared with what the lint report says. The rule fires when a
    lock mode or the rewrite flag differs from the lock model's claim, or when
    a statement failed and no check predicted the failure. In a normal lint
    run there is no trace and the rule says nothing.

    In the examples below, a `-- trace: {…}` comment stands for what the trace
    observed for a statement (`index` counts the statements from 0); the
    examples cannot start a server.

    ## Why is this bad?
    The report's lock, blocking and risk verdicts come from a model of
    PostgreSQL; where the server disagrees, the report understates or
    overstates the impact (a lock that blocks reads where the report says it
    blocks only writes, a rewrite it did not announce), or the deploy fails
    where the report said nothing. The trace is what PostgreSQL really did:
    judge the statement by it.

    ## Example
    ```sql
    -- trace: {"index": 0, "locks": {"Post": "AccessExclusiveLock"}, "rewrites": false}
    CREATE INDEX "Post_authorId_idx" ON "Post" ("authorId");
    ```

    ## Use instead
    Nothing to change in the migration when PostgreSQL does what the report
    says (here the SHARE lock of a plain `CREATE INDEX`); where it does not,
    choose the safe alternative for the lock PostgreSQL really took.

    ```sql
    -- trace: {"index": 0, "locks": {"Post": "ShareLock"}, "rewrites": false}
    CREATE INDEX "Post_authorId_idx" ON "Post" ("authorId");
    ```

    ## When it's fine
    A failure caused by the trace's synthetic rows (`--rows`) that real data
    cannot cause, e.g. a cast of generated text that real values would pass.
    A lock mismatch is never fine: it is a gap in migration-lint's lock model,
    and worth reporting with the statement.

    ## References
    - PostgreSQL: [Viewing locks, pg_locks](https://www.postgresql.org/docs/current/view-pg-locks.html)
    - PostgreSQL: [Explicit Locking, table-level lock modes](https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES)
    """

    id = "trace-mismatch"
    summary = "the traced run contradicts the static analysis: other locks, a rewrite, or an unpredicted failure"
    severity = Severity.ERROR
    migration = True

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        trace = getattr(ctx.file, "trace", None)
        if not trace:
            return
        from migration_lint.facts.observed import compare

        entries = [e for e in trace if isinstance(e, dict) and isinstance(e.get("index"), int)]
        top = [s for s in ctx.statements if s.parent is None]  # a trace runs a DO block as one statement
        for entry in sorted(entries, key=lambda e: e["index"]):
            if not 0 <= entry["index"] < len(top):
                continue
            stmt = top[entry["index"]]
            index = stmt.index
            if index >= len(ctx.effects):
                continue
            result = compare(entry, ctx.effects[index])
            if result.status == "mismatch":
                yield ctx.finding(
                    stmt,
                    f"the traced run contradicts the lock model: {result.describe()}",
                    help="Judge the statement by what PostgreSQL did (locks and rewrites above): the lint "
                    "report's lock, blocking and risk verdicts for it are based on the model. Please report the "
                    "difference to migration-lint with the statement.",
                    at=stmt,
                )
            elif result.status == "error":
                error = entry.get("error") or {}
                if error.get("predicted_by"):
                    continue
                code = error.get("sqlstate") or "?"
                message = " ".join(str(error.get("message") or "").split())
                yield ctx.finding(
                    stmt,
                    f"fails when traced on PostgreSQL (SQLSTATE {code}: {message}) and no check predicted the "
                    "failure",
                    help="Make the migration run on a copy of the production schema and data. If the failure "
                    "comes from the trace's synthetic rows (--rows), check whether real rows can cause it too.",
                    at=stmt,
                )
