"""The lock model: what each statement does to the relations it touches.

For every statement kind the linter recognises this module says which
heavyweight lock it takes on each existing relation (``pg_locks`` mode
names), whether it rewrites the table (new ``relfilenode``), whether it
scans it (validation, index build), whether it can run inside a
transaction block, and what the lock blocks, derived from PostgreSQL's
lock conflict table. Objects created by the statement itself are not
listed: nobody else can see them yet. A statement this model does not know
says so (``known=False``) instead of guessing.

The claims are checked against a real PostgreSQL by the test suite
(tests/test_locks_pg.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migration_lint.facts.types import operator_family, plain_cast, type_change_rewrites
from migration_lint.syntax import ast
from migration_lint.syntax.ast import Node, unwrap

ACCESS_SHARE = "AccessShareLock"
ROW_SHARE = "RowShareLock"
ROW_EXCLUSIVE = "RowExclusiveLock"
SHARE_UPDATE_EXCLUSIVE = "ShareUpdateExclusiveLock"
SHARE = "ShareLock"
SHARE_ROW_EXCLUSIVE = "ShareRowExclusiveLock"
EXCLUSIVE = "ExclusiveLock"
ACCESS_EXCLUSIVE = "AccessExclusiveLock"

MODES = (
    ACCESS_SHARE, ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE,
    SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE,
)
STRENGTH = {mode: rank for rank, mode in enumerate(MODES)}

# PostgreSQL's table-level lock conflict table ("Explicit Locking", table 13.2).
CONFLICTS: dict[str, frozenset[str]] = {
    ACCESS_SHARE: frozenset({ACCESS_EXCLUSIVE}),
    ROW_SHARE: frozenset({EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ROW_EXCLUSIVE: frozenset({SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    SHARE_UPDATE_EXCLUSIVE: frozenset({SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    SHARE: frozenset({ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    SHARE_ROW_EXCLUSIVE: frozenset({ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    EXCLUSIVE: frozenset({ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ACCESS_EXCLUSIVE: frozenset(MODES),
}

# LockStmt.mode numbers (lockdefs.h) → names
_LOCK_NUMBERS = {1: ACCESS_SHARE, 2: ROW_SHARE, 3: ROW_EXCLUSIVE, 4: SHARE_UPDATE_EXCLUSIVE, 5: SHARE,
                 6: SHARE_ROW_EXCLUSIVE, 7: EXCLUSIVE, 8: ACCESS_EXCLUSIVE}


def blocks(mode: str) -> list[str]:
    """What a lock mode keeps other sessions from doing: reads (SELECT) and/or writes (INSERT/UPDATE/DELETE)."""
    conflicts = CONFLICTS.get(mode, frozenset())
    out = []
    if ACCESS_SHARE in conflicts:
        out.append("reads")
    if ROW_EXCLUSIVE in conflicts:
        out.append("writes")
    return out


def blocks_ddl(mode: str) -> bool:
    """Does the mode block other schema changes, VACUUM and index builds (SHARE UPDATE EXCLUSIVE)?"""
    return SHARE_UPDATE_EXCLUSIVE in CONFLICTS.get(mode, frozenset())


@dataclass
class RelationLock:
    relation: str
    mode: str
    role: str = "table"  # table, referenced, index, partition, view, sequence, source
    until_commit: bool = True  # False: released when the statement ends, not at the end of the transaction


@dataclass
class Effect:
    """What one statement does, as far as locks and I/O go."""

    locks: list[RelationLock] = field(default_factory=list)
    rewrites: bool = False
    scans: bool = False
    transactional: bool = True  # can run inside a transaction block
    known: bool = True
    row_locks_all: bool = False  # DML that touches every row (no WHERE)
    targets: list[str] = field(default_factory=list)  # tables the statement changes (schema-model keys)
    notes: list[str] = field(default_factory=list)

    def add(self, relation: str, mode: str, role: str = "table") -> None:
        for existing in self.locks:
            if existing.relation == relation:
                if STRENGTH[mode] > STRENGTH[existing.mode]:
                    existing.mode = mode
                    existing.role = role if role == "table" else existing.role
                return
        self.locks.append(RelationLock(relation, mode, role))

    def merge(self, others: list[Effect], known: bool) -> None:
        """Take on the effects of statements run as part of this one (a DO block's): their locks (the strongest
        mode per relation), rewrites, scans and targets; known when every statement is."""
        for other in others:
            for lock in other.locks:
                self.add(lock.relation, lock.mode, lock.role)
            self.rewrites = self.rewrites or other.rewrites
            self.scans = self.scans or other.scans
            self.row_locks_all = self.row_locks_all or other.row_locks_all
            self.transactional = self.transactional and other.transactional
            self.targets.extend(t for t in other.targets if t not in self.targets)
        self.known = known and all(other.known for other in others)

    @property
    def strongest(self) -> str | None:
        if not self.locks:
            return None
        return max((lock.mode for lock in self.locks), key=STRENGTH.__getitem__)

    def blocked(self) -> list[str]:
        out: list[str] = []
        for lock in self.locks:
            for what in blocks(lock.mode):
                if what not in out:
                    out.append(what)
        if self.row_locks_all and "writes" not in out:
            out.append("writes")
        return [w for w in ("reads", "writes") if w in out]


@dataclass
class Settings:
    pg_version: float = 15.0
    timezone_utc: bool = True  # the migration session runs with TimeZone = UTC


class Model:
    """Computes the Effect of statements; the schema model, when given, sharpens the answers."""

    def __init__(self, settings: Settings | None = None, schema: Any = None) -> None:
        self.settings = settings or Settings()
        self.schema = schema

    @property
    def pg(self) -> float:
        return self.settings.pg_version

    def effect(self, node_type: str, node: Node) -> Effect:
        handler = getattr(self, f"_{node_type}", None)
        if handler is None:
            return Effect(known=node_type in _NO_LOCKS, transactional=node_type not in _OUTSIDE_TRANSACTION)
        effect = Effect()
        handler(node, effect)
        return effect

    # -- tables ----------------------------------------------------------
    def _CreateStmt(self, node: Node, e: Effect) -> None:
        for element in node.get("tableElts") or ():
            kind, value = unwrap(element)
            constraints = []
            if kind == "ColumnDef":
                constraints = [unwrap(c)[1] for c in value.get("constraints") or ()]
            elif kind == "Constraint":
                constraints = [value]
            elif kind == "TableLikeClause" and value.get("relation"):
                e.add(ast.relation_name(value["relation"]), ACCESS_SHARE, "source")
            for con in constraints:
                if con.get("contype") == "CONSTR_FOREIGN" and con.get("pktable"):
                    e.add(ast.relation_name(con["pktable"]), SHARE_ROW_EXCLUSIVE, "referenced")
        for parent in node.get("inhRelations") or ():
            parent_name = ast.relation_name(parent)
            mode = ACCESS_EXCLUSIVE if node.get("partbound") else SHARE_UPDATE_EXCLUSIVE
            e.add(parent_name, mode, "parent")
            if node.get("partbound"):
                e.notes.append("creating a partition locks the parent table")
        if node.get("partbound") and self._has_default_partition_unknown():
            pass

    def _has_default_partition_unknown(self) -> bool:
        return False

    def _CreateTableAsStmt(self, node: Node, e: Effect) -> None:
        self._reads_from(node.get("query"), e)
        e.scans = True
        if node.get("objtype") == "OBJECT_MATVIEW" and (node.get("into") or {}).get("skipData"):
            e.scans = False

    def _TruncateStmt(self, node: Node, e: Effect) -> None:
        for rel in node.get("relations") or ():
            name = ast.relation_name(rel)
            e.add(name, ACCESS_EXCLUSIVE)
            e.targets.append(ast.table_key(name))
        if node.get("behavior") == "DROP_CASCADE":  # and, transitively, the tables referencing them
            for name in self._referencing(e.targets, transitive=True):
                e.add(name, ACCESS_EXCLUSIVE)
                e.targets.append(name)
        e.rewrites = True  # new, empty relfilenode

    def _DropStmt(self, node: Node, e: Effect) -> None:
        remove = node.get("removeType")
        concurrent = bool(node.get("concurrent"))
        for obj in node.get("objects") or ():
            kind, value = unwrap(obj)
            names = ast.strings(value.get("items")) if kind == "List" else ast.strings([obj])
            name = ".".join(names)
            if remove in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE", "OBJECT_FOREIGN_TABLE"):
                e.add(name, ACCESS_EXCLUSIVE, "table" if remove == "OBJECT_TABLE" else remove[7:].lower())
                e.targets.append(ast.table_key(name))
                if remove == "OBJECT_TABLE":
                    self._drop_table_references(name, e)
                    if node.get("behavior") == "DROP_CASCADE":
                        for other in self._referencing([ast.table_key(name)]):
                            e.add(other, ACCESS_EXCLUSIVE, "referencing")
            elif remove == "OBJECT_INDEX":
                table = self._index_table(name)
                if concurrent:
                    e.transactional = False
                    if table:
                        e.add(table, SHARE_UPDATE_EXCLUSIVE)
                        e.targets.append(table)
                    e.add(name, ACCESS_EXCLUSIVE, "index")
                else:
                    if table:
                        e.add(table, ACCESS_EXCLUSIVE)
                        e.targets.append(table)
                    e.add(name, ACCESS_EXCLUSIVE, "index")
                    if not table:
                        e.notes.append(f"the table of index {name} is not known: it is locked ACCESS EXCLUSIVE too")
            elif remove in ("OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE"):
                # objects = [table..., name]
                table = ".".join(names[:-1])
                if table:
                    mode = ACCESS_EXCLUSIVE if remove != "OBJECT_TRIGGER" else ACCESS_EXCLUSIVE
                    e.add(table, mode)
                    e.targets.append(ast.table_key(table))
            elif remove in _CATALOG_ONLY_DROPS:
                if node.get("behavior") == "DROP_CASCADE":
                    e.known = False  # dependent columns, tables, triggers... are dropped too
            else:
                e.known = False

    def _drop_table_references(self, name: str, e: Effect) -> None:
        table = self.schema.table(name) if self.schema is not None else None
        if table is None:
            return
        for constraint in table.constraints:
            if constraint.kind == "CONSTR_FOREIGN" and constraint.references and constraint.references != ast.table_key(name):
                e.add(constraint.references, ACCESS_EXCLUSIVE, "referenced")

    def _referencing(self, tables: list[str], transitive: bool = False) -> list[str]:
        """Tables (schema-model keys) whose foreign keys reference one of `tables`."""
        found: list[str] = []
        pending = [ast.table_key(t) for t in tables]
        while pending and self.schema is not None:
            target = pending.pop()
            for table in self.schema.tables.values():
                if table.name in found or table.name in tables:
                    continue
                if any(c.kind == "CONSTR_FOREIGN" and c.references == target for c in table.constraints):
                    found.append(table.name)
                    if transitive:
                        pending.append(table.name)
        return found

    def _index_table(self, name: str) -> str | None:
        if self.schema is None:
            return None
        index = self.schema.index(name)
        return index.table if index else None

    def _RenameStmt(self, node: Node, e: Effect) -> None:
        rename = node.get("renameType")
        relation = node.get("relation")
        if rename in ("OBJECT_TABLE", "OBJECT_COLUMN", "OBJECT_TABCONSTRAINT", "OBJECT_VIEW",
                      "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE", "OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE"):
            name = ast.relation_name(relation)
            mode = ACCESS_EXCLUSIVE
            if rename == "OBJECT_TABCONSTRAINT":
                mode = ACCESS_EXCLUSIVE
            e.add(name, mode)
            e.targets.append(ast.table_key(name))
        elif rename == "OBJECT_INDEX":
            e.add(ast.relation_name(relation), SHARE_UPDATE_EXCLUSIVE if self.pg >= 12 else ACCESS_EXCLUSIVE, "index")
        elif rename == "OBJECT_SEQUENCE":
            e.add(ast.relation_name(relation), ACCESS_EXCLUSIVE, "sequence")
        elif rename in _CATALOG_ONLY_RENAMES:
            pass
        else:
            e.known = False

    def _AlterObjectSchemaStmt(self, node: Node, e: Effect) -> None:
        if node.get("relation"):
            e.add(ast.relation_name(node["relation"]), ACCESS_EXCLUSIVE)
        elif node.get("objectType") not in _CATALOG_ONLY_RENAMES:
            e.known = False

    def _AlterOwnerStmt(self, node: Node, e: Effect) -> None:
        if node.get("relation"):
            e.add(ast.relation_name(node["relation"]), ACCESS_EXCLUSIVE)

    # -- ALTER TABLE -----------------------------------------------------
    def _AlterTableStmt(self, node: Node, e: Effect) -> None:
        objtype = node.get("objtype", "OBJECT_TABLE")
        name = ast.relation_name(node.get("relation"))
        role = {"OBJECT_INDEX": "index", "OBJECT_VIEW": "view", "OBJECT_MATVIEW": "view",
                "OBJECT_SEQUENCE": "sequence"}.get(objtype, "table")
        mode = SHARE_UPDATE_EXCLUSIVE
        for item in node.get("cmds") or ():
            _, cmd = unwrap(item)
            cmd_mode = self._alter_cmd(name, cmd, e, objtype)
            if cmd_mode is None:
                e.known = False
                cmd_mode = ACCESS_EXCLUSIVE
            if STRENGTH[cmd_mode] > STRENGTH[mode]:
                mode = cmd_mode
        # the target goes first in the lock list
        e.locks.insert(0, RelationLock(name, mode, role))
        merged: list[RelationLock] = []
        for lock in e.locks:
            for other in merged:
                if other.relation == lock.relation:
                    if STRENGTH[lock.mode] > STRENGTH[other.mode]:
                        other.mode = lock.mode
                    break
            else:
                merged.append(lock)
        e.locks = merged
        e.targets.insert(0, ast.table_key(name))

    def _alter_cmd(self, table: str, cmd: Node, e: Effect, objtype: str) -> str | None:
        subtype = cmd.get("subtype", "")
        if subtype == "AT_AddColumn":
            _, coldef = unwrap(cmd.get("def"))
            self._add_column(coldef, e)
            return ACCESS_EXCLUSIVE
        if subtype == "AT_AlterColumnType":
            _, coldef = unwrap(cmd.get("def"))
            if self._type_change_rewrites(table, cmd.get("name"), coldef):
                e.rewrites = True
                e.scans = True
            elif self.type_change_rechecks(table, cmd.get("name"), coldef):
                e.scans = True  # no rewrite, but indexes are rebuilt or CHECK constraints checked again
            return ACCESS_EXCLUSIVE
        if subtype == "AT_SetExpression":
            # a stored generated column is computed again for every row (a rewrite); a virtual one
            # (PostgreSQL 18) is computed on read
            if self._column_generated(table, cmd.get("name")) != "v":
                e.rewrites = True
                e.scans = True
            return ACCESS_EXCLUSIVE
        if subtype == "AT_SetNotNull":
            if not self._has_validated_not_null_check(table, cmd.get("name")):
                e.scans = True
            return ACCESS_EXCLUSIVE
        if subtype == "AT_AddConstraint":
            _, con = unwrap(cmd.get("def"))
            return self._add_constraint(table, con, e)
        if subtype == "AT_ValidateConstraint":
            e.scans = True
            referenced = self._fk_referenced(table, cmd.get("name"))
            if referenced:
                e.add(referenced, ROW_SHARE, "referenced")
            return SHARE_UPDATE_EXCLUSIVE
        if subtype == "AT_DropConstraint":
            referenced = self._fk_referenced(table, cmd.get("name"))
            if referenced:
                e.add(referenced, ACCESS_EXCLUSIVE, "referenced")
            return ACCESS_EXCLUSIVE
        if subtype in ("AT_SetRelOptions", "AT_ResetRelOptions"):
            _, options = unwrap(cmd.get("def"))
            items = options.get("items") if isinstance(options, dict) else options
            names = [unwrap(i)[1].get("defname", "") for i in items or ()]
            if all(_reloption_is_light(n) for n in names):
                return SHARE_UPDATE_EXCLUSIVE
            return ACCESS_EXCLUSIVE
        if subtype in ("AT_SetLogged", "AT_SetUnLogged", "AT_SetTableSpace", "AT_SetAccessMethod"):
            e.rewrites = True
            e.scans = True
            return ACCESS_EXCLUSIVE
        if subtype == "AT_AttachPartition":
            _, part = unwrap(cmd.get("def"))
            if objtype == "OBJECT_INDEX":
                if part.get("name"):
                    index = ast.relation_name(part["name"])
                    e.add(index, ACCESS_EXCLUSIVE, "index")
                    for owner in (self._index_table(table), self._index_table(index)):
                        if owner:
                            e.add(owner, ACCESS_SHARE)
                return SHARE_UPDATE_EXCLUSIVE
            if part.get("name"):
                partition = ast.relation_name(part["name"])
                e.add(partition, ACCESS_EXCLUSIVE, "partition")
            e.scans = True  # the partition is scanned unless a constraint proves the bound
            return SHARE_UPDATE_EXCLUSIVE if self.pg >= 12 else ACCESS_EXCLUSIVE
        if subtype == "AT_DetachPartition":
            _, part = unwrap(cmd.get("def"))
            concurrent = bool(part.get("concurrent"))
            if part.get("name"):
                partition = ast.relation_name(part["name"])
                # CONCURRENTLY too, in its second transaction; before PostgreSQL 14 the partition was
                # opened SHARE UPDATE EXCLUSIVE (only the parent's lock kept its queries out)
                e.add(partition, ACCESS_EXCLUSIVE if self.pg >= 14 else SHARE_UPDATE_EXCLUSIVE, "partition")
            if concurrent:
                e.transactional = False
                return SHARE_UPDATE_EXCLUSIVE
            return ACCESS_EXCLUSIVE
        if subtype == "AT_DetachPartitionFinalize":
            _, part = unwrap(cmd.get("def"))
            if part.get("name"):
                e.add(ast.relation_name(part["name"]), ACCESS_EXCLUSIVE, "partition")
            return SHARE_UPDATE_EXCLUSIVE
        if subtype in ("AT_AddInherit", "AT_DropInherit") and cmd.get("def"):
            parent = ast.relation_name(cmd["def"])
            e.add(parent, SHARE_UPDATE_EXCLUSIVE if subtype == "AT_AddInherit" else ACCESS_SHARE, "parent")
        if subtype == "AT_ClusterOn" and cmd.get("name"):
            e.add(cmd["name"], SHARE_UPDATE_EXCLUSIVE, "index")
        if subtype == "AT_ReplicaIdentity":
            _, identity = unwrap(cmd.get("def"))
            if identity.get("name"):
                e.add(identity["name"], SHARE, "index")
        if subtype in _AT_LOCKS:
            return _AT_LOCKS[subtype]
        return None

    def _add_column(self, coldef: Node, e: Effect) -> None:
        type_name = ast.type_name(coldef.get("typeName"))
        if type_name in _SERIAL_TYPES:
            e.rewrites = True
            e.scans = True
            e.notes.append(f"{type_name} fills every existing row from a sequence")
        for item in coldef.get("constraints") or ():
            _, con = unwrap(item)
            contype = con.get("contype")
            if contype == "CONSTR_DEFAULT":
                expr = con.get("raw_expr")
                if self.pg < 11 and not _is_null(expr):
                    e.rewrites = True
                    e.scans = True
                elif volatile_expression(expr):
                    e.rewrites = True
                    e.scans = True
            elif contype == "CONSTR_IDENTITY":
                e.rewrites = True
                e.scans = True
            elif contype == "CONSTR_GENERATED":
                # STORED ("s") computes every row now; VIRTUAL ("v", PostgreSQL 18) computes on read
                if con.get("generated_kind", "s") != "v":
                    e.rewrites = True
                    e.scans = True
            elif contype == "CONSTR_FOREIGN" and con.get("pktable"):
                e.add(ast.relation_name(con["pktable"]), SHARE_ROW_EXCLUSIVE, "referenced")
            elif contype in ("CONSTR_UNIQUE", "CONSTR_PRIMARY", "CONSTR_CHECK"):
                e.scans = True

    def _add_constraint(self, table: str, con: Node, e: Effect) -> str:
        contype = con.get("contype")
        not_valid = bool(con.get("skip_validation"))
        if contype == "CONSTR_FOREIGN":
            if con.get("pktable"):
                e.add(ast.relation_name(con["pktable"]), SHARE_ROW_EXCLUSIVE, "referenced")
            if not not_valid:
                e.scans = True
            return SHARE_ROW_EXCLUSIVE
        if contype == "CONSTR_CHECK":
            if not not_valid:
                e.scans = True
            return ACCESS_EXCLUSIVE
        if contype in ("CONSTR_UNIQUE", "CONSTR_PRIMARY"):
            if not con.get("indexname"):
                e.scans = True  # builds the index
            else:
                # USING INDEX: the index is read, and renamed to the constraint's name if that differs
                renamed = con.get("conname") not in (None, con["indexname"])
                e.add(con["indexname"], SHARE_UPDATE_EXCLUSIVE if renamed else ACCESS_SHARE, "index")
                if contype == "CONSTR_PRIMARY" and self._nullable_index_column(table, con["indexname"]):
                    e.scans = True  # the primary key sets NOT NULL on its columns: every row is checked
            return ACCESS_EXCLUSIVE
        if contype == "CONSTR_EXCLUSION":
            e.scans = True
            return ACCESS_EXCLUSIVE
        if contype == "CONSTR_NOTNULL":
            e.scans = True
            return ACCESS_EXCLUSIVE
        return ACCESS_EXCLUSIVE

    def _fk_referenced(self, table: str, constraint_name: str | None) -> str | None:
        if self.schema is None or not constraint_name:
            return None
        model = self.schema.table(table)
        if model is None:
            return None
        for constraint in model.constraints:
            if constraint.name == constraint_name and constraint.kind == "CONSTR_FOREIGN":
                return constraint.references
        return None

    def _nullable_index_column(self, table: str, index_name: str) -> bool:
        """Is a column of the index known (from the schema model) to allow NULLs?"""
        index = self.schema.index(index_name) if self.schema is not None else None
        for column in index.columns if index is not None else ():
            found = self._column(table, column)
            if found is not None and not found.not_null:
                return True
        return False

    def _column(self, table: str, column: str | None) -> Any:
        """The schema model's column, None when the table or the column is not known."""
        model = self.schema.table(table) if self.schema is not None and column else None
        return model.columns.get(column) if model is not None else None

    def _column_generated(self, table: str, column: str | None) -> str | None:
        found = self._column(table, column)
        return found.generated if found is not None else None

    def _has_validated_not_null_check(self, table: str, column: str | None) -> bool:
        if self.pg < 12 or self.schema is None or not column:
            return False
        model = self.schema.table(table)
        if model is None:
            return False
        if column in model.columns and model.columns[column].not_null:
            return True  # already NOT NULL: nothing to check
        return any(
            c.kind == "CONSTR_CHECK" and c.validated and c.not_null_column == column for c in model.constraints
        )

    def type_change_rechecks(self, table: str, column: str | None, coldef: Node) -> list[str]:
        """What a type change without a rewrite still reads the whole table for: the indexes on the column it
        rebuilds (the new type sorts with another operator class, or another collation is given) and the CHECK
        constraints on the column it checks again. Known only from the schema model."""
        model = self.schema.table(table) if self.schema is not None and column else None
        if model is None or column not in model.columns:
            return []
        out = []
        old, new = model.columns[column].type, ast.type_name(coldef.get("typeName"))
        if coldef.get("collClause") or operator_family(old) != operator_family(new):
            out += [f"index {ix.name}" for ix in self.schema.indexes_of(table) if column in ix.columns]
        out += [f"constraint {c.name or 'CHECK'}" for c in model.constraints
                if c.kind == "CONSTR_CHECK" and column in c.columns]
        return out

    def _type_change_rewrites(self, table: str, column: str | None, coldef: Node) -> bool:
        new_type = ast.type_name(coldef.get("typeName"))
        using = coldef.get("raw_default")  # USING expression
        if using is not None and not plain_cast(using, column or "", new_type):
            return True
        old_type = None
        if self.schema is not None and column:
            model = self.schema.table(table)
            if model is not None and column in model.columns:
                old_type = model.columns[column].type
        if old_type is None:
            return True  # unknown old type: assume the worst
        return type_change_rewrites(old_type, new_type, pg_version=self.pg, timezone_utc=self.settings.timezone_utc)

    # -- indexes ---------------------------------------------------------
    def _IndexStmt(self, node: Node, e: Effect) -> None:
        name = ast.relation_name(node.get("relation"))
        if node.get("concurrent"):
            e.add(name, SHARE_UPDATE_EXCLUSIVE)
            e.transactional = False
        else:
            e.add(name, SHARE)
        e.scans = True
        e.targets.append(ast.table_key(name))

    def _ReindexStmt(self, node: Node, e: Effect) -> None:
        kind = node.get("kind", "")
        concurrent = ast.option_true(node.get("params"), "concurrently")
        relation = node.get("relation")
        e.scans = True
        e.rewrites = True  # new index files
        if concurrent:
            e.transactional = False
        if kind == "REINDEX_OBJECT_INDEX" and relation:
            index = ast.relation_name(relation)
            table = self._index_table(index)
            if concurrent:
                if table:
                    e.add(table, SHARE_UPDATE_EXCLUSIVE)
                e.add(index, SHARE_UPDATE_EXCLUSIVE, "index")
            else:
                if table:
                    e.add(table, SHARE)
                e.add(index, ACCESS_EXCLUSIVE, "index")
        elif kind == "REINDEX_OBJECT_TABLE" and relation:
            table = ast.relation_name(relation)
            e.add(table, SHARE_UPDATE_EXCLUSIVE if concurrent else SHARE)
            e.targets.append(ast.table_key(table))
        else:  # SCHEMA, DATABASE, SYSTEM: one transaction per table, committed as it goes
            e.transactional = False
            e.known = False

    def _ClusterStmt(self, node: Node, e: Effect) -> None:
        if node.get("relation"):
            e.add(ast.relation_name(node["relation"]), ACCESS_EXCLUSIVE)
            if node.get("indexname"):
                e.add(node["indexname"], ACCESS_EXCLUSIVE, "index")
            e.rewrites = True
            e.scans = True
        else:
            e.known = False
            e.transactional = False

    def _VacuumStmt(self, node: Node, e: Effect) -> None:
        is_vacuum = bool(node.get("is_vacuumcmd"))
        full = ast.option_true(node.get("options"), "full")
        mode = ACCESS_EXCLUSIVE if full else SHARE_UPDATE_EXCLUSIVE
        e.transactional = not is_vacuum
        e.scans = True
        if full:
            e.rewrites = True
        for rel in node.get("rels") or ():
            _, vrel = unwrap(rel)
            if vrel.get("relation"):
                e.add(ast.relation_name(vrel["relation"]), mode)
        if not node.get("rels"):
            e.known = False

    # -- views -----------------------------------------------------------
    def _ViewStmt(self, node: Node, e: Effect) -> None:
        view = ast.relation_name(node.get("view"))
        if node.get("replace"):
            e.notes.append("CREATE OR REPLACE VIEW locks an existing view ACCESS EXCLUSIVE")
            if self.schema is not None and self.schema.table(view) is not None:
                e.add(view, ACCESS_EXCLUSIVE, "view")
        self._reads_from(node.get("query"), e, exclude={view})

    def _RefreshMatViewStmt(self, node: Node, e: Effect) -> None:
        name = ast.relation_name(node.get("relation"))
        e.add(name, EXCLUSIVE if node.get("concurrent") else ACCESS_EXCLUSIVE, "view")
        e.rewrites = not node.get("concurrent")
        # WITH NO DATA swaps in an empty file without running the view's query
        e.scans = not node.get("skipData")

    # -- types, sequences, misc DDL -----------------------------------------
    def _AlterEnumStmt(self, node: Node, e: Effect) -> None:
        if node.get("newVal") is not None and not node.get("oldVal"):
            e.transactional = self.pg >= 12

    def _AlterSeqStmt(self, node: Node, e: Effect) -> None:
        e.add(ast.relation_name(node.get("sequence")), SHARE_ROW_EXCLUSIVE, "sequence")
        self._CreateSeqStmt(node, e)

    def _CommentStmt(self, node: Node, e: Effect) -> None:
        objtype = node.get("objtype", "")
        obj = node.get("object")
        kind, value = unwrap(obj)
        names = ast.strings(value.get("items")) if kind == "List" else []
        if objtype in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_INDEX", "OBJECT_SEQUENCE",
                       "OBJECT_FOREIGN_TABLE"):
            e.add(".".join(names), SHARE_UPDATE_EXCLUSIVE, "index" if objtype == "OBJECT_INDEX" else "table")
        elif objtype == "OBJECT_COLUMN" and len(names) >= 2:
            e.add(".".join(names[:-1]), SHARE_UPDATE_EXCLUSIVE)
        elif objtype in ("OBJECT_TABCONSTRAINT", "OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE") and len(names) >= 2:
            e.add(".".join(names[:-1]), ACCESS_SHARE)

    def _GrantStmt(self, node: Node, e: Effect) -> None:
        # privileges are catalog rows; PostgreSQL 18 opens each named relation ACCESS SHARE while it changes
        # them (ON ALL TABLES IN SCHEMA does not)
        if node.get("targtype") != "ACL_TARGET_OBJECT" or self.pg < 18:
            return
        if node.get("objtype") in ("OBJECT_TABLE", "OBJECT_SEQUENCE"):
            for obj in node.get("objects") or ():
                if ast.unwrap(obj)[0] == "RangeVar":
                    e.add(ast.relation_name(obj), ACCESS_SHARE,
                          "sequence" if node["objtype"] == "OBJECT_SEQUENCE" else "table")

    def _CreateStatsStmt(self, node: Node, e: Effect) -> None:
        # the statistics object is a catalog row; its table is locked against concurrent DDL meanwhile
        for rel in node.get("relations") or ():
            if unwrap(rel)[0] == "RangeVar":
                e.add(ast.relation_name(rel), SHARE_UPDATE_EXCLUSIVE)

    def _CreatePolicyStmt(self, node: Node, e: Effect) -> None:
        name = ast.relation_name(node.get("table"))
        e.add(name, ACCESS_EXCLUSIVE)
        e.targets.append(ast.table_key(name))

    def _AlterPolicyStmt(self, node: Node, e: Effect) -> None:
        self._CreatePolicyStmt(node, e)

    def _CreateTrigStmt(self, node: Node, e: Effect) -> None:
        name = ast.relation_name(node.get("relation"))
        e.add(name, SHARE_ROW_EXCLUSIVE)
        e.targets.append(ast.table_key(name))

    def _RuleStmt(self, node: Node, e: Effect) -> None:
        e.add(ast.relation_name(node.get("relation")), ACCESS_EXCLUSIVE)

    def _LockStmt(self, node: Node, e: Effect) -> None:
        mode = _LOCK_NUMBERS.get(node.get("mode", 8), ACCESS_EXCLUSIVE)
        for rel in node.get("relations") or ():
            e.add(ast.relation_name(rel), mode)

    def _CreateSeqStmt(self, node: Node, e: Effect) -> None:
        owned_by = ast.strings([ast.def_elems(node.get("options")).get("owned_by")])
        if len(owned_by) >= 2:  # OWNED BY [schema.]table.column (not NONE): the table is opened ACCESS SHARE
            e.add(".".join(owned_by[:-1]), ACCESS_SHARE)

    def _CreateEnumStmt(self, node: Node, e: Effect) -> None:
        pass

    def _CreateFunctionStmt(self, node: Node, e: Effect) -> None:
        # a LANGUAGE sql body is parsed and analysed at creation (check_function_bodies, on by default),
        # which locks the relations it uses as its statements would
        options = ast.def_elems(node.get("options"))
        statements: list[tuple[str, Node]] = []
        if node.get("sql_body") is not None:  # BEGIN ATOMIC ... END: lists of statements
            pending = [node["sql_body"]]
            while pending:
                kind, value = unwrap(pending.pop(0))
                if kind == "List":
                    pending[:0] = value.get("items") or ()
                elif kind:
                    statements.append((kind, value))
        elif [s.lower() for s in ast.strings([options.get("language")])] == ["sql"]:
            from migration_lint.syntax.parse import parse  # local import: rarely needed

            parsed = parse("".join(ast.strings([options.get("as")])))
            statements = [(s.node_type, s.node) for s in parsed.statements]
        for kind, body in statements:
            for lock in self.effect(kind, body).locks:
                e.add(lock.relation, lock.mode, "source")

    def _AlterDomainStmt(self, node: Node, e: Effect) -> None:
        # adding (or validating) a CHECK, or SET NOT NULL, checks every column of the domain (and of domains
        # over it): SHARE on their tables, and a scan of each
        subtype = node.get("subtype")
        _, con = unwrap(node.get("def"))
        if subtype not in ("C", "V", "O") or (subtype == "C" and (con or {}).get("skip_validation")):
            return
        domain = ".".join(ast.strings(node.get("typeName")))
        if self.schema is None or not self.schema.knows_domain(domain):
            e.known = False  # created outside the migrations: which tables use it is unknown
            return
        for table, _column in self.schema.domain_columns(domain):
            e.add(table.name, SHARE)
            e.scans = True

    def _CreatePublicationStmt(self, node: Node, e: Effect) -> None:
        for obj in node.get("pubobjects") or ():
            _, spec = unwrap(obj)
            if (spec.get("pubtable") or {}).get("relation"):
                e.add(ast.relation_name(spec["pubtable"]["relation"]), SHARE_UPDATE_EXCLUSIVE)

    def _DiscardStmt(self, node: Node, e: Effect) -> None:
        e.transactional = node.get("target") != "DISCARD_ALL"

    def _ExplainStmt(self, node: Node, e: Effect) -> None:
        # planning takes the statement's locks; ANALYZE also runs it
        kind, query = unwrap(node.get("query"))
        inner = self.effect(kind, query) if kind else Effect(known=False)
        for lock in inner.locks:
            e.add(lock.relation, lock.mode, lock.role)
        e.known = inner.known
        if "analyze" in ast.def_elems(node.get("options")):
            e.rewrites, e.scans, e.row_locks_all = inner.rewrites, inner.scans, inner.row_locks_all
            e.targets.extend(inner.targets)

    # -- data ------------------------------------------------------------
    def _InsertStmt(self, node: Node, e: Effect) -> None:
        name = ast.relation_name(node.get("relation"))
        e.add(name, ROW_EXCLUSIVE)
        e.targets.append(ast.table_key(name))
        self._reads_from(node.get("selectStmt"), e, exclude={name} | self._with(node, e, name))
        self._fk_checks(name, None, e)

    def _fk_checks(self, table: str, columns: set[str] | None, e: Effect) -> None:
        """Rows written with a foreign key are checked with SELECT ... FOR KEY SHARE: ROW SHARE on the referenced table."""
        model = self.schema.table(table) if self.schema is not None else None
        for constraint in model.constraints if model is not None else ():
            if constraint.kind == "CONSTR_FOREIGN" and constraint.references and (
                columns is None or columns & set(constraint.columns)
            ):
                e.add(constraint.references, ROW_SHARE, "referenced")

    def _UpdateStmt(self, node: Node, e: Effect) -> None:
        name = ast.relation_name(node.get("relation"))
        e.add(name, ROW_EXCLUSIVE)
        e.targets.append(ast.table_key(name))
        # a foreign key column set to NULL is not checked against the referenced table
        assigned = [unwrap(t)[1] for t in node.get("targetList") or ()]
        self._fk_checks(name, {t.get("name") for t in assigned if not _is_null(t.get("val"))}, e)
        if node.get("whereClause") is None:
            e.row_locks_all = True
            e.scans = True
        exclude = {name} | self._with(node, e, name)
        self._reads_from(node.get("fromClause"), e, exclude=exclude)
        # tables read by subqueries in SET and WHERE are locked ACCESS SHARE too
        self._reads_from(node.get("whereClause"), e, exclude=exclude)
        self._reads_from(node.get("targetList"), e, exclude=exclude)

    def _DeleteStmt(self, node: Node, e: Effect) -> None:
        name = ast.relation_name(node.get("relation"))
        e.add(name, ROW_EXCLUSIVE)
        e.targets.append(ast.table_key(name))
        if node.get("whereClause") is None:
            e.row_locks_all = True
            e.scans = True
        exclude = {name} | self._with(node, e, name)
        self._reads_from(node.get("usingClause"), e, exclude=exclude)
        self._reads_from(node.get("whereClause"), e, exclude=exclude)

    def _MergeStmt(self, node: Node, e: Effect) -> None:
        name = ast.relation_name(node.get("relation"))
        e.add(name, ROW_EXCLUSIVE)
        e.targets.append(ast.table_key(name))
        self._reads_from(node.get("sourceRelation"), e, exclude={name} | self._with(node, e, name))

    def _CopyStmt(self, node: Node, e: Effect) -> None:
        if node.get("relation"):
            name = ast.relation_name(node["relation"])
            e.add(name, ROW_EXCLUSIVE if node.get("is_from") else ACCESS_SHARE)
            if node.get("is_from"):
                e.targets.append(ast.table_key(name))
            elif self.pg < 13:
                # PostgreSQL 12 closes the table with its lock at the end of COPY ... TO
                e.locks[-1].until_commit = False
                e.notes.append("COPY ... TO releases its ACCESS SHARE lock when it ends (PostgreSQL 12)")
        else:
            self._reads_from(node.get("query"), e)

    def _SelectStmt(self, node: Node, e: Effect) -> None:
        mode = ACCESS_SHARE
        if node.get("lockingClause"):
            mode = ROW_SHARE
        self._data_ctes(node.get("withClause"), e)
        into = (node.get("intoClause") or {}).get("rel")
        self._reads_from(node, e, mode=mode, exclude={ast.relation_name(into)} if into else None)

    def _data_ctes(self, with_clause: Node | None, e: Effect) -> None:
        """`WITH x AS (DELETE … RETURNING …)`: a data-modifying CTE takes its statement's locks, whatever reads it."""
        for item in (with_clause or {}).get("ctes") or ():
            _, cte = unwrap(item)
            kind, query = unwrap(cte.get("ctequery"))
            if kind in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
                inner = self.effect(kind, query)
                e.merge([inner], e.known)

    def _with(self, node: Node, e: Effect, target: str) -> set[str]:
        """A data statement's WITH clause: its SELECT queries read their tables; returns the names it defines
        (which are not relations)."""
        with_clause = node.get("withClause") or {}
        names: set[str] = {c["ctename"] for _, c in ast.walk(with_clause) if c.get("ctename")}
        self._data_ctes(with_clause, e)
        for item in with_clause.get("ctes") or ():
            _, cte = unwrap(item)
            kind, query = unwrap(cte.get("ctequery"))
            if kind == "SelectStmt":
                self._reads_from(query, e, exclude={target} | names)
        return names

    def _reads_from(self, node: Any, e: Effect, exclude: set[str] | None = None, mode: str = ACCESS_SHARE) -> None:
        if node is None:
            return
        ctes = {c.get("ctename") for _, c in ast.walk(node) if "ctename" in c}
        for rv in ast.rangevars(node):
            name = ast.relation_name(rv)
            if name in (exclude or ()) or name in ctes:
                continue
            e.add(name, mode, "source")

    def _DoStmt(self, node: Node, e: Effect) -> None:
        e.known = False  # what it runs: the statements of its body (see Effect.merge), when they are all known

    # the locks of a DO block are those of the statements it runs, held until its transaction ends

    def _CreateExtensionStmt(self, node: Node, e: Effect) -> None:
        e.known = False  # the extension's script can do anything

    def _TransactionStmt(self, node: Node, e: Effect) -> None:
        e.known = True
        e.transactional = node.get("kind") not in ("TRANS_STMT_COMMIT_PREPARED", "TRANS_STMT_ROLLBACK_PREPARED")

    def _CreateSubscriptionStmt(self, node: Node, e: Effect) -> None:
        # creating the replication slot on the publisher cannot be rolled back (connect = false creates none)
        options = node.get("options")
        connect = ast.option_value(options, "connect", default=True)
        e.transactional = not (connect is not False and ast.option_value(options, "create_slot", default=True) is not False)
        e.known = False  # the tables it subscribes to are the publisher's

    def _DropSubscriptionStmt(self, node: Node, e: Effect) -> None:
        # dropping its replication slot on the publisher cannot be rolled back: refused in a transaction block
        # unless the subscription has no slot (slot_name = NONE, which only the catalog knows)
        e.transactional = False
        e.known = False


