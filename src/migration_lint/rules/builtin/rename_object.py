from __future__ import annotations

import bisect
from typing import Any, Iterable, Iterator

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.builtin._helpers import prisma_schema_hint
from migration_lint.syntax import ast

# -- helpers shared by the backward-compatibility rules ------------------------------------------
# (rename-column, rename-table, drop-object, set-schema, enum-rename-value, drop-default,
# drop-not-null import them from here; candidates for context.py)

_RELATION_KINDS = {"OBJECT_TABLE": "relation", "OBJECT_VIEW": "relation", "OBJECT_MATVIEW": "relation",
                   "OBJECT_FOREIGN_TABLE": "relation", "OBJECT_SEQUENCE": "relation"}
_KIND_OF = {**_RELATION_KINDS, "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type", "OBJECT_FUNCTION": "function",
            "OBJECT_PROCEDURE": "function", "OBJECT_ROUTINE": "function", "OBJECT_AGGREGATE": "function",
            "OBJECT_SCHEMA": "schema", "OBJECT_EXTENSION": "extension"}


def object_kind(object_type: str | None) -> str | None:
    """The namespace an OBJECT_* lives in: relation, type, function, schema, extension (None: other)."""
    return _KIND_OF.get(object_type or "")


def object_name(node: Any) -> str:
    """The (schema-qualified where written) name of a List/String/TypeName/ObjectWithArgs/RangeVar node."""
    kind, value = ast.unwrap(node)
    if not isinstance(value, dict):
        return "?"
    if kind == "TypeName" or "names" in value:
        names = ast.strings(value.get("names"))
    elif kind == "ObjectWithArgs" or "objname" in value:
        names = ast.strings(value.get("objname"))
    elif "relname" in value:
        return ast.relation_name(value)
    elif kind == "List" or "items" in value:
        names = ast.strings(value.get("items"))
    elif "sval" in value:
        names = [value["sval"]]
    else:
        names = []
    return ".".join(names) or "?"


def _key(name: str) -> str:
    return ast.table_key(name)


def _renamed(old: str, new: str) -> str:
    """The full name after `RENAME TO new` (the object stays in its schema)."""
    schema, dot, _ = old.rpartition(".")
    return f"{schema}.{new}" if dot and schema != "public" else new


def defines(stmt: Statement) -> Iterator[tuple[str, str]]:
    """(kind, name key) of every object the statement creates, or gives a name by renaming."""
    node_type, node = stmt.node_type, stmt.node
    if node_type == "CreateStmt":
        yield "relation", _key(ast.relation_name(node.get("relation")))
    elif node_type == "CreateTableAsStmt":
        rel = (node.get("into") or {}).get("rel")
        if rel:
            yield "relation", _key(ast.relation_name(rel))
    elif node_type == "ViewStmt":
        yield "relation", _key(ast.relation_name(node.get("view")))
    elif node_type == "CreateSeqStmt":
        yield "relation", _key(ast.relation_name(node.get("sequence")))
    elif node_type == "CreateForeignTableStmt":
        yield "relation", _key(ast.relation_name((node.get("base") or {}).get("relation")))
    elif node_type == "CreateEnumStmt":
        yield "type", _key(".".join(ast.strings(node.get("typeName"))))
    elif node_type == "CreateRangeStmt":
        yield "type", _key(".".join(ast.strings(node.get("typeName"))))
    elif node_type == "CreateDomainStmt":
        yield "type", _key(".".join(ast.strings(node.get("domainname"))))
    elif node_type == "CompositeTypeStmt":
        yield "type", _key(ast.relation_name(node.get("typevar")))
    elif node_type == "DefineStmt":
        if node.get("kind") == "OBJECT_TYPE":
            yield "type", _key(".".join(ast.strings(node.get("defnames"))))
        elif node.get("kind") == "OBJECT_AGGREGATE":
            yield "function", _key(".".join(ast.strings(node.get("defnames"))))
    elif node_type == "CreateFunctionStmt":
        yield "function", _key(".".join(ast.strings(node.get("funcname"))))
    elif node_type == "CreateSchemaStmt":
        yield "schema", node.get("schemaname", "?")
    elif node_type == "CreateExtensionStmt":
        yield "extension", node.get("extname", "?")
    elif node_type == "RenameStmt":
        rename = node.get("renameType")
        kind = object_kind(rename)
        new = node.get("newname")
        if kind and new:
            if rename == "OBJECT_SCHEMA":
                yield "schema", new
            elif node.get("relation"):
                yield kind, _key(_renamed(ast.relation_name(node.get("relation")), new))
            else:
                yield kind, _key(_renamed(object_name(node.get("object")), new))
    elif node_type == "AlterObjectSchemaStmt":
        kind = object_kind(node.get("objectType"))
        schema = node.get("newschema")
        if kind and schema and kind not in ("schema", "extension"):
            old = ast.relation_name(node["relation"]) if node.get("relation") else object_name(node.get("object"))
            yield kind, _key(f"{schema}.{old.rpartition('.')[2]}")


