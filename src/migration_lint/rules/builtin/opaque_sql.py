from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from migration_lint.facts.context import Context
from migration_lint.facts.locks import ACCESS_EXCLUSIVE, Model, blocks
from migration_lint.facts.transactions import non_transactional
from migration_lint.model import Finding, Risk, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import batch_key, batched
from migration_lint.syntax import ast


@dataclass
class _Embedded:
    lineno: int  # line inside the DO body (1 = the line of the opening quote)
    query: str | None  # the SQL text, None for dynamic SQL
    dynamic: str = ""  # how the dynamic SQL is run (EXECUTE, FOR … IN EXECUTE)


def _expressions(tree: Any) -> Iterator[_Embedded]:
    """The SQL statements a PL/pgSQL function tree runs, in body order."""
    stack = [tree]
    found: list[_Embedded] = []
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if key == "PLpgSQL_stmt_execsql" and isinstance(child, dict):
                    query = ast.inner(child.get("sqlstmt") or {}).get("query")
                    found.append(_Embedded(child.get("lineno", 1), query))
                elif key in ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors") and isinstance(child, dict):
                    expr = ast.inner(child.get("query") or {}).get("query", "")
                    constant = _string_constant(expr)
                    how = "EXECUTE" if key == "PLpgSQL_stmt_dynexecute" else "FOR … IN EXECUTE"
                    found.append(_Embedded(child.get("lineno", 1), constant, how if constant is None else ""))
                if isinstance(child, (dict, list)):
                    stack.append(child)
        elif isinstance(value, list):
            stack.extend(reversed(value))
    found.sort(key=lambda e: e.lineno)
    return iter(found)


def _string_constant(expr: str) -> str | None:
    """`'CREATE INDEX …'` → the SQL text; None when the expression is built at run time."""
    from pglast import parser

    try:
        tree = json.loads(parser.parse_sql_json(f"SELECT {expr}"))
        target = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"]
    except Exception:
        return None
    if len(target) != 1:
        return None
    value = ast.const_value(ast.inner(target[0]).get("val"))
    return value if isinstance(value, str) else None


def _body_start(ctx: Context, node: dict) -> int | None:
    """Character offset in the file of the DO body's first character."""
    for item in node.get("args") or ():
        arg = ast.inner(item)
        if arg.get("defname") == "as" and isinstance(arg.get("arg_location"), int) and arg["arg_location"] >= 0:
            text = ctx.source.text
            offset = ctx.source.char_offset(arg["arg_location"])
            if text.startswith("$", offset):
                end = text.find("$", offset + 1)
                return end + 1 if end > 0 else None
            if text.startswith("'", offset):
                return offset + 1
            if text[offset:offset + 2].upper() == "E'":
                return offset + 2
    return None


def _position(ctx: Context, body_start: int | None, lineno: int) -> tuple[int, int] | None:
    if body_start is None:
        return None
    text = ctx.source.text
    first = ctx.source.position(body_start)
    line = first.line + max(lineno, 1) - 1
    # the first non-blank character of that line
    start = body_start - (first.column - 1)
    for _ in range(line - first.line):
        start = text.find("\n", start) + 1
        if start <= 0:
            return None
    column = 1
    while start + column - 1 < len(text) and text[start + column - 1] in " \t":
        column += 1
    if line == first.line:
        column = first.column
    return line, column


