"""Seeding: synthetic rows in every table that exists before a migration under review (``--rows``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from migration_lint.cli.trace.catalog import NOT_EXTENSION, USER_SCHEMAS, quote_ident
from migration_lint.cli.trace.database import Database, error_dict
from migration_lint.cli.trace.results import GroupResult

_SEED_TABLES_SQL = f"""
SELECT c.oid::int8, format('%I.%I', n.nspname, c.relname),
       CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {USER_SCHEMAS}
  AND {NOT_EXTENSION.format(cat='pg_class', oid='c.oid')}
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


def _rowcount(conn: Any, sql: str) -> int:
    return conn.execute(sql).rowcount


class Seeder:
    """Fills the tables of one database; each table once, tables of migrations that count as new never."""

    def __init__(self, db: Database, rows: int) -> None:
        self.db = db
        self.rows = rows
        self.seeded: set[int] = set()
        self.unseeded: set[int] = set()  # tables of migrations that count as new: left empty

    def table_oids(self) -> set[int]:
        return {row[0] for row in self.db.conn.execute(_SEED_TABLES_SQL).fetchall()}

    def seed(self, out: GroupResult) -> None:
        rows = self.rows
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
            filled = " AND ".join(f"{quote_ident(p)} IS NOT NULL" for p in pcols)
            available = conn.execute(f"SELECT count(*) FROM {parent_name} WHERE {filled}").fetchone()[0]
            if not available:
                if nullable:
                    continue
                return 0, f"its foreign key ({', '.join(ccols)}) needs rows in {parent_name}, which is empty"
            alias = f"fk{number}"
            listed = ", ".join(quote_ident(p) for p in pcols)
            joins.append(f"JOIN (SELECT {listed}, row_number() OVER () AS rn FROM {parent_name} WHERE {filled}) {alias} "
                         f"ON {alias}.rn = 1 + (gs.g - 1) % {available}")
            for c, p in zip(ccols, pcols):
                if c in by_name:
                    assigned[c] = f"{alias}.{quote_ident(p)}::{by_name[c].sql_type}"
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
            names = ", ".join(quote_ident(c) for c in plan)
            sql = (f"INSERT INTO {table} {('(' + names + ') ') if plan else ''}SELECT {', '.join(plan.values())} "
                   f"FROM generate_series(1, {limit}) AS gs(g) {' '.join(joins)} ON CONFLICT DO NOTHING")
            try:
                count = self._in_transaction(functools.partial(_rowcount, conn, sql))
                return int(count or 0), ""
            except Exception as exc:
                error = error_dict(exc)
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
