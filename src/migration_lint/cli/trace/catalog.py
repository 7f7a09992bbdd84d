"""Reading the catalog of the database under trace: relations and their relfilenodes, the locks a
backend holds in ``pg_locks``, the objects that exist; relations named as the lock model names them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migration_lint.facts.locks import STRENGTH
from migration_lint.syntax import ast

if TYPE_CHECKING:  # pragma: no cover - typing only
    from migration_lint.model import Statement

HELPER_SCHEMA = "migration_lint_trace"  # the schema of the trace's own helpers (never reported)

USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema', '" + HELPER_SCHEMA + "') "
                "AND n.nspname !~ '^pg_(toast|temp)'")
_RELATIONS_SQL = f"""
SELECT c.oid::int8, n.nspname, c.relname, c.relkind::text, c.relfilenode::int8,
       EXISTS (SELECT 1 FROM pg_depend d
               WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) AS owned
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {USER_SCHEMAS}
"""
_LOCKS_SQL = """
SELECT l.locktype, l.relation::int8, l.mode, l.granted
FROM pg_locks l
WHERE l.pid = %s
  AND (l.locktype <> 'relation' OR l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
"""
NOT_EXTENSION = ("NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{cat}'::regclass "
                  "AND e.objid = {oid} AND e.deptype = 'e')")
_OBJECTS_SQL = f"""
SELECT CASE c.relkind WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END,
       CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {USER_SCHEMAS} AND c.relkind NOT IN ('c', 't') AND {NOT_EXTENSION.format(cat='pg_class', oid='c.oid')}
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END,
       CASE WHEN n.nspname = 'public' THEN t.typname ELSE n.nspname || '.' || t.typname END
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {USER_SCHEMAS} AND t.typtype IN ('b', 'c', 'd', 'e', 'r')
  AND (t.typtype <> 'b' OR t.typcategory <> 'A')
  AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = t.typrelid AND r.relkind = 'c'))
  AND {NOT_EXTENSION.format(cat='pg_type', oid='t.oid')}
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
       p.oid::regprocedure::text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {USER_SCHEMAS} AND {NOT_EXTENSION.format(cat='pg_proc', oid='p.oid')}
UNION ALL
SELECT 'schema', n.nspname FROM pg_namespace n WHERE {USER_SCHEMAS} AND n.nspname <> 'public'
UNION ALL
SELECT 'extension', x.extname FROM pg_extension x WHERE x.extname <> 'plpgsql'
"""


@dataclass(frozen=True)
class Rel:
    """A relation as ``pg_class`` shows it (``owned``: a sequence owned by a column, an index of a constraint)."""

    oid: int
    schema: str
    name: str
    kind: str
    filenode: int
    owned: bool


def identifiers(sql: str) -> set[str]:
    """Identifiers as PostgreSQL folds them (quoted ones keep their case)."""
    out = set()
    for match in re.finditer(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)', sql):
        out.add(match.group(1).replace('""', '"') if match.group(1) is not None else match.group(2).lower())
    return out


_CONSTRAINT_COMMANDS = ("AT_DropConstraint", "AT_ValidateConstraint", "AT_AlterConstraint")


def statement_names(stmt: Statement) -> set[str]:
    """The names a statement gives to relations: its identifiers, less the constraint names it mentions.

    The index behind a UNIQUE or PRIMARY KEY constraint shares the constraint's name; dropping or renaming
    the constraint does not name the index.
    """
    names = identifiers(stmt.sql)
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


def relations(conn: Any) -> dict[int, Rel]:
    return {row[0]: Rel(*row) for row in conn.execute(_RELATIONS_SQL).fetchall()}


def objects(conn: Any) -> set[str]:
    return {f"{kind} {name}" for kind, name in conn.execute(_OBJECTS_SQL).fetchall()}


def lock_rows(conn: Any, pid: int) -> list[tuple[Any, ...]]:
    return conn.execute(_LOCKS_SQL, (pid,)).fetchall()


def fold_locks(rows: Iterable[tuple[Any, ...]], before: dict[int, Rel], named: set[str], sql: str,
          into: dict[str, str], skip: set[tuple[int, str]] | None = None) -> None:
    for locktype, oid, mode, _granted in rows:
        if locktype != "relation" or oid not in before or not counted(before[oid], named):
            continue
        if skip and (oid, mode) in skip:
            continue
        name = display_name(before[oid], sql)
        if name not in into or STRENGTH[mode] > STRENGTH[into[name]]:
            into[name] = mode


def rewritten_relations(before: dict[int, Rel], after: dict[int, Rel], stmt: Statement) -> list[str]:
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



def quote_ident(name: str) -> str:
    """An SQL identifier, always quoted."""
    return '"' + name.replace('"', '""') + '"'
