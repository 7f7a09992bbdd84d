"""What a migration creates, renames and drops, statement by statement, indexed once per file.

* :class:`CreatedTables`: the tables the migration created before each statement (they are empty);
* :class:`Objects`: every object a statement defines (creates, or gives a name by renaming), vacates
  (drops, or renames away) and every column it adds, by (kind, name) → ascending statement indexes.
  Kinds are the namespaces PostgreSQL keeps names in: relation, type, function, schema, extension.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

from migration_lint.model import Statement
from migration_lint.syntax import ast

_RELATION_KINDS = {"OBJECT_TABLE": "relation", "OBJECT_VIEW": "relation", "OBJECT_MATVIEW": "relation",
                   "OBJECT_FOREIGN_TABLE": "relation", "OBJECT_SEQUENCE": "relation"}
_KIND_OF = {**_RELATION_KINDS, "OBJECT_TYPE": "type", "OBJECT_DOMAIN": "type", "OBJECT_FUNCTION": "function",
            "OBJECT_PROCEDURE": "function", "OBJECT_ROUTINE": "function", "OBJECT_AGGREGATE": "function",
            "OBJECT_SCHEMA": "schema", "OBJECT_EXTENSION": "extension"}


def object_kind(object_type: str | None) -> str | None:
    """The namespace an OBJECT_* lives in: relation, type, function, schema, extension (None: other)."""
    return _KIND_OF.get(object_type or "")


def object_name(node: Any) -> str:
    """The (schema-qualified where written) name of a List/String/TypeName/ObjectWithArgs/RangeVar node."""
    kind, value = ast.unwrap(node)
    if not isinstance(value, dict):
        return "?"
    if kind == "TypeName" or "names" in value:
        names = ast.strings(value.get("names"))
    elif kind == "ObjectWithArgs" or "objname" in value:
        names = ast.strings(value.get("objname"))
    elif "relname" in value:
        return ast.relation_name(value)
    elif kind == "List" or "items" in value:
        names = ast.strings(value.get("items"))
    elif "sval" in value:
        names = [value["sval"]]
    else:
        names = []
    return ".".join(names) or "?"


def _key(name: str) -> str:
    return ast.table_key(name)


def renamed(old: str, new: str) -> str:
    """The full name after `RENAME TO new` (the object stays in its schema)."""
    schema, dot, _ = old.rpartition(".")
    return f"{schema}.{new}" if dot and schema != "public" else new


def created_table(stmt: Statement) -> str | None:
    """The table key a CREATE TABLE / CREATE TABLE AS / SELECT INTO creates (None for other statements)."""
    node_type, node = stmt.node_type, stmt.node
    if node_type in ("CreateStmt", "CreateTableAsStmt") or (node_type == "SelectStmt" and node.get("intoClause")):
        rel = node.get("relation") or (node.get("into") or node.get("intoClause") or {}).get("rel")
        if rel:
            return ast.table_key(ast.relation_name(rel))
    return None


class CreatedTables:
    """The tables a migration created before each of its statements, in memory proportional to the tables.

    ``created[i]`` answers ``table in …`` for the state before statement i.
    """

    def __init__(self, statements: list[Statement] = ()) -> None:  # type: ignore[assignment]
        self._spans: dict[str, list[list[int | None]]] = {}  # table → [[created at, gone at or None], …]
        for stmt in statements:
            table = created_table(stmt)
            if table is not None:
                self.create(table, stmt.index)
            elif stmt.node_type == "RenameStmt" and stmt.node.get("renameType") == "OBJECT_TABLE":
                old = ast.table_key(ast.relation_name(stmt.node.get("relation")))
                if self.remove(old, stmt.index):
                    self.create(stmt.node.get("newname", ""), stmt.index)

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
            assert created is not None
            if created < index and (gone is None or index <= gone):
                return True
        return False

    def __getitem__(self, index: int) -> _CreatedBefore:
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


def defines(stmt: Statement) -> Iterator[tuple[str, str]]:
    """(kind, name key) of every object the statement creates, or gives a name by renaming."""
    node_type, node = stmt.node_type, stmt.node
    if node_type == "CreateStmt":
        yield "relation", _key(ast.relation_name(node.get("relation")))
    elif node_type == "CreateTableAsStmt":
        rel = (node.get("into") or {}).get("rel")
        if rel:
            yield "relation", _key(ast.relation_name(rel))
    elif node_type == "ViewStmt":
        yield "relation", _key(ast.relation_name(node.get("view")))
    elif node_type == "CreateSeqStmt":
        yield "relation", _key(ast.relation_name(node.get("sequence")))
    elif node_type == "CreateForeignTableStmt":
        yield "relation", _key(ast.relation_name((node.get("base") or {}).get("relation")))
    elif node_type == "CreateEnumStmt":
        yield "type", _key(".".join(ast.strings(node.get("typeName"))))
    elif node_type == "CreateRangeStmt":
        yield "type", _key(".".join(ast.strings(node.get("typeName"))))
    elif node_type == "CreateDomainStmt":
        yield "type", _key(".".join(ast.strings(node.get("domainname"))))
    elif node_type == "CompositeTypeStmt":
        yield "type", _key(ast.relation_name(node.get("typevar")))
    elif node_type == "DefineStmt":
        if node.get("kind") == "OBJECT_TYPE":
            yield "type", _key(".".join(ast.strings(node.get("defnames"))))
        elif node.get("kind") == "OBJECT_AGGREGATE":
            yield "function", _key(".".join(ast.strings(node.get("defnames"))))
    elif node_type == "CreateFunctionStmt":
        yield "function", _key(".".join(ast.strings(node.get("funcname"))))
    elif node_type == "CreateSchemaStmt":
        yield "schema", node.get("schemaname", "?")
    elif node_type == "CreateExtensionStmt":
        yield "extension", node.get("extname", "?")
    elif node_type == "RenameStmt":
        rename = node.get("renameType")
        kind = object_kind(rename)
        new = node.get("newname")
        if kind and new:
            if rename == "OBJECT_SCHEMA":
                yield "schema", new
            elif node.get("relation"):
                yield kind, _key(renamed(ast.relation_name(node.get("relation")), new))
            else:
                yield kind, _key(renamed(object_name(node.get("object")), new))
    elif node_type == "AlterObjectSchemaStmt":
        kind = object_kind(node.get("objectType"))
        schema = node.get("newschema")
        if kind and schema and kind not in ("schema", "extension"):
            old = ast.relation_name(node["relation"]) if node.get("relation") else object_name(node.get("object"))
            yield kind, _key(f"{schema}.{old.rpartition('.')[2]}")


def vacates(stmt: Statement) -> Iterator[tuple[str, str]]:
    """(kind, name key) of every object the statement removes from its name (drop, or rename away)."""
    node_type, node = stmt.node_type, stmt.node
    if node_type == "DropStmt":
        kind = object_kind(node.get("removeType"))
        if kind:
            for obj in node.get("objects") or ():
                yield kind, _key(object_name(obj))
    elif node_type == "RenameStmt":
        rename = node.get("renameType")
        kind = object_kind(rename)
        if kind:
            if rename == "OBJECT_SCHEMA":
                yield "schema", node.get("subname", "?")
            elif node.get("relation"):
                yield kind, _key(ast.relation_name(node.get("relation")))
            else:
                yield kind, _key(object_name(node.get("object")))


def columns_added(stmt: Statement) -> Iterator[tuple[str, str]]:
    """(table key, column) of every column the statement adds, or renames a column to."""
    node = stmt.node
    if stmt.node_type == "AlterTableStmt":
        key = _key(ast.relation_name(node.get("relation")))
        for item in node.get("cmds") or ():
            _, cmd = ast.unwrap(item)
            if cmd.get("subtype") == "AT_AddColumn":
                yield key, ast.inner(cmd.get("def")).get("colname") or "?"
    elif stmt.node_type == "RenameStmt" and node.get("renameType") == "OBJECT_COLUMN":
        yield _key(ast.relation_name(node.get("relation"))), node.get("newname") or "?"


def _index(statements: list[Statement], extract) -> dict[Any, list[int]]:
    out: dict[Any, list[int]] = {}
    for stmt in statements:
        for fact in extract(stmt):
            out.setdefault(fact, []).append(stmt.index)
    return out


class Objects:
    """Definitions, removals and added columns of one migration, each an index built on first use.

    Every question is asked at a statement index: "before" means by an earlier statement of the
    migration, "after" by a later one.
    """

    def __init__(self, statements: list[Statement]) -> None:
        self._statements = statements
        self._defined: dict[Any, list[int]] | None = None
        self._vacated: dict[Any, list[int]] | None = None
        self._columns: dict[Any, list[int]] | None = None

    def _defines(self) -> dict[Any, list[int]]:
        if self._defined is None:
            self._defined = _index(self._statements, defines)
        return self._defined

    def _vacates(self) -> dict[Any, list[int]]:
        if self._vacated is None:
            self._vacated = _index(self._statements, vacates)
        return self._vacated

    def _columns_added(self) -> dict[Any, list[int]]:
        if self._columns is None:
            self._columns = _index(self._statements, columns_added)
        return self._columns

    def defined_before(self, kind: str, name: str, index: int) -> bool:
        """Did an earlier statement create the object (or rename something to its name)?"""
        positions = self._defines().get((kind, _key(name)))
        return positions is not None and positions[0] < index

    def defined_after(self, kind: str, name: str, index: int) -> Statement | None:
        """A later statement that creates an object with this name again (a swap)."""
        positions = self._defines().get((kind, _key(name))) or []
        later = bisect.bisect_right(positions, index)
        return self._statements[positions[later]] if later < len(positions) else None

    def vacated_before(self, kind: str, name: str, index: int) -> bool:
        """Did an earlier statement drop the object with this name, or rename it away?

        Renaming something to that name then completes a swap: code that uses the name keeps working.
        """
        positions = self._vacates().get((kind, _key(name)))
        return positions is not None and positions[0] < index

    def column_added_before(self, table: str, column: str, index: int) -> bool:
        """Did an earlier statement add the column (or rename a column to it)?"""
        positions = self._columns_added().get((_key(table), column))
        return positions is not None and positions[0] < index

    def column_added_after(self, table: str, column: str, index: int) -> bool:
        """Does a later statement add the column (or rename a column to it) again?"""
        positions = self._columns_added().get((_key(table), column))
        return positions is not None and positions[-1] > index
