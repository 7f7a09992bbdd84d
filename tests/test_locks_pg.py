"""The lock model (migration_lint.locks) proved against a real PostgreSQL.

For every case in tests/lock_cases.py the setup runs with autocommit, then
the statement runs and the locks it takes are read from ``pg_locks``:

* statements the model says can run in a transaction block run inside
  ``BEGIN`` ... ``ROLLBACK``; ``pg_locks`` for the session is read right
  after the statement, together with the ``relfilenode`` of every relation
  (rewrite) and the scans counted in ``pg_stat_xact_user_tables``;
* statements the model says cannot run in a transaction block must fail
  there with SQLSTATE 25001; they then run on their own while blocker
  sessions (and, for DDL, an event trigger waiting on an advisory lock) make
  them wait, and an observer session reads their locks, granted and waiting,
  at every wait.

The model's claim (relation -> strongest mode) must equal what was observed
on user relations that existed before the statement. Not counted: system
catalogs and TOAST relations, relations the statement creates, indexes and
owned sequences (serial / identity) that the statement does not name (DML,
planning and DDL lock those implicitly along with their table), and the
pg_class rows of composite types (type metadata nobody reads or writes).

Relations are named the way the model names them: schema-qualified only
where the statement writes the schema. ``rewrites`` is compared with "a
relation got a new relfilenode" (the tables and materialized views, or the
case's ``rewrite_watch``, e.g. the indexes for REINDEX), ``scans`` with
tuples read in ``pg_stat_xact_user_tables`` (transactional cases only, and
not where that counter does not mean what the model means; each such case
says why).

All cases share one database (creating one per case costs more than all the
cases together); after each case every user object is dropped, and before
each case the database is checked to be empty.
"""

from __future__ import annotations

import inspect
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from lock_cases import CASES, Case
from pg_fixtures import PG_VERSIONS, server_owned_dir

from migration_lint.cli.trace.catalog import Rel, fold_locks, identifiers, relations
from migration_lint.cli.trace.server import PostgresServer
from migration_lint.facts import locks
from migration_lint.facts.locks import STRENGTH, Effect, Model, Settings
from migration_lint.facts.schema import Schema, Table
from migration_lint.syntax.ast import unwrap
from migration_lint.syntax.parse import parse

pytestmark = pytest.mark.postgres

ROLE = "lint_role"
TABLESPACE = "lint_space"
STALL_KEY = 4242
WAIT_TIMEOUT = 20.0

_LOCKS_SQL = """
SELECT l.locktype, l.relation::int8, l.mode, l.granted,
       concat_ws('/', l.virtualxid, l.transactionid::text, l.classid::text, l.objid::text, l.objsubid::text)
FROM pg_locks l
WHERE l.pid = %s
  AND (l.locktype <> 'relation' OR l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
"""
# tuples read by sequential and index scans in the current transaction: a statement that reads
# a table's rows (validation, rewrite, index build) counts them; TRUNCATE's rebuild of empty
# indexes or a block-by-block copy does not
_SCANS_SQL = "SELECT relid::int8, seq_tup_read + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables"

_STALL_SQL = f"""
CREATE FUNCTION lint_stall() RETURNS event_trigger LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pg_advisory_xact_lock({STALL_KEY}); END $$;
CREATE EVENT TRIGGER lint_stall_drop ON sql_drop EXECUTE FUNCTION lint_stall();
CREATE EVENT TRIGGER lint_stall_end ON ddl_command_end EXECUTE FUNCTION lint_stall();
"""


# -- model side ---------------------------------------------------------------------------


def _statement(sql: str) -> Any:
    parsed = parse(sql)
    assert parsed.failure is None, parsed.failure
    assert len(parsed.statements) == 1, sql
    return parsed.statements[0]


def _model_effect(case: Case, sql: str, setup: str, pg_major: int) -> Effect:
    schema = Schema()
    replay = setup if case.schema_sql is None else case.schema_sql
    if replay.strip():
        parsed = parse(replay)
        assert parsed.failure is None, parsed.failure
        for stmt in parsed.statements:
            schema.apply(stmt.node_type, stmt.node)
    for name in case.schema_tables:
        schema.tables[name] = Table(name)
    stmt = _statement(sql)
    return Model(Settings(pg_version=float(pg_major)), schema).effect(stmt.node_type, stmt.node)


