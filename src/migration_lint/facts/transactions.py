"""The transaction each statement runs in, worked out once per file.

A statement runs inside a transaction when the file opened one (``BEGIN`` …
``COMMIT``) or when the migration tool runs the whole file in one: some open a
real transaction of their own (Drizzle, Flyway, dbmate, Diesel), others send
the file as one query, which PostgreSQL runs as one implicit transaction block
(Prisma before 7.4, golang-migrate, the Supabase CLI). :func:`implicit_transaction`
says which, per framework; :func:`plan` gives every statement its
:class:`Transaction` (with the id of the transaction it shares with others);
:class:`TransactionPlay` says what the file's own ``BEGIN`` / ``COMMIT`` do
when the tool runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from migration_lint.config import prisma_legacy
from migration_lint.facts.locks import Model, Settings
from migration_lint.model import MigrationFile, Statement
from migration_lint.syntax import ast
from migration_lint.syntax.names import default_fk_name

if TYPE_CHECKING:
    from migration_lint.config import Config

BEGIN_KINDS = ("TRANS_STMT_BEGIN", "TRANS_STMT_START")
END_KINDS = ("TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE")

# Frameworks that open a real transaction (a BEGIN of their own) around a migration; the others that
# run a file in one transaction do it by sending it as one query (an implicit transaction block, which
# an explicit BEGIN in the file simply turns into a regular one).
REAL_WRAPPERS = frozenset({"drizzle", "flyway", "dbmate", "diesel"})

EXPLICIT = "inside BEGIN … COMMIT"


@dataclass
class Transaction:
    active: bool = False
    explicit: bool = False  # opened by BEGIN in the file
    reason: str = ""  # why the statement runs inside a transaction
    id: int | None = None  # statements with the same id share one transaction (None: it runs on its own)


def non_transactional(stmt: Statement, pg_version: float) -> bool:
    """The statement cannot run inside a transaction block (SQLSTATE 25001), as the lock model says (the one
    source of that fact, checked against every PostgreSQL version in tests/test_transactional_pg.py)."""
    model = _MODELS.get(pg_version)
    if model is None:
        model = _MODELS[pg_version] = Model(Settings(pg_version=pg_version))
    return not model.effect(stmt.node_type, stmt.node).transactional


_MODELS: dict[float, Model] = {}  # one schema-less lock model per PostgreSQL version


def prisma_version_of(file: MigrationFile, config: Config) -> str:
    """The Prisma version that runs `file`: the configuration's when it sets one, else that of the package.json
    nearest the file's folder, else the default."""
    if file.prisma_version and not config.prisma_version_set:
        return file.prisma_version
    return config.prisma_version


def implicit_transaction(file: MigrationFile, statements: list[Statement], config: Config, added: int = 0) -> str:
    """Why the framework runs this whole file inside one transaction ("" if it does not); `added`: as it would
    with that many more (ordinary) statements in the file, as a fix would make it."""
    framework = file.framework
    statements = [s for s in statements if s.parent is None]  # what a DO block runs is part of the DO
    several = len(statements) + added > 1
    real = added > 0 or any(s.node_type != "TransactionStmt" for s in statements)
    if framework == "prisma":
        version = prisma_version_of(file, config)
        if prisma_legacy(version) and several:
            return (f"Prisma before 7.4 (prisma_version = {version}) sends the whole migration.sql "
                    "as one query, which PostgreSQL runs as one implicit transaction")
        if several and any(s.node_type == "DropStmt" and s.node.get("concurrent") for s in statements):
            return ("Prisma's SQL splitter cannot parse DROP INDEX CONCURRENTLY, so it sends the whole "
                    "migration.sql as one query, which PostgreSQL runs as one implicit transaction")
        return ""
    if framework == "drizzle":
        return "Drizzle runs all pending migrations inside one transaction"
    if framework == "flyway":
        if any(non_transactional(s, config.pg_version) for s in statements):
            return ""  # Flyway detects it and runs the script without a transaction
        return "Flyway runs each migration inside a transaction"
    if framework == "golang-migrate":
        return ("golang-migrate sends a multi-statement file as one query, which PostgreSQL runs as one "
                "implicit transaction") if several else ""
    if framework == "dbmate":
        return "" if file.dbmate_no_transaction else "dbmate runs each migration inside a transaction (opt out with `-- migrate:up transaction:false`)"
    if framework == "diesel":
        if file.path is not None:
            meta = file.path.parent / "metadata.toml"
            try:
                if meta.is_file() and "run_in_transaction" in meta.read_text(errors="replace") and "false" in meta.read_text(errors="replace"):
                    return ""
            except OSError:
                pass
        return "Diesel runs each migration inside a transaction"
    if framework == "supabase":
        return ("the Supabase CLI sends a migration's statements as one pipeline, which runs as one implicit "
                "transaction") if several and real else ""
    return ""


