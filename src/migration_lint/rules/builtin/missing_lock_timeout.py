from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.facts.locks import ACCESS_EXCLUSIVE, EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE
from migration_lint.ingest.source import MappedSource
from migration_lint.model import Finding, Fix, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.fixes import prepend, wraps_non_transactional
from migration_lint.syntax import ast

_CONFLICTING = {ACCESS_EXCLUSIVE: "ACCESS EXCLUSIVE", SHARE_ROW_EXCLUSIVE: "SHARE ROW EXCLUSIVE",
                SHARE: "SHARE", EXCLUSIVE: "EXCLUSIVE"}


class MissingLockTimeout(Rule):
    """A statement waits for a lock that blocks reads or writes, with no `lock_timeout` set before it.

    Reported once per file, at the first statement that takes ACCESS
    EXCLUSIVE, EXCLUSIVE, SHARE ROW EXCLUSIVE or SHARE on a table in use with
    no `SET lock_timeout` earlier in the file. Silenced entirely by the
    configuration `runner_sets_timeouts = true`, for runners that set the
    timeout themselves (or a `lock_timeout` set on the role or database).

    ## Why is this bad?
    Even an instant `ALTER TABLE` has to wait until every transaction that
    touched the table has finished: a long report, a batch job, a session left
    *idle in transaction*. While it waits, its lock request sits at the head of
    the queue, and every later query on the table that conflicts with it (every
    query at all, for ACCESS EXCLUSIVE) queues behind it. A migration that would
    take milliseconds takes the application down for as long as the oldest
    transaction lasts. A `lock_timeout` makes the migration give up instead, so
    it can be retried a moment later.

    ## Example
    ```sql
    ALTER TABLE "Order" ADD COLUMN "note" text;
    ```

    ## Use instead
    ```sql
    SET lock_timeout = '5s';
    ALTER TABLE "Order" ADD COLUMN "note" text;
    ```

    ## When it's fine
    When the migration runner (or the database role it connects as) sets
    `lock_timeout` already: set `runner_sets_timeouts = true` in the
    configuration. When nothing else uses the database during the deploy.

    ## References
    - PostgreSQL: [lock_timeout](https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT)
    - PostgreSQL: [Explicit Locking](https://www.postgresql.org/docs/current/explicit-locking.html)
    - strong_migrations: [Lock timeout](https://github.com/ankane/strong_migrations#lock-timeout)
    """

    id = "missing-lock-timeout"
    summary = "a statement waits for a read- or write-blocking lock with no lock_timeout set before it"
    severity = Severity.INFO
    checklist = ("lock-timeout",)
    migration = True
    lock = "ACCESS EXCLUSIVE / SHARE ROW EXCLUSIVE / SHARE / EXCLUSIVE"

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        if ctx.config.runner_sets_timeouts:
            return
        sequences: set[str] = set()
        for stmt in ctx.statements:
            if stmt.node_type == "CreateSeqStmt":
                sequences.add(ast.table_key(ast.relation_name(stmt.node.get("sequence"))))
            if ctx.timeouts[stmt.index].lock_timeout:
                continue
            lock = self._conflicting_lock(ctx, stmt.index, sequences)
            if lock is None:
                continue
            relation, mode = lock
            qr = ast.quote_qualified(relation)
            mode_words = _CONFLICTING[mode]
            article = "an" if mode in (ACCESS_EXCLUSIVE, EXCLUSIVE) else "a"
            queued = ("every later query on it, reads included," if mode == ACCESS_EXCLUSIVE
                      else "every later INSERT, UPDATE and DELETE on it")
            help_text = ("Put `SET lock_timeout = '5s';` at the top of the migration (and retry the deploy if it times "
                         "out), so that the statement gives up instead of stalling the table.")
            slow = self._slow_statement(ctx)
            if slow is not None:
                help_text += (f" A `SET statement_timeout = …;` also bounds the slow {slow.kind} on line {slow.line}, "
                              "which holds its lock for as long as it runs.")
            help_text += (" If the migration runner already sets it, say so with `runner_sets_timeouts = true` in "
                          "the configuration.")
            yield ctx.finding(
                stmt,
                f"{stmt.kind} needs {article} {mode_words} lock on {qr} and no `lock_timeout` is set: if a running "
                f"transaction is using {qr}, {queued} queues behind it for as long as it waits",
                help=help_text,
                at=stmt,
                fix=self._fix(ctx),
            )
            return

    @staticmethod
    def _fix(ctx: Context) -> Fix | None:
        if isinstance(ctx.file_source, MappedSource) or wraps_non_transactional(ctx, 1):
            return None  # one more statement would make the tool run CONCURRENTLY inside a transaction
        breakpoint = "--> statement-breakpoint\n" if ctx.file.framework == "drizzle" else ""
        return Fix("Set lock_timeout at the top of the migration", [prepend(ctx, f"SET lock_timeout = '5s';\n{breakpoint}")])

    @staticmethod
    def _conflicting_lock(ctx: Context, at: int, sequences: set[str]) -> tuple[str, str] | None:
        effect = ctx.effects[at]
        best = None
        for lock in effect.locks:
            if lock.mode not in _CONFLICTING or lock.relation in ("?", ""):
                continue
            if lock.role == "index":
                index = ctx.schema.index(lock.relation)
                if index is None or ctx.is_new_table(index.table, at=at):
                    continue
            elif lock.role == "sequence":
                if ast.table_key(lock.relation) in sequences:
                    continue
            elif ctx.is_new_table(lock.relation, at=at):
                continue
            if best is None or (lock.mode == ACCESS_EXCLUSIVE and best[1] != ACCESS_EXCLUSIVE):
                best = (lock.relation, lock.mode)
        return best

    @staticmethod
    def _slow_statement(ctx: Context):
        """The first statement of the file that rewrites or scans a table in use with no statement_timeout."""
        for stmt in ctx.statements:
            effect = ctx.effects[stmt.index]
            if ctx.timeouts[stmt.index].statement_timeout or not effect.transactional:
                continue
            if not (effect.rewrites or effect.scans or effect.row_locks_all):
                continue
            if any(not ctx.is_new_table(t, at=stmt.index) for t in effect.targets):
                return stmt
        return None
