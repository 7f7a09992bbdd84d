"""Facts shared by the locking, rewrite and transaction rules.

* `transaction_ids`: which statements share one transaction (explicit BEGIN …
  COMMIT, or the framework's implicit transaction around the file);
* `validated_in_same_transaction`: VALIDATE CONSTRAINT of a constraint added
  NOT VALID earlier in the same transaction;
* `clause_text` / `sql_type`: the user's own SQL text for help messages.

These belong in context.py / ast.py eventually; they live here so that the
rules that need them agree.
"""

from __future__ import annotations

from typing import Any

from migration_lint.facts.context import Context
from migration_lint.syntax import ast

BEGIN_KINDS = ("TRANS_STMT_BEGIN", "TRANS_STMT_START")
END_KINDS = ("TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE")

# Frameworks that open a real transaction (a BEGIN of their own) around a migration; the others that
# run a file in one transaction do it by sending it as one query (an implicit transaction block, which
# an explicit BEGIN in the file simply turns into a regular one).
REAL_WRAPPERS = frozenset({"drizzle", "flyway", "dbmate", "diesel"})


def transaction_ids(ctx: Context) -> list[int | None]:
    """For each statement, the id of the transaction it runs in (None: a transaction of its own)."""
    cached = ctx.memo.get("transaction_ids")
    if cached is None:
        cached = ctx.memo["transaction_ids"] = _transaction_ids(ctx)
    return cached


def _transaction_ids(ctx: Context) -> list[int | None]:
    implicit = bool(ctx.implicit)
    ids: list[int | None] = []
    current = 0
    explicit_open = False
    for index, stmt in enumerate(ctx.statements):
        active = ctx.transactions[index].active if index < len(ctx.transactions) else False
        if stmt.node_type == "TransactionStmt":
            kind = stmt.node.get("kind", "")
            if kind in BEGIN_KINDS:
                if not explicit_open and not implicit:
                    current += 1
                explicit_open = True
                ids.append(current)
                continue
            if kind in END_KINDS:
                ids.append(current if explicit_open or implicit else None)
                current += 1
                explicit_open = False
                continue
        ids.append(current if active or explicit_open else None)
    return ids


def constraint_key(table: str, name: str) -> tuple[str, str]:
    return ast.table_key(table), name


def default_fk_name(table: str, columns: list[str]) -> str:
    base = table.split(".")[-1]
    return f"{base}_{'_'.join(columns)}_fkey"[:63]


def validated_in_same_transaction(ctx: Context) -> dict[int, int]:
    """{index of a VALIDATE CONSTRAINT: index of the ADD … NOT VALID in the same transaction}."""
    ids = transaction_ids(ctx)
    added: dict[tuple[int, tuple[str, str]], int] = {}
    out: dict[int, int] = {}
    for stmt in ctx.statements:
        if stmt.node_type != "AlterTableStmt":
            continue
        txn = ids[stmt.index]
        if txn is None:
            continue
        table = ast.relation_name(stmt.node.get("relation"))
        for item in stmt.node.get("cmds") or ():
            _, cmd = ast.unwrap(item)
            subtype = cmd.get("subtype")
            if subtype == "AT_AddConstraint":
                _, con = ast.unwrap(cmd.get("def"))
                if not con.get("skip_validation"):
                    continue
                name = con.get("conname")
                if not name and con.get("contype") == "CONSTR_FOREIGN":
                    name = default_fk_name(table, ast.strings(con.get("fk_attrs")))
                if name:
                    added[(txn, constraint_key(table, name))] = stmt.index
            elif subtype == "AT_ValidateConstraint" and cmd.get("name"):
                earlier = added.get((txn, constraint_key(table, cmd["name"])))
                if earlier is not None and earlier != stmt.index:
                    out.setdefault(stmt.index, earlier)
    return out


# -- SQL text for help messages ------------------------------------------------
_OPEN = {"ASCII_40", "ASCII_91"}
_CLOSE = {"ASCII_41", "ASCII_93"}
COLUMN_CONSTRAINT_WORDS = frozenset(
    {"NOT", "NOT_LA", "NULL_P", "CONSTRAINT", "CHECK", "UNIQUE", "PRIMARY", "REFERENCES", "COLLATE", "GENERATED",
     "DEFAULT", "DEFERRABLE", "INITIALLY", "USING"}
)