def _kind(stmt: Statement) -> str:
    return stmt.node.get("kind", "") if stmt.node_type == "TransactionStmt" else ""


IN_DO = "inside a DO block, which runs as one statement"


def plan(statements: list[Statement], implicit: str) -> list[Transaction]:
    """The transaction of every statement, given why the tool wraps the file ("" if it does not).

    A statement a DO block runs shares the DO's transaction; outside any, the DO's own statement is one.
    """
    out: list[Transaction] = []
    depth = 0
    for stmt in statements:
        if stmt.parent is not None:
            outer = out[stmt.parent]
            out.append(Transaction(True, outer.explicit, outer.reason if outer.active else IN_DO))
            continue
        kind = _kind(stmt)
        if kind in BEGIN_KINDS:
            out.append(Transaction(True, True, EXPLICIT))
            depth += 1
        elif kind in END_KINDS:
            out.append(Transaction(depth > 0 or bool(implicit), depth > 0, EXPLICIT if depth else implicit))
            depth = max(0, depth - 1)
        elif stmt.node_type == "TransactionStmt":
            out.append(Transaction(depth > 0 or bool(implicit), depth > 0, EXPLICIT if depth else implicit))
        elif depth > 0:
            out.append(Transaction(True, True, EXPLICIT))
        elif implicit:
            out.append(Transaction(True, False, implicit))
        else:
            out.append(Transaction(False, False, ""))
    # which statements share one transaction: a COMMIT (or ROLLBACK) ends it
    current = 0
    explicit_open = False
    for stmt, transaction in zip(statements, out):
        if stmt.parent is not None:
            outer = out[stmt.parent]
            if outer.id is None:  # a DO outside any transaction: it and its statements are one
                outer.id = -1 - stmt.parent
            transaction.id = outer.id
            continue
        kind = _kind(stmt)
        if kind in BEGIN_KINDS:
            if not explicit_open and not implicit:
                current += 1
            explicit_open = True
            transaction.id = current
        elif kind in END_KINDS:
            transaction.id = current if explicit_open or implicit else None
            current += 1
            explicit_open = False
        else:
            transaction.id = current if transaction.active or explicit_open else None
    return out


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

    def __init__(self, statements: list[Statement], wrapper: str, framework: str) -> None:
        self.wrapper = wrapper
        self.real_wrapper = bool(self.wrapper) and framework in REAL_WRAPPERS
        self.nested: list[tuple[int, int | None, int, int]] = []
        self.unclosed: int | None = None
        self.stray: list[tuple[int, int | None]] = []
        open_begin: int | None = None  # the BEGIN that opened the transaction in progress
        inner: list[int] = []  # BEGINs that only drew a warning, innermost last
        wrap_closed: list[tuple[int, int | None, int]] = []  # BEGINs inside the tool's transaction, now ended
        nest_closed: list[tuple[int, int | None, int]] = []  # BEGINs nested in the file's own, now ended
        owed = 0  # COMMITs the author wrote for nested BEGINs, still to come
        pending_stray: list[int] = []
        for stmt in statements:
            if stmt.parent is not None:  # a DO block's statements: part of the DO's own
                continue
            index = stmt.index
            kind = _kind(stmt)
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


def validated_in_same_transaction(statements: list[Statement], transactions: list[Transaction]) -> dict[int, int]:
    """{index of a VALIDATE CONSTRAINT: index of the ADD … NOT VALID in the same transaction}."""
    added: dict[tuple[int, tuple[str, str]], int] = {}
    out: dict[int, int] = {}
    for stmt in statements:
        if stmt.node_type != "AlterTableStmt":
            continue
        txn = transactions[stmt.index].id
        if txn is None:
            continue
        table = ast.relation_name(stmt.node.get("relation"))
        key = ast.table_key(table)
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
                    added[(txn, (key, name))] = stmt.index
            elif subtype == "AT_ValidateConstraint" and cmd.get("name"):
                earlier = added.get((txn, (key, cmd["name"])))
                if earlier is not None and earlier != stmt.index:
                    out.setdefault(stmt.index, earlier)
    return out