def created_before(ctx: Context, kind: str, name: str) -> bool:
    """Did an earlier statement of this migration create the object (or rename something to its name)?"""
    if kind == "relation" and ctx.is_new_table(name):
        return True
    positions = ctx.facts("rename_object.defines", defines).get((kind, _key(name)))
    return bool(positions) and positions[0] < ctx.index


def defined_after(ctx: Context, kind: str, name: str) -> Statement | None:
    """A later statement of this migration that creates an object with this name again (a swap)."""
    positions = ctx.facts("rename_object.defines", defines).get((kind, _key(name))) or ()
    later = bisect.bisect_right(positions, ctx.index)
    return ctx.statements[positions[later]] if later < len(positions) else None


def _vacates(stmt: Statement) -> Iterator[tuple[str, str]]:
    """(kind, name key) of every object the statement removes from its name (drop, or rename away)."""
    node_type, node = stmt.node_type, stmt.node
    if node_type == "DropStmt":
        kind = object_kind(node.get("removeType"))
        if kind:
            for obj in node.get("objects") or ():
                yield kind, _key(object_name(obj))
    elif node_type == "RenameStmt":
        rename = node.get("renameType")
        kind = object_kind(rename)
        if kind:
            if rename == "OBJECT_SCHEMA":
                yield "schema", node.get("subname", "?")
            elif node.get("relation"):
                yield kind, _key(ast.relation_name(node.get("relation")))
            else:
                yield kind, _key(object_name(node.get("object")))


def vacated_before(ctx: Context, kind: str, name: str) -> bool:
    """Did an earlier statement of this migration drop the object with this name, or rename it away?

    Renaming something to that name then completes a swap: code that uses the name keeps working.
    """
    positions = ctx.facts("rename_object.vacates", _vacates).get((kind, _key(name)))
    return bool(positions) and positions[0] < ctx.index


def _columns_added(stmt: Statement) -> Iterator[tuple[str, str]]:
    """(table key, column) of every column the statement adds, or renames a column to."""
    node = stmt.node
    if stmt.node_type == "AlterTableStmt":
        key = _key(ast.relation_name(node.get("relation")))
        for item in node.get("cmds") or ():
            _, cmd = ast.unwrap(item)
            if cmd.get("subtype") == "AT_AddColumn":
                yield key, ast.inner(cmd.get("def")).get("colname")
    elif stmt.node_type == "RenameStmt" and node.get("renameType") == "OBJECT_COLUMN":
        yield _key(ast.relation_name(node.get("relation"))), node.get("newname")


def column_added_before(ctx: Context, table: str, column: str) -> bool:
    """Did an earlier statement of this migration add the column (or rename a column to it)?"""
    positions = ctx.facts("rename_object.columns_added", _columns_added).get((_key(table), column))
    return bool(positions) and positions[0] < ctx.index


def column_added_after(ctx: Context, table: str, column: str) -> bool:
    """Does a later statement of this migration add the column (or rename a column to it) again?"""
    positions = ctx.facts("rename_object.columns_added", _columns_added).get((_key(table), column)) or ()
    return bool(positions) and positions[-1] > ctx.index


def later_statements(ctx: Context) -> list[Statement]:
    return ctx.statements[ctx.index + 1:]


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
    targets = ("RenameStmt",)
    risk = Risk.MEDIUM
    lock = "ACCESS EXCLUSIVE"

    def check(self, node: dict, ctx: Context) -> Iterable[Finding]:
        if node is not ctx.statement.node:
            return
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
            if created_before(ctx, "type", old):
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
        if created_before(ctx, kind, old):
            return
        if defined_after(ctx, kind, old) is not None or vacated_before(ctx, kind, _renamed(old, new)):
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
