"""A static schema model, replayed from migrations (no database involved).

It knows the tables, their columns (type, NOT NULL, default), constraints
(kind, columns, validated) and indexes that the migrations created, so rules
can tell an empty new table from a busy old one and judge a type change with
the old type. Anything created outside the migrations is simply unknown, and
rules fall back to their conservative verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migration_lint.syntax import ast
from migration_lint.syntax.ast import Node, unwrap


@dataclass
class Column:
    name: str
    type: str
    not_null: bool = False
    has_default: bool = False
    generated: str | None = None  # "s" stored, "v" virtual generated column


@dataclass
class Constraint:
    name: str | None
    kind: str  # CONSTR_CHECK, CONSTR_FOREIGN, CONSTR_UNIQUE, CONSTR_PRIMARY, ...
    columns: list[str] = field(default_factory=list)
    validated: bool = True
    not_null_column: str | None = None  # for CHECK (col IS NOT NULL)
    references: str | None = None


@dataclass
class Index:
    name: str
    table: str
    columns: list[str]
    unique: bool = False
    partial: bool = False
    method: str = "btree"
    created_in: str | None = None


@dataclass
class Table:
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    constraints: list[Constraint] = field(default_factory=list)
    created_in: str | None = None  # migration (display path) that created it
    partial: bool = False  # created outside the migrations: only what later statements said is known


class Schema:
    """Tables and indexes known from migrations replayed so far."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}
        self.indexes: dict[str, Index] = {}  # change it through _put / _remove (they keep _by_table in step)
        self._by_table: dict[str, dict[str, None]] = {}  # table key → index names (ordered)
        self.enum_values_added: dict[str, set[str]] = {}
        self.domains: dict[str, str] = {}  # domain key (schema only when not public) → its base type
        self.extensions: set[str] = set()  # extensions the migrations created (and did not drop)
        self.functions: set[str] = set()  # functions the migrations created, by key (schema only when not public)

    def knows_domain(self, domain: str) -> bool:
        """Did the migrations create the domain (so that the columns using it are known)?"""
        return ast.table_key(domain) in self.domains

    def domain_columns(self, domain: str) -> list[tuple[Table, Column]]:
        """The columns whose values are of `domain` (directly, or through a domain over it): those
        ALTER DOMAIN ... ADD CONSTRAINT / SET NOT NULL checks. Arrays of the domain are not among
        them (PostgreSQL refuses to alter a domain an array column uses). A domain the migrations
        did not create is matched by name."""
        key = ast.table_key(domain)
        wanted = {key}
        grew = True
        while grew:  # domains over the domain, transitively
            grew = False
            for name, base in self.domains.items():
                if name not in wanted and _type_key(base) in wanted:
                    wanted.add(name)
                    grew = True
        out = []
        for table in self.tables.values():
            for column in table.columns.values():
                if not column.type.endswith("]") and _type_key(column.type) in wanted:
                    out.append((table, column))
        return out

    # -- queries ---------------------------------------------------------
    def table(self, name: str) -> Table | None:
        return self.tables.get(ast.table_key(name))

    def index(self, name: str) -> Index | None:
        return self.indexes.get(ast.table_key(name))

    def indexes_of(self, table: str) -> list[Index]:
        key = ast.table_key(table)
        return [self.indexes[name] for name in self._by_table.get(key, ())]

    def _put(self, index: Index) -> None:
        self._remove(index.name)
        self.indexes[index.name] = index
        self._by_table.setdefault(index.table, {})[index.name] = None

    def _remove(self, name: str) -> Index | None:
        index = self.indexes.pop(name, None)
        if index is not None:
            self._by_table.get(index.table, {}).pop(name, None)
        return index

    # -- replay ----------------------------------------------------------
    def apply(self, node_type: str, node: Node, migration: str | None = None) -> None:
        handler = getattr(self, f"_apply_{node_type}", None)
        if handler is not None:
            try:
                handler(node, migration)
            except (KeyError, TypeError, AttributeError, IndexError):
                # A shape this model does not follow: keep going, the model is best effort
                pass

    def _apply_CreateStmt(self, node: Node, migration: str | None) -> None:
        name = ast.table_key(ast.relation_name(node.get("relation")))
        if node.get("if_not_exists") and name in self.tables:
            return
        table = Table(name, created_in=migration)
        for element in node.get("tableElts") or ():
            kind, value = unwrap(element)
            if kind == "ColumnDef":
                self._add_column(table, value)
            elif kind == "Constraint":
                self._add_constraint(table, value)
        self.tables[name] = table

    def _apply_CreateTableAsStmt(self, node: Node, migration: str | None) -> None:
        into = node.get("into") or {}
        rel = into.get("rel")
        if rel:
            name = ast.table_key(ast.relation_name(rel))
            self.tables[name] = Table(name, created_in=migration)

    def _add_column(self, table: Table, coldef: Node) -> Column:
        column = Column(coldef.get("colname", "?"), ast.type_name(coldef.get("typeName")))
        if column.type in ("serial", "bigserial", "smallserial", "serial4", "serial8", "serial2"):
            column.has_default = True
            column.not_null = True
        for item in coldef.get("constraints") or ():
            _, con = unwrap(item)
            contype = con.get("contype")
            if contype in ("CONSTR_NOTNULL", "CONSTR_PRIMARY"):
                column.not_null = True
            if contype in ("CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"):
                column.has_default = True
            if contype == "CONSTR_GENERATED":
                column.generated = con.get("generated_kind", "s")
            if contype in ("CONSTR_UNIQUE", "CONSTR_PRIMARY", "CONSTR_FOREIGN", "CONSTR_CHECK"):
                con = dict(con)
                if contype != "CONSTR_CHECK":
                    con.setdefault("keys", [{"String": {"sval": column.name}}])
                    if contype == "CONSTR_FOREIGN":
                        con.setdefault("fk_attrs", [{"String": {"sval": column.name}}])
                        # PostgreSQL's default name for an inline REFERENCES: <table>_<column>_fkey
                        con.setdefault("conname", f"{table.name.split('.')[-1]}_{column.name}_fkey")
                self._add_constraint(table, con)
        table.columns[column.name] = column
        return column

    def _add_constraint(self, table: Table, con: Node) -> None:
        contype = con.get("contype", "")
        columns = ast.strings(con.get("fk_attrs") if contype == "CONSTR_FOREIGN" else con.get("keys"))
        constraint = Constraint(
            con.get("conname"),
            contype,
            columns,
            validated=not con.get("skip_validation"),
            references=ast.table_key(ast.relation_name(con["pktable"])) if con.get("pktable") else None,
        )
        if contype == "CONSTR_CHECK":
            constraint.not_null_column = _is_not_null_check(con.get("raw_expr"))
            # the columns it reads: a type change of one of them checks the constraint again
            constraint.columns = sorted({ast.strings(v.get("fields"))[-1] for k, v in ast.walk({"_": con.get("raw_expr")})
                                         if k == "ColumnRef" and ast.strings(v.get("fields"))})
        if contype == "CONSTR_PRIMARY":
            for column in columns:
                if column in table.columns:
                    table.columns[column].not_null = True
        if contype in ("CONSTR_PRIMARY", "CONSTR_UNIQUE") and not con.get("indexname"):
            # PostgreSQL's default names: <table>_pkey, <table>_<columns>_key
            bare = table.name.split(".")[-1]
            index_name = con.get("conname") or (f"{bare}_pkey" if contype == "CONSTR_PRIMARY" else f"{bare}_{'_'.join(columns)}_key")
            self._put(Index(index_name, table.name, columns, unique=True))
        table.constraints.append(constraint)

    def _apply_AlterTableStmt(self, node: Node, migration: str | None) -> None:
        if node.get("objtype") not in (None, "OBJECT_TABLE"):
            return
        name = ast.table_key(ast.relation_name(node.get("relation")))
        table = self.tables.get(name)
        if table is None:
            # a table created outside the migrations: remember what these statements say about it
            table = self.tables[name] = Table(name, partial=True)
        for item in node.get("cmds") or ():
            _, cmd = unwrap(item)
            subtype = cmd.get("subtype")
            name = cmd.get("name")
            column = table.columns.get(name) if name else None
            if subtype == "AT_AddColumn":
                _, coldef = unwrap(cmd.get("def"))
                self._add_column(table, coldef)
            elif subtype == "AT_DropColumn":
                table.columns.pop(name, None)
            elif subtype == "AT_AlterColumnType" and column is not None:
                _, coldef = unwrap(cmd.get("def"))
                column.type = ast.type_name(coldef.get("typeName"))
            elif subtype == "AT_SetNotNull" and column is not None:
                column.not_null = True
            elif subtype == "AT_DropNotNull" and column is not None:
                column.not_null = False
            elif subtype == "AT_DropExpression" and column is not None:
                column.generated = None
            elif subtype == "AT_ColumnDefault" and column is not None:
                column.has_default = cmd.get("def") is not None
            elif subtype == "AT_AddConstraint":
                _, con = unwrap(cmd.get("def"))
                self._add_constraint(table, con)
            elif subtype == "AT_ValidateConstraint":
                for constraint in table.constraints:
                    if constraint.name == name:
                        constraint.validated = True
            elif subtype == "AT_DropConstraint":
                table.constraints = [c for c in table.constraints if c.name != name]
                self._remove(name or "")

    def _apply_CreateExtensionStmt(self, node: Node, migration: str | None) -> None:
        self.extensions.add(str(node.get("extname", "")).lower())

    def _apply_CreateFunctionStmt(self, node: Node, migration: str | None) -> None:
        self.functions.add(ast.table_key(".".join(ast.strings(node.get("funcname")))))

    def _apply_CreateDomainStmt(self, node: Node, migration: str | None) -> None:
        name = ast.table_key(".".join(ast.strings(node.get("domainname"))))
        self.domains[name] = ast.type_name(node.get("typeName"))

    def _rename_type(self, old: str, new: str) -> None:
        """A domain renamed or moved: its columns (and domains over it) follow."""
        if old == new:
            return
        if old in self.domains:
            self.domains[new] = self.domains.pop(old)
        for name, base in list(self.domains.items()):
            if _type_key(base) == old:
                self.domains[name] = new
        for table in self.tables.values():
            for column in table.columns.values():
                if _type_key(column.type) == old and not column.type.endswith("]"):
                    column.type = new

    def _apply_AlterObjectSchemaStmt(self, node: Node, migration: str | None) -> None:
        if node.get("objectType") == "OBJECT_DOMAIN":
            names = ast.strings(unwrap(node.get("object"))[1].get("items"))
            if names:
                self._rename_type(ast.table_key(".".join(names)), ast.table_key(f"{node.get('newschema')}.{names[-1]}"))

    def _apply_IndexStmt(self, node: Node, migration: str | None) -> None:
        table = ast.table_key(ast.relation_name(node.get("relation")))
        columns = []
        for param in node.get("indexParams") or ():
            _, elem = unwrap(param)
            columns.append(elem.get("name") or "(expr)")
        name = node.get("idxname") or f"{table.split('.')[-1]}_{'_'.join(columns)}_idx"
        if node.get("if_not_exists") and name in self.indexes:
            return
        self._put(Index(
            name, table, columns, unique=bool(node.get("unique")), partial=bool(node.get("whereClause")),
            method=node.get("accessMethod", "btree"), created_in=migration,
        ))

    def _apply_DropStmt(self, node: Node, migration: str | None) -> None:
        remove = node.get("removeType")
        if remove == "OBJECT_EXTENSION":
            for obj in node.get("objects") or ():
                self.extensions.discard(str(unwrap(obj)[1].get("sval", "")).lower())
            return
        if remove == "OBJECT_DOMAIN":
            for obj in node.get("objects") or ():
                self.domains.pop(ast.table_key(".".join(ast.strings(unwrap(obj)[1].get("names")))), None)
            return
        for obj in node.get("objects") or ():
            names = ast.strings(unwrap(obj)[1].get("items")) if isinstance(unwrap(obj)[1], dict) else []
            key = ast.table_key(".".join(names))
            if remove in ("OBJECT_TABLE", "OBJECT_MATVIEW", "OBJECT_VIEW"):
                self.tables.pop(key, None)
                for index_name in list(self._by_table.get(key, ())):
                    self._remove(index_name)
            elif remove == "OBJECT_INDEX":
                self._remove(key)

    def _apply_RenameStmt(self, node: Node, migration: str | None) -> None:
        rename = node.get("renameType")
        new = node.get("newname")
        if not new:
            return
        if rename == "OBJECT_TABLE":
            old = ast.table_key(ast.relation_name(node.get("relation")))
            table = self.tables.pop(old, None)
            if table is not None:
                table.name = new
                self.tables[new] = table
                names = self._by_table.pop(old, {})
                for name in names:
                    self.indexes[name].table = new
                self._by_table.setdefault(new, {}).update(names)
        elif rename == "OBJECT_COLUMN":
            table = self.table(ast.relation_name(node.get("relation")))
            if table is not None and node.get("subname") in table.columns:
                column = table.columns.pop(node["subname"])
                column.name = new
                table.columns[new] = column
        elif rename == "OBJECT_DOMAIN":
            parts = ast.strings(unwrap(node.get("object"))[1].get("items"))
            if parts:
                self._rename_type(ast.table_key(".".join(parts)), ast.table_key(".".join([*parts[:-1], new])))
        elif rename == "OBJECT_INDEX":
            old = ast.table_key(ast.relation_name(node.get("relation")))
            index = self._remove(old)
            if index is not None:
                index.name = new
                self._put(index)


def _is_not_null_check(expr: Any) -> str | None:
    """`CHECK (col IS NOT NULL)` → "col"."""
    kind, value = unwrap(expr)
    if kind == "NullTest" and value.get("nulltesttype") == "IS_NOT_NULL":
        ckind, col = unwrap(value.get("arg"))
        if ckind == "ColumnRef":
            fields = ast.strings(col.get("fields"))
            if fields:
                return fields[-1]
    return None


def _type_key(type_text: str) -> str:
    """A column's type as a domain key: no modifiers, no quotes, ``public.`` dropped (``public.posint(3)`` → ``posint``)."""
    base = type_text.split("(", 1)[0].strip()
    return ast.table_key(".".join(part.strip('"') for part in base.split(".")))
