from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.facts.objects import object_kind, object_name, renamed
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import prisma_schema_hint
from migration_lint.syntax import ast

# -- the rule --------------------------------------------------------------------------------------

_WHAT = {"OBJECT_VIEW": "view", "OBJECT_MATVIEW": "materialized view", "OBJECT_TYPE": "type",
         "OBJECT_DOMAIN": "domain", "OBJECT_FUNCTION": "function", "OBJECT_PROCEDURE": "procedure",
         "OBJECT_ROUTINE": "routine", "OBJECT_SCHEMA": "schema", "OBJECT_SEQUENCE": "sequence",
         "OBJECT_ATTRIBUTE": "attribute"}
_KEYWORD = {"OBJECT_VIEW": "VIEW", "OBJECT_MATVIEW": "MATERIALIZED VIEW", "OBJECT_TYPE": "TYPE",
            "OBJECT_DOMAIN": "DOMAIN", "OBJECT_FUNCTION": "FUNCTION", "OBJECT_PROCEDURE": "PROCEDURE",
            "OBJECT_ROUTINE": "ROUTINE", "OBJECT_SCHEMA": "SCHEMA", "OBJECT_SEQUENCE": "SEQUENCE",
            "OBJECT_ATTRIBUTE": "TYPE"}


def _looks_owned_sequence(name: str) -> bool:
    """`<table>_<column>_seq`: the sequence behind a serial column, used by the column default by OID."""
    return name.rsplit(".", 1)[-1].endswith("_seq")


