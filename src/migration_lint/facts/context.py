"""Per-file facts, computed once and shared by every rule.

* the transaction each statement runs in (explicit BEGIN/COMMIT, or the
  framework's implicit transaction around the file);
* the tables this migration created before a statement (they are empty);
* the schema model as it stood before the statement (earlier migrations);
* the lock model's effect of the statement;
* which ``SET lock_timeout`` / ``statement_timeout`` came before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migration_lint.facts.locks import Effect
from migration_lint.ingest.source import Source
from migration_lint.model import Finding, MigrationFile, Risk, Severity, Statement
from migration_lint.syntax import ast

if TYPE_CHECKING:
    from migration_lint.config import Config
    from migration_lint.facts.schema import Schema
    from migration_lint.rules.base import Rule
    from migration_lint.syntax.directives import Directives


@dataclass
class Transaction:
    active: bool = False
    explicit: bool = False  # opened by BEGIN in the file
    reason: str = ""  # why the statement runs inside a transaction


class CreatedTables:
    """The tables a migration created before each of its statements, in memory proportional to the tables.

    ``created_here[i]`` answers ``table in …`` for the state before statement i.
    """

    def __init__(self) -> None:
        self._spans: dict[str, list[list[int | None]]] = {}  # table → [[created at, gone at or None], …]

    def create(self, table: str, index: int) -> None:
        self._spans.setdefault(table, []).append([index, None])

    def remove(self, table: str, index: int) -> bool:
        spans = self._spans.get(table)
        if spans and spans[-1][1] is None:
            spans[-1][1] = index
            return True
        return False

    def present(self, table: str, index: int) -> bool:
        spans = self._spans.get(table)
        if not spans:
            return False
        for created, gone in spans:
            if created < index and (gone is None or index <= gone):
                return True
        return False

    def __getitem__(self, index: int) -> "_CreatedBefore":
        return _CreatedBefore(self, index)

    def all(self) -> set[str]:
        """Every table this migration created (and did not rename away)."""
        return {t for t, spans in self._spans.items() if spans and spans[-1][1] is None}


class _CreatedBefore:
    __slots__ = ("_tables", "_index")

    def __init__(self, tables: CreatedTables, index: int) -> None:
        self._tables, self._index = tables, index

    def __contains__(self, table: object) -> bool:
        return isinstance(table, str) and self._tables.present(table, self._index)


@dataclass
class Timeouts:
    lock_timeout: bool = False
    statement_timeout: bool = False


def _non_transactional(stmt: Statement, pg_version: float) -> bool:
    node_type, node = stmt.node_type, stmt.node
    if node_type == "IndexStmt":
        return bool(node.get("concurrent"))
    if node_type == "DropStmt":
        return bool(node.get("concurrent"))
    if node_type == "ReindexStmt":
        return ast.option_true(node.get("params"), "concurrently")
    if node_type == "VacuumStmt":
        return bool(node.get("is_vacuumcmd"))
    if node_type == "AlterTableStmt":
        for item in node.get("cmds") or ():
            _, cmd = ast.unwrap(item)
            if cmd.get("subtype") == "AT_DetachPartition":
                _, part = ast.unwrap(cmd.get("def"))
                if part.get("concurrent"):
                    return True
    if node_type in ("CreatedbStmt", "DropdbStmt", "CreateTableSpaceStmt", "DropTableSpaceStmt", "AlterSystemStmt"):
        return True
    if node_type == "AlterEnumStmt" and pg_version < 12 and not node.get("oldVal"):
        return True
    return False


def implicit_transaction(file: MigrationFile, statements: list[Statement], config: "Config") -> str:
    """Why the framework runs this whole file inside one transaction ("" if it does not)."""
    framework = file.framework
    real = [s for s in statements if s.node_type != "TransactionStmt"]
    several = len(statements) > 1
    if framework == "prisma":
        if config.prisma_legacy and several:
            return (f"Prisma before 7.4 (prisma_version = {config.prisma_version}) sends the whole migration.sql "
                    "as one query, which PostgreSQL runs as one implicit transaction")
        if several and any(s.node_type == "DropStmt" and s.node.get("concurrent") for s in statements):
            return ("Prisma's SQL splitter cannot parse DROP INDEX CONCURRENTLY, so it sends the whole "
                    "migration.sql as one query, which PostgreSQL runs as one implicit transaction")
        return ""
    if framework == "drizzle":
        return "Drizzle runs all pending migrations inside one transaction"
    if framework == "flyway":
        if any(_non_transactional(s, config.pg_version) for s in statements):
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


@dataclass
class Context:
    """Facts about one migration file; the statement-level ones follow `index`."""

    file: MigrationFile
    source: Source
    statements: list[Statement]
    config: "Config"
    schema: "Schema"
    directives: "Directives"
    effects: list[Effect] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    timeouts: list[Timeouts] = field(default_factory=list)
    created_here: CreatedTables = field(default_factory=CreatedTables)  # `t in created_here[i]`: created before statement i
    new_tables: set[str] = field(default_factory=set)  # tables created by not-yet-deployed migrations
    implicit: str = ""  # why the framework runs the whole file in one transaction ("" if it does not)
    memo: dict = field(default_factory=dict)  # per-file facts rules compute once and share (key: a name)
    index: int = 0
    findings: list[Finding] = field(default_factory=list)
    _rule: "Rule | None" = None
    _severity: Severity = Severity.WARNING
    _url: str = ""

    # -- current statement ------------------------------------------------
    @property
    def statement(self) -> Statement:
        return self.statements[self.index]

    @property
    def effect(self) -> Effect:
        return self.effects[self.index]

    @property
    def transaction(self) -> Transaction:
        return self.transactions[self.index]

    @property
    def pg_version(self) -> float:
        return self.config.pg_version

    @property
    def is_prisma(self) -> bool:
        return self.file.framework == "prisma"

    def is_new_table(self, name: str) -> bool:
        """Was the table created by this migration (before the current statement) or by a new one?

        Such a table is empty, so locks on it cannot stall anybody.
        """
        key = ast.table_key(name)
        return key in self.created_here[self.index] or key in self.new_tables

    def facts(self, name: str, extract) -> dict[Any, list[int]]:
        """An index of the file's statements, built once per file and shared: fact → ascending statement indexes.

        `extract(statement)` yields the facts a statement states; `name` keys the index in `memo`.
        Rules use it instead of rescanning every statement for every statement (O(n²) on big files).
        """
        index = self.memo.get(name)
        if index is None:
            index = {}
            for stmt in self.statements:
                for fact in extract(stmt):
                    index.setdefault(fact, []).append(stmt.index)
            self.memo[name] = index
        return index

    def table_existed(self, name: str) -> bool:
        return not self.is_new_table(name)

    # -- findings ----------------------------------------------------------
    def finding(self, anchor: Any, message: str, *, help: str = "", risk: Risk | None = None) -> Finding:
        """Make a finding for the current rule, anchored on a node (its location), a statement or None."""
        stmt = self.statements[self.index] if self.statements else None
        line = column = 1
        if isinstance(anchor, Statement):
            line, column = anchor.line, anchor.column
        elif isinstance(anchor, tuple):
            line, column = anchor
        else:
            loc = ast.location(anchor) if anchor is not None else None
            if loc is None and isinstance(anchor, dict):
                loc = anchor.get("location") if isinstance(anchor.get("location"), int) and anchor["location"] >= 0 else None
            if loc is not None:
                pos = self.source.position_of_byte(loc)
                line, column = pos.line, pos.column
            elif stmt is not None:
                line, column = stmt.line, stmt.column
        if stmt is not None and (line, column) < (stmt.line, stmt.column):
            line, column = stmt.line, stmt.column
        end_line, end_column = (stmt.end_line, stmt.end_column) if stmt is not None else (line, column + 1)
        if (end_line, end_column) <= (line, column):
            end_line, end_column = line, column + 1
        rule = self._rule
        return Finding(
            rule=rule.id if rule else "internal",
            severity=self._severity,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            message=message,
            help=help,
            url=self._url,
            statement=stmt.index if stmt is not None else None,
            risk=risk if risk is not None else (rule.risk if rule else None),
        )

    def file_finding(self, message: str, *, help: str = "", line: int = 1, column: int = 1) -> Finding:
        """A finding about the file as a whole (not tied to a statement)."""
        rule = self._rule
        return Finding(
            rule=rule.id if rule else "internal",
            severity=self._severity,
            line=line,
            column=column,
            end_line=line,
            end_column=column + 1,
            message=message,
            help=help,
            url=self._url,
            statement=None,
        )
