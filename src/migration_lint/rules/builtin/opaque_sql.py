from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule


class OpaqueSql(Rule):
    """A `DO` block whose statements cannot all be checked: SQL built at run time, another language, a body
    that does not parse.

    Every statement a PL/pgSQL `DO` body runs (and each `EXECUTE` or `FOR … IN
    EXECUTE` of a constant string) is checked like a statement of the file, by
    every rule and the lock model, at its place in the file: a plain `CREATE
    INDEX` inside a guard is `non-concurrent-index`, a `CONCURRENTLY` inside it
    `concurrently-in-transaction`, and so on. What remains for this rule is
    what cannot be checked: `EXECUTE` of SQL built at run time (reported once
    per block, at the first one), a body in another language, and a body that
    does not parse. `CREATE FUNCTION` bodies only define code and are not
    checked.

    ## Why is this bad?
    The statements a `DO` block builds at run time (`EXECUTE format(…)`), or
    runs in another language, take locks and change data like any other, but
    neither a reviewer nor any check can see them: a type change that rewrites
    a table, an index build that blocks writes, or a data change without a
    `WHERE` goes unnoticed.

    ## Example
    ```sql
    DO $$
    BEGIN
      EXECUTE format('ALTER TABLE %I ADD COLUMN "archived" boolean NOT NULL', 'Order');
    END $$;
    ```

    ## Use instead
    ```sql
    ALTER TABLE "Order" ADD COLUMN "archived" boolean NOT NULL DEFAULT false;
    ```

    ## When it's fine
    When what the dynamic SQL generates is reviewed by hand: suppress the
    finding with the reason (a suppression before the `DO` also covers the
    findings of the statements inside it).

    ## References
    - PostgreSQL: [DO](https://www.postgresql.org/docs/current/sql-do.html)
    - PostgreSQL: [PL/pgSQL, Executing Dynamic Commands](https://www.postgresql.org/docs/current/plpgsql-statements.html#PLPGSQL-STATEMENTS-EXECUTING-DYN)
    """

    id = "opaque-sql"
    summary = "DO block that cannot be checked: SQL built at run time, another language, a body that does not parse"
    severity = Severity.WARNING
    statements = ("DoStmt",)

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        block = ctx.do_blocks.get(stmt.index)
        if block is None:
            return
        if block.language != "plpgsql":
            yield ctx.finding(
                stmt,
                f"DO block in LANGUAGE {block.language} cannot be checked: its locks and effects are unknown",
                help="Write its statements as plain SQL so that they can be checked, or review by hand what it locks "
                     "and for how long, and suppress this finding with the reason.",
            )
            return
        if block.error:
            if block.templated:
                yield ctx.finding(
                    stmt,
                    f"DO block cannot be checked: its body looks templated ({block.templated}) and does not parse as "
                    f"PL/pgSQL ({block.error})",
                    help="Render the template before linting, or configure `placeholders` so that migration-lint "
                         "substitutes values before parsing.",
                )
                return
            yield ctx.finding(
                stmt,
                f"DO block cannot be checked: its PL/pgSQL body does not parse ({block.error})",
                help="Fix the body, or write its statements as plain SQL so that they can be checked.",
            )
            return
        if block.dynamic:
            first = block.dynamic[0]
            yield ctx.finding(
                (first.position.line, first.position.column),
                f"DO block runs SQL built at run time ({first.what}) that cannot be checked: its locks and effects "
                "are unknown" + (f" ({len(block.dynamic)} such statements)" if len(block.dynamic) > 1 else ""),
                help="Write the generated statements out as plain SQL where possible, so that they can be checked; "
                     "otherwise review by hand what they lock and for how long, and suppress this finding with the "
                     "reason.",
            )
