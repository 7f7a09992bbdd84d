from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast
from migration_lint.syntax.text import keyword_group


class DomainConstraint(Rule):
    """`ALTER DOMAIN … ADD CONSTRAINT` (without `NOT VALID`), `VALIDATE CONSTRAINT` or `SET NOT NULL` on a
    domain that columns of existing tables use.

    The tables come from the schema model (earlier migrations): a domain the
    migrations created that no column of an existing table uses is not
    reported; one created outside them is (its users are unknown).

    ## Why is this bad?
    PostgreSQL checks every value of the domain in every table that uses it (and
    in domains built on it), holding a SHARE lock on each of those tables for
    the whole scan: INSERT, UPDATE and DELETE on all of them wait. Unlike a
    table's constraint, a domain constraint has no validation that lets writes
    go on: `ALTER DOMAIN … VALIDATE CONSTRAINT` takes the same SHARE locks.

    ## Example
    ```sql
    ALTER DOMAIN "Email" ADD CONSTRAINT "Email_lower" CHECK (VALUE = lower(VALUE));
    ```

    ## Use instead
    ```sql
    -- checks new values only, instantly; existing values are checked by a table-level constraint per
    -- column, validated without blocking writes:
    ALTER DOMAIN "Email" ADD CONSTRAINT "Email_lower" CHECK (VALUE = lower(VALUE)) NOT VALID;
    ALTER TABLE "User" ADD CONSTRAINT "User_email_lower" CHECK ("email" = lower("email")) NOT VALID;
    ALTER TABLE "User" VALIDATE CONSTRAINT "User_email_lower";
    ```

    ## When it's fine
    When the tables that use the domain are small, or in a maintenance window.

    ## References
    - PostgreSQL: [ALTER DOMAIN](https://www.postgresql.org/docs/current/sql-alterdomain.html)
    """

    id = "domain-constraint"
    summary = "ALTER DOMAIN ADD CONSTRAINT / VALIDATE / SET NOT NULL scans every table using it, blocking writes"
    severity = Severity.WARNING
    checklist = ("lock-timeout", "long-lock")
    statements = ("AlterDomainStmt",)
    lock = "SHARE (each table using the domain)"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        subtype = node.get("subtype")
        _, con = ast.unwrap(node.get("def"))
        if subtype not in ("C", "V", "O") or (subtype == "C" and (con or {}).get("skip_validation")):
            return
        domain = ".".join(ast.strings(node.get("typeName")))
        qd = ast.quote_qualified(domain)
        if ctx.schema.knows_domain(domain):
            tables = []
            for table, _column in ctx.schema.domain_columns(domain):
                if table.name not in tables and not ctx.is_new_table(table.name):
                    tables.append(table.name)
            if not tables:
                return
            listed = ", ".join(ast.quote_qualified(t) for t in tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        else:  # created outside the migrations
            listed = "every table that uses it"
        if subtype == "O":
            what, fix = "SET NOT NULL", (
                f"Check new values at once with `ALTER DOMAIN {qd} ADD CONSTRAINT {ast.quote_ident(domain.rpartition('.')[2] + '_not_null')} "
                "CHECK (VALUE IS NOT NULL) NOT VALID;` and prove the existing ones per column with a table-level "
                "`CHECK (<column> IS NOT NULL) NOT VALID` then `VALIDATE CONSTRAINT` (reads and writes go on)")
        elif subtype == "V":
            what, fix = f"VALIDATE CONSTRAINT {ast.quote_ident(node.get('name') or '?')}", (
                "Prove the existing values per column with a table-level `CHECK (…) NOT VALID` then `VALIDATE "
                "CONSTRAINT` (reads and writes go on), and leave the domain's constraint NOT VALID")
        else:
            name = (con or {}).get("conname")
            check = keyword_group(ctx.source, stmt, (con or {}).get("location"), "CHECK") or "CHECK (…)"
            what = f"ADD CONSTRAINT {ast.quote_ident(name)}" if name else "ADD CONSTRAINT"
            fix = (f"Add it for new values only: `ALTER DOMAIN {qd} ADD{' CONSTRAINT ' + ast.quote_ident(name) if name else ''} "
                   f"{check} NOT VALID;` (instant), and prove the existing values per column with a table-level "
                   "`CHECK (…) NOT VALID` then `VALIDATE CONSTRAINT` (reads and writes go on)")
        yield ctx.finding(
            stmt,
            f"ALTER DOMAIN {qd} {what} checks every value of {qd} in {listed} under a SHARE lock on each: INSERT, "
            "UPDATE and DELETE on them wait until every row is checked",
            help=fix + ". A domain's own VALIDATE takes the same SHARE locks, so it is no way around the scan.",
        )
