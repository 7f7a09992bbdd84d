"""Small helpers for reading pglast's JSON parse tree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Node = dict[str, Any]


def unwrap(value: Any) -> tuple[str | None, Any]:
    """``{"RangeVar": {...}}`` → ("RangeVar", {...}); anything else → (None, value)."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key[:1].isupper():
            return key, value[key]
    return None, value


def inner(value: Any) -> Any:
    return unwrap(value)[1]


def strings(items: list | None) -> list[str]:
    """A list of ``{"String": {"sval": ...}}`` nodes → their values."""
    out: list[str] = []
    for item in items or ():
        _, value = unwrap(item)
        if isinstance(value, dict):
            if "sval" in value:
                out.append(value["sval"])
            elif "items" in value:  # nested List
                out.extend(strings(value["items"]))
    return out


def relation_name(rangevar: Node | None) -> str:
    """The relation as PostgreSQL resolves it; the schema only where written."""
    if not rangevar:
        return "?"
    _, rv = unwrap(rangevar)
    name = rv.get("relname", "?")
    schema = rv.get("schemaname")
    return f"{schema}.{name}" if schema else name


def table_key(name: str) -> str:
    """Key for the schema model: ``public.x`` and ``x`` are the same table."""
    if name.startswith("public."):
        return name[7:]
    return name


def qualified(names: list[str]) -> str:
    return ".".join(names)


def location(node: Any) -> int | None:
    """The byte offset a node carries, if any (looks one level down into a wrapper)."""
    _, value = unwrap(node)
    if isinstance(value, dict):
        loc = value.get("location")
        if isinstance(loc, int) and loc >= 0:
            return loc
    return None


def walk(node: Any) -> Iterator[tuple[str, Node]]:
    """Every typed node below `node` (depth first), as (type name, fields)."""
    stack = [node]
    pop = stack.pop
    push = stack.append
    while stack:
        value = pop()
        if isinstance(value, dict):
            if len(value) == 1:
                key = next(iter(value))
                child = value[key]
                if isinstance(child, dict) and key[:1].isupper():
                    yield key, child
                    push(child)
                    continue
            for child in value.values():
                if isinstance(child, (dict, list)):
                    push(child)
        elif isinstance(value, list):
            for child in reversed(value):
                if isinstance(child, (dict, list)):
                    push(child)


def rangevars(node: Any) -> Iterator[Node]:
    """RangeVar-like dicts anywhere below a node, wrapped or bare (relname key)."""
    stack = [node]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "relname" in value and "inh" in value or ("relname" in value and "relpersistence" in value):
                yield value
                continue
            for child in value.values():
                if isinstance(child, (dict, list)):
                    stack.append(child)
        elif isinstance(value, list):
            stack.extend(c for c in value if isinstance(c, (dict, list)))


def type_name(type_node: Node | None) -> str:
    """A TypeName as SQL-ish text: ``varchar(255)``, ``int4``, ``text[]``, ``timestamptz(3)``."""
    if not type_node:
        return "?"
    _, tn = unwrap(type_node)
    names = strings(tn.get("names"))
    if names and names[0] == "pg_catalog" and len(names) > 1:
        names = names[1:]
    base = ".".join(names) or "?"
    mods = []
    for mod in tn.get("typmods") or ():
        _, value = unwrap(mod)
        if isinstance(value, dict):
            const = value.get("ival") or value.get("sval") or value.get("fval")
            if isinstance(const, dict):
                const = const.get("ival", const.get("sval", const.get("fval", 0)))
            if const is None and "val" in value:
                const = value["val"]
            mods.append(str(const if const is not None else 0))
    text = base + (f"({','.join(mods)})" if mods else "")
    if tn.get("arrayBounds"):
        text += "[]" * len(tn["arrayBounds"])
    return text


def const_value(node: Any) -> Any:
    """The Python value of an A_Const node (None if not a constant)."""
    kind, value = unwrap(node)
    if kind != "A_Const" or not isinstance(value, dict):
        return None
    if value.get("isnull"):
        return None
    for key in ("sval", "ival", "fval", "boolval", "bsval"):
        if key in value:
            inner_value = value[key]
            if isinstance(inner_value, dict):  # {"boolval": {}} is false, {"ival": {}} is 0
                default: Any = {"ival": 0, "boolval": False}.get(key, "")
                return next(iter(inner_value.values()), default)
            return inner_value
    if "ival" not in value and len(value) <= 1:  # {"ival": {}} means 0
        return 0
    return None


def def_elems(items: list | None) -> dict[str, Any]:
    """A list of DefElem nodes → {name: arg node}."""
    out: dict[str, Any] = {}
    for item in items or ():
        kind, value = unwrap(item)
        if kind == "DefElem":
            out[value.get("defname", "")] = value.get("arg")
    return out


