from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast

# Built-in functions by the version that introduced them, and what to use before it.
_FUNCTIONS: dict[str, tuple[int, str]] = {
    "gen_random_uuid": (13, "`CREATE EXTENSION IF NOT EXISTS pgcrypto;` first (it provides gen_random_uuid() "
                            "before 13), or uuid-ossp's uuid_generate_v4()"),
    "uuidv4": (18, "gen_random_uuid() (the same version 4 UUID, built in from 13)"),
    "uuidv7": (18, "gen_random_uuid() (version 4), or a uuidv7() function of your own created earlier in the "
                   "migrations"),
    "range_agg": (14, "array_agg() of the ranges"),
    "range_intersect_agg": (14, "an aggregate of your own over the `*` range operator"),
}
_MULTIRANGES = ("int4multirange", "int8multirange", "nummultirange", "tsmultirange", "tstzmultirange",
                "datemultirange")
for _name in _MULTIRANGES:
    _FUNCTIONS[_name] = (14, f"an array of ranges ({_name.replace('multirange', 'range')}[])")
_MULTIRANGE_HELP = "an array of ranges (e.g. int4range[] for int4multirange)"

# SQL/JSON nodes: (version, what, instead)
_JSON_NODES: dict[str, tuple[int, str, str]] = {
    "JsonTable": (17, "JSON_TABLE", "jsonb_to_recordset() or jsonb_array_elements() in a lateral join"),
    "JsonIsPredicate": (16, "IS JSON", "a CHECK that casts the text (`col::jsonb IS NOT NULL`) or a jsonb column"),
    "JsonObjectConstructor": (16, "JSON_OBJECT(...)", "json_build_object() / jsonb_build_object()"),
    "JsonArrayConstructor": (16, "JSON_ARRAY(...)", "json_build_array() / jsonb_build_array()"),
    "JsonArrayQueryConstructor": (16, "JSON_ARRAY(query)", "json_agg() / jsonb_agg() over the query"),
    "JsonObjectAgg": (16, "JSON_OBJECTAGG", "json_object_agg() / jsonb_object_agg()"),
    "JsonArrayAgg": (16, "JSON_ARRAYAGG", "json_agg() / jsonb_agg()"),
}
_JSON_FUNC_OPS = {
    "JSON_VALUE_OP": ("JSON_VALUE", "the ->> operator or jsonb_path_query_first()"),
    "JSON_QUERY_OP": ("JSON_QUERY", "jsonb_path_query_first() or jsonb_path_query_array()"),
    "JSON_EXISTS_OP": ("JSON_EXISTS", "jsonb_path_exists() or the @? operator"),
}
# words one of the expression-level features needs in the statement's text (checked before walking it)
_NEEDLES = ("uuid", "range", "json")

_TARGETS = (
    "MergeStmt", "IndexStmt", "CreateStmt", "AlterTableStmt", "CreateTrigStmt", "CreateFunctionStmt", "ViewStmt",
    "RenameStmt", "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "CreateTableAsStmt", "CopyStmt",
    "CreateDomainStmt", "AlterDomainStmt", "CreatePolicyStmt", "AlterPolicyStmt", "RuleStmt", "CompositeTypeStmt",
    "CallStmt", "ExplainStmt", "DeclareCursorStmt", "PrepareStmt", "CreateForeignTableStmt",
)
NEWEST = 18  # no feature here is newer: with pg_version 18 nothing is checked


