"""Hypothesis strategies for whole migration projects: SQL from a grammar of real statement shapes,
and byte-level mutations of the shared corpus.

`projects()` draws a `Project`: one to three migration files (bytes) laid out for a framework
(plain, Flyway, Prisma, golang-migrate, dbmate, Drizzle, Supabase, Diesel) plus the options to lint
them with. Each file is either built from the grammar below or is a real migration from the shared
corpus (../shared/corpus, read at test time, never copied) with byte-level mutations. Without the
corpus, only the grammar is used.

The grammar covers CREATE TABLE with column types and constraints, every ALTER TABLE subcommand the
lock model knows, CREATE/DROP INDEX [CONCURRENTLY], transactions, SET/RESET, UPDATE/DELETE/INSERT/
MERGE/COPY, DO blocks, functions and triggers, renames, enums, domains, views, roles with passwords,
comments with directives and backup notes, templated and psql lines, and garbage. Identifiers come
from a pool with quoted, unicode, 63+ byte, keyword-like and hostile names (reporter injections,
control characters, line breaks); some expressions are nested thousands of levels deep.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

CORPUS = Path(os.environ.get("MIGRATION_LINT_CORPUS", Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"))

# -- identifiers ---------------------------------------------------------------------------------------
PLAIN_NAMES = ["users", "orders", "order_items", "t", "accounts", "audit_log", "events", "sessions", "tags"]
COLUMN_NAMES = ["id", "email", "name", "status", "created_at", "user_id", "total", "payload", "password",
                "api_token", "amount", "deleted_at", "sort_order", "c"]
ODD_NAMES = [
    '"User"', '"ClientKpi"', '"companySize"', '"order"', '"user"', '"select"', '"table"', '"Table"',
    '"sp ace"', '"quote""inside"', '"a.b"', "café", '"Ünïcødé"', '"表"', '"emoji😀"', '"ǅ"',
    "a" * 63, "b" * 64, '"' + "ü" * 40 + '"', "x" * 100, '"' + "L" * 70 + '"',
    '"x::error::y"', '"a%0Ab,c:d"', '"</details>"', '"@octocat"', '"#123"', '"`tick`"', '"<!-- c -->"',
    '"a\nb"', '"cr\rlf"', '"esc\x1b[31m"', '"bidi\u202eevil"', '"bell\x07"', '"tab\tname"', '"$1"',
    '"migration-lint: ignore"', '"-- not a comment"', '"/* nope */"', '"{{ x }}"', '"${x}"',
]
SCHEMAS = ["public", "app", '"Auth"', "s"]


@functools.cache
def _ident(pool: tuple[str, ...]) -> st.SearchStrategy[str]:
    repeat = -(-4 * len(ODD_NAMES) // len(pool))  # four in five draws are usual names
    return st.sampled_from(list(pool) * repeat + ODD_NAMES)


def ident(pool=PLAIN_NAMES) -> st.SearchStrategy[str]:
    """A name from `pool`, or now and then a hostile one (quoted, unicode, long, with control characters)."""
    return _ident(tuple(pool))


@functools.cache
def table() -> st.SearchStrategy[str]:
    name = ident(PLAIN_NAMES)
    return st.one_of(name, name, name, name, name, st.builds(lambda s, n: f"{s}.{n}", st.sampled_from(SCHEMAS), name))


def column():
    return ident(COLUMN_NAMES)


def index_name():
    return ident(("users_email_idx", "orders_user_id_idx", "idx", "i", "t_c_key", "audit_log_pkey"))


def constraint_name():
    return ident(("users_email_key", "orders_user_id_fkey", "total_positive", "c", "pk"))


# -- literals and secrets ----------------------------------------------------------------------------
# the part of each secret that no report may show once the detector recognises it
SECRET_CORES = ["sk_live_51HxYzAbCdEfGhIjKlMnOpQr", "AKIAIOSFODNN7EXAMPLE", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
                "S3cretPassw0rd", "hunter2hunter2", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
                "xoxb-1234567890-abcdefghij", "AIza" + "B" * 35]
SECRET_VALUES = [
    "sk_live_51HxYzAbCdEfGhIjKlMnOpQr", "AKIAIOSFODNN7EXAMPLE", "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "postgres://app:S3cretPassw0rd@db.internal:5432/app", "host=db user=app password=hunter2hunter2 dbname=x",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----",
    "xoxb-1234567890-abcdefghij", "AIza" + "B" * 35, "a8F3kLq9Zx2Vb7Nm4Pw1Rt6Yu0Ei5Oc", "${DB_PASSWORD}",
]
STRINGS = ["", "x", "active", "it''s", "a\nb", "ü", "%", "{}", '{"k": [1, 2]}', "2024-01-01", "\\", "--", "/*",
           "$$", "::error::x", "@octocat #1", "</details>", "\x1b[31mred", "\u202e", "NULL"]


@st.composite
def string_literal(draw) -> str:
    value = draw(st.one_of(st.sampled_from(STRINGS), st.sampled_from(SECRET_VALUES),
                           st.text(st.characters(blacklist_characters="\x00"), max_size=12)))
    value = value.replace("'", "''")
    if draw(st.integers(0, 9)) == 0:
        tag = draw(st.sampled_from(["", "q", "body"]))
        if f"${tag}$" not in value:
            return f"${tag}${value}${tag}$"
    return f"'{value}'"


# -- types -------------------------------------------------------------------------------------------------
TYPES = ["int", "integer", "bigint", "smallint", "serial", "bigserial", "smallserial", "text", "varchar(255)",
         "varchar", "char(2)", "character varying(40)", "boolean", "jsonb", "json", "uuid", "timestamp",
         "timestamptz", "timestamp(3) without time zone", "timestamp with time zone", "date", "numeric(10,2)",
         "numeric", "real", "double precision", "bytea", "inet", "text[]", "int4", "int8", "money", "interval",
         '"Status"', "status_enum", "public.mood", "citext", "tsvector", "point", "int[][]"]


def type_name():
    return st.sampled_from(TYPES)


# -- expressions ---------------------------------------------------------------------------------------------
FUNCTIONS = ["now()", "gen_random_uuid()", "uuid_generate_v4()", "nextval('users_id_seq')", "random()",
             "clock_timestamp()", "CURRENT_TIMESTAMP", "current_user", "lower(email)", "coalesce(total, 0)",
             "'{}'::jsonb", "ARRAY[]::text[]", "0", "1", "true", "false", "NULL", "-1", "1.5", "E'\\n'"]


@st.composite
def deep_expression(draw) -> str:
    """Expressions nested hundreds to thousands of levels deep. Left-recursive shapes (operators, casts,
    concatenation) parse at any depth; the others reach the parser's own limit past a few thousand."""
    shape = draw(st.sampled_from(["parens", "plus", "casts", "not", "function", "case", "concat", "array"]))
    if shape in ("plus", "casts", "concat"):
        depth = draw(st.sampled_from([50, 500, 1_500, 3_000, 10_000]))
    else:
        depth = draw(st.sampled_from([50, 200, 500, 1_000, 1_000, 2_000, 10_000]))
    if shape == "parens":
        return "(" * depth + "1" + ")" * depth
    if shape == "plus":
        return "+".join(["1"] * depth)
    if shape == "casts":
        return "'1'" + "::text" * depth
    if shape == "not":
        return "NOT " * depth + "true"
    if shape == "function":
        return "lower(" * depth + "'x'" + ")" * depth
    if shape == "case":
        return "CASE WHEN true THEN " * depth + "1" + " END" * depth
    if shape == "array":
        return "ARRAY[" * depth + "1" + "]" * depth
    return "||".join(["'ab'"] * depth)


