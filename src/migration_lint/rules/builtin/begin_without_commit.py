from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Risk, Severity
from migration_lint.rules.base import Rule


class BeginWithoutCommit(Rule):
    """A `BEGIN` whose transaction is still open at the end of the file.

    Not reported when the migration tool runs the file inside a transaction of
    its own (Flyway, dbmate, Diesel, Drizzle): there the BEGIN only draws a
    warning and the tool commits.

    ## Why is this bad?
    Nothing after the BEGIN is committed by the file. `psql -f` ends the
    session with the transaction open, and PostgreSQL rolls it back: the
    migration reports success and changed nothing. Tools that send the file as
    one query (golang-migrate, the Supabase CLI, Prisma) leave the connection
    inside the open transaction, and whether the work is kept depends on what
    the tool happens to run next on that connection.

    ## Example
    ```sql
    BEGIN;
    ALTER TABLE "Order" ADD COLUMN "currency" text;
    ```

    ## Use instead
    ```sql
    BEGIN;
    ALTER TABLE "Order" ADD COLUMN "currency" text;
    COMMIT;
    ```

    ## When it's fine
    Never in a migration file.

    ## References
    - PostgreSQL: [BEGIN](https://www.postgresql.org/docs/current/sql-begin.html), [COMMIT](https://www.postgresql.org/docs/current/sql-commit.html)
    - psql: [ON_ERROR_ROLLBACK and --single-transaction](https://www.postgresql.org/docs/current/app-psql.html)
    """

    id = "begin-without-commit"
    summary = "BEGIN never committed: the transaction is still open at the end of the file"
    severity = Severity.ERROR
    migration = True

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        play = ctx.play
        if play.unclosed is None:
            return
        begin = ctx.statements[play.unclosed]
        risk = None
        if play.wrapper:
            outcome = (f"the BEGIN turns the implicit transaction ({play.wrapper}) into a regular one that the file "
                       "never commits, so whether the work is kept depends on what the tool runs next on that "
                       "connection")
        elif ctx.file.framework == "prisma":
            outcome = ("Prisma sends the statements one at a time, so the connection is left inside the open "
                       "transaction, and whether the work is kept depends on what Prisma runs next on it")
        else:
            outcome = ("run with psql, the session ends with the transaction open and PostgreSQL rolls it back: "
                       "nothing after the BEGIN is kept")
            risk = Risk.HIGH  # the migration does not apply
        yield ctx.finding(
            begin,
            f"BEGIN on line {begin.line} is never followed by COMMIT: {outcome}",
            help="End the transaction with `COMMIT;` after the last statement, or remove the BEGIN.",
            risk=risk,
            at=begin,
        )
