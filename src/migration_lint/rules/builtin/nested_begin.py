from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule


class NestedBegin(Rule):
    """`BEGIN` inside a transaction that is already open, followed by statements that end up outside it.

    Either a BEGIN inside the file's own `BEGIN … COMMIT`, or a BEGIN in a
    file that the migration tool already runs inside a transaction of its own
    (Flyway, dbmate, Diesel, Drizzle). Reported only when statements follow
    the COMMIT that ends the transaction early: a file wrapped whole in
    `BEGIN … COMMIT` is harmless. (golang-migrate, the Supabase CLI and Prisma
    before 7.4 send the file as one query: there an explicit BEGIN simply
    turns that implicit transaction into a regular one.)

    ## Why is this bad?
    PostgreSQL does not nest transactions: the inner BEGIN only draws a
    warning (*there is already a transaction in progress*), and the first
    COMMIT commits everything since the outer BEGIN. The statements after it
    run outside any transaction, each committed on its own: if one of them
    fails, the earlier ones stay applied and the migration is left half done
    (and, under a migration tool, not recorded as applied, so the retry fails
    on objects that already exist).

    ## Example
    ```sql
    BEGIN;
    ALTER TABLE "Order" ADD COLUMN "currency" text;
    BEGIN;
    UPDATE "Order" SET "currency" = 'EUR' WHERE "currency" IS NULL;
    COMMIT;
    ALTER TABLE "Order" ALTER COLUMN "currency" SET DEFAULT 'EUR';
    COMMIT;
    ```

    ## Use instead
    ```sql
    BEGIN;
    ALTER TABLE "Order" ADD COLUMN "currency" text;
    SAVEPOINT backfill;
    UPDATE "Order" SET "currency" = 'EUR' WHERE "currency" IS NULL;
    RELEASE SAVEPOINT backfill;
    ALTER TABLE "Order" ALTER COLUMN "currency" SET DEFAULT 'EUR';
    COMMIT;
    ```

    ## When it's fine
    Never as written; use `SAVEPOINT` for a nested unit of work, and leave
    transaction control to a migration tool that already wraps the file.

    ## References
    - PostgreSQL: [BEGIN](https://www.postgresql.org/docs/current/sql-begin.html) ("Issuing BEGIN when already inside a transaction block will provoke a warning message. The state of the transaction is not affected.")
    - PostgreSQL: [SAVEPOINT](https://www.postgresql.org/docs/current/sql-savepoint.html)
    """

    id = "nested-begin"
    summary = "BEGIN inside an open transaction: the first COMMIT ends both, what follows runs outside it"
    severity = Severity.WARNING
    migration = True

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        play = ctx.play
        innermost = {end: (begin, outer, end, after) for begin, outer, end, after in play.nested}  # one per COMMIT
        for begin, outer, end, after in sorted(innermost.values()):
            end_stmt, after_stmt = ctx.statements[end], ctx.statements[after]
            if outer is None:
                inside = f"the transaction the tool already runs the migration in ({play.wrapper})"
                fix = ("Remove BEGIN and COMMIT from the file: the tool's transaction already makes the migration "
                       "atomic (use SAVEPOINT for a nested unit of work).")
            else:
                inside = f"the transaction opened by the BEGIN on line {ctx.statements[outer].line}"
                fix = ("Remove the inner BEGIN and its COMMIT, or use `SAVEPOINT name;` … `RELEASE SAVEPOINT name;` "
                       "for a nested unit of work.")
            yield ctx.finding(
                ctx.statements[begin],
                f"BEGIN inside {inside} only draws a warning: the {end_stmt.kind or 'COMMIT'} on line {end_stmt.line} "
                f"ends that transaction, and the statements from line {after_stmt.line} on run outside it"
                + (", so a failure there leaves the migration half applied" if play.wrapper
                   else ", each committed on its own"),
                help=fix,
                at=ctx.statements[begin],
            )
