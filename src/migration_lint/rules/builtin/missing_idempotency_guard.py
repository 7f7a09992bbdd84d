from __future__ import annotations

import re
from collections.abc import Iterable

from migration_lint.facts.context import Context
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.rules.recipes import prisma_edit_hint
from migration_lint.syntax import ast

# words between DROP and the first object name (compared in upper case)
_DROP_WORDS = frozenset(
    """TABLE INDEX CONCURRENTLY VIEW MATERIALIZED SEQUENCE SCHEMA EXTENSION TYPE DOMAIN FUNCTION PROCEDURE ROUTINE
    TRIGGER POLICY RULE FOREIGN COLLATION CONVERSION AGGREGATE OPERATOR CLASS FAMILY TEXT SEARCH CONFIGURATION
    DICTIONARY PARSER TEMPLATE SERVER PUBLICATION STATISTICS ACCESS METHOD EVENT LANGUAGE PROCEDURAL CAST
    TRANSFORM""".split()
)
# ALTER TABLE actions that fail when run twice and have no IF [NOT] EXISTS form
_UNGUARDABLE = frozenset({"AT_AddConstraint", "AT_AttachPartition", "AT_AddInherit", "AT_AddIdentity", "AT_AddIndex"})
_OR_REPLACE = {"ViewStmt": "VIEW", "CreateFunctionStmt": "FUNCTION"}


class MissingIdempotencyGuard(Rule):
    """`CREATE` without `IF NOT EXISTS`, `DROP` without `IF EXISTS`, outside a transaction (off by default).

    Only statements that run outside a transaction are reported (the migration
    tool does not wrap the file, and there is no `BEGIN`), and only when
    another statement follows them in the file: the last statement of a file is
    never re-run after its own failure. Covered: `CREATE TABLE`, `CREATE TABLE
    AS` / `MATERIALIZED VIEW`, `CREATE INDEX`, `CREATE SEQUENCE`,
    `CREATE SCHEMA`, `CREATE EXTENSION` (`IF NOT EXISTS`), `CREATE VIEW` and
    `CREATE FUNCTION` (`OR REPLACE`), `DROP …` (`IF EXISTS`), and
    `ALTER TABLE … ADD COLUMN` / `DROP COLUMN` / `DROP CONSTRAINT`. The rule is
    off unless selected, and its findings are `info`: many teams prefer a
    failed migration to stop loudly and be repaired by hand.

    ## Why is this bad?
    Without a transaction, the statements before a failure stay applied. Run
    the migration again (after fixing the failing statement, or after a
    timeout) and it stops at the first statement that already ran: "relation
    already exists", "column … does not exist". The database is then half
    migrated, and the fix is manual surgery under pressure. With the guards,
    the migration can simply be re-run. A `CREATE INDEX` without a name does not
    fail on the second run: it builds a second copy of the index.

    ## Example
    ```sql
    CREATE TABLE "AuditLog" ("id" bigint PRIMARY KEY, "action" text NOT NULL);
    CREATE INDEX "AuditLog_action_idx" ON "AuditLog" ("action");
    ```

    ## Use instead
    ```sql
    CREATE TABLE IF NOT EXISTS "AuditLog" ("id" bigint PRIMARY KEY, "action" text NOT NULL);
    CREATE INDEX IF NOT EXISTS "AuditLog_action_idx" ON "AuditLog" ("action");
    ```

    ## When it's fine
    Inside a transaction (explicit `BEGIN … COMMIT`, or a migration tool that
    wraps each file): a failure rolls everything back, and this rule does not
    fire. Note that `IF NOT EXISTS` only checks the name: after a failed
    `CREATE INDEX CONCURRENTLY`, an INVALID index of that name is left behind
    and `IF NOT EXISTS` skips it; drop it first.

    ## References
    - PostgreSQL: [CREATE TABLE, IF NOT EXISTS](https://www.postgresql.org/docs/current/sql-createtable.html)
    - PostgreSQL: [DROP TABLE, IF EXISTS](https://www.postgresql.org/docs/current/sql-droptable.html)
    - PostgreSQL: [Transactions](https://www.postgresql.org/docs/current/tutorial-transactions.html)
    """

    id = "missing-idempotency-guard"
    summary = "CREATE without IF NOT EXISTS / DROP without IF EXISTS outside a transaction: a re-run stops there"
    severity = Severity.INFO
    statements = ("CreateStmt", "CreateTableAsStmt", "IndexStmt", "CreateSeqStmt", "CreateSchemaStmt",
               "CreateExtensionStmt", "ViewStmt", "CreateFunctionStmt", "DropStmt", "AlterTableStmt")
    enabled_by_default = False

    def check_statement(self, stmt: Statement, ctx: Context) -> Iterable[Finding]:
        node = stmt.node
        if ctx.transaction.active:
            return
        if stmt.index == len(ctx.statements) - 1:
            return  # nothing after it: a failure of this statement leaves nothing of this file applied after it
        fixes = _fixes(stmt.node_type, node, ctx)
        if not fixes:
            return
        what, inserts = fixes
        sql = _rewrite(ctx, inserts)
        nameless = stmt.node_type == "IndexStmt" and not node.get("idxname")
        if nameless:
            message = (f"{stmt.kind} has no name and this migration does not run in a transaction: if a later "
                       "statement fails and the migration is run again, it builds a second copy of the index")
            help_text = "Name the index and add IF NOT EXISTS: `CREATE INDEX IF NOT EXISTS <name> ON …`."
        else:
            outcome = {"drop": "does not exist", "alter": "already exists\" or \"… does not exist"}.get(what, "already exists")
            message = (f"{stmt.kind} has no {_guard_words(what)} and this migration does not run in a transaction: "
                       f"if a later statement fails and the migration is run again, it stops here with "
                       f"\"… {outcome}\"")
            help_text = f"Make it re-runnable: `{sql}`" if sql else f"Add {_guard_words(what)}."
            if stmt.node_type == "IndexStmt" and node.get("concurrent"):
                help_text += (" If a concurrent build fails it leaves an INVALID index of that name, which IF NOT "
                              "EXISTS would skip: drop it before re-running.")
        yield ctx.finding(stmt, message, help=help_text + prisma_edit_hint(ctx))