@functools.cache
def expression(max_leaves: int = 6):
    leaves = st.one_of(
        st.sampled_from(FUNCTIONS),
        string_literal(),
        st.integers(-(2**63), 2**63).map(str),
        column(),
        st.builds(lambda t, c: f"{t}.{c}", table(), column()),
    )

    def extend(children):
        return st.one_of(
            st.builds(lambda a, op, b: f"{a} {op} {b}", children, st.sampled_from(
                ["+", "-", "*", "/", "=", "<>", "<", ">=", "AND", "OR", "||", "->", "->>", "LIKE", "IS DISTINCT FROM"]),
                children),
            st.builds(lambda a: f"({a})", children),
            st.builds(lambda a, t: f"{a}::{t}", children, type_name()),
            st.builds(lambda a: f"NOT {a}", children),
            st.builds(lambda a: f"{a} IS NULL", children),
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["lower", "upper", "coalesce", "length", "abs", "md5"]), children),
            st.builds(lambda a, b: f"CASE WHEN {a} THEN {b} ELSE NULL END", children, children),
            st.builds(lambda a, b: f"{a} IN ({b})", children, children),
            st.builds(lambda a, t: f"{a} = ANY(SELECT id FROM {t} LIMIT 100)", children, table()),
            st.builds(lambda a, b, c: f"{a} BETWEEN {b} AND {c}", children, children, children),
        )

    shallow = st.recursive(leaves, extend, max_leaves=max_leaves)
    return st.one_of(*[shallow] * 29, deep_expression())


def where_clause():
    return st.one_of(
        st.just(""),
        st.builds(lambda e: f" WHERE {e}", expression()),
        st.builds(lambda c, n: f" WHERE {c} = {n}", column(), st.integers(0, 10**6)),
        st.builds(lambda c, a, b: f" WHERE {c} BETWEEN {a} AND {b}", column(), st.integers(0, 10), st.integers(10, 10**6)),
        st.builds(lambda c, t: f" WHERE {c} IN (SELECT id FROM {t} LIMIT 1000)", column(), table()),
    )


# -- column definitions and constraints --------------------------------------------------------------------
@st.composite
def column_constraint(draw) -> str:
    kind = draw(st.integers(0, 13))
    if kind == 0:
        return "NOT NULL"
    if kind == 1:
        return "NULL"
    if kind == 2:
        return f"DEFAULT {draw(expression(3))}"
    if kind == 3:
        return "PRIMARY KEY"
    if kind == 4:
        return "UNIQUE"
    if kind == 5:
        on_delete = draw(st.sampled_from(["", " ON DELETE CASCADE", " ON DELETE SET NULL", " ON UPDATE NO ACTION"]))
        return f"REFERENCES {draw(table())} ({draw(column())}){on_delete}"
    if kind == 6:
        return f"CHECK ({draw(expression(3))})"
    if kind == 7:
        return draw(st.sampled_from(["GENERATED ALWAYS AS IDENTITY", "GENERATED BY DEFAULT AS IDENTITY",
                                     "GENERATED BY DEFAULT AS IDENTITY (START WITH 100)"]))
    if kind == 8:
        return f"GENERATED ALWAYS AS ({draw(expression(3))}) STORED"
    if kind == 9:
        return 'COLLATE "C"'
    if kind == 10:
        return f"CONSTRAINT {draw(constraint_name())} NOT NULL"
    if kind == 11:
        return f"DEFAULT {draw(string_literal())}"
    if kind == 12:
        return "DEFAULT now()"
    return "NOT NULL DEFAULT 0"


@st.composite
def column_def(draw) -> str:
    constraints = draw(st.lists(column_constraint(), max_size=3))
    return " ".join([draw(column()), draw(type_name()), *constraints])


@st.composite
def table_constraint(draw, kinds: tuple[str, ...] = ()) -> str:
    name = f"CONSTRAINT {draw(constraint_name())} " if draw(st.booleans()) else ""
    kind = draw(st.sampled_from([{"CHECK": 3, "FOREIGN KEY": 2}[k] for k in kinds]) if kinds else st.integers(0, 5))
    cols = ", ".join(draw(st.lists(column(), min_size=1, max_size=3)))
    if kind == 0:
        return f"{name}PRIMARY KEY ({cols})"
    if kind == 1:
        return f"{name}UNIQUE ({cols})"
    if kind == 2:
        return f"{name}FOREIGN KEY ({cols}) REFERENCES {draw(table())} ({cols})" + draw(
            st.sampled_from(["", " ON DELETE CASCADE", " DEFERRABLE INITIALLY DEFERRED"]))
    if kind == 3:
        return f"{name}CHECK ({draw(expression(4))})"
    if kind == 4:
        return f"{name}EXCLUDE USING gist ({draw(column())} WITH &&)"
    return f"{name}UNIQUE NULLS NOT DISTINCT ({cols})"