def _claimed(effect: Effect, after_statement: bool) -> dict[str, str]:
    """The strongest mode per relation; after the statement, without the locks it releases when it ends."""
    out: dict[str, str] = {}
    for lock in effect.locks:
        if after_statement and not lock.until_commit:
            continue
        if lock.relation not in out or STRENGTH[lock.mode] > STRENGTH[out[lock.relation]]:
            out[lock.relation] = lock.mode
    return out


# -- server side --------------------------------------------------------------------------


@dataclass
class Observed:
    locks: dict[str, str] = field(default_factory=dict)
    rewritten: set[str] = field(default_factory=set)
    scanned: bool | None = None  # None: not measured
    waits: int = 0


def _fold_locks(rows: list[tuple[Any, ...]], before: dict[int, Rel], case: Case, sql: str, into: dict[str, str]) -> None:
    named = set(case.named) if case.named is not None else identifiers(sql)
    fold_locks((row[:4] for row in rows), before, named, sql, into)


def _watched(case: Case, before: dict[int, Rel]) -> list[Rel]:
    if case.rewrite_watch is not None:
        return [rel for rel in before.values() if rel.name in case.rewrite_watch]
    return [rel for rel in before.values() if rel.kind in ("r", "m")]


def _rewritten(watch: list[Rel], after: dict[int, Rel]) -> set[str]:
    by_name = {(rel.schema, rel.name): rel for rel in after.values()}
    out = set()
    for rel in watch:
        now = after.get(rel.oid) or by_name.get((rel.schema, rel.name))
        if now is not None and now.filenode != rel.filenode:
            out.add(rel.name)
    return out


def _scan_counts(conn: Any) -> dict[int, int]:
    return dict(conn.execute(_SCANS_SQL).fetchall())


def _run_statement(conn: Any, case: Case, sql: str) -> None:
    if sql.upper().startswith("COPY"):
        with conn.cursor() as cur, cur.copy(sql) as copy:
            if "FROM STDIN" in sql.upper():
                for row in case.copy_rows:
                    copy.write_row(row)
            else:
                for _ in copy:
                    pass
    else:
        conn.execute(sql)


def _observe_in_transaction(conn: Any, case: Case, sql: str) -> Observed:
    import psycopg

    observed = Observed()
    conn.execute("BEGIN")
    try:
        before = relations(conn)
        scans_before = _scan_counts(conn)
        try:
            _run_statement(conn, case, sql)
        except psycopg.errors.ActiveSqlTransaction as exc:
            pytest.fail(f"the model says this statement can run in a transaction block, but: {exc}")
        rows = conn.execute(_LOCKS_SQL, (conn.info.backend_pid,)).fetchall()
        after = relations(conn)
        scans_after = _scan_counts(conn)
    finally:
        conn.execute("ROLLBACK")
    _fold_locks(rows, before, case, sql, observed.locks)
    observed.rewritten = _rewritten(_watched(case, before), after)
    observed.scanned = any(
        scans_after.get(oid, 0) > scans_before.get(oid, 0) for oid, rel in before.items() if rel.kind in ("r", "m")
    )
    return observed


_VXID_HOLDER_SQL = "SELECT pid FROM pg_locks WHERE locktype = 'virtualxid' AND virtualxid = %s AND granted"


def _observer_made(observer: Any, row: tuple[Any, ...]) -> bool:
    """Is this wait one the observation itself causes? A concurrent build or reindex waits for every
    transaction that might still use the old index, the observer's own polling queries among them (each
    over in a moment: by now its holder is gone, or is the observer)."""
    if row[0] != "virtualxid":
        return False
    holder = observer.execute(_VXID_HOLDER_SQL, (row[4],)).fetchone()
    return holder is None or holder[0] == observer.info.backend_pid