def clause_text(ctx: Context, byte_location: int | None, stops: frozenset[str] = frozenset(),
                skip_first: int = 0) -> str:
    """The source text of the clause that starts at a node's location in the current statement.

    It ends before a top-level `,`, `;` or unmatched `)`, or before a token in `stops`;
    `skip_first` tokens are dropped from the front (e.g. the DEFAULT keyword). "" if unknown.
    """
    if byte_location is None or byte_location < 0:
        return ""
    from pglast.parser import scan

    stmt = ctx.statement
    text = ctx.source.text
    start = ctx.source.char_offset(byte_location)
    end = stmt.start + len(stmt.sql)
    if not stmt.start <= start < end:
        return ""
    piece = text[start:end]
    try:
        tokens = scan(piece)
    except Exception:  # pragma: no cover - the statement parsed
        return ""
    depth = 0
    begin: int | None = None
    stop_at = len(piece)
    comments: list[tuple[int, int]] = []
    for position, token in enumerate(tokens):
        if token.name in ("SQL_COMMENT", "C_COMMENT"):
            comments.append((token.start, token.end + 1))
            continue
        if position < skip_first:
            continue
        if begin is None:
            begin = token.start
        elif depth == 0 and (token.name in ("ASCII_44", "ASCII_59") or token.name in stops):
            stop_at = token.start
            break
        if token.name in _OPEN:
            depth += 1
        elif token.name in _CLOSE:
            if depth == 0:
                stop_at = token.start
                break
            depth -= 1
    if begin is None:
        return ""
    return _without_comments(piece, begin, stop_at, comments)


def _without_comments(piece: str, begin: int, end: int, comments: list[tuple[int, int]]) -> str:
    """piece[begin:end] on one line, without the comments in it (a `--` would swallow the rest)."""
    parts, at = [], begin
    for start, stop in comments:
        if stop <= begin or start >= end:
            continue
        parts.append(piece[at:start])
        at = stop
    parts.append(piece[at:end])
    return " ".join(" ".join(parts).split())


_SQL_TYPES = {"int4": "integer", "int8": "bigint", "int2": "smallint", "bool": "boolean", "float8": "double precision",
              "float4": "real", "bpchar": "char", "varchar": "varchar", "timestamptz": "timestamptz",
              "timestamp": "timestamp", "numeric": "numeric", "text": "text", "jsonb": "jsonb", "json": "json",
              "uuid": "uuid", "date": "date", "time": "time", "timetz": "timetz", "interval": "interval",
              "bytea": "bytea", "inet": "inet", "cidr": "cidr", "varbit": "varbit", "bit": "bit"}


def sql_type(type_node: Any) -> str:
    """A TypeName as SQL the user can paste: ``bigint``, ``varchar(255)``, ``"Status"[]``."""
    if not type_node:
        return "?"
    _, tn = ast.unwrap(type_node)
    names = ast.strings(tn.get("names"))
    builtin = bool(names) and names[0] == "pg_catalog"
    if builtin and len(names) > 1:
        names = names[1:]
    if builtin or (len(names) == 1 and names[0] in _SQL_TYPES.values()):
        base = _SQL_TYPES.get(names[-1], names[-1]) if names else "?"
    else:
        base = ".".join(ast.quote_ident(n) for n in names) or "?"
    text = ast.type_name(type_node)
    mods = text[text.index("("):text.index(")") + 1] if "(" in text and ")" in text else ""
    arrays = "[]" * len(tn.get("arrayBounds") or ())
    return base + mods + arrays


def type_words(type_text: str) -> str:
    """A type as the schema model spells it (``int4``, ``varchar(10)``) in SQL words (``integer``)."""
    base, _, rest = type_text.partition("(")
    array = "[]" if type_text.endswith("[]") else ""
    mods = "(" + rest.split(")")[0] + ")" if rest else ""
    base = base.rstrip("[]")
    return _SQL_TYPES.get(base, base) + mods + array


def primary_key_column(ctx: Context, table: str) -> str | None:
    """The single primary-key column of a table, if the schema model knows it."""
    model = ctx.schema.table(table)
    if model is None:
        return None
    for constraint in model.constraints:
        if constraint.kind == "CONSTR_PRIMARY" and len(constraint.columns) == 1:
            return constraint.columns[0]
    return None


def batched_update(ctx: Context, table: str, assignment: str, pending: str) -> str:
    """An UPDATE that backfills one batch: repeat it until it updates no row."""
    qt = ast.quote_qualified(table)
    key = primary_key_column(ctx, table)
    qk = ast.quote_ident(key) if key else "ctid"
    return (f"UPDATE {qt} SET {assignment} WHERE {qk} IN (SELECT {qk} FROM {qt} WHERE {pending} LIMIT 10000);")


def keyword_group(ctx: Context, byte_location: int | None, keyword: str) -> str:
    """From a node's location: the first `keyword` token and the parenthesised group after it
    (``CHECK (a > 0)``). "" if not found."""
    if byte_location is None or byte_location < 0:
        return ""
    from pglast.parser import scan

    stmt = ctx.statement
    start = ctx.source.char_offset(byte_location)
    piece = ctx.source.text[start: stmt.start + len(stmt.sql)]
    try:
        tokens = scan(piece)
    except Exception:  # pragma: no cover
        return ""
    begin = None
    depth = 0
    comments: list[tuple[int, int]] = []
    for token in tokens:
        if token.name in ("SQL_COMMENT", "C_COMMENT"):
            comments.append((token.start, token.end + 1))
            continue
        if begin is None:
            if token.name == keyword:
                begin = token.start
            continue
        if token.name in _OPEN:
            depth += 1
        elif token.name in _CLOSE:
            depth -= 1
            if depth == 0:
                return _without_comments(piece, begin, token.end + 1, comments)
    return ""