LIST_SEPARATORS = [", ", ",\n  ", ",\n  -- a comment\n  ", ", /* c */ ",
                   ",\n  -- migration-lint: ignore prefer-text -- legacy width\n  "]


@st.composite
def create_table(draw) -> str:
    items = draw(st.lists(column_def(), min_size=0, max_size=5)) + draw(st.lists(table_constraint(), max_size=2))
    sep = draw(st.sampled_from(LIST_SEPARATORS))
    prefix = draw(st.sampled_from(["", "UNLOGGED ", "TEMP ", "TEMPORARY "]))
    exists = draw(st.sampled_from(["", "IF NOT EXISTS "]))
    suffix = draw(st.sampled_from(["", "", " PARTITION BY RANGE (created_at)", " PARTITION BY LIST (status)",
                                   " WITH (fillfactor = 70)", " INHERITS (events)"]))
    if draw(st.integers(0, 9)) == 0:
        return (f"CREATE TABLE {exists}{draw(table())} PARTITION OF {draw(table())} "
                f"FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')")
    if draw(st.integers(0, 9)) == 0:
        return f"CREATE TABLE {draw(table())} AS SELECT * FROM {draw(table())}{draw(where_clause())}"
    return f"CREATE {prefix}TABLE {exists}{draw(table())} ({sep.join(items)}){suffix}"


# -- ALTER TABLE: every subcommand the lock model knows ---------------------------------------------------
@st.composite
def alter_subcommand(draw) -> str:
    c = draw(column())
    col = draw(st.sampled_from(["COLUMN ", ""]))
    kind = draw(st.integers(0, 48))
    options = {
        0: lambda: f"ADD {col}{draw(st.sampled_from(['', 'IF NOT EXISTS ']))}{draw(column_def())}",
        1: lambda: f"DROP {col}{draw(st.sampled_from(['', 'IF EXISTS ']))}{c}{draw(st.sampled_from(['', ' CASCADE']))}",
        2: lambda: f"ALTER {col}{c} {draw(st.sampled_from(['', 'SET DATA ']))}TYPE {draw(type_name())}"
                   + draw(st.sampled_from(["", f" USING {c}::{draw(type_name())}", ' COLLATE "C"'])),
        3: lambda: f"ALTER {col}{c} SET DEFAULT {draw(expression(3))}",
        4: lambda: f"ALTER {col}{c} DROP DEFAULT",
        5: lambda: f"ALTER {col}{c} SET NOT NULL",
        6: lambda: f"ALTER {col}{c} DROP NOT NULL",
        7: lambda: f"ALTER {col}{c} DROP EXPRESSION",
        8: lambda: f"ALTER {col}{c} ADD GENERATED {draw(st.sampled_from(['ALWAYS', 'BY DEFAULT']))} AS IDENTITY",
        9: lambda: f"ALTER {col}{c} SET GENERATED BY DEFAULT",
        10: lambda: f"ALTER {col}{c} DROP IDENTITY{draw(st.sampled_from(['', ' IF EXISTS']))}",
        11: lambda: f"ALTER {col}{c} SET STATISTICS {draw(st.integers(-1, 10000))}",
        12: lambda: f"ALTER {col}{c} SET (n_distinct = 100)",
        13: lambda: f"ALTER {col}{c} RESET (n_distinct)",
        14: lambda: f"ALTER {col}{c} SET STORAGE {draw(st.sampled_from(['PLAIN', 'EXTERNAL', 'EXTENDED', 'MAIN']))}",
        15: lambda: f"ALTER {col}{c} SET COMPRESSION lz4",
        16: lambda: f"ADD {draw(table_constraint())}",
        48: lambda: f"ADD {draw(table_constraint(('CHECK', 'FOREIGN KEY')))} NOT VALID",
        17: lambda: f"ADD CONSTRAINT {draw(constraint_name())} {draw(st.sampled_from(['UNIQUE', 'PRIMARY KEY']))} "
                    f"USING INDEX {draw(index_name())}",
        18: lambda: f"VALIDATE CONSTRAINT {draw(constraint_name())}",
        19: lambda: f"DROP CONSTRAINT {draw(st.sampled_from(['', 'IF EXISTS ']))}{draw(constraint_name())}",
        20: lambda: f"ALTER CONSTRAINT {draw(constraint_name())} DEFERRABLE INITIALLY DEFERRED",
        21: lambda: "SET WITHOUT CLUSTER",
        22: lambda: f"CLUSTER ON {draw(index_name())}",
        23: lambda: f"SET {draw(st.sampled_from(['LOGGED', 'UNLOGGED']))}",
        24: lambda: f"SET (fillfactor = {draw(st.integers(10, 100))}, autovacuum_enabled = false)",
        25: lambda: "RESET (fillfactor)",
        26: lambda: "SET TABLESPACE fast_ssd",
        27: lambda: "SET ACCESS METHOD heap",
        28: lambda: f"{draw(st.sampled_from(['ENABLE', 'DISABLE']))} TRIGGER "
                    f"{draw(st.sampled_from(['ALL', 'USER', 'audit_trigger']))}",
        29: lambda: f"ENABLE {draw(st.sampled_from(['REPLICA', 'ALWAYS']))} TRIGGER audit_trigger",
        30: lambda: f"{draw(st.sampled_from(['ENABLE', 'DISABLE', 'ENABLE REPLICA', 'ENABLE ALWAYS']))} RULE r",
        31: lambda: f"{draw(st.sampled_from(['ENABLE', 'DISABLE', 'FORCE', 'NO FORCE']))} ROW LEVEL SECURITY",
        32: lambda: f"REPLICA IDENTITY {draw(st.sampled_from(['FULL', 'DEFAULT', 'NOTHING', 'USING INDEX users_email_idx']))}",
        33: lambda: f"{draw(st.sampled_from(['INHERIT', 'NO INHERIT']))} {draw(table())}",
        34: lambda: draw(st.sampled_from(["OF composite_type", "NOT OF"])),
        35: lambda: f"OWNER TO {draw(st.sampled_from(['app', 'CURRENT_USER', 'postgres']))}",
        36: lambda: f"ATTACH PARTITION {draw(table())} "
                    + draw(st.sampled_from(["FOR VALUES FROM (1) TO (10)", "DEFAULT", "FOR VALUES IN ('a')"])),
        37: lambda: f"DETACH PARTITION {draw(table())}{draw(st.sampled_from(['', ' CONCURRENTLY', ' FINALIZE']))}",
        38: lambda: f"RENAME {col}{c} TO {draw(column())}",
        39: lambda: f"RENAME TO {draw(ident(PLAIN_NAMES))}",
        40: lambda: f"RENAME CONSTRAINT {draw(constraint_name())} TO {draw(constraint_name())}",
        41: lambda: f"SET SCHEMA {draw(st.sampled_from(SCHEMAS))}",
        42: lambda: "SET WITHOUT OIDS",
        43: lambda: f"ALTER {col}{c} SET EXPRESSION AS ({draw(expression(3))})",
        44: lambda: f"ALTER {col}{c} OPTIONS (ADD column_name 'x')",
        45: lambda: "OPTIONS (SET schema_name 'x')",
        46: lambda: f"ALTER {col}{c} SET DEFAULT {draw(deep_expression())}",
        47: lambda: f"ADD {col}{c} {draw(type_name())} DEFAULT {draw(expression(3))} NOT NULL",
    }
    return options[kind]()


