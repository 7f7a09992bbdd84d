from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.facts.locks import blocks
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast

_MODE_WORDS = {"AccessExclusiveLock": "ACCESS EXCLUSIVE", "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE",
               "ExclusiveLock": "EXCLUSIVE", "ShareLock": "SHARE"}


class ValidateInSameTransaction(Rule):
    """`VALIDATE CONSTRAINT` in the same transaction as the `ADD CONSTRAINT … NOT VALID` it validates.

    Both an explicit `BEGIN … COMMIT` and the transaction a migration tool
    wraps around the file count (Flyway, dbmate, Diesel, Drizzle,
    golang-migrate and Supabase multi-statement files, Prisma before 7.4).
    Tables created earlier in the same migration are not reported.

    ## Why is this bad?
    `NOT VALID` exists so that the slow check of the existing rows runs under
    SHARE UPDATE EXCLUSIVE, which lets reads and writes go on. But locks are
    held until the transaction ends: in the same transaction, the SHARE ROW
    EXCLUSIVE (foreign key) or ACCESS EXCLUSIVE (CHECK) lock taken by the ADD is
    still held while VALIDATE scans the table, so writes (or reads and writes)
    wait for the whole check, exactly as without `NOT VALID`.

    ## Example
    ```sql
    BEGIN;
    ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") NOT VALID;
    ALTER TABLE "Post" VALIDATE CONSTRAINT "Post_authorId_fkey";
    COMMIT;
    ```

    ## Use instead
    ```sql
    BEGIN;
    ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") NOT VALID;
    COMMIT;
    BEGIN;
    ALTER TABLE "Post" VALIDATE CONSTRAINT "Post_authorId_fkey";
    COMMIT;
    ```

    ## When it's fine
    On a small table. With a migration tool that runs the whole file in one
    transaction, put the VALIDATE in the next migration.

    ## References
    - PostgreSQL: [ALTER TABLE, VALIDATE CONSTRAINT](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-VALIDATE-CONSTRAINT)
    - strong_migrations: [Adding a foreign key](https://github.com/ankane/strong_migrations#adding-a-foreign-key) (validate in a separate migration)
    """

    id = "validate-in-same-transaction"
    summary = "VALIDATE in the same transaction as its ADD … NOT VALID: the ADD's lock is held during the scan"
    severity = Severity.ERROR
    migration = True
    lock = "SHARE ROW EXCLUSIVE / ACCESS EXCLUSIVE"

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        for validate, add in sorted(ctx.validations.items()):
            stmt = ctx.statements[validate]
            table = ast.relation_name(stmt.node.get("relation"))
            if ctx.is_new_table(table, at=add):
                continue
            lock = next((lock for lock in ctx.effects[add].locks if ast.table_key(lock.relation) == ast.table_key(table)), None)
            mode = _MODE_WORDS.get(lock.mode, lock.mode) if lock else "ACCESS EXCLUSIVE"
            blocked = blocks(lock.mode) if lock else ["reads", "writes"]
            what = "reads and writes" if "reads" in blocked else "INSERT, UPDATE and DELETE"
            name = next((ast.unwrap(c)[1].get("name") for c in stmt.node.get("cmds") or ()
                         if ast.unwrap(c)[1].get("subtype") == "AT_ValidateConstraint"), "?")
            qt = ast.quote_qualified(table)
            qn = ast.quote_ident(name)
            transaction = ctx.transactions[validate]
            if transaction.explicit:
                fix = (f"Commit in between: put `COMMIT;` after the ADD and run `ALTER TABLE {qt} VALIDATE CONSTRAINT "
                       f"{qn};` in a transaction of its own.")
            else:
                fix = (f"Move `ALTER TABLE {qt} VALIDATE CONSTRAINT {qn};` to the next migration, so that the ADD "
                       "commits first.")
            yield ctx.finding(
                stmt,
                f"VALIDATE CONSTRAINT {qn} runs in the same transaction as the ADD … NOT VALID on line "
                f"{ctx.statements[add].line} ({transaction.reason}): the {mode} lock the ADD took on {qt} is still "
                f"held while every row is checked, so {what} of {qt} wait as if NOT VALID had not been used",
                help=fix + " VALIDATE alone takes SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.",
                at=stmt,
            )
