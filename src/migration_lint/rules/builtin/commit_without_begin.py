from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule


class CommitWithoutBegin(Rule):
    """`COMMIT` or `ROLLBACK` with no transaction of the file's own open.

    Under a migration tool that runs the file in one transaction (Flyway,
    dbmate, Diesel, Drizzle, golang-migrate and Supabase multi-statement
    files, Prisma before 7.4) it is reported when statements follow it, or when
    it is a ROLLBACK; a lone COMMIT at the very end is harmless there. A
    COMMIT that closes a nested BEGIN is `nested-begin`'s business.

    ## Why is this bad?
    Under such a tool the COMMIT ends the tool's transaction in the middle of
    the migration: what follows runs in another transaction (or none), so a
    failure after it leaves the migration half applied and not recorded, and
    the retry fails on objects that already exist. A ROLLBACK throws away the
    migration's changes while the tool still records the migration as applied.
    Without such a tool, the statements before it were not in a transaction at
    all (each committed on its own) and PostgreSQL only warns *there is no
    transaction in progress*: a BEGIN is probably missing.

    ## Example
    ```sql
    ALTER TABLE "Order" ADD COLUMN "currency" text;
    UPDATE "Order" SET "currency" = 'EUR';
    COMMIT;
    ```

    ## Use instead
    ```sql
    BEGIN;
    ALTER TABLE "Order" ADD COLUMN "currency" text;
    UPDATE "Order" SET "currency" = 'EUR';
    COMMIT;
    ```

    ## When it's fine
    When the file is run by a tool that wraps it in a transaction, a final
    COMMIT is harmless (and not reported); remove it anyway.

    ## References
    - PostgreSQL: [COMMIT](https://www.postgresql.org/docs/current/sql-commit.html) ("Issuing COMMIT when not inside a transaction does no harm, but it will provoke a warning message.")
    - PostgreSQL: [Multiple Statements in a Simple Query](https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-MULTI-STATEMENT)
    """

    id = "commit-without-begin"
    summary = "COMMIT or ROLLBACK without a BEGIN: ends the migration tool's transaction, or is a no-op"
    severity = Severity.WARNING
    migration = True

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        play = ctx.play
        for end, after in play.stray:
            stmt = ctx.statements[end]
            rollback = stmt.node.get("kind") == "TRANS_STMT_ROLLBACK"
            word = "ROLLBACK" if rollback else "COMMIT"
            if play.wrapper:
                if rollback:
                    message = (f"ROLLBACK without a BEGIN of the file's own rolls back the transaction the tool runs "
                               f"the migration in ({play.wrapper}): the migration's changes up to here are thrown "
                               "away, and the tool may still record it as applied")
                elif after is not None:
                    message = (f"COMMIT without a BEGIN of the file's own commits the transaction the tool runs the "
                               f"migration in ({play.wrapper}): the statements from line "
                               f"{ctx.statements[after].line} on run in another transaction, so a failure there leaves "
                               "the migration half applied")
                else:
                    continue
                help_text = "Remove it: the tool commits (or rolls back) the whole migration itself."
            else:
                message = (f"{word} without a BEGIN: no transaction is in progress, so PostgreSQL only warns, and the "
                           "statements before it were each committed on their own")
                help_text = ("Add `BEGIN;` where the transaction should start if the statements must apply together, "
                             f"or remove the {word}.")
            yield ctx.finding(stmt, message, help=help_text, at=stmt)