def _observe_outside_transaction(server: PostgresServer, observer: Any, case: Case, sql: str) -> Observed:
    """Run the statement on its own session; read its locks from *observer* at every wait."""
    import psycopg

    dbname = observer.info.dbname
    observed = Observed()
    with server.connect(dbname=dbname) as session:
        session.execute("BEGIN")
        with pytest.raises(psycopg.errors.ActiveSqlTransaction):
            _run_statement(session, case, sql)
        session.execute("ROLLBACK")

        releases: list[Callable[[], None]] = []
        blockers = []
        try:
            for blocker_sql in case.blockers:
                blocker = server.connect(dbname=dbname)
                blockers.append(blocker)
                blocker.execute("BEGIN")
                blocker.execute(blocker_sql)
                # ROLLBACK returns once the blocker's locks are released (a close would release them
                # some time after, and the statement could wait on them again meanwhile)
                releases.append(lambda blocker=blocker: (blocker.execute("ROLLBACK"), blocker.close()))
            if case.stall:
                observer.execute("SELECT pg_advisory_lock(%s)", (STALL_KEY,))
                releases.append(lambda: observer.execute("SELECT pg_advisory_unlock(%s)", (STALL_KEY,)))

            session.execute(f"SET lock_timeout = '{int(WAIT_TIMEOUT)}s'")
            before = relations(observer)
            pid = session.info.backend_pid
            outcome: dict[str, BaseException] = {}

            def run() -> None:
                try:
                    _run_statement(session, case, sql)
                except BaseException as exc:
                    outcome["error"] = exc

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            deadline = time.monotonic() + WAIT_TIMEOUT
            last_wait: frozenset[Any] = frozenset()
            released_at = 0.0
            while thread.is_alive():
                if time.monotonic() > deadline:
                    while releases:
                        releases.pop(0)()
                    thread.join(WAIT_TIMEOUT)
                    pytest.fail(f"{case.id}: the statement did not finish")
                rows = observer.execute(_LOCKS_SQL, (pid,)).fetchall()
                waiting = frozenset((r[0], r[1], r[2], r[4]) for r in rows if not r[3] and not _observer_made(observer, r))
                new_wait = waiting and waiting != last_wait
                stuck = waiting and waiting == last_wait and time.monotonic() - released_at > 1.0
                if new_wait or stuck:
                    observed.waits += 1
                    _fold_locks(rows, before, case, sql, observed.locks)
                    last_wait = waiting
                    if not releases:
                        pytest.fail(f"{case.id}: the statement waits for {sorted(map(str, waiting))}, nothing left to release")
                    releases.pop(0)()
                    released_at = time.monotonic()
                time.sleep(0.002)
            thread.join()
            if "error" in outcome:
                raise outcome["error"]
            # every blocker (and the stall) must have made the statement wait, else the
            # case observes less than it claims to
            assert not releases, f"{len(releases)} of the case's blockers/stall never made the statement wait"
        finally:
            while releases:
                releases.pop(0)()
            for blocker in blockers:
                blocker.close()
    after = relations(observer)
    observed.rewritten = _rewritten(_watched(case, before), after)
    # scans stay unmeasured: pg_stat_xact_* only shows the observer's own transaction
    return observed


# -- fixtures and preparations --------------------------------------------------------------