# Statements that take no lock on any user relation.
_NO_LOCKS = frozenset(
    {"TransactionStmt", "VariableSetStmt", "VariableShowStmt", "CreateSchemaStmt", "CreateFunctionStmt",
     "CreateDomainStmt", "CompositeTypeStmt", "CreateRoleStmt", "AlterRoleStmt", "DropRoleStmt",
     "AlterDefaultPrivilegesStmt", "CreateCastStmt", "DefineStmt", "AlterFunctionStmt", "NotifyStmt",
     "ListenStmt", "CreateRangeStmt", "AlterDomainStmt", "CreateConversionStmt", "CreateFdwStmt",
     "CreateForeignServerStmt", "CreateUserMappingStmt", "CreatePublicationStmt", "CreateEventTrigStmt",
     "AlterExtensionStmt", "CommentStmt", "CheckPointStmt", "DiscardStmt", "AlterDatabaseSetStmt",
     "AlterRoleSetStmt", "CreatedbStmt", "DropdbStmt", "CreateTableSpaceStmt", "DropTableSpaceStmt",
     "AlterSystemStmt", "ExplainStmt"}
)
# Statements of _NO_LOCKS that cannot run inside a transaction block.
_OUTSIDE_TRANSACTION = frozenset({"CreatedbStmt", "DropdbStmt", "CreateTableSpaceStmt", "DropTableSpaceStmt", "AlterSystemStmt"})
_CATALOG_ONLY_DROPS = frozenset(
    {"OBJECT_TYPE", "OBJECT_DOMAIN", "OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE", "OBJECT_SCHEMA",
     "OBJECT_EXTENSION", "OBJECT_AGGREGATE", "OBJECT_OPERATOR", "OBJECT_COLLATION", "OBJECT_CAST",
     "OBJECT_CONVERSION", "OBJECT_PUBLICATION", "OBJECT_EVENT_TRIGGER", "OBJECT_FOREIGN_SERVER",
     "OBJECT_FDW", "OBJECT_STATISTIC_EXT", "OBJECT_TSCONFIGURATION", "OBJECT_TSDICTIONARY"}
)
_CATALOG_ONLY_RENAMES = frozenset(
    {"OBJECT_TYPE", "OBJECT_DOMAIN", "OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE", "OBJECT_SCHEMA",
     "OBJECT_ATTRIBUTE", "OBJECT_ROLE", "OBJECT_DATABASE", "OBJECT_AGGREGATE", "OBJECT_COLLATION",
     "OBJECT_CONVERSION", "OBJECT_PUBLICATION", "OBJECT_SUBSCRIPTION", "OBJECT_EXTENSION", "OBJECT_DOMCONSTRAINT",
     "OBJECT_TABLESPACE", "OBJECT_EVENT_TRIGGER", "OBJECT_STATISTIC_EXT"}
)

