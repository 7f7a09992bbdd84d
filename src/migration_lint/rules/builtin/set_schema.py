from __future__ import annotations

from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.facts.objects import object_kind, object_name
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast

_WHAT = {"OBJECT_TABLE": "table", "OBJECT_VIEW": "view", "OBJECT_MATVIEW": "materialized view",
         "OBJECT_FOREIGN_TABLE": "foreign table", "OBJECT_SEQUENCE": "sequence", "OBJECT_TYPE": "type",
         "OBJECT_DOMAIN": "domain", "OBJECT_FUNCTION": "function", "OBJECT_PROCEDURE": "procedure",
         "OBJECT_ROUTINE": "routine", "OBJECT_AGGREGATE": "aggregate", "OBJECT_EXTENSION": "extension"}
_KEYWORD = {"OBJECT_TABLE": "TABLE", "OBJECT_VIEW": "VIEW", "OBJECT_MATVIEW": "MATERIALIZED VIEW",
            "OBJECT_FOREIGN_TABLE": "FOREIGN TABLE", "OBJECT_SEQUENCE": "SEQUENCE", "OBJECT_TYPE": "TYPE",
            "OBJECT_DOMAIN": "DOMAIN", "OBJECT_FUNCTION": "FUNCTION", "OBJECT_PROCEDURE": "PROCEDURE",
            "OBJECT_ROUTINE": "ROUTINE", "OBJECT_AGGREGATE": "AGGREGATE", "OBJECT_EXTENSION": "EXTENSION"}


class SetSchema(Rule):
    """`ALTER … SET SCHEMA` of a table, view, sequence, type, function or extension in use.

    Objects created earlier in the same migration are not reported, nor a move
    after which a later statement of the migration creates an object with the
    old name again.

    ## Why is this bad?
    The application code deployed now names the object by its old place:
    `public.users`, or an unqualified name found through `search_path`. Once
    the move commits, those queries fail with *does not exist* (or, worse,
    find another object with the same name earlier in the `search_path`),
    until the new code is deployed everywhere. Moving an extension moves its
    functions and types too.

    ## Example
    ```sql
    ALTER TABLE public.audit_log SET SCHEMA audit;
    ```

    ## Use instead
    ```sql
    ALTER TABLE public.audit_log SET SCHEMA audit;
    CREATE VIEW public.audit_log AS SELECT * FROM audit.audit_log;
    -- later, once no deployed code uses public.audit_log:
    -- DROP VIEW public.audit_log;
    ```

    ## When it's fine
    When the new schema is in the `search_path` of every role the application
    connects with and the code does not qualify the name, or no deployed code
    uses the object.

    ## References
    - PostgreSQL: [ALTER TABLE SET SCHEMA](https://www.postgresql.org/docs/current/sql-altertable.html)
    - PostgreSQL: [The Schema Search Path](https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATH)
    """

    id = "set-schema"
    summary = "SET SCHEMA moves an object the running code names: its queries fail with \"does not exist\""
    severity = Severity.WARNING
    checklist = ("deploy-first",)
    statements = ("AlterObjectSchemaStmt",)
    risk = Risk.MEDIUM
    lock = "ACCESS EXCLUSIVE"

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        object_type = node.get("objectType", "")
        if object_type not in _WHAT:
            return
        kind = object_kind(object_type) or ""
        if object_type == "OBJECT_EXTENSION":
            name = object_name(node.get("object"))
        elif node.get("relation"):
            name = ast.relation_name(node.get("relation"))
        else:
            name = object_name(node.get("object"))
        if object_type != "OBJECT_EXTENSION":
            if ctx.created_before(kind, name) or ctx.objects.defined_after(kind, name, ctx.index) is not None:
                return
        elif ctx.created_before("extension", name):
            return
        schema = node.get("newschema", "?")
        what, keyword = _WHAT[object_type], _KEYWORD[object_type]
        q_old = ast.quote_qualified(name) if object_type != "OBJECT_EXTENSION" else ast.quote_ident(name)
        q_schema = ast.quote_ident(schema)
        base = ast.quote_ident(name.rpartition(".")[2])
        message = (f"moving {what} {q_old} to schema {q_schema} breaks the application code running now: queries that "
                   f"name it as {q_old} (or find it through search_path) fail with \"does not exist\" from the moment "
                   "this commits")
        if object_type == "OBJECT_EXTENSION":
            message = (f"moving extension {q_old} to schema {q_schema} moves its functions and types: application "
                       f"queries that call them unqualified fail unless {q_schema} is in their search_path")
            help_text = (f"Add {q_schema} to the search_path of the application's roles first (`ALTER ROLE <app role> "
                         f"SET search_path = \"$user\", public, {q_schema};`) and deploy code that does not qualify "
                         "the functions with the old schema, then move it.")
        elif object_type in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
            old_schema = name.rpartition(".")[0] or "public"
            help_text = (f"Keep the old name working while the old code runs, in the same transaction: `ALTER {keyword} "
                         f"{q_old} SET SCHEMA {q_schema}; CREATE VIEW {ast.quote_ident(old_schema)}.{base} AS SELECT * "
                         f"FROM {q_schema}.{base};` (a simple view is updatable), deploy the code that uses "
                         f"{q_schema}.{base}, then drop the view in a later migration.")
        else:
            help_text = (f"Deploy code that does not name {q_old} by its old schema first (or put {q_schema} in the "
                         f"search_path of the application's roles), then move it in a later migration.")
        yield ctx.finding(node.get("relation") or ctx.statement, message, help=help_text)