# Everything a case's setup may leave behind (user objects have OIDs >= 16384).
_RESET_SQL = r"""
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT evtname FROM pg_event_trigger LOOP
        EXECUTE format('DROP EVENT TRIGGER %I', r.evtname);
    END LOOP;
    FOR r IN SELECT pubname FROM pg_publication LOOP
        EXECUTE format('DROP PUBLICATION %I', r.pubname);
    END LOOP;
    FOR r IN SELECT extname FROM pg_extension WHERE oid >= 16384 LOOP
        EXECUTE format('DROP EXTENSION %I CASCADE', r.extname);
    END LOOP;
    FOR r IN SELECT fdwname FROM pg_foreign_data_wrapper LOOP
        EXECUTE format('DROP FOREIGN DATA WRAPPER %I CASCADE', r.fdwname);
    END LOOP;
    FOR r IN SELECT nspname FROM pg_namespace
             WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema' LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
    END LOOP;
    CREATE SCHEMA public;
    FOR r IN SELECT amname FROM pg_am WHERE oid >= 16384 LOOP
        EXECUTE format('DROP ACCESS METHOD %I CASCADE', r.amname);
    END LOOP;
END $$
"""
_LEFTOVERS_SQL = r"""
SELECT 'relation ' || relname FROM pg_class WHERE oid >= 16384
UNION ALL SELECT 'type ' || typname FROM pg_type WHERE oid >= 16384
UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE oid >= 16384
UNION ALL SELECT 'schema ' || nspname FROM pg_namespace
          WHERE oid >= 16384 AND nspname <> 'public' AND nspname NOT LIKE 'pg\_%'
UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger
UNION ALL SELECT 'publication ' || pubname FROM pg_publication
UNION ALL SELECT 'extension ' || extname FROM pg_extension WHERE oid >= 16384
UNION ALL SELECT 'foreign data wrapper ' || fdwname FROM pg_foreign_data_wrapper
UNION ALL SELECT 'access method ' || amname FROM pg_am WHERE oid >= 16384
UNION ALL SELECT 'cast ' || oid FROM pg_cast WHERE oid >= 16384
UNION ALL SELECT 'conversion ' || conname FROM pg_conversion WHERE oid >= 16384
UNION ALL SELECT 'operator ' || oprname FROM pg_operator WHERE oid >= 16384
"""


def _drop_database(admin: Any, server: PostgresServer, name: str) -> None:
    if server.version_num >= 130000:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@dataclass
class VersionEnv:
    """One version's server, the database its cases share and the cluster-wide objects they use."""

    server: PostgresServer
    db: Any
    objects: dict[str, str | None]


@pytest.fixture(scope="module")
def version_envs(pg_servers: Callable[[int | None], PostgresServer]) -> Iterator[Callable[[int], VersionEnv]]:
    """``version_envs(14)``: the environment of PostgreSQL 14's cases, made on first use (one database per
    version: a database per case costs more than all the cases together)."""
    made: dict[int, VersionEnv] = {}
    cleanups: list[Callable[[], None]] = []

    def get(version: int) -> VersionEnv:
        if version not in made:
            server = pg_servers(version)
            name = f"t_locks_{secrets.token_hex(4)}"
            with server.connect() as admin:
                admin.execute(f'CREATE DATABASE "{name}"')

            def drop(server: PostgresServer = server, name: str = name) -> None:
                with server.connect() as admin:
                    _drop_database(admin, server, name)

            cleanups.append(drop)
            conn = server.connect(dbname=name)
            cleanups.append(conn.close)
            objects, release = _cluster_objects(server)
            cleanups.append(release)
            made[version] = VersionEnv(server, conn, objects)
        return made[version]

    try:
        yield get
    finally:
        while cleanups:
            cleanups.pop()()


@pytest.fixture
def case_env(request: pytest.FixtureRequest, version_envs: Callable[[int], VersionEnv]) -> Iterator[VersionEnv]:
    """The case's version environment, its database empty of user objects; emptied again after the case."""
    env = version_envs(request.node.callspec.params["version"])
    module_db = env.db
    leftovers = [row[0] for row in module_db.execute(_LEFTOVERS_SQL).fetchall()]
    assert not leftovers, f"the database is not clean: {leftovers}"
    try:
        yield env
    finally:
        if module_db.info.transaction_status != 0:  # psycopg.pq.TransactionStatus.IDLE
            module_db.execute("ROLLBACK")
        module_db.execute("SELECT pg_advisory_unlock_all()")
        module_db.execute(_RESET_SQL)