# ALTER TABLE subcommands whose lock does not depend on their arguments (tablecmds.c, AlterTableGetLockLevel).
_AT_LOCKS = {
    "AT_DropColumn": ACCESS_EXCLUSIVE,
    "AT_ColumnDefault": ACCESS_EXCLUSIVE,
    "AT_CookedColumnDefault": ACCESS_EXCLUSIVE,
    "AT_DropNotNull": ACCESS_EXCLUSIVE,
    "AT_SetStorage": ACCESS_EXCLUSIVE,
    "AT_SetCompression": ACCESS_EXCLUSIVE,
    "AT_SetStatistics": SHARE_UPDATE_EXCLUSIVE,
    "AT_SetOptions": SHARE_UPDATE_EXCLUSIVE,
    "AT_ResetOptions": SHARE_UPDATE_EXCLUSIVE,
    "AT_ClusterOn": SHARE_UPDATE_EXCLUSIVE,
    "AT_DropCluster": SHARE_UPDATE_EXCLUSIVE,
    "AT_EnableTrig": SHARE_ROW_EXCLUSIVE,
    "AT_EnableAlwaysTrig": SHARE_ROW_EXCLUSIVE,
    "AT_EnableReplicaTrig": SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigAll": SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigUser": SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrig": SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigAll": SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigUser": SHARE_ROW_EXCLUSIVE,
    "AT_EnableRule": ACCESS_EXCLUSIVE,
    "AT_EnableAlwaysRule": ACCESS_EXCLUSIVE,
    "AT_EnableReplicaRule": ACCESS_EXCLUSIVE,
    "AT_DisableRule": ACCESS_EXCLUSIVE,
    "AT_AlterConstraint": ACCESS_EXCLUSIVE,
    "AT_ReplicaIdentity": ACCESS_EXCLUSIVE,
    "AT_EnableRowSecurity": ACCESS_EXCLUSIVE,
    "AT_DisableRowSecurity": ACCESS_EXCLUSIVE,
    "AT_ForceRowSecurity": ACCESS_EXCLUSIVE,
    "AT_NoForceRowSecurity": ACCESS_EXCLUSIVE,
    "AT_AddIdentity": ACCESS_EXCLUSIVE,
    "AT_SetIdentity": ACCESS_EXCLUSIVE,
    "AT_DropIdentity": ACCESS_EXCLUSIVE,
    "AT_SetExpression": ACCESS_EXCLUSIVE,
    "AT_DropExpression": ACCESS_EXCLUSIVE,
    "AT_ChangeOwner": ACCESS_EXCLUSIVE,
    "AT_GenericOptions": ACCESS_EXCLUSIVE,
    "AT_AlterColumnGenericOptions": ACCESS_EXCLUSIVE,
    "AT_AddInherit": ACCESS_EXCLUSIVE,
    "AT_DropInherit": ACCESS_EXCLUSIVE,
    "AT_AddOf": ACCESS_EXCLUSIVE,
    "AT_DropOf": ACCESS_EXCLUSIVE,
    "AT_AddIndex": ACCESS_EXCLUSIVE,
    "AT_AddIndexConstraint": ACCESS_EXCLUSIVE,
    "AT_DropOids": ACCESS_EXCLUSIVE,
    "AT_AddColumnToView": ACCESS_EXCLUSIVE,
    "AT_ReplaceRelOptions": ACCESS_EXCLUSIVE,
}

