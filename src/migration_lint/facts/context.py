"""Per-file facts, computed once and shared by every rule: what a rule sees through `ctx`.

* the transaction each statement runs in (`transactions`, `implicit`, `play`);
* the tables this migration created before a statement (`created`, `is_new_table`), and the
  objects it defines, vacates and the columns it adds (`objects`);
* the schema model as it stood before the statement (earlier migrations and earlier statements);
* the lock model (one instance per file, `locks`) and its effect of each statement (`effects`);
* which ``SET lock_timeout`` / ``statement_timeout`` came before it (`timeouts`).

Each is computed on first use and kept for the file. The statement being checked is set by the
pipeline (`statement`, `index`); rules only read it, and name another statement with `at=`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from migration_lint.facts import objects as _objects
from migration_lint.facts import transactions as _transactions
from migration_lint.facts.locks import Effect, Model, Settings
from migration_lint.facts.timeouts import Timeouts, timeouts
from migration_lint.ingest.source import Source
from migration_lint.model import Finding, Fix, MigrationFile, Risk, Severity, Statement
from migration_lint.syntax import ast
from migration_lint.syntax.plpgsql import DoBlock

if TYPE_CHECKING:
    from migration_lint.config import Config
    from migration_lint.facts.schema import Schema
    from migration_lint.syntax.directives import Directives


@dataclass(frozen=True)
class Reporter:
    """Who makes findings: the rule being run, with its effective severity and docs link."""

    rule: str = "internal"
    severity: Severity = Severity.WARNING
    url: str = ""
    risk: Risk | None = None
    fails: bool = False


@dataclass
class Context:
    """Facts about one migration file; the statement-level ones follow the statement being checked."""

    file: MigrationFile
    file_source: Source
    statements: list[Statement]
    config: Config
    schema: Schema
    directives: Directives
    do_blocks: dict[int, DoBlock] = field(default_factory=dict)  # by the index of their DO statement
    effects: list[Effect] = field(default_factory=list)  # the lock model's effect of each statement seen so far
    new_tables: set[str] = field(default_factory=set)  # tables created by not-yet-deployed migrations
    memo: dict = field(default_factory=dict)  # per-file indexes rules build once and share (see `indexed`)
    _index: int = 0
    _reporter: Reporter = field(default_factory=Reporter)

    # -- the statement being checked ---------------------------------------
    @property
    def index(self) -> int:
        return self._index

    @property
    def statement(self) -> Statement:
        return self.statements[self._index]

    @property
    def effect(self) -> Effect:
        return self.effects[self._index]

    @property
    def transaction(self) -> _transactions.Transaction:
        return self.transactions[self._index]

    @property
    def source(self) -> Source:
        """The text the statement being checked was parsed from (the file's, or a DO block body's)."""
        return self.source_of(self.statements[self._index]) if self.statements else self.file_source

    def source_of(self, stmt: Statement) -> Source:
        return stmt.source if stmt.source is not None else self.file_source

    def _visit(self, index: int) -> None:
        """The pipeline moves on to statement `index` (rules never call this)."""
        self._index = index

    def _report_as(self, reporter: Reporter) -> None:
        """The pipeline hands the context to the next rule (rules never call this)."""
        self._reporter = reporter

    # -- settings ----------------------------------------------------------
    @property
    def pg_version(self) -> float:
        return self.config.pg_version

    @property
    def is_prisma(self) -> bool:
        return self.file.framework == "prisma"

    # -- facts computed once per file ---------------------------------------
    @cached_property
    def implicit(self) -> str:
        """Why the framework runs the whole file in one transaction ("" if it does not)."""
        return _transactions.implicit_transaction(self.file, self.statements, self.config)

    @cached_property
    def top_level(self) -> list[Statement]:
        """The file's own statements (not those a DO block runs)."""
        return [s for s in self.statements if s.parent is None]

    def implicit_with(self, added: int) -> str:
        """`implicit` as it would be with `added` more statements in the file (as a fix would make it)."""
        key = ("implicit_with", added)
        if key not in self.memo:
            self.memo[key] = _transactions.implicit_transaction(self.file, self.top_level, self.config, added=added)
        return self.memo[key]

    @cached_property
    def transactions(self) -> list[_transactions.Transaction]:
        return _transactions.plan(self.statements, self.implicit)

    @cached_property
    def play(self) -> _transactions.TransactionPlay:
        """What the file's BEGIN / COMMIT / ROLLBACK do when the tool runs it."""
        return _transactions.TransactionPlay(self.statements, self.implicit, self.file.framework)

    @cached_property
    def validations(self) -> dict[int, int]:
        """{VALIDATE CONSTRAINT: the ADD … NOT VALID it validates in the same transaction}."""
        return _transactions.validated_in_same_transaction(self.statements, self.transactions)

    @cached_property
    def timeouts(self) -> list[Timeouts]:
        return timeouts(self.statements)

    @cached_property
    def created(self) -> _objects.CreatedTables:
        """`table in ctx.created[i]`: the migration created the table before statement i."""
        return _objects.CreatedTables(self.statements)

    @cached_property
    def objects(self) -> _objects.Objects:
        return _objects.Objects(self.statements)

    @cached_property
    def locks(self) -> Model:
        """The lock model, reading the schema model as it stands."""
        return Model(Settings(pg_version=self.config.pg_version, timezone_utc=self.config.timezone_utc), self.schema)

    # -- questions about the current statement -------------------------------
    def is_new_table(self, name: str, at: int | None = None) -> bool:
        """Was the table created by this migration (before the statement) or by a not-yet-deployed one?

        Such a table is empty, so locks on it cannot stall anybody.
        """
        key = ast.table_key(name)
        return key in self.created[self._index if at is None else at] or key in self.new_tables

    def is_empty_table(self, name: str, at: int | None = None) -> bool:
        """A new table (see `is_new_table`) that no earlier statement of the migration put rows into:
        a NOT NULL column without a default can still be added to it."""
        index = self._index if at is None else at
        return self.is_new_table(name, at=index) and self.objects.filled_before(name, index) is None

    def table_existed(self, name: str) -> bool:
        return not self.is_new_table(name)

    def created_before(self, kind: str, name: str) -> bool:
        """Did an earlier statement of this migration (or an undeployed migration) create the object?"""
        if kind == "relation" and self.is_new_table(name):
            return True
        return self.objects.defined_before(kind, name, self._index)

    def indexed(self, name: str, extract: Callable[[Statement], Iterable[Any]]) -> dict[Any, list[int]]:
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

    # -- findings ----------------------------------------------------------
    def finding(self, anchor: Any, message: str, *, help: str = "", risk: Risk | None = None,
                at: Statement | None = None, fix: Fix | None = None) -> Finding:
        """A finding of the current rule about statement `at` (default: the one being checked).

        It points at `anchor`: a node (its location), a statement, a (line, column) pair, or None
        (the statement's start); never before the statement.
        """
        stmt = at if at is not None else (self.statements[self._index] if self.statements else None)
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
                pos = (self.source_of(stmt) if stmt is not None else self.file_source).position_of_byte(loc)
                line, column = pos.line, pos.column
            elif stmt is not None:
                line, column = stmt.line, stmt.column
        if stmt is not None and (line, column) < (stmt.line, stmt.column):
            line, column = stmt.line, stmt.column
        end_line, end_column = (stmt.end_line, stmt.end_column) if stmt is not None else (line, column + 1)
        if (end_line, end_column) <= (line, column):
            end_line, end_column = line, column + 1
        reporter = self._reporter
        return Finding(
            rule=reporter.rule,
            severity=reporter.severity,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            message=message,
            help=help,
            url=reporter.url,
            statement=stmt.index if stmt is not None else None,
            risk=risk if risk is not None else reporter.risk,
            fails=reporter.fails,
            fix=fix,
        )

    def file_finding(self, message: str, *, help: str = "", line: int = 1, column: int = 1) -> Finding:
        """A finding about the file as a whole (not tied to a statement)."""
        reporter = self._reporter
        return Finding(
            rule=reporter.rule,
            severity=reporter.severity,
            line=line,
            column=column,
            end_line=line,
            end_column=column + 1,
            message=message,
            help=help,
            url=reporter.url,
            statement=None,
        )