def _cluster_objects(server: PostgresServer) -> tuple[dict[str, str | None], Callable[[], None]]:
    """A role and a second tablespace shared by a version's cases (cluster-wide objects), and their removal."""
    made: dict[str, str | None] = {"role": None, "tablespace": None}
    ts_dir = None
    with server.connect() as admin:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone():
            admin.execute(f"CREATE ROLE {ROLE}")
        made["role"] = ROLE
        try:
            ts_dir = server_owned_dir("lint_ts_")
            admin.execute(f"CREATE TABLESPACE {TABLESPACE} LOCATION '{ts_dir}'")
            made["tablespace"] = TABLESPACE
        except Exception as exc:
            made["tablespace_error"] = str(exc)

    def release() -> None:
        with server.connect() as admin:
            if made["tablespace"]:
                admin.execute(f"DROP TABLESPACE IF EXISTS {TABLESPACE}")
            admin.execute(f"DROP ROLE IF EXISTS {ROLE}")
        if ts_dir:
            shutil.rmtree(ts_dir, ignore_errors=True)

    return made, release


def _pending_detach(server: PostgresServer, conn: Any) -> None:
    """Leave meas_2024 'detach pending': cancel a DETACH CONCURRENTLY while it waits."""
    import psycopg

    dbname = conn.info.dbname
    with server.connect(dbname=dbname) as reader, server.connect(dbname=dbname) as detacher:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM meas")
        pid = detacher.info.backend_pid
        errors: list[BaseException] = []

        def detach() -> None:
            try:
                detacher.execute("ALTER TABLE meas DETACH PARTITION meas_2024 CONCURRENTLY")
            except psycopg.errors.QueryCanceled:
                pass
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=detach, daemon=True)
        thread.start()
        deadline = time.monotonic() + WAIT_TIMEOUT
        while not conn.execute("SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted", (pid,)).fetchone():
            assert time.monotonic() < deadline and thread.is_alive(), errors
            time.sleep(0.005)
        conn.execute("SELECT pg_cancel_backend(%s)", (pid,))
        thread.join(WAIT_TIMEOUT)
        reader.execute("ROLLBACK")
        assert not errors, errors
    pending = conn.execute("SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'meas_2024'::regclass").fetchone()
    assert pending == (True,)


PREPARATIONS: dict[str, Callable[[PostgresServer, Any], None]] = {"pending_detach": _pending_detach}


def _params() -> list[Any]:
    """(version, case) for every case on every version, version by version."""
    out = []
    for version in PG_VERSIONS:
        for case in CASES:
            marks = []
            if case.xfail:
                marks.append(pytest.mark.xfail(reason=case.xfail, strict=True))
            out.append(pytest.param(version, case, id=f"pg{version}-{case.id}", marks=marks))
    return out


def _rejected(conn: Any, statements: list[str]) -> str:
    """Run a case (setup, then statement) that an older server should not know, in a transaction rolled
    back afterwards; return PostgreSQL's error (the test fails if everything ran)."""
    import psycopg

    conn.execute("BEGIN")
    try:
        for statement in statements:
            conn.execute(statement)
    except (psycopg.errors.SyntaxError, psycopg.errors.UndefinedFunction, psycopg.errors.FeatureNotSupported) as exc:
        return str(exc).splitlines()[0]
    finally:
        conn.execute("ROLLBACK")
    pytest.fail(f"the case says it needs a newer PostgreSQL, but PostgreSQL {conn.info.server_version // 10000} ran it")


def _diff(claimed: dict[str, str], observed: dict[str, str]) -> str:
    lines = []
    for name in sorted(set(claimed) | set(observed)):
        if claimed.get(name) != observed.get(name):
            lines.append(f"  {name}: model {claimed.get(name)}, PostgreSQL {observed.get(name)}")
    return "\n".join(lines)