class RenameObject(Rule):
    """Renaming a view, type, enum, domain, function, procedure, schema or sequence in use.

    Tables and columns have their own rules (`rename-table`, `rename-column`).
    Renaming an index, a constraint, a trigger or a policy is not reported:
    application queries do not name them. Not reported either: objects created
    earlier in the same migration, and a swap, where a later statement of the
    same migration gives the old name to another object (Prisma's enum
    migration renames `Role` to `Role_old` and `Role_new` to `Role`). A
    sequence named like a serial column's (`…_seq`) is only used by its column
    default, which follows the rename.

    ## Why is this bad?
    The application code deployed now keeps running during the deploy and
    until every instance is replaced. Its queries name the object: a view it
    reads, a function it calls (`SELECT search_users(…)`, Supabase `rpc()`), an
    enum it casts to (Prisma writes `$1::"Role"`), a schema it qualifies names
    with. From the moment the rename commits those queries fail with
    *does not exist*, until the new code is deployed everywhere.

    ## Example
    ```sql
    ALTER VIEW active_users RENAME TO active_accounts;
    ```

    ## Use instead
    ```sql
    ALTER VIEW active_users RENAME TO active_accounts;
    CREATE VIEW active_users AS SELECT * FROM active_accounts;
    -- later, once no deployed code reads active_users:
    -- DROP VIEW active_users;
    ```

    ## When it's fine
    When no deployed code names the object (it is only used inside the
    database), or the deploy stops the application while it runs.

    ## References
    - PostgreSQL: [ALTER VIEW](https://www.postgresql.org/docs/current/sql-alterview.html), [ALTER TYPE](https://www.postgresql.org/docs/current/sql-altertype.html), [ALTER FUNCTION](https://www.postgresql.org/docs/current/sql-alterfunction.html)
    - strong_migrations: [Renaming a table](https://github.com/ankane/strong_migrations#renaming-a-table)
    - Prisma: [Mapping names](https://www.prisma.io/docs/orm/prisma-schema/data-model/database-mapping)
    """

    id = "rename-object"
    summary = "Renaming a view, type, function, schema or sequence breaks the application code running now"
    severity = Severity.WARNING
    checklist = ("deploy-first",)
    statements = ("RenameStmt",)
    risk = Risk.MEDIUM
    lock = "ACCESS EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        rename = node.get("renameType", "")
        if rename not in _WHAT:
            return
        if rename == "OBJECT_SCHEMA":
            old = node.get("subname", "?")
        elif node.get("relation") and rename != "OBJECT_ATTRIBUTE":
            old = ast.relation_name(node.get("relation"))
        elif rename == "OBJECT_ATTRIBUTE":
            old = ast.relation_name(node.get("relation"))
        else:
            old = object_name(node.get("object"))
        new = node.get("newname", "?")
        what = _WHAT[rename]
        if rename == "OBJECT_ATTRIBUTE":
            if ctx.created_before("type", old):
                return
            qt, qa, qn = ast.quote_qualified(old), ast.quote_ident(node.get("subname", "?")), ast.quote_ident(new)
            yield ctx.finding(
                node.get("relation") or ctx.statement,
                f"renaming attribute {qa} of type {qt} to {qn} breaks the application code running now: its queries "
                f"that read `({qt}).{qa}` fail until the new code is deployed",
                help=(f"Add the new attribute instead (`ALTER TYPE {qt} ADD ATTRIBUTE {qn} <type>;`), deploy code that "
                      f"uses it, and drop {qa} in a later migration."),
            )
            return
        kind = object_kind(rename) or ""
        if ctx.created_before(kind, old):
            return
        if ctx.objects.defined_after(kind, old, ctx.index) is not None or ctx.objects.vacated_before(kind, renamed(old, new), ctx.index):
            return  # a swap: the old name is taken again, or the new name was freed, in the same migration
        if rename == "OBJECT_SEQUENCE" and _looks_owned_sequence(old):
            return
        keyword = _KEYWORD[rename]
        q_old = ast.quote_qualified(old) if rename != "OBJECT_SCHEMA" else ast.quote_ident(old)
        q_new = ast.quote_ident(new)
        schema = old.rpartition(".")[0]
        q_new_full = f"{ast.quote_ident(schema)}.{q_new}" if schema and rename != "OBJECT_SCHEMA" else q_new
        message = (f"renaming {what} {q_old} to {q_new} breaks the application code running now: queries that name "
                   f"{q_old} fail with \"does not exist\" from the moment this commits until the new code is deployed "
                   "everywhere")
        if rename in ("OBJECT_VIEW", "OBJECT_MATVIEW"):
            help_text = (f"Keep the old name working while the old code runs: `ALTER {keyword} {q_old} RENAME TO {q_new}; "
                         f"CREATE VIEW {q_old} AS SELECT * FROM {q_new_full};` (a simple view is updatable), deploy "
                         f"the code that uses {q_new}, then `DROP VIEW {q_old};` in a later migration.")
        elif rename in ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE"):
            help_text = (f"Expand and contract: create {q_new_full} as a new {what} with the same body (`CREATE "
                         f"{keyword} {q_new_full}(…) … AS $$ … $$;`, or one that calls {q_old}), deploy the code that "
                         f"calls {q_new}, then `DROP {keyword} {q_old}(…);` in a later migration.")
        elif rename in ("OBJECT_TYPE", "OBJECT_DOMAIN"):
            help_text = (f"A {what} has no alias. Deploy code that does not name {q_old} first (casts, function "
                         f"signatures), then rename; or keep the database name and rename it only in the code."
                         + prisma_schema_hint(ctx, f"keep the database name with `@@map(\"{old.rpartition('.')[2]}\")` "
                                                   f"on the renamed enum"))
        elif rename == "OBJECT_SCHEMA":
            help_text = (f"A schema has no alias. Deploy code that does not qualify names with {q_old} (set "
                         f"`search_path` instead) first, then rename it; or rename it together with the code in a "
                         "deploy that stops the application.")
        else:  # sequence
            help_text = (f"Column defaults follow the rename, but code that calls `nextval('{old}')` breaks. Create "
                         f"the new name first or deploy code that does not name the sequence, then rename it in a "
                         "later migration.")
        yield ctx.finding(node.get("relation") or ctx.statement, message, help=help_text)