def _one_line(sql: str, limit: int = 70) -> str:
    from migration_lint.facts.secrets import redact_text

    text = " ".join(redact_text(sql).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class OpaqueSql(Rule):
    """Risky statements hidden inside a `DO` block, or a `DO` block that cannot be checked.

    A `DO` block runs its statements when the migration runs, but the lock
    model and the other rules only see the `DO`. Where the body is PL/pgSQL,
    each statement in it (and each `EXECUTE` of a constant string) is parsed
    and judged like a top-level statement: reported when it rewrites or scans
    a table that existed before the migration while blocking writes (a type
    change, a validated constraint, a plain `CREATE INDEX` …), when it is an
    `UPDATE`/`DELETE` without `WHERE`, or when it cannot run in a `DO` block at
    all (`CREATE INDEX CONCURRENTLY`, `VACUUM`). `EXECUTE` of SQL built at run
    time, a body in another language and a body that cannot be parsed are
    reported once per block as *cannot be checked*. The usual guards are not
    reported: `IF NOT EXISTS (…) THEN CREATE TYPE …`, `EXCEPTION WHEN
    duplicate_object`, or statements on tables created earlier in the same
    migration. `CREATE FUNCTION` bodies only define code and are not checked.

    ## Why is this bad?
    Statements inside a `DO` block take the same locks as outside it, but a
    reviewer (and every check of this linter) sees only an opaque block. A type
    change that rewrites the table under ACCESS EXCLUSIVE, or an index build
    that blocks writes, goes unnoticed; dynamic SQL can do anything.

    ## Example
    ```sql
    DO $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'Order_userId_idx') THEN
        CREATE INDEX "Order_userId_idx" ON "Order" ("userId");
      END IF;
    END $$;
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY IF NOT EXISTS "Order_userId_idx" ON "Order" ("userId");
    ```

    ## When it's fine
    When the statements only touch small tables, or the block is a guard around
    catalog-only DDL. For dynamic SQL, review what it generates and suppress
    the finding with the reason.

    ## References
    - PostgreSQL: [DO](https://www.postgresql.org/docs/current/sql-do.html)
    - PostgreSQL: [PL/pgSQL, Executing Dynamic Commands](https://www.postgresql.org/docs/current/plpgsql-statements.html#PLPGSQL-STATEMENTS-EXECUTING-DYN)
    """

    id = "opaque-sql"
    summary = "DO block: risky statements hidden inside it, or dynamic SQL that cannot be checked"
    severity = Severity.WARNING
    statements = ("DoStmt",)

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        options = ast.def_elems(node.get("args"))
        language = (ast.inner(options.get("language") or {}).get("sval") or "plpgsql").lower()
        if language != "plpgsql":
            yield ctx.finding(
                stmt,
                f"DO block in LANGUAGE {language} cannot be checked: its locks and effects are unknown",
                help="Write its statements as plain SQL so that they can be checked, or review by hand what it locks "
                     "and for how long, and suppress this finding with the reason.",
            )
            return
        from pglast import parser

        try:
            tree = json.loads(parser.parse_plpgsql_json(stmt.sql))
        except Exception as exc:  # pglast raises ParseError, and plain errors for some bodies
            from migration_lint.syntax.parse import looks_templated

            reason = str(exc.args[0]) if getattr(exc, "args", None) else type(exc).__name__
            templated = looks_templated(stmt.sql)
            if templated:
                yield ctx.finding(
                    stmt,
                    f"DO block cannot be checked: its body looks templated ({templated}) and does not parse as "
                    f"PL/pgSQL ({reason})",
                    help="Render the template before linting, or configure `placeholders` so that migration-lint "
                         "substitutes values before parsing.",
                )
                return
            yield ctx.finding(
                stmt,
                f"DO block cannot be checked: its PL/pgSQL body does not parse ({reason})",
                help="Fix the body, or write its statements as plain SQL so that they can be checked.",
            )
            return
        body_start = _body_start(ctx, node)
        model = ctx.locks
        created: set[str] = set()
        dynamic_reported = False
        for embedded in _expressions(tree):
            where = _position(ctx, body_start, embedded.lineno) or stmt
            if embedded.query is None:
                if not dynamic_reported:
                    dynamic_reported = True
                    yield ctx.finding(
                        where,
                        f"DO block runs SQL built at run time ({embedded.dynamic}) that cannot be checked: its locks "
                        "and effects are unknown",
                        help="Write the generated statements out as plain SQL where possible, so that they can be "
                             "checked; otherwise review by hand what they lock and for how long, and suppress this "
                             "finding with the reason.",
                    )
                continue
            yield from self._judge(ctx, model, embedded.query, where, created)

    def _judge(self, ctx: Context, model: Model, query: str, where: Any, created: set[str]) -> Iterator[Finding]:
        from migration_lint.syntax.parse import parse

        parsed = parse(query)
        if parsed.failure is not None:
            return  # PL/pgSQL accepted it; fragments with variables are not ours to judge
        for inner in parsed.statements:
            node_type, node = inner.node_type, inner.node
            if node_type in ("CreateStmt", "CreateTableAsStmt"):
                rel = node.get("relation") or (node.get("into") or {}).get("rel")
                if rel:
                    created.add(ast.table_key(ast.relation_name(rel)))
                continue
            text = _one_line(inner.sql)
            if non_transactional(inner, ctx.pg_version) and node_type != "AlterEnumStmt":
                yield ctx.finding(
                    where,
                    f"inside a DO block, `{text}` fails: it cannot run inside a function or transaction block",
                    help="Run it as a top-level statement, outside any transaction block (a `IF NOT EXISTS` clause "
                         "usually replaces the DO guard).",
                    risk=Risk.HIGH,
                )
                continue
            effect = model.effect(node_type, node)
            targets = [t for t in effect.targets] or [ast.table_key(lock.relation) for lock in effect.locks]
            if targets and all(t in created or ctx.is_new_table(t) for t in targets):
                continue
            if node_type in ("UpdateStmt", "DeleteStmt") and node.get("whereClause") is None:
                name = ast.relation_name(node.get("relation"))
                table = ast.quote_qualified(name)
                head = f"UPDATE {table} SET …" if node_type == "UpdateStmt" else f"DELETE FROM {table}"
                batch = batched(head, table, batch_key(ctx.schema, name), "…")
                yield ctx.finding(
                    where,
                    f"inside a DO block, `{text}` changes every row of {table} in one transaction: each row stays "
                    "locked until the migration commits (concurrent writes to them wait)",
                    help=f"Move it out of the DO block and batch it by key (`{batch};` repeated until it changes no "
                         "row), outside the migration's transaction.",
                )
                continue
            if not (effect.rewrites or effect.scans):
                continue
            strongest = effect.strongest
            if strongest is None or "writes" not in blocks(strongest):
                continue
            lock = next(lock for lock in effect.locks if lock.mode == strongest)
            mode = _mode_name(strongest)
            blocked = " and ".join(blocks(strongest))
            action = "rewrites" if effect.rewrites else "scans"
            yield ctx.finding(
                where,
                f"inside a DO block, `{text}` {action} {ast.quote_qualified(lock.relation)} under {mode} lock: "
                f"{blocked} of {ast.quote_qualified(lock.relation)} wait until it finishes, and the lock model "
                "cannot see statements inside DO blocks",
                help="Write it as a top-level statement so that it is checked like the others (most DO guards have a "
                     "plain form: `CREATE INDEX CONCURRENTLY IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`, `ADD "
                     "CONSTRAINT … NOT VALID` then `VALIDATE CONSTRAINT`), and use its safe variant.",
            )


def _mode_name(mode: str) -> str:
    words = {"AccessShareLock": "an ACCESS SHARE", "RowShareLock": "a ROW SHARE", "RowExclusiveLock": "a ROW EXCLUSIVE",
             "ShareUpdateExclusiveLock": "a SHARE UPDATE EXCLUSIVE", "ShareLock": "a SHARE",
             "ShareRowExclusiveLock": "a SHARE ROW EXCLUSIVE", "ExclusiveLock": "an EXCLUSIVE",
             ACCESS_EXCLUSIVE: "an ACCESS EXCLUSIVE"}
    return words.get(mode, mode)
