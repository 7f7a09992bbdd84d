from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand


class ExclusionConstraint(Rule):
    """`ADD CONSTRAINT … EXCLUDE` on a table in use.

    Tables created earlier in the same migration are empty and not reported.

    ## Why is this bad?
    PostgreSQL builds the exclusion index and checks every existing row against
    every other while the statement holds an ACCESS EXCLUSIVE lock: reads and
    writes of the table wait for the whole build. Unlike UNIQUE, there is no
    `USING INDEX` form, and an exclusion constraint cannot be added `NOT VALID`,
    so there is no online way to add one to a large table.

    ## Example
    ```sql
    ALTER TABLE "Booking" ADD CONSTRAINT "Booking_no_overlap" EXCLUDE USING gist ("roomId" WITH =, "during" WITH &&);
    ```

    ## Use instead
    ```sql
    CREATE TABLE "Booking" (
      "id" bigint PRIMARY KEY,
      "roomId" bigint NOT NULL,
      "during" tstzrange NOT NULL,
      CONSTRAINT "Booking_no_overlap" EXCLUDE USING gist ("roomId" WITH =, "during" WITH &&)
    );
    ```

    ## When it's fine
    On a table created in the same migration, or a small one, or in a
    maintenance window. On a large table in use, copy the rows into a new table
    that has the constraint (in batches, with a trigger for new writes), then
    swap the names.

    ## References
    - PostgreSQL: [CREATE TABLE, EXCLUDE](https://www.postgresql.org/docs/current/sql-createtable.html#SQL-CREATETABLE-EXCLUDE)
    - PostgreSQL: [ALTER TABLE, ADD table_constraint](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT) (NOT VALID is only accepted for foreign key and CHECK constraints)
    """

    id = "exclusion-constraint"
    summary = "ADD CONSTRAINT … EXCLUDE builds and checks its index under ACCESS EXCLUSIVE (no online form)"
    severity = Severity.WARNING
    alter_commands = ("AT_AddConstraint",)
    lock = "ACCESS EXCLUSIVE"

    def check_alter(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        table = cmd.table
        if ctx.is_new_table(table):
            return
        qt = ast.quote_qualified(table)
        _, con = cmd.definition
        if con.get("contype") != "CONSTR_EXCLUSION":
            return
        name = con.get("conname")
        what = f"ADD CONSTRAINT {ast.quote_ident(name)} EXCLUDE" if name else "ADD EXCLUDE"
        yield ctx.finding(
            con,
            f"{what} builds an exclusion index on {qt} and checks every row under an ACCESS EXCLUSIVE lock: "
            f"reads and writes of {qt} wait until it ends, and there is no CONCURRENTLY or NOT VALID form",
            help=(
                f"Run it in a maintenance window if {qt} is large, or copy the rows into a new table created "
                f"with the constraint (in batches, a trigger copying new writes), then swap the names in one "
                f"short transaction. Set a `lock_timeout` first so that it cannot queue reads behind it."
            ),
        )