# subcommands that must be alone in their statement
_ALONE = ("RENAME", "SET SCHEMA", "ATTACH", "DETACH", "OPTIONS")


@st.composite
def alter_table(draw) -> str:
    cmds = draw(st.lists(alter_subcommand(), min_size=1, max_size=3))
    if any(cmd.startswith(_ALONE) for cmd in cmds):
        cmds = cmds[:1]
    target = draw(st.sampled_from(["TABLE", "TABLE", "TABLE", "TABLE IF EXISTS", "TABLE ONLY", "FOREIGN TABLE"]))
    return f"ALTER {target} {draw(table())} " + draw(st.sampled_from(LIST_SEPARATORS)).join(cmds)


# -- indexes ------------------------------------------------------------------------------------------------------
@st.composite
def create_index(draw) -> str:
    unique = draw(st.sampled_from(["", "UNIQUE "]))
    concurrently = draw(st.sampled_from(["", "CONCURRENTLY "]))
    exists = draw(st.sampled_from(["", "IF NOT EXISTS "]))
    name = draw(index_name()) + " " if exists or draw(st.integers(0, 5)) else ""
    method = draw(st.sampled_from(["", "", " USING btree", " USING gin", " USING gist", " USING hash", " USING brin"]))
    keys = draw(st.lists(st.one_of(column(), st.builds(lambda e: f"({e})", expression(3)),
                                   st.builds(lambda c: f"{c} DESC NULLS LAST", column()),
                                   st.builds(lambda c: f"{c} gin_trgm_ops", column())), min_size=1, max_size=3))
    include = draw(st.sampled_from(["", f" INCLUDE ({draw(column())})"]))
    where = draw(st.sampled_from(["", f" WHERE {draw(expression(3))}", " WHERE deleted_at IS NULL"]))
    only = draw(st.sampled_from(["", "ONLY "]))
    return f"CREATE {unique}INDEX {concurrently}{exists}{name}ON {only}{draw(table())}{method} ({', '.join(keys)}){include}{where}"


@st.composite
def index_statement(draw) -> str:
    kind = draw(st.integers(0, 6))
    if kind <= 2:
        return draw(create_index())
    if kind == 3:
        names = ", ".join(draw(st.lists(index_name(), min_size=1, max_size=2)))
        return (f"DROP INDEX {draw(st.sampled_from(['', 'CONCURRENTLY ']))}"
                f"{draw(st.sampled_from(['', 'IF EXISTS ']))}{names}{draw(st.sampled_from(['', ' CASCADE']))}")
    if kind == 4:
        return draw(st.sampled_from([
            f"REINDEX INDEX {draw(index_name())}", f"REINDEX INDEX CONCURRENTLY {draw(index_name())}",
            f"REINDEX TABLE {draw(table())}", f"REINDEX (VERBOSE) TABLE CONCURRENTLY {draw(table())}",
            "REINDEX SCHEMA public", "REINDEX DATABASE app"]))
    if kind == 5:
        return f"ALTER INDEX {draw(st.sampled_from(['', 'IF EXISTS ']))}{draw(index_name())} RENAME TO {draw(index_name())}"
    return draw(st.sampled_from([
        f"ALTER INDEX {draw(index_name())} SET TABLESPACE fast_ssd",
        f"ALTER INDEX {draw(index_name())} ATTACH PARTITION {draw(index_name())}",
        f"ALTER INDEX {draw(index_name())} SET (fillfactor = 80)",
        f"CLUSTER {draw(table())} USING {draw(index_name())}"]))


# -- transactions and settings ------------------------------------------------------------------------------------
TRANSACTION = ["BEGIN", "BEGIN", "BEGIN TRANSACTION", "BEGIN ISOLATION LEVEL SERIALIZABLE", "START TRANSACTION",
               "COMMIT", "COMMIT", "END", "ROLLBACK", "SAVEPOINT s1", "RELEASE SAVEPOINT s1", "ROLLBACK TO SAVEPOINT s1",
               "COMMIT AND CHAIN", "PREPARE TRANSACTION 'x'", "COMMIT PREPARED 'x'", "ABORT"]