def _guard_words(what: str) -> str:
    return {"create": "IF NOT EXISTS", "drop": "IF EXISTS", "replace": "OR REPLACE",
            "alter": "IF [NOT] EXISTS"}[what]


def _fixes(node_type: str, node: dict, ctx: Context) -> tuple[str, list[tuple[int, str]]] | None:
    """What is missing ("create" / "drop" / "replace" / "alter") and (character offset, text) insertions."""
    tokens = _tokens(ctx)
    if node_type in ("CreateStmt", "CreateTableAsStmt", "CreateSeqStmt"):
        if node.get("if_not_exists"):
            return None
        if node_type == "CreateTableAsStmt" and node.get("objtype") not in (None, "OBJECT_TABLE", "OBJECT_MATVIEW"):
            return None
        rel = node.get("relation") or node.get("sequence") or (node.get("into") or {}).get("rel")
        if rel and rel.get("relpersistence") == "t":
            return None  # a temporary table disappears with the session
        loc = rel.get("location") if rel else None
        at = ctx.source.char_offset(loc) if isinstance(loc, int) and loc >= 0 else None
        return "create", ([(at, "IF NOT EXISTS ")] if at is not None else [])
    if node_type == "IndexStmt":
        if node.get("if_not_exists"):
            return None
        at = _after(tokens, ("INDEX",), skip=("CONCURRENTLY",))
        return "create", ([(at, "IF NOT EXISTS ")] if at is not None and node.get("idxname") else [])
    if node_type in ("CreateSchemaStmt", "CreateExtensionStmt"):
        if node.get("if_not_exists"):
            return None
        at = _after(tokens, ("SCHEMA", "EXTENSION"))
        return "create", ([(at, "IF NOT EXISTS ")] if at is not None else [])
    if node_type in _OR_REPLACE:
        if node.get("replace") or (node_type == "ViewStmt" and node.get("view", {}).get("relpersistence") == "t"):
            return None
        at = tokens[1][0] if len(tokens) > 1 else None
        return "replace", ([(at, "OR REPLACE ")] if at is not None else [])
    if node_type == "DropStmt":
        if node.get("missing_ok"):
            return None
        at = None
        for start, _end, word in tokens[1:]:
            if word.upper() not in _DROP_WORDS:
                at = start
                break
        return "drop", ([(at, "IF EXISTS ")] if at is not None else [])
    if node_type == "AlterTableStmt":
        if node.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
            return None
        inserts: list[tuple[int, str]] = []
        found = set()
        for item in node.get("cmds") or ():
            cmd = ast.inner(item)
            subtype = cmd.get("subtype")
            if subtype in _UNGUARDABLE:
                return None  # no guard can make this statement re-runnable: adding some would not help
            if cmd.get("missing_ok") or subtype not in ("AT_AddColumn", "AT_DropColumn", "AT_DropConstraint"):
                continue
            found.add("create" if subtype == "AT_AddColumn" else "drop")
            if subtype == "AT_AddColumn":
                loc = ast.inner(cmd.get("def")).get("location")
                if isinstance(loc, int) and loc >= 0:
                    inserts.append((ctx.source.char_offset(loc), "IF NOT EXISTS "))
            else:
                keyword = "COLUMN" if subtype == "AT_DropColumn" else "CONSTRAINT"
                at = _drop_target(tokens, cmd.get("name", ""), keyword)
                if at is not None:
                    inserts.append((at, "IF EXISTS "))
        if not found:
            return None
        return ("alter" if len(found) > 1 else found.pop()), inserts
    return None