_FK_ACTIONS = {"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def references_sql(con: dict) -> str:
    """An inline REFERENCES constraint as SQL: ``REFERENCES "User"(id) ON DELETE CASCADE``."""
    text = f"REFERENCES {ast.quote_qualified(ast.relation_name(con.get('pktable')))}"
    pk = ast.strings(con.get("pk_attrs"))
    if pk:
        text += "(" + ", ".join(ast.quote_ident(c) for c in pk) + ")"
    if con.get("fk_matchtype") == "f":
        text += " MATCH FULL"
    if con.get("fk_del_action", "a") in _FK_ACTIONS:
        text += " ON DELETE " + _FK_ACTIONS[con["fk_del_action"]]
    if con.get("fk_upd_action", "a") in _FK_ACTIONS:
        text += " ON UPDATE " + _FK_ACTIONS[con["fk_upd_action"]]
    return text


def default_check_name(table: str, expr: Any) -> str:
    """The name PostgreSQL gives an unnamed CHECK: ``<table>_<column>_check`` when it uses one column."""
    columns = {ast.strings(value.get("fields"))[-1] for kind, value in ast.walk({"_": expr})
               if kind == "ColumnRef" and ast.strings(value.get("fields"))}
    base = table.split(".")[-1]
    return (f"{base}_{next(iter(columns))}_check" if len(columns) == 1 else f"{base}_check")[:63]


# -- transaction control as PostgreSQL plays it ----------------------------------------
class TransactionPlay:
    """What the file's BEGIN / COMMIT / ROLLBACK do when the migration tool runs it.

    * `wrapper`: why the tool runs the file in one transaction ("" if it does not);
      `real_wrapper`: it does so with a BEGIN of its own (an explicit BEGIN in the file then
      only draws a warning), rather than by sending the file as one query (where an explicit
      BEGIN turns the implicit transaction block into a regular one);
    * `nested`: [(inner BEGIN, the BEGIN or None (the tool's) it is nested in, the COMMIT that
      ends both, first statement that then runs outside the intended transaction)];
    * `unclosed`: the BEGIN whose transaction is still open at the end of the file;
    * `stray`: [(COMMIT/ROLLBACK with no transaction of the file's own open, first statement after it)].
    """

    def __init__(self, ctx: Context) -> None:
        self.wrapper = ctx.implicit
        self.real_wrapper = bool(self.wrapper) and ctx.file.framework in REAL_WRAPPERS
        self.nested: list[tuple[int, int | None, int, int | None]] = []
        self.unclosed: int | None = None
        self.stray: list[tuple[int, int | None]] = []
        open_begin: int | None = None  # the BEGIN that opened the transaction in progress
        inner: list[int] = []  # BEGINs that only drew a warning, innermost last
        wrap_closed: list[tuple[int, int | None, int]] = []  # BEGINs inside the tool's transaction, now ended
        nest_closed: list[tuple[int, int | None, int]] = []  # BEGINs nested in the file's own, now ended
        owed = 0  # COMMITs the author wrote for nested BEGINs, still to come
        pending_stray: list[int] = []
        for stmt in ctx.statements:
            index = stmt.index
            kind = stmt.node.get("kind", "") if stmt.node_type == "TransactionStmt" else ""
            if kind in BEGIN_KINDS:
                if open_begin is not None:
                    inner.append(index)
                else:
                    open_begin = index
                    nest_closed, owed = [], 0
                    if self.real_wrapper:
                        inner.append(index)  # nested in the tool's transaction
                continue
            if kind in END_KINDS:
                if open_begin is not None:
                    for begin in inner:
                        if self.real_wrapper and begin == open_begin:
                            wrap_closed.append((begin, None, index))
                        else:
                            nest_closed.append((begin, open_begin, index))
                            owed += 1
                    open_begin, inner = None, []
                elif owed:
                    owed -= 1  # the COMMIT meant for a nested BEGIN: a warning
                    if not owed:
                        nest_closed = []
                else:
                    pending_stray.append(index)
                continue
            if stmt.node_type == "TransactionStmt":
                continue
            # a real statement after a COMMIT the author did not mean to end the transaction
            for begin, outer, end in wrap_closed + (nest_closed if owed else []):
                self.nested.append((begin, outer, end, index))
            wrap_closed = []
            if owed:
                nest_closed = []
            for end in pending_stray:
                self.stray.append((end, index))
            pending_stray = []
        self.unclosed = open_begin if not self.real_wrapper else None
        for end in pending_stray:
            self.stray.append((end, None))