@st.composite
def setting(draw) -> str:
    scope = draw(st.sampled_from(["", "LOCAL ", "SESSION "]))
    kind = draw(st.integers(0, 9))
    if kind <= 2:
        value = draw(st.sampled_from(["'5s'", "'0'", "0", "5000", "'1min'", "DEFAULT", "'10ms'"]))
        name = draw(st.sampled_from(["lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout"]))
        return f"SET {scope}{name} {draw(st.sampled_from(['=', 'TO']))} {value}"
    if kind == 3:
        return f"RESET {draw(st.sampled_from(['lock_timeout', 'statement_timeout', 'ALL', 'search_path']))}"
    if kind == 4:
        return f"SET {scope}search_path TO {', '.join(draw(st.lists(st.sampled_from(SCHEMAS), min_size=1, max_size=3)))}"
    if kind == 5:
        return draw(st.sampled_from(["SET TIME ZONE 'UTC'", "SET CONSTRAINTS ALL DEFERRED", "SET ROLE app",
                                     "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "SET client_encoding = 'UTF8'",
                                     "SET check_function_bodies = false", "SELECT pg_catalog.set_config('search_path', '', false)"]))
    if kind == 6:
        return draw(st.sampled_from(["SHOW lock_timeout", "DISCARD ALL", "CHECKPOINT", "LISTEN ch", "NOTIFY ch, 'x'",
                                     "ALTER SYSTEM SET work_mem = '64MB'", "ALTER DATABASE app SET lock_timeout = '5s'",
                                     "ALTER ROLE app SET statement_timeout = '1min'", "LOAD 'auto_explain'"]))
    return f"SET {scope}lock_timeout = '{draw(st.integers(0, 100000))}ms'"


# -- data changes ---------------------------------------------------------------------------------------------------------
@st.composite
def data_statement(draw) -> str:
    t, c = draw(table()), draw(column())
    kind = draw(st.integers(0, 11))
    if kind <= 2:
        sets = ", ".join(f"{draw(column())} = {draw(expression(4))}" for _ in range(draw(st.integers(1, 3))))
        source = draw(st.sampled_from(["", f" FROM {draw(table())} AS o"]))
        return f"UPDATE {t} SET {sets}{source}{draw(where_clause())}{draw(st.sampled_from(['', ' RETURNING *']))}"
    if kind <= 4:
        return f"DELETE FROM {t}{draw(st.sampled_from(['', f' USING {draw(table())}']))}{draw(where_clause())}"
    if kind <= 7:
        cols = draw(st.lists(column(), min_size=1, max_size=3))
        rows = ", ".join("(" + ", ".join(draw(expression(3)) for _ in cols) + ")" for _ in range(draw(st.integers(1, 3))))
        conflict = draw(st.sampled_from(["", f" ON CONFLICT ({cols[0]}) DO NOTHING", " ON CONFLICT DO NOTHING",
                                         f" ON CONFLICT ({cols[0]}) DO UPDATE SET {cols[0]} = EXCLUDED.{cols[0]}"]))
        return f"INSERT INTO {t} ({', '.join(cols)}) VALUES {rows}{conflict}"
    if kind == 8:
        limit = draw(st.sampled_from(["", " LIMIT 1000", " ORDER BY id LIMIT 10"]))
        union = draw(st.sampled_from(["", f" UNION ALL SELECT * FROM {draw(table())}"]))
        return f"INSERT INTO {t} SELECT * FROM {draw(table())}{draw(where_clause())}{union}{limit}"
    if kind == 9:
        return (f"MERGE INTO {t} AS t USING {draw(table())} AS s ON t.id = s.id "
                f"WHEN MATCHED THEN UPDATE SET {c} = s.{c} WHEN NOT MATCHED THEN INSERT ({c}) VALUES (s.{c})")
    if kind == 10:
        return draw(st.sampled_from([f"TRUNCATE {t}", f"TRUNCATE TABLE {t}, {draw(table())} CASCADE",
                                     f"COPY {t} ({c}) FROM '/tmp/x.csv' WITH (FORMAT csv)", f"COPY {t} TO STDOUT",
                                     f"SELECT * INTO TEMP TABLE tmp_{draw(st.integers(0, 3))} FROM {t}",
                                     f"SELECT {draw(expression(4))}", f"SELECT count(*) FROM {t}{draw(where_clause())}",
                                     f"WITH moved AS (DELETE FROM {t} RETURNING *) INSERT INTO {draw(table())} SELECT * FROM moved",
                                     f"LOCK TABLE {t} IN {draw(st.sampled_from(['ACCESS EXCLUSIVE', 'SHARE', 'ROW EXCLUSIVE']))} MODE",
                                     f"LOCK {t}{draw(st.sampled_from(['', ' NOWAIT']))}",
                                     f"VACUUM {draw(st.sampled_from(['', 'FULL ', 'ANALYZE ', '(VERBOSE) ']))}{t}",
                                     f"ANALYZE {t}", f"EXPLAIN UPDATE {t} SET {c} = 1"]))
    return f"UPDATE {t} SET {c} = {draw(string_literal())} WHERE id = {draw(st.integers(0, 100))}"


# -- DO blocks, functions, triggers ---------------------------------------------------------------------------------------
@st.composite
def do_block(draw) -> str:
    inner = draw(st.sampled_from([
        "PERFORM 1;",
        f"EXECUTE 'ALTER TABLE {draw(ident(PLAIN_NAMES))} ADD COLUMN x int';",
        "IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN CREATE TYPE mood AS ENUM ('a'); END IF;",
        f"UPDATE {draw(table())} SET {draw(column())} = 0;",
        "RAISE NOTICE 'x %', 1;",
        "FOR r IN SELECT id FROM users LOOP UPDATE users SET name = 'x' WHERE id = r.id; COMMIT; END LOOP;",
        "CREATE INDEX CONCURRENTLY i ON t (x);",
        "",
    ]))
    tag = draw(st.sampled_from(["$$", "$do$", "$body$", "$_$"]))
    declare = draw(st.sampled_from(["", "DECLARE r record; "]))
    language = draw(st.sampled_from(["", " LANGUAGE plpgsql", " LANGUAGE sql"])) if draw(st.integers(0, 4)) == 0 else ""
    return f"DO{language} {tag} {declare}BEGIN {inner} END {tag}"


