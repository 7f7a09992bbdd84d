from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from migration_lint.facts.context import Context
from migration_lint.facts.locks import ACCESS_EXCLUSIVE
from migration_lint.model import Finding, Severity, Statement
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast


@dataclass
class _Held:
    relation: str
    statement: Statement
    slow: bool


@dataclass
class Options:
    #: also report ACCESS EXCLUSIVE locks on two different tables in one transaction (the first waits on the second)
    different_tables: bool = False


_LABELS = {"UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "InsertStmt": "INSERT", "SelectStmt": "SELECT",
           "MergeStmt": "MERGE"}
_DROPPED_KINDS = frozenset({"OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE", "OBJECT_FOREIGN_TABLE"})


def _dropped(stmt: Statement) -> set[str]:
    """Relations a DROP TABLE / VIEW / … statement removes."""
    if stmt.node_type != "DropStmt" or stmt.node.get("removeType") not in _DROPPED_KINDS:
        return set()
    out = set()
    for obj in stmt.node.get("objects") or ():
        kind, value = ast.unwrap(obj)
        names = ast.strings(value.get("items")) if kind == "List" else ast.strings([obj])
        out.add(ast.table_key(".".join(names)))
    return out


def _created(ctx: Context, ids: list[int | None]) -> list[tuple[int, int, str]]:
    """(statement index, transaction, relation) of every CREATE TABLE / VIEW / TABLE AS in a transaction."""
    created: list[tuple[int, int, str]] = []
    for stmt in ctx.statements:
        txn = ids[stmt.index]
        node = stmt.node
        rel = None
        if stmt.node_type == "CreateStmt":
            rel = node.get("relation")
        elif stmt.node_type == "CreateTableAsStmt":
            rel = (node.get("into") or {}).get("rel")
        elif stmt.node_type == "ViewStmt":
            rel = node.get("view")
        if rel is not None and txn is not None:
            created.append((stmt.index, txn, ast.table_key(ast.relation_name(rel))))
    return created


