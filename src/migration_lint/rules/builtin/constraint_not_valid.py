from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.facts.locks import ACCESS_EXCLUSIVE
from migration_lint.ingest.layout import next_migration
from migration_lint.ingest.source import MappedSource
from migration_lint.model import Edit, Finding, Fix, Severity
from migration_lint.rules.base import Rule
from migration_lint.rules.fixes import edit, new_name, statement_span, stays_outside
from migration_lint.rules.recipes import prisma_edit_hint, references_sql
from migration_lint.syntax import ast
from migration_lint.syntax.ast import AlterCommand
from migration_lint.syntax.names import default_check_name, default_fk_name
from migration_lint.syntax.text import clause_end, clause_text, keyword_group

_SERIALS = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})


class ConstraintNotValid(Rule):
    """`ADD CONSTRAINT … FOREIGN KEY` or `CHECK` without `NOT VALID` on a table in use.

    Also covers the constraints written inside `ADD COLUMN`: an inline `CHECK`
    is checked against every existing row, and so is an inline `REFERENCES`
    when the new column has a `DEFAULT` (without one the column is all NULL
    and PostgreSQL skips the check, so that form is not reported). Tables
    created earlier in the same migration are empty and not reported.

    ## Why is this bad?
    PostgreSQL checks every existing row while it holds the lock the statement
    took. A foreign key takes SHARE ROW EXCLUSIVE on both tables: INSERT, UPDATE
    and DELETE on the table and on the referenced table wait for the whole
    check. A CHECK constraint takes ACCESS EXCLUSIVE: reads wait too. Added
    `NOT VALID`, the constraint only applies to new rows and the statement is
    instant; `VALIDATE CONSTRAINT`, run afterwards in its own transaction, checks
    the old rows under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.

    ## Example
    ```sql
    ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id");
    ```

    ## Use instead
    ```sql
    ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") NOT VALID;
    -- then, in the next migration (a transaction of its own):
    ALTER TABLE "Post" VALIDATE CONSTRAINT "Post_authorId_fkey";
    ```

    ## When it's fine
    On a table created in the same migration, or a small one. Foreign keys on
    a partitioned table cannot be added `NOT VALID` before PostgreSQL 18.

    ## References
    - PostgreSQL: [ALTER TABLE, ADD table_constraint … NOT VALID](https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT)
    - strong_migrations: [Adding a foreign key](https://github.com/ankane/strong_migrations#adding-a-foreign-key), [Adding a check constraint](https://github.com/ankane/strong_migrations#adding-a-check-constraint)
    """

    id = "constraint-not-valid"
    summary = "ADD FOREIGN KEY / CHECK without NOT VALID checks every row while blocking writes (or reads)"
    severity = Severity.ERROR
    checklist = ("lock-timeout", "long-lock")
    alter_commands = ("AT_AddConstraint", "AT_AddColumn")
    lock = "SHARE ROW EXCLUSIVE / ACCESS EXCLUSIVE"

    def check_alter(self, cmd: AlterCommand, ctx: Context) -> Iterable[Finding]:
        table = cmd.table
        if ctx.is_new_table(table):
            return
        _, definition = cmd.definition
        if cmd.subtype == "AT_AddConstraint":
            if definition.get("skip_validation") or definition.get("contype") not in ("CONSTR_FOREIGN", "CONSTR_CHECK"):
                return
            yield self._table_constraint(definition, table, ctx)
        else:
            yield from self._inline(definition, table, ctx)

    # -- ADD CONSTRAINT ----------------------------------------------------------
    def _table_constraint(self, con: dict, table: str, ctx: Context) -> Finding:
        qt = ast.quote_qualified(table)
        contype = con.get("contype")
        name = con.get("conname")
        text = clause_text(ctx.source, ctx.statement, con.get("location"))
        if not name:
            if contype == "CONSTR_FOREIGN":
                name = default_fk_name(table, ast.strings(con.get("fk_attrs")))
            else:
                name = default_check_name(table, con.get("raw_expr"))
            text = f"CONSTRAINT {ast.quote_ident(name)} {text}" if text else ""
        qn = ast.quote_ident(name)
        if not text:
            text = f"CONSTRAINT {qn} …"
        help_text = (
            f"Add it without checking the existing rows, then validate them in a separate transaction: "
            f"`ALTER TABLE {qt} ADD {text} NOT VALID;` then, after a COMMIT or in the next migration, "
            f"`ALTER TABLE {qt} VALIDATE CONSTRAINT {qn};` (SHARE UPDATE EXCLUSIVE: reads and writes go on)."
            + prisma_edit_hint(ctx)
        )
        if contype == "CONSTR_FOREIGN":
            message = (f"ADD CONSTRAINT {qn} FOREIGN KEY … REFERENCES {_referenced(con)} checks every row of {qt} "
                       + self._fk_locks(table, con, ctx))
        else:
            message = (f"ADD CONSTRAINT {qn} CHECK scans every row of {qt} under an ACCESS EXCLUSIVE lock: reads and "
                       f"writes of {qt} wait until the whole table is checked")
        return ctx.finding(con, message, help=help_text, fix=self._fix(con, qt, qn, ctx))

    @staticmethod
    def _fix(con: dict, qt: str, qn: str, ctx: Context) -> Fix | None:
        """`NOT VALID` at the end of the constraint, then `VALIDATE CONSTRAINT` in a later transaction."""
        stmt = ctx.statement
        end = clause_end(ctx.source, stmt, con.get("location"))
        if end is None or stmt.parent is not None or isinstance(ctx.file_source, MappedSource):
            return None
        edits = [edit(ctx, end, end, " NOT VALID")]
        named = bool(con.get("conname"))
        if not named:  # name it as PostgreSQL would, so that VALIDATE can name it
            start = ctx.source.char_offset(con["location"])
            edits.insert(0, edit(ctx, start, start, f"CONSTRAINT {qn} "))
        validate = f"ALTER TABLE {qt} VALIDATE CONSTRAINT {qn};"
        if not ctx.transactions[stmt.index].active and stays_outside(ctx, 1):
            _, after = statement_span(ctx, stmt)
            newline = "" if ctx.file_source.text[:after].endswith(("\n", "\r")) else "\n"
            edits.append(edit(ctx, after, after, f"{newline}{validate}\n"))
            return Fix("Add the constraint NOT VALID, then validate it", edits, safe=named)
        target = next_migration(ctx.file, new_name(ctx, "validate"))
        if target is None or ctx.transactions[stmt.index].explicit:
            return None
        for path, content in target.files(validate + "\n").items():
            edits.append(Edit(1, 1, 1, 1, content, path=str(path)))
        return Fix("Add the constraint NOT VALID, and validate it in a migration of its own", edits, safe=False)

    # -- constraints inside ADD COLUMN --------------------------------------------
    def _inline(self, coldef: dict, table: str, ctx: Context) -> Iterable[Finding]:
        qt = ast.quote_qualified(table)
        column = coldef.get("colname", "?")
        qc = ast.quote_ident(column)
        constraints = [ast.unwrap(c)[1] for c in coldef.get("constraints") or ()]
        has_default = ast.type_name(coldef.get("typeName")) in _SERIALS or any(
            c.get("contype") in ("CONSTR_DEFAULT", "CONSTR_GENERATED") for c in constraints
        )
        for con in constraints:
            contype = con.get("contype")
            if con.get("skip_validation"):
                continue
            if contype == "CONSTR_FOREIGN" and has_default:
                name = con.get("conname") or default_fk_name(table, [column])
                qn = ast.quote_ident(name)
                yield ctx.finding(
                    con,
                    f"ADD COLUMN {qc} … REFERENCES {_referenced(con)} has a DEFAULT, so PostgreSQL checks every row of "
                    f"{qt} " + self._fk_locks(table, con, ctx),
                    help=(
                        f"Add the column without the REFERENCES clause, then the foreign key without checking the "
                        f"existing rows: `ALTER TABLE {qt} ADD CONSTRAINT {qn} FOREIGN KEY ({qc}) {references_sql(con)} "
                        f"NOT VALID;` then, after a COMMIT or in the next migration, `ALTER TABLE {qt} VALIDATE "
                        f"CONSTRAINT {qn};` (reads and writes go on). Without a DEFAULT, an inline REFERENCES is not "
                        "checked at all (the column is all NULL)." + prisma_edit_hint(ctx)
                    ),
                )
            elif contype == "CONSTR_CHECK" and not ctx.effect.rewrites:  # a rewrite checks it on the way
                name = con.get("conname") or default_check_name(table, con.get("raw_expr"))
                qn = ast.quote_ident(name)
                check = keyword_group(ctx.source, ctx.statement, con.get("location"), "CHECK") or "CHECK (…)"
                yield ctx.finding(
                    con,
                    f"ADD COLUMN {qc} … CHECK scans every row of {qt} under an ACCESS EXCLUSIVE lock (PostgreSQL "
                    f"checks the constraint on every existing row, even for a new column): reads and writes of {qt} "
                    "wait until the whole table is checked",
                    help=(
                        f"Add the column without the CHECK, then the constraint without checking the existing rows: "
                        f"`ALTER TABLE {qt} ADD CONSTRAINT {qn} {check} NOT VALID;` then, after a COMMIT or in the "
                        f"next migration, `ALTER TABLE {qt} VALIDATE CONSTRAINT {qn};` (reads and writes go on)."
                        + prisma_edit_hint(ctx)
                    ),
                )

    def _fk_locks(self, table: str, con: dict, ctx: Context) -> str:
        """"while it holds …": the locks the check runs under and what they block."""
        qt = ast.quote_qualified(table)
        referenced = ast.relation_name(con.get("pktable")) if con.get("pktable") else None
        mode = next((lock.mode for lock in ctx.effect.locks if ast.table_key(lock.relation) == ast.table_key(table)),
                    None)
        if mode == ACCESS_EXCLUSIVE:
            on_table = f"an ACCESS EXCLUSIVE lock on {qt} (reads and writes wait)"
        else:
            on_table = f"a SHARE ROW EXCLUSIVE lock on {qt} (INSERT, UPDATE and DELETE wait)"
        if referenced and ast.table_key(referenced) != ast.table_key(table) and not ctx.is_new_table(referenced):
            qr = ast.quote_qualified(referenced)
            return f"while it holds {on_table} and a SHARE ROW EXCLUSIVE lock on {qr} (writes to {qr} wait too)"
        return f"while it holds {on_table}"


def _referenced(con: dict) -> str:
    return ast.quote_qualified(ast.relation_name(con.get("pktable"))) if con.get("pktable") else "?"