@st.composite
def routine(draw) -> str:
    name = draw(st.sampled_from(["set_updated_at", "audit", '"camelFn"', "public.f"]))
    kind = draw(st.integers(0, 5))
    if kind <= 1:
        return (f"CREATE {draw(st.sampled_from(['', 'OR REPLACE ']))}FUNCTION {name}() RETURNS trigger "
                f"LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$")
    if kind == 2:
        return (f"CREATE TRIGGER tr BEFORE UPDATE ON {draw(table())} FOR EACH ROW "
                f"EXECUTE {draw(st.sampled_from(['FUNCTION', 'PROCEDURE']))} {name}()")
    if kind == 3:
        return draw(st.sampled_from([f"DROP FUNCTION IF EXISTS {name}()", f"DROP TRIGGER IF EXISTS tr ON {draw(table())}",
                                     f"ALTER FUNCTION {name}() OWNER TO app", f"CALL {name}()"]))
    if kind == 4:
        return f"CREATE PROCEDURE p() LANGUAGE sql AS $$ UPDATE {draw(table())} SET x = 1 $$"
    return "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql IMMUTABLE RETURN a + 1"


RENAMED = ["status2", '"New"', "v2"]
ROLES = ["app", "reader", '"Admin"']


# -- types, views, other objects ------------------------------------------------------------------------------------------
@st.composite
def type_statement(draw) -> str:
    enum = draw(st.sampled_from(['"Status"', "status_enum", "public.mood", '"Ünïcødé"']))
    value = draw(string_literal())
    kind = draw(st.integers(0, 8))
    if kind == 0:
        values = ", ".join(draw(st.lists(string_literal(), min_size=0, max_size=4)))
        return f"CREATE TYPE {enum} AS ENUM ({values})"
    if kind <= 2:
        where = draw(st.sampled_from(["", " BEFORE 'a'", " AFTER 'b'"]))
        return f"ALTER TYPE {enum} ADD VALUE {draw(st.sampled_from(['', 'IF NOT EXISTS ']))}{value}{where}"
    if kind == 3:
        return f"ALTER TYPE {enum} RENAME VALUE {value} TO {draw(string_literal())}"
    if kind == 4:
        return f"ALTER TYPE {enum} RENAME TO {draw(st.sampled_from(RENAMED))}"
    if kind == 5:
        return f"DROP TYPE {draw(st.sampled_from(['', 'IF EXISTS ']))}{enum}{draw(st.sampled_from(['', ' CASCADE']))}"
    if kind == 6:
        return f"CREATE TYPE composite_type AS (a int, b {draw(type_name())})"
    if kind == 7:
        return draw(st.sampled_from([
            "CREATE DOMAIN email AS text CHECK (VALUE ~ '@')",
            "ALTER DOMAIN email ADD CONSTRAINT has_at CHECK (VALUE ~ '@') NOT VALID",
            "ALTER DOMAIN email VALIDATE CONSTRAINT has_at", "ALTER DOMAIN email SET NOT NULL",
            "CREATE TYPE r AS RANGE (subtype = int4)"]))
    return f"ALTER TYPE {enum} OWNER TO app"


@st.composite
def view_statement(draw) -> str:
    name = draw(st.sampled_from(["v", '"ActiveUsers"', "public.report", "mv"]))
    kind = draw(st.integers(0, 5))
    select = f"SELECT {draw(column())}, count(*) FROM {draw(table())}{draw(where_clause())} GROUP BY 1"
    if kind == 0:
        return f"CREATE {draw(st.sampled_from(['', 'OR REPLACE ', 'TEMP ', 'RECURSIVE ']))}VIEW {name} AS {select}"
    if kind == 1:
        return f"CREATE MATERIALIZED VIEW {draw(st.sampled_from(['', 'IF NOT EXISTS ']))}{name} AS {select}" + draw(
            st.sampled_from(["", " WITH NO DATA", " WITH DATA"]))
    if kind == 2:
        return f"REFRESH MATERIALIZED VIEW {draw(st.sampled_from(['', 'CONCURRENTLY ']))}{name}" + draw(
            st.sampled_from(["", " WITH NO DATA"]))
    if kind == 3:
        return f"DROP {draw(st.sampled_from(['', 'MATERIALIZED ']))}VIEW {draw(st.sampled_from(['', 'IF EXISTS ']))}{name}"
    if kind == 4:
        return f"ALTER {draw(st.sampled_from(['', 'MATERIALIZED ']))}VIEW {name} RENAME TO {draw(st.sampled_from(RENAMED))}"
    return f"ALTER VIEW {name} ALTER COLUMN {draw(column())} SET DEFAULT 0"


@st.composite
def other_statement(draw) -> str:
    t = draw(table())
    return draw(st.sampled_from([
        f"DROP TABLE {draw(st.sampled_from(['', 'IF EXISTS ']))}{t}{draw(st.sampled_from(['', ' CASCADE']))}",
        f"DROP TABLE {t}, {draw(table())}", f"DROP SCHEMA {draw(st.sampled_from(SCHEMAS))} CASCADE",
        "DROP DATABASE app", "DROP EXTENSION IF EXISTS pg_trgm", f"DROP SEQUENCE IF EXISTS {t}_id_seq",
        f"CREATE SCHEMA IF NOT EXISTS {draw(st.sampled_from(SCHEMAS))}", 'CREATE EXTENSION IF NOT EXISTS "uuid-ossp"',
        "CREATE EXTENSION pg_trgm WITH SCHEMA public", f"CREATE SEQUENCE {t}_seq START 1",
        f"ALTER SEQUENCE {t}_seq RESTART WITH {draw(st.integers(1, 2**62))}", f"ALTER SEQUENCE s OWNED BY {t}.id",
        f"COMMENT ON TABLE {t} IS {draw(string_literal())}",
        f"COMMENT ON COLUMN {t}.{draw(column())} IS {draw(string_literal())}",
        f"GRANT SELECT, INSERT ON {t} TO app", f"REVOKE ALL ON {t} FROM PUBLIC",
        "GRANT USAGE ON SCHEMA app TO reader", "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO reader",
        f"CREATE ROLE {draw(st.sampled_from(ROLES))} LOGIN PASSWORD {draw(string_literal())}",
        f"ALTER ROLE app WITH PASSWORD {draw(string_literal())}", "CREATE USER u", "DROP ROLE IF EXISTS reader",
        f"CREATE USER MAPPING FOR app SERVER remote OPTIONS (user 'app', password {draw(string_literal())})",
        "CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'db', dbname 'x')",
        f"CREATE POLICY p ON {t} USING ({draw(expression(3))})", f"ALTER POLICY p ON {t} RENAME TO q",
        f"CREATE PUBLICATION pub FOR TABLE {t}", f"CREATE STATISTICS st ON a, b FROM {t}",
        f"CREATE RULE r AS ON INSERT TO {t} DO INSTEAD NOTHING", "CREATE DATABASE app2", "CREATE TABLESPACE ts LOCATION '/x'",
        f"ALTER TABLE {t} RENAME TO {draw(ident(PLAIN_NAMES))}", f"ALTER TABLE {t} SET SCHEMA app",
        "ALTER SCHEMA app RENAME TO app2", "ALTER EXTENSION pg_trgm UPDATE", f"SECURITY LABEL ON TABLE {t} IS 'x'",
        "CREATE EVENT TRIGGER et ON ddl_command_start EXECUTE FUNCTION f()", "IMPORT FOREIGN SCHEMA s FROM SERVER remote INTO app",
        "CREATE FOREIGN TABLE ft (a int) SERVER remote", "CREATE CAST (text AS int) WITH INOUT",
        "CREATE AGGREGATE agg (int) (sfunc = int4pl, stype = int)", "CREATE COLLATION c (locale = 'C')",
        "CREATE OPERATOR === (leftarg = int, rightarg = int, function = int4eq)",
        "CREATE CONVERSION conv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8",
        "PREPARE q AS SELECT 1", "EXECUTE q", "DEALLOCATE q", f"DECLARE cur CURSOR FOR SELECT * FROM {t}",
        "CREATE TEXT SEARCH CONFIGURATION cfg (COPY = english)", "CREATE ACCESS METHOD am TYPE TABLE HANDLER heap_tableam_handler",
    ]))