# Storage parameters that ALTER TABLE ... SET (...) changes under SHARE UPDATE EXCLUSIVE (reloptions.c).
_LIGHT_RELOPTIONS = frozenset(
    {"fillfactor", "parallel_workers", "vacuum_index_cleanup", "vacuum_truncate", "log_autovacuum_min_duration",
     "toast_tuple_target", "n_distinct", "n_distinct_inherited", "seq_page_cost", "random_page_cost",
     "effective_io_concurrency", "maintenance_io_concurrency"}
)


def _reloption_is_light(name: str) -> bool:
    name = name.lower()
    return name in _LIGHT_RELOPTIONS or name.startswith(("autovacuum_", "toast.autovacuum_"))


_SERIAL_TYPES = frozenset({"serial", "bigserial", "smallserial", "serial2", "serial4", "serial8"})

# Functions whose result does not change per row (immutable or stable): a column default
# built from them is evaluated once and stored in the catalog on PostgreSQL 11+.
_NON_VOLATILE_FUNCTIONS = frozenset(
    {"now", "current_timestamp", "transaction_timestamp", "statement_timestamp", "current_date",
     "localtimestamp", "current_time", "localtime", "lower", "upper", "coalesce", "to_jsonb", "jsonb_build_object",
     "json_build_object", "jsonb_build_array", "json_build_array", "array", "concat", "md5", "to_char",
     "to_timestamp", "make_interval", "current_user", "current_schema", "session_user", "nullif", "greatest",
     "least", "length", "abs", "round", "floor", "ceil", "date_trunc", "timezone", "trim", "btrim", "replace",
     "substring", "left", "right", "format", "encode", "decode", "sha256", "inet", "cidr", "string_to_array",
     "array_to_string", "jsonb_typeof", "pg_catalog.now"}
)
VOLATILE_FUNCTIONS = frozenset(
    {"random", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
     "clock_timestamp", "timeofday", "nextval", "txid_current", "pg_current_xact_id", "uuidv7", "uuidv4",
     "gen_random_bytes", "random_normal", "setseed", "currval", "lastval"}
)


def volatile_expression(expr: Any) -> str | None:
    """Name the volatile (or unknown) function in a default expression, if any.

    Returns None when every function is known to give one value for all rows.
    """
    for kind, value in ast.walk({"_": expr} if expr is not None else {}):
        if kind == "FuncCall":
            names = ast.strings(value.get("funcname"))
            name = names[-1].lower() if names else "?"
            if name in VOLATILE_FUNCTIONS:
                return name
            if name not in _NON_VOLATILE_FUNCTIONS:
                return name
        elif kind in ("SubLink",):
            return "a subquery"
    return None


def _is_null(expr: Any) -> bool:
    kind, value = unwrap(expr)
    return kind == "A_Const" and bool(value.get("isnull"))