class CompoundingLocks(Rule):
    """A slow statement runs while an earlier statement's ACCESS EXCLUSIVE lock is still held.

    Within one transaction (an explicit `BEGIN … COMMIT`, or the transaction a
    migration tool wraps around the file), a statement that rewrites or scans
    a table in use, or an UPDATE/DELETE without WHERE, after a statement that
    took ACCESS EXCLUSIVE on a table in use. Reported once per transaction, on
    the slow statement, naming the earlier one. Not reported when the slow
    statement takes ACCESS EXCLUSIVE on that same table anyway and the earlier
    statement was quick (the lock adds nothing then), nor for tables created in
    the same migration. With the option `different_tables`, two ACCESS
    EXCLUSIVE statements on different tables in use are reported as well.

    ## Why is this bad?
    Locks are only released at COMMIT. A quick `ALTER TABLE` (ACCESS EXCLUSIVE:
    reads and writes wait) followed by a backfill, an index build or a
    validation in the same transaction keeps the table blocked for the whole
    slow statement; two slow statements block it for the sum of both. Each
    statement may look harmless on its own.

    ## Example
    ```sql
    BEGIN;
    ALTER TABLE "Order" ADD COLUMN "currency" text;
    UPDATE "Order" SET "currency" = 'EUR';
    COMMIT;
    ```

    ## Use instead
    ```sql
    BEGIN;
    ALTER TABLE "Order" ADD COLUMN "currency" text;
    COMMIT;
    -- then backfill in batches, each in its own short transaction:
    UPDATE "Order" SET "currency" = 'EUR' WHERE id IN (SELECT id FROM "Order" WHERE "currency" IS NULL LIMIT 1000);
    ```

    ## When it's fine
    On small tables. A migration tool that runs the whole file in one
    transaction (Flyway, dbmate, Diesel, Drizzle, golang-migrate, Supabase,
    Prisma before 7.4) makes every statement of the file one transaction: put
    the slow statement in a migration of its own.

    ## References
    - PostgreSQL: [Explicit Locking](https://www.postgresql.org/docs/current/explicit-locking.html) ("Once acquired, a lock is normally held until the end of the transaction.")
    - GitLab: [Avoiding downtime in migrations](https://docs.gitlab.com/ee/development/database/avoiding_downtime_in_migrations.html)
    """

    id = "compounding-locks"
    summary = "a slow statement runs while an earlier ACCESS EXCLUSIVE lock of the same transaction is held"
    severity = Severity.WARNING
    migration = True
    lock = "ACCESS EXCLUSIVE"

    Options = Options

    def check_migration(self, ctx: Context) -> Iterable[Finding]:
        ids = [transaction.id for transaction in ctx.transactions]
        skip = set(ctx.validations)  # reported by validate-in-same-transaction
        held: dict[int, list[_Held]] = {}
        reported: set[int] = set()
        created = _created(ctx, ids)
        for stmt in ctx.statements:
            txn = ids[stmt.index]
            if txn is None or txn in reported or stmt.index in ctx.do_blocks:
                continue  # a DO block's locks are those of its statements, judged one by one
            effect = ctx.effects[stmt.index]
            if not effect.known:
                continue
            existing = [lock for lock in effect.locks if lock.relation != "?" and not ctx.is_new_table(lock.relation, at=stmt.index)
                        and lock.role not in ("index", "sequence")]
            exclusive = {ast.table_key(lock.relation) for lock in existing if lock.mode == ACCESS_EXCLUSIVE}
            dropped = _dropped(stmt)
            slow_on = self._slow_on(stmt, effect, ctx)
            earlier = held.setdefault(txn, [])
            finding = None
            if slow_on and stmt.index not in skip:
                for h in earlier:
                    if h.relation not in exclusive or h.slow:
                        finding = self._slow_finding(stmt, slow_on, h, ctx)
                        break
            elif exclusive and self.options.different_tables:
                for h in earlier:
                    if h.relation not in exclusive:
                        finding = self._tables_finding(stmt, sorted(exclusive)[0], h, ctx)
                        break
            if finding is not None:
                reported.add(txn)
                yield finding
                continue
            for relation in sorted(exclusive):
                recreated = any(i > stmt.index and t == txn and n == relation for i, t, n in created)
                if relation in dropped and not recreated:
                    continue  # a dropped relation that nobody can query again: waiting on it changes nothing
                previous = next((h for h in earlier if h.relation == relation), None)
                if previous is None:
                    earlier.append(_Held(relation, stmt, bool(slow_on)))
                elif slow_on and not previous.slow:
                    previous.statement, previous.slow = stmt, True  # the lock now covers a slow statement

    @staticmethod
    def _slow_on(stmt: Statement, effect, ctx: Context) -> list[str]:
        """The tables in use that the statement rewrites or scans ([] if it is quick)."""
        if not (effect.rewrites or effect.scans or effect.row_locks_all):
            return []
        if stmt.node_type == "VacuumStmt" and not effect.rewrites:
            return []  # ANALYZE reads a sample; a plain VACUUM cannot run in a transaction anyway
        names = effect.targets or [ast.table_key(lock.relation) for lock in effect.locks]
        out = []
        for name in names:
            if name != "?" and not ctx.is_new_table(name, at=stmt.index) and name not in out:
                out.append(name)
        return out

    def _label(self, stmt: Statement) -> str:
        return _LABELS.get(stmt.node_type, stmt.kind) if stmt.kind.startswith("WITH") else stmt.kind

    def _slow_finding(self, stmt: Statement, slow_on: list[str], held: _Held, ctx: Context) -> Finding:
        effect = ctx.effects[stmt.index]
        target = ast.quote_qualified(slow_on[0])
        if effect.rewrites:
            doing = f"rewrites {target}"
        elif effect.row_locks_all:
            doing = f"changes every row of {target}"
        elif stmt.node_type == "IndexStmt":
            doing = f"builds an index on {target}"
        else:
            doing = f"scans {target}"
        relation = ast.quote_qualified(held.relation)
        earlier = held.statement
        label, earlier_label = self._label(stmt), self._label(held.statement)
        through = "both slow statements" if held.slow else f"the whole {label}"
        transaction = ctx.transactions[stmt.index]
        if transaction.explicit:
            fix = (f"Commit after the {earlier_label} on line {earlier.line} and run the {label} in a transaction "
                   "of its own")
        else:
            fix = f"Move the {label} on line {stmt.line} to a migration of its own"
        if effect.row_locks_all:
            fix += ", or better, backfill in batches outside the migration"
        if (held.slow and earlier.node_type == stmt.node_type == "AlterTableStmt"
                and ast.table_key(slow_on[0]) == held.relation):
            fix = (f"Merge the two into one `ALTER TABLE {relation} …, …;` (PostgreSQL then rewrites or checks the table once), "
                   "or " + fix[0].lower() + fix[1:])
        return ctx.finding(
            stmt,
            f"{label} on line {stmt.line} {doing} while the ACCESS EXCLUSIVE lock that the {earlier_label} on line "
            f"{earlier.line} took on {relation} is still held ({transaction.reason or 'one transaction'}): reads and "
            f"writes of {relation} wait until COMMIT, through {through}",
            help=fix + ", so that the lock on " + relation + " is released before the slow statement starts.",
            at=stmt,
        )

    def _tables_finding(self, stmt: Statement, relation_key: str, held: _Held, ctx: Context) -> Finding:
        relation = ast.quote_qualified(relation_key)
        first = ast.quote_qualified(held.relation)
        earlier = held.statement
        return ctx.finding(
            stmt,
            f"{self._label(stmt)} on line {stmt.line} takes ACCESS EXCLUSIVE on {relation} while the one that the "
            f"{self._label(earlier)} on line {earlier.line} took on {first} is still held ({ctx.transactions[stmt.index].reason}): if it "
            f"has to wait for a query on {relation}, reads and writes of {first} wait as well",
            help=("Set `lock_timeout` at the top of the migration so that the wait is bounded, or change one table "
                  "per transaction."),
            at=stmt,
        )