# -- comments and non-SQL lines -----------------------------------------------------------------------------------------
RULE_IDS = ["non-concurrent-index", "set-not-null", "drop-without-backup", "missing-lock-timeout", "prefer-text",
            "migration-name", "no-such-rule", "ALL", "", "parse-error", "invalid-suppression"]


@st.composite
def comment(draw) -> str:
    kind = draw(st.integers(0, 11))
    if kind <= 1:
        return "-- " + draw(st.text(max_size=30).map(lambda s: s.replace("\n", " ").replace("\r", " ")))
    if kind == 2:
        return "/* " + draw(st.sampled_from(["block", "nested /* inner */ block", "multi\nline", "*"])) + " */"
    if kind == 3:
        return "-- backup: " + draw(st.sampled_from(["s3://acme-db-backups/2026-05-10/x.dump", "TODO", "n/a", "", "TBD",
                                                     "pg_dump taken, see ticket OPS-1"]))
    if kind <= 6:
        ids = ", ".join(draw(st.lists(st.sampled_from(RULE_IDS), max_size=3)))
        reason = draw(st.sampled_from(["", " -- the table holds 250 rows", " --", " -- "]))
        scope = draw(st.sampled_from(["ignore", "ignore", "ignore-file", "ignore-next", "bogus", "IGNORE"]))
        return f"-- migration-lint: {scope} {ids}{reason}"
    if kind == 7:
        return draw(st.sampled_from(["-- migrate:up", "-- migrate:up transaction:false", "-- migrate:down",
                                     "--> statement-breakpoint", "-- +goose Up", "-- +migrate StatementBegin"]))
    if kind == 8:
        return draw(st.sampled_from(["-- CreateTable", "-- AlterTable", "-- DropIndex", "-- RedefineTables"]))
    if kind == 9:
        return "/* migration-lint: ignore non-concurrent-index -- in a block comment */"
    if kind == 10:
        return "-- " + draw(st.sampled_from(SECRET_VALUES)).replace("\n", " ")
    return "--"