# -- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "case"), _params())
def test_lock_model_matches_postgres(version: int, case: Case, case_env: VersionEnv) -> None:
    pg_server = case_env.server
    cluster_objects = case_env.objects
    if "tablespace" in case.needs and not cluster_objects["tablespace"]:
        pytest.skip(f"cannot create a tablespace owned by the server's OS user: {cluster_objects.get('tablespace_error')}")

    conn = case_env.db
    dbname = conn.info.dbname
    made_dirs: list[str] = []
    sql = case.sql.replace("{db}", dbname)
    if "{tsdir}" in sql:
        made_dirs.append(server_owned_dir("lint_ts_"))
        sql = sql.replace("{tsdir}", made_dirs[0])
    setup = case.setup + (_STALL_SQL if case.stall else "")
    try:
        assert pg_server.version_num // 10000 == version
        effect = _model_effect(case, sql, case.setup, version)
        assert effect.known is not case.unknown, (
            f"the model says known={effect.known}, the case expects {'an unknown' if case.unknown else 'a known'} statement"
        )
        setup_sql = [stmt.sql for stmt in parse(setup).statements] if setup.strip() else []
        if version < case.min_version:
            rejected = _rejected(conn, [*setup_sql, sql])
            pytest.skip(f"{case.id}: {case.min_version_reason or 'the statement'} needs PostgreSQL "
                        f"{case.min_version}+ (PostgreSQL {version} says: {rejected})")
        for statement in setup_sql:
            conn.execute(statement)
        if case.prepare:
            PREPARATIONS[case.prepare](pg_server, conn)

        if effect.transactional:
            observed = _observe_in_transaction(conn, case, sql)
        else:
            observed = _observe_outside_transaction(pg_server, conn, case, sql)
    finally:
        if case.cleanup:
            with pg_server.connect() as admin:
                for statement in case.cleanup:
                    admin.execute(statement)
        for path in made_dirs:
            shutil.rmtree(path, ignore_errors=True)

    if case.unknown:
        return  # the model makes no lock claim for it
    claimed = _claimed(effect, after_statement=effect.transactional)
    assert claimed == observed.locks, (
        f"locks differ for {sql!r}:\n{_diff(claimed, observed.locks)}\n"
        f"model: {claimed}\nPostgreSQL: {observed.locks} ({observed.waits} waits observed)"
    )
    assert effect.rewrites == bool(observed.rewritten), (
        f"model rewrites={effect.rewrites}; relations with a new relfilenode: {sorted(observed.rewritten)}"
    )
    if observed.scanned is not None and case.check_scans:
        assert effect.scans == observed.scanned, (
            f"model scans={effect.scans}; scans counted in pg_stat_xact_user_tables: {observed.scanned}"
        )


def _model_entries() -> set[str]:
    handlers = {name[1:] for name in dir(Model) if re.fullmatch(r"_[A-Z][A-Za-z]*Stmt", name)}
    branches = set(re.findall(r'"(AT_\w+)"', inspect.getsource(Model._alter_cmd)))
    return handlers | set(locks._NO_LOCKS) | set(locks._AT_LOCKS) | branches


#: model entries whose only claim is whether they run in a transaction block, proved on every version by
#: tests/test_transactional_pg.py; a lock case would leave a subscription behind in the shared database
PROVEN_ELSEWHERE = {
    "CreateSubscriptionStmt": "no lock on a table of this database; the slot is created on the publisher",
    "DropSubscriptionStmt": "no lock on a table of this database; the slot is dropped on the publisher",
}


def test_every_model_entry_has_a_case() -> None:
    """A statement kind or ALTER TABLE subcommand added to the model needs a PostgreSQL case here."""
    covered: set[str] = set()
    for case in CASES:
        stmt = _statement(case.sql.replace("{db}", "lint_db"))
        covered.add(stmt.node_type)
        if stmt.node_type == "AlterTableStmt":
            covered |= {unwrap(cmd)[1].get("subtype") for cmd in stmt.node.get("cmds") or ()}
        covered |= set(case.covers)
    missing = sorted(_model_entries() - covered - set(PROVEN_ELSEWHERE))
    assert not missing, f"no case in tests/lock_cases.py exercises: {missing}"


def test_case_table_is_consistent() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    for case in CASES:
        assert case.check_scans or case.no_scan_check_reason, f"{case.id}: say why scans are not checked"
        assert not (case.unknown and case.xfail), f"{case.id}: an unknown statement has no claim to fail"
        assert not case.prepare or case.prepare in PREPARATIONS, f"{case.id}: no preparation {case.prepare!r}"