def _tokens(ctx: Context) -> list[tuple[int, int, str]]:
    """(start, end) character offsets in the file and text of the statement's tokens, comments left out."""
    from pglast.parser import scan

    stmt = ctx.statement
    try:
        tokens = scan(stmt.sql)
    except Exception:  # no ready-made fix then
        return []
    return [(stmt.start + t.start, stmt.start + t.end + 1, stmt.sql[t.start: t.end + 1])
            for t in tokens if t.name not in ("SQL_COMMENT", "C_COMMENT")]


def _after(tokens: list[tuple[int, int, str]], words: tuple[str, ...], skip: tuple[str, ...] = ()) -> int | None:
    """The start of the token after the first of `words` (and any `skip` words)."""
    for index, (_, _, text) in enumerate(tokens):
        if text.upper() in words:
            index += 1
            while index < len(tokens) and tokens[index][2].upper() in skip:
                index += 1
            return tokens[index][0] if index < len(tokens) else None
    return None


def _ident(text: str) -> str:
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in text)


def _drop_target(tokens: list[tuple[int, int, str]], name: str, keyword: str) -> int | None:
    """Where `IF EXISTS` goes in `DROP [COLUMN] name` / `DROP CONSTRAINT name`."""
    for index, (_, _, text) in enumerate(tokens):
        if text.upper() != "DROP":
            continue
        following = index + 1
        if following < len(tokens) and tokens[following][2].upper() == keyword:
            following += 1
        elif keyword == "CONSTRAINT":
            continue
        if following < len(tokens) and _ident(tokens[following][2]) == name:
            return tokens[following][0]
    return None


_NAME = re.compile(r'\s*(?:"(?:[^"]|"")*"|[^\s(),;."]+)(?:\s*\.\s*(?:"(?:[^"]|"")*"|[^\s(),;."]+))*')


def _rewrite(ctx: Context, inserts: list[tuple[int, str]]) -> str:
    """The statement with the guards inserted; a long one is cut after the name that follows the last guard."""
    if not inserts:
        return ""
    stmt = ctx.statement
    text = ctx.source.text
    out, last, cut = [], stmt.start, 0
    for at, words in sorted(inserts):
        out.append(text[last:at])
        out.append(words)
        last = at
        cut = sum(len(part) for part in out)
    out.append(text[last: stmt.end])
    sql = "".join(out)
    if "\n" not in sql.strip() and len(sql) <= 200:
        return sql + ";"
    name = _NAME.match(sql, cut)
    end = name.end() if name else cut
    return " ".join(sql[:end].split()) + " …"