@st.composite
def foreign_line(draw) -> str:
    """Lines that are not SQL: psql meta-commands, template syntax, garbage, truncated statements."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.sampled_from(["\\connect app", "\\set ON_ERROR_STOP on", "\\i other.sql", "\\echo hi",
                                     "\\copy t FROM 'x.csv'", "\\if :x", "\\endif"]))
    if kind == 1:
        return draw(st.sampled_from(["CREATE TABLE ${schema}.t (id int)", "CREATE TABLE {{ .Schema }}.t (id int)",
                                     "ALTER TABLE t OWNER TO :owner", "SELECT :'var'", "{% if x %}SELECT 1{% endif %}",
                                     "CREATE TABLE ${flyway:defaultSchema}.x (id int)"]))
    if kind == 2:
        return draw(st.text(alphabet="SELECT()';\"$-*/ \n\tabc123,.:", max_size=40))
    if kind == 3:
        return draw(st.sampled_from(["CREATE TABLE", "ALTER TABLE t ADD", "SELECT (", "INSERT INTO t VALUES (1",
                                     "CREATE INDEX ON", "DROP", ")", "END $$", "$$", "'", '"', "/*"]))
    if kind == 4:
        return draw(st.text(max_size=20))
    return "GO"


# -- files -------------------------------------------------------------------------------------------------------------
def statement():
    return st.one_of(
        create_table(), alter_table(), alter_table(), alter_table(), index_statement(), index_statement(),
        st.sampled_from(TRANSACTION), setting(), data_statement(), data_statement(), do_block(), routine(),
        type_statement(), view_statement(), other_statement(),
    )


SEPARATORS = [";\n", ";\n", ";\n", ";", "; ", ";\r\n", ";\n\n", "\n;\n", ";;\n", ";\t-- trailing\n", ";\r",
              " ;\n", "\n--> statement-breakpoint\n", ";\n/* between */\n", ";\n-- backup: s3://b/k.dump\n", "\n"]


CLEAN_SEPARATORS = [s for s in SEPARATORS if ";" in s]


@st.composite
def sql_file(draw) -> bytes:
    """A migration from the grammar: three in four are made only of statements, comments and semicolons."""
    clean = draw(st.integers(0, 3)) > 0
    parts: list[str] = []
    if draw(st.integers(0, 7)) == 0:
        parts.append(draw(st.sampled_from(["-- migrate:up\n", "-- migrate:up transaction:false\n"])))
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.integers(0, 19))
        if kind <= 14 or (clean and kind >= 18):
            parts.append(draw(statement()) + draw(st.sampled_from(CLEAN_SEPARATORS if clean else SEPARATORS)))
        elif kind <= 17:
            parts.append(draw(comment()) + "\n")
        else:
            parts.append(draw(foreign_line()) + draw(st.sampled_from(["\n", ";\n"])))
    if draw(st.integers(0, 7)) == 0:
        parts.append("-- migrate:down\n" + draw(statement()) + ";\n")
    text = "".join(parts)
    if draw(st.booleans()):
        text = text.rstrip("\n")
    newline = draw(st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"]))
    if newline != "\n":
        text = text.replace("\r\n", "\n").replace("\n", newline)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    return data


# -- corpus mutations --------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def corpus_files() -> tuple[Path, ...]:
    if not CORPUS.is_dir():
        return ()
    return tuple(sorted(p for p in CORPUS.rglob("*.sql") if p.is_file()))


TOKENS = [b"'", b'"', b"$$", b"$tag$", b"/*", b"*/", b"--", b"\x00", b"\xff", b"\xc3", b"\xe2\x82", b"\r", b"\n",
          b"\r\n", b";", b"(", b")", b"\xef\xbb\xbf", b"${schema}", b"{{ .Table }}", b":'var'", b"\\connect x\n",
          b"BEGIN;\n", b"COMMIT;\n", b"CONCURRENTLY ", b"NOT VALID", b"-- migration-lint: ignore non-concurrent-index -- r\n",
          b"-- backup: s3://b/k\n", b"\x1b[31m", "\u202e".encode(), b"\\", b"E'", b"U&'", b"::", b"ARRAY[", b"\t",
          b"--> statement-breakpoint\n", b"-- migrate:down\n", b"sk_live_51HxYzAbCdEfGhIjKlMnOpQr", b"DROP TABLE users;\n"]


@st.composite
def mutated_corpus_file(draw) -> bytes:
    files = corpus_files()
    data = bytearray(draw(st.sampled_from(files)).read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 8))
        size = len(data)
        at = draw(st.integers(0, size))
        if kind == 0 and size:  # flip a byte
            at = min(at, size - 1)
            data[at] = draw(st.integers(0, 255))
        elif kind == 1:  # delete a span
            data[at:at + draw(st.integers(1, 200))] = b""
        elif kind <= 3:  # insert a token
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif kind == 4:  # duplicate a span
            span = bytes(data[at:at + draw(st.integers(1, 400))])
            data[at:at] = span * draw(st.integers(1, 3))
        elif kind == 5:  # truncate
            del data[at:]
        elif kind == 6:  # random bytes
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == 7:  # a statement from the grammar
            data[at:at] = (draw(statement()) + ";\n").encode("utf-8", "surrogatepass")
        else:  # splice a piece of another corpus file
            other = draw(st.sampled_from(files)).read_bytes()
            start = draw(st.integers(0, len(other)))
            data[at:at] = other[start:start + draw(st.integers(1, 2000))]
    return bytes(data)


def file_content():
    """(origin, bytes): "grammar" or "corpus" (a mutated corpus file)."""
    grammar = sql_file().map(lambda data: ("grammar", data))
    if corpus_files():
        return st.one_of(grammar, grammar, grammar, mutated_corpus_file().map(lambda data: ("corpus", data)))
    return grammar


# -- projects -------------------------------------------------------------------------------------------------------------
NAMES = ["add_index_users_email", "create_users", "backfill", "init", "a,b:c%", "sp ace", "ünï", "@octocat_#123",
         "`tick`", "x" * 120, "esc\x1b[31m", "bidi\u202e", "<b>bold</b>", "drop_table", "rename_column", "0"]


@dataclass
class Project:
    files: dict[str, bytes]  # relative path → content
    root: str  # what to pass to discover()
    options: dict = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # relative path → "grammar" or "corpus"


@st.composite
def projects(draw) -> Project:
    layout = draw(st.sampled_from(["plain", "flyway", "prisma", "golang-migrate", "dbmate", "drizzle", "supabase", "diesel"]))
    files: dict[str, bytes] = {}
    origins: dict[str, str] = {}
    count = draw(st.integers(1, 3))
    for n in range(1, count + 1):
        name = draw(st.sampled_from(NAMES))
        stamp = f"2024010{n}000000"
        path = {
            "plain": f"m/{n:03d}_{name}.sql",
            "flyway": f"db/V{n}__{name}.sql",
            "prisma": f"prisma/migrations/{stamp}_{name}/migration.sql",
            "golang-migrate": f"m/{n:06d}_{name}.up.sql",
            "dbmate": f"db/migrations/{stamp}_{name}.sql",
            "drizzle": f"drizzle/{n:04d}_{name}.sql",
            "supabase": f"supabase/migrations/{stamp}_{name}.sql",
            "diesel": f"migrations/2024-01-0{n}-000000_{name}/up.sql",
        }[layout]
        origin, data = draw(file_content())
        if layout == "dbmate" and b"migrate:up" not in data[:200]:
            data = b"-- migrate:up\n" + data
        files[path] = data
        origins[path] = origin
    if layout == "prisma":
        files["prisma/migrations/migration_lock.toml"] = b'provider = "postgresql"\n'
    if layout == "drizzle" and draw(st.booleans()):
        files["drizzle/meta/_journal.json"] = b'{"entries": []}'
    root = {"plain": "m", "flyway": "db", "prisma": "prisma/migrations", "golang-migrate": "m", "dbmate": "db",
            "drizzle": "drizzle", "supabase": "supabase/migrations", "diesel": "migrations"}[layout]
    options = {
        "pg_version": draw(st.sampled_from([10, 11, 12, 14, 15, 17])),
        "select": draw(st.sampled_from([None, None, ["ALL"]])),
        "framework": draw(st.sampled_from(["auto", "auto", "auto", layout, "plain"])),
        "prisma_version": draw(st.sampled_from(["7.4", "6.19"])),
        "stats": draw(st.booleans()),
        "new": draw(st.booleans()),
    }
    return Project(files, root, options, origins)