class RequiresNewerPostgres(Rule):
    """Syntax or a built-in function that the configured PostgreSQL version does not have.

    The statement fails on the server the migration runs on (`pg_version`,
    default 15) and the deploy stops there: `MERGE` and `UNIQUE NULLS NOT
    DISTINCT` before 15, the built-in `gen_random_uuid()` before 13 (unless
    `CREATE EXTENSION pgcrypto` came earlier), `DETACH PARTITION …
    CONCURRENTLY`, `CREATE OR REPLACE TRIGGER`, `COMPRESSION`, multirange
    types and `BEGIN ATOMIC` bodies before 14, `security_invoker` views and
    `SET ACCESS METHOD` before 15, `IS JSON` and the SQL/JSON constructors
    before 16, `JSON_TABLE`, `JSON_VALUE`/`JSON_QUERY`/`JSON_EXISTS`,
    `MERGE … RETURNING`, `WHEN NOT MATCHED BY SOURCE` and `SET EXPRESSION`
    before 17, virtual generated columns, named `NOT NULL` constraints and
    `uuidv7()`/`uuidv4()` before 18, `DROP EXPRESSION` and `ALTER VIEW …
    RENAME COLUMN` before 13. Each is proven against the real server of
    each version by the test suite.

    ## Why is this bad?
    The migration was written against a newer PostgreSQL than the one it
    will run on: the statement is a syntax error, an unknown function or an
    unknown type there, the migration fails (and, in a transaction, rolls
    back whatever ran before it). Such a migration passes on a developer's
    newer local database and fails only in production.

    ## Example
    ```sql
    -- pg_version = 15 (the default)
    CREATE TABLE "Event" (
        "id" uuid PRIMARY KEY DEFAULT uuidv7(),
        "payload" jsonb NOT NULL
    );
    ```

    ## Use instead
    ```sql
    CREATE TABLE "Event" (
        "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "payload" jsonb NOT NULL
    );
    ```

    ## When it's fine
    When the servers really run the newer version: set `pg_version` (or
    `--pg-version`) to it, and the rule checks against that. A function of
    the same name created earlier in the migrations (a `uuidv7()` of your
    own) is not reported.

    ## References
    - PostgreSQL: [release notes](https://www.postgresql.org/docs/release/) of each major version
    - PostgreSQL: [Feature matrix](https://www.postgresql.org/about/featurematrix/)
    """

    id = "requires-newer-postgres"
    summary = "syntax or a built-in function newer than the configured PostgreSQL version: the statement fails"
    severity = Severity.ERROR
    risk = Risk.HIGH
    fails_deploy = True
    # syntax error, undefined function, undefined object (a type), feature not supported, invalid parameter
    predicts = ("42601", "42883", "42704", "0A000", "22023")
    statements = _TARGETS

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        if ctx.pg_version >= NEWEST:
            return
        node = stmt.node
        found: list[tuple[Any, int, str, str]] = []  # (anchor, version, what, instead)
        self._statement(stmt.node_type, node, ctx, found)
        text = stmt.sql.lower()
        if any(needle in text for needle in _NEEDLES):
            self._expressions(node, ctx, found)
        seen: set[tuple[int, int, str]] = set()
        for anchor, version, what, instead in found:
            if ctx.pg_version >= version:
                continue
            finding = ctx.finding(
                anchor,
                f"{what} is new in PostgreSQL {version}: on PostgreSQL {_version(ctx.pg_version)} (pg_version) the "
                "statement fails and the migration stops there",
                help=f"Use instead: {instead}. If the servers run PostgreSQL {version} or later, set pg_version.",
            )
            key = (finding.line, finding.column, what)
            if key not in seen:
                seen.add(key)
                yield finding

    # -- statement-level syntax --------------------------------------------------------------
    def _statement(self, kind: str, node: dict, ctx: Context, found: list) -> None:
        stmt = ctx.statement
        if kind == "MergeStmt":
            found.append((stmt, 15, "MERGE", "INSERT … ON CONFLICT … DO UPDATE, or an UPDATE and an INSERT … "
                                             "WHERE NOT EXISTS in one transaction"))
            if node.get("returningList") or node.get("returningClause"):
                found.append((stmt, 17, "MERGE … RETURNING", "a MERGE without RETURNING and a SELECT of the rows "
                                                             "afterwards, or INSERT … ON CONFLICT … RETURNING"))
            for item in node.get("mergeWhenClauses") or ():
                if ast.inner(item).get("matchKind") == "MERGE_WHEN_NOT_MATCHED_BY_SOURCE":
                    found.append((stmt, 17, "MERGE … WHEN NOT MATCHED BY SOURCE",
                                  "a DELETE … WHERE NOT EXISTS (the source) next to the MERGE"))
        elif kind == "IndexStmt" and node.get("nulls_not_distinct"):
            found.append((node.get("relation") or stmt, 15, "NULLS NOT DISTINCT",
                          "a unique index on COALESCE(column, a value it never holds), or a partial unique index "
                          "… WHERE column IS NULL next to the plain one"))
        elif kind == "CreateTrigStmt" and node.get("replace"):
            found.append((stmt, 14, "CREATE OR REPLACE TRIGGER",
                          "DROP TRIGGER IF EXISTS … ON …; CREATE TRIGGER … (in one transaction)"))
        elif kind == "CreateFunctionStmt" and node.get("sql_body") is not None:
            found.append((stmt, 14, "A BEGIN ATOMIC function body", "AS $$ … $$ with the same statements"))
        elif kind == "ViewStmt":
            for option in node.get("options") or ():
                if ast.inner(option).get("defname") == "security_invoker":
                    found.append((option, 15, "The security_invoker view option",
                                  "leave it out (the view runs with its owner's privileges) and grant "
                                  "access through the view's owner or row-level security on the tables"))
        elif kind == "RenameStmt" and node.get("renameType") == "OBJECT_COLUMN" and node.get("relationType") == "OBJECT_VIEW":
            found.append((node.get("relation") or stmt, 13, "ALTER VIEW … RENAME COLUMN",
                          "ALTER TABLE … RENAME COLUMN (which accepts a view)"))
        elif kind in ("CreateStmt", "CreateForeignTableStmt"):
            base = node.get("base") if kind == "CreateForeignTableStmt" else node
            for element in (base or {}).get("tableElts") or ():
                element_kind, value = ast.unwrap(element)
                if element_kind == "ColumnDef":
                    self._column(value, found)
                elif element_kind == "Constraint":
                    self._constraint(value, found, table_level=True)
        elif kind == "AlterTableStmt":
            self._alter_table(node, ctx, found)

    def _alter_table(self, node: dict, ctx: Context, found: list) -> None:
        stmt = ctx.statement
        for item in node.get("cmds") or ():
            cmd = ast.inner(item)
            subtype = cmd.get("subtype")
            definition = cmd.get("def")
            if subtype == "AT_AddColumn":
                self._column(ast.inner(definition), found)
            elif subtype == "AT_AddConstraint":
                self._constraint(ast.inner(definition), found, table_level=True)
            elif subtype == "AT_SetCompression":
                found.append((stmt, 14, "SET COMPRESSION", "leave the column's compression as it is (pglz)"))
            elif subtype == "AT_SetAccessMethod":
                found.append((stmt, 15, "SET ACCESS METHOD",
                              "a new table with USING <method>, filled from the old one, then swapped in"))
            elif subtype == "AT_SetExpression":
                found.append((stmt, 17, "ALTER COLUMN … SET EXPRESSION",
                              "DROP COLUMN, then ADD COLUMN … GENERATED ALWAYS AS (…) STORED (both rewrite "
                              "nothing but the new column's values)"))
            elif subtype == "AT_DropExpression":
                found.append((stmt, 13, "ALTER COLUMN … DROP EXPRESSION",
                              "a new plain column filled from the generated one, then drop the generated one"))
            elif subtype == "AT_DetachPartition" and ast.inner(definition).get("concurrent"):
                part = ast.inner(definition)
                found.append((part.get("name") or stmt, 14, "DETACH PARTITION … CONCURRENTLY",
                              "a plain DETACH PARTITION (it locks the parent ACCESS EXCLUSIVE: keep it short "
                              "with a lock_timeout)"))

    def _column(self, coldef: dict, found: list) -> None:
        if coldef.get("compression"):
            found.append((coldef, 14, f"COMPRESSION {coldef['compression']}",
                          "leave the COMPRESSION clause out (pglz is the only method before 14)"))
        for item in coldef.get("constraints") or ():
            self._constraint(ast.inner(item), found, table_level=False)

    def _constraint(self, con: dict, found: list, *, table_level: bool) -> None:
        contype = con.get("contype")
        if contype in ("CONSTR_UNIQUE", "CONSTR_PRIMARY") and con.get("nulls_not_distinct"):
            found.append((con, 15, "UNIQUE NULLS NOT DISTINCT",
                          "a unique index on COALESCE(column, a value it never holds), or a partial unique index "
                          "… WHERE column IS NULL next to the plain one"))
        elif contype == "CONSTR_GENERATED" and con.get("generated_kind") == "v":
            found.append((con, 18, "A virtual generated column (GENERATED ALWAYS AS (…) without STORED)",
                          "GENERATED ALWAYS AS (…) STORED (computed on write; adding one rewrites the table)"))
        elif contype == "CONSTR_NOTNULL" and table_level:
            found.append((con, 18, "A named NOT NULL constraint (CONSTRAINT … NOT NULL column)",
                          "ALTER COLUMN … SET NOT NULL, or NOT NULL on the column itself"))

    # -- expressions: functions, types, SQL/JSON ------------------------------------------------
    def _expressions(self, node: dict, ctx: Context, found: list) -> None:
        schema = ctx.schema
        for kind, value in ast.walk(node):
            if kind == "FuncCall":
                names = [n.lower() for n in ast.strings(value.get("funcname"))]
                if not names or (len(names) > 1 and names[0] != "pg_catalog"):
                    continue  # a function of another schema: an extension's or the user's
                name = names[-1]
                if name not in _FUNCTIONS or (schema is not None and name in schema.functions):
                    continue
                if name == "gen_random_uuid" and schema is not None and "pgcrypto" in schema.extensions:
                    continue
                version, instead = _FUNCTIONS[name]
                found.append((value, version, f"The built-in function {name}()", instead))
            elif kind in _JSON_NODES:
                version, what, instead = _JSON_NODES[kind]
                found.append((value, version, what, instead))
            elif kind == "JsonFuncExpr" and value.get("op") in _JSON_FUNC_OPS:
                what, instead = _JSON_FUNC_OPS[value["op"]]
                found.append((value, 17, what, instead))
            type_node = value.get("typeName")
            if isinstance(type_node, dict):
                self._type(type_node, found)
        if "typeName" in node and isinstance(node["typeName"], dict):  # CREATE DOMAIN … AS <type>
            self._type(node["typeName"], found)

    def _type(self, type_node: dict, found: list) -> None:
        type_node = ast.inner(type_node)
        names = [n.lower() for n in ast.strings(type_node.get("names"))]
        if names and names[-1] in _MULTIRANGES and (len(names) == 1 or names[0] == "pg_catalog"):
            found.append((type_node, 14, f"The multirange type {names[-1]}", _MULTIRANGE_HELP))


def _version(value: float) -> str:
    return str(int(value)) if value >= 10 else f"{value:g}"