_PLAIN_IDENT = __import__("re").compile(r"^[a-z_][a-z0-9_$]*$")
_RESERVED = frozenset(
    """all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate
    collation column concurrently constraint create cross current_catalog current_date current_role current_schema
    current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for
    foreign freeze from full grant group having ilike in initially inner intersect into is isnull join lateral
    leading left like limit localtime localtimestamp natural not notnull null offset on only or order outer overlaps
    placing primary references returning right select session_user similar some symmetric system_user table
    tablesample then to trailing true union unique user using variadic verbose when where window with""".split()
)


def quote_ident(name: str) -> str:
    """Quote an identifier the way PostgreSQL needs it (``User`` → ``"User"``, ``users`` → ``users``)."""
    if _PLAIN_IDENT.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def quote_qualified(name: str) -> str:
    """Quote a possibly schema-qualified relation name as the model spells it (``public.User``)."""
    if "." in name:
        schema, _, rel = name.partition(".")
        return f"{quote_ident(schema)}.{quote_ident(rel)}"
    return quote_ident(name)


class AlterCommand:
    """One subcommand of an ALTER TABLE statement (``ADD COLUMN``, ``ALTER COLUMN … SET NOT NULL``, …).

    `stmt_node` is the AlterTableStmt, `cmd` the AlterTableCmd, `position` its place among the
    statement's commands; `table` the relation as :func:`relation_name` spells it.
    """

    __slots__ = ("stmt_node", "cmd", "position", "table", "objtype", "subtype")

    def __init__(self, stmt_node: Node, cmd: Node, position: int) -> None:
        self.stmt_node = stmt_node
        self.cmd = cmd
        self.position = position
        self.table = relation_name(stmt_node.get("relation"))
        self.objtype: str = stmt_node.get("objtype", "OBJECT_TABLE")
        self.subtype: str = cmd.get("subtype", "")

    @property
    def relation(self) -> Node:
        """The statement's RangeVar (where a finding about the table points)."""
        return self.stmt_node.get("relation") or {}

    @property
    def name(self) -> str | None:
        """The column or constraint the command names (``ALTER COLUMN name``, ``DROP CONSTRAINT name``)."""
        return self.cmd.get("name")

    @property
    def definition(self) -> tuple[str | None, Any]:
        """The command's `def` node, unwrapped: ("ColumnDef", {...}), ("Constraint", {...}), …"""
        return unwrap(self.cmd.get("def"))

    def later(self) -> Iterator[AlterCommand]:
        """The commands after this one in the same statement."""
        cmds = self.stmt_node.get("cmds") or ()
        for position in range(self.position + 1, len(cmds)):
            yield AlterCommand(self.stmt_node, inner(cmds[position]), position)

    def siblings(self) -> Iterator[AlterCommand]:
        """Every command of the statement, this one included, in order."""
        return alter_commands(self.stmt_node)


def alter_commands(stmt_node: Node) -> Iterator[AlterCommand]:
    """The subcommands of an AlterTableStmt, in order."""
    for position, item in enumerate(stmt_node.get("cmds") or ()):
        cmd = inner(item)
        if isinstance(cmd, dict):
            yield AlterCommand(stmt_node, cmd, position)


def option_value(params: list | None, name: str, default: bool = False) -> bool | None:
    """The boolean value of option `name` in a DefElem list, read the way PostgreSQL's defGetBoolean reads it.

    ``(CONCURRENTLY)`` with no value is true; ``true``/``on``/``1`` (any case, quoted or not) are true,
    ``false``/``off``/``0`` false. Returns `default` when the option is absent and None for a value
    PostgreSQL rejects ("requires a Boolean value"); the last occurrence wins, as in PostgreSQL's loops.
    """
    found: bool | None = default
    for item in params or ():
        kind, value = unwrap(item)
        if kind != "DefElem" or not isinstance(value, dict) or value.get("defname") != name:
            continue
        arg = value.get("arg")
        if arg is None:
            found = True
            continue
        arg_kind, arg_value = unwrap(arg)
        arg_value = arg_value if isinstance(arg_value, dict) else {}
        if arg_kind == "Integer":
            found = {0: False, 1: True}.get(arg_value.get("ival", 0))
        elif arg_kind == "Boolean":
            found = bool(arg_value.get("boolval"))
        elif arg_kind == "String":
            found = {"true": True, "on": True, "false": False, "off": False}.get(str(arg_value.get("sval", "")).lower())
        elif arg_kind == "TypeName" and len(arg_value.get("names") or ()) == 1:  # WITH (create_slot = off)
            word = unwrap(arg_value["names"][0])[1]
            word = word.get("sval", "") if isinstance(word, dict) else ""
            found = {"true": True, "on": True, "false": False, "off": False}.get(str(word).lower())
        else:
            found = None
    return found


def option_true(params: list | None, name: str) -> bool:
    """Is boolean option `name` of a DefElem list on (``REINDEX (CONCURRENTLY)``, ``VACUUM (FULL 1)``)?

    See :func:`option_value`; an absent option, a false value and a value PostgreSQL rejects are all False.
    """
    return option_value(params, name) is True
