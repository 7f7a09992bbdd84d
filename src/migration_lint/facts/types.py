"""Column type changes: when ALTER COLUMN … TYPE rewrites the table, keeps its indexes, or is a plain cast.

What PostgreSQL's ATColumnChangeRequiresRewrite and the binary-coercible casts of pg_cast decide, in the
model's type spelling (``int4``, ``varchar(10)``), by version and session time zone.
"""

from __future__ import annotations

from typing import Any

from migration_lint.syntax import ast
from migration_lint.syntax.ast import unwrap

_ALIASES = {
    "int": "int4", "integer": "int4", "int4": "int4", "bigint": "int8", "int8": "int8", "smallint": "int2",
    "int2": "int2", "character varying": "varchar", "varchar": "varchar", "character": "bpchar", "char": "bpchar",
    "bpchar": "bpchar", "text": "text", "numeric": "numeric", "decimal": "numeric", "timestamp": "timestamp",
    "timestamptz": "timestamptz", "timestamp with time zone": "timestamptz", "time": "time", "timetz": "timetz",
    "bool": "bool", "boolean": "bool", "json": "json", "jsonb": "jsonb", "citext": "citext", "bit varying": "varbit",
    "varbit": "varbit", "float8": "float8", "double precision": "float8", "float4": "float4", "real": "float4",
    "uuid": "uuid", "bytea": "bytea", "date": "date", "interval": "interval", "inet": "inet", "cidr": "cidr",
}


def split_type(type_text: str) -> tuple[str, list[int], bool]:
    """``varchar(255)`` → ("varchar", [255], False); ``text[]`` → ("text", [], True)."""
    array = type_text.endswith("[]")
    base = type_text.rstrip("[]")
    mods: list[int] = []
    if "(" in base:
        base, _, rest = base.partition("(")
        for part in rest.rstrip(")").split(","):
            try:
                mods.append(int(part))
            except ValueError:
                pass
    base = base.strip().strip('"').lower()
    return _ALIASES.get(base, base), mods, array


#: types whose values sort with one btree operator family: an index survives a change between them
_FAMILIES = {"varchar": "text", "text": "text", "name": "text", "cidr": "network", "inet": "network"}


def operator_family(type_text: str) -> str:
    """The default btree operator family of a type, as far as a type change goes (citext and bpchar have their own)."""
    base = split_type(type_text)[0]
    base = base.rpartition(".")[2]
    return _FAMILIES.get(base, base)


def _precision_kept(old_mods: list[int], new_mods: list[int], maximum: int = 6) -> bool:
    """Is a fractional-seconds precision change a no-op (timestamp, time, interval's last modifier)?"""
    if not new_mods or new_mods[-1] >= maximum:
        return True
    return bool(old_mods) and new_mods[-1] >= old_mods[-1]


def binary_coercible(old: str, new: str, *, timezone_utc: bool = False) -> bool:
    """Does ``ALTER COLUMN ... TYPE new`` from ``old`` skip the table rewrite?"""
    old_base, old_mods, old_array = split_type(old)
    new_base, new_mods, new_array = split_type(new)
    if old_array != new_array:
        return False
    if old_base == new_base:
        if old_base in ("varchar", "varbit"):
            return not new_mods or (bool(old_mods) and new_mods[0] >= old_mods[0])
        if old_base == "numeric":
            if not new_mods:
                return True
            if not old_mods:
                return False
            old_scale = old_mods[1] if len(old_mods) > 1 else 0
            new_scale = new_mods[1] if len(new_mods) > 1 else 0
            return new_scale == old_scale and new_mods[0] >= old_mods[0]
        if old_base in ("bpchar",):
            return old_mods == new_mods
        if old_base in ("timestamp", "timestamptz", "time", "timetz"):
            return old_mods == new_mods or _precision_kept(old_mods, new_mods)
        if old_base == "interval":
            # typmod: (the fields, e.g. DAY TO SECOND; 32767 = all) and a precision; a no-op only to every field
            if old_mods == new_mods or not new_mods:
                return True
            if new_mods[0] != 32767:
                return False
            new_precision = new_mods[1:] or [6]
            old_precision = old_mods[1:] or [6] if old_mods else []
            return _precision_kept(old_precision, new_precision)
        return old_mods == new_mods
    if old_base == "varchar" and new_base in ("text", "citext") and new_base == "text":
        return True
    if old_base == "bpchar" and new_base == "text":
        return False  # bpchar → text strips trailing blanks: a rewrite-free cast does not exist
    if old_base == "text" and new_base == "varchar" and not new_mods:
        return True
    if old_base == "cidr" and new_base == "inet":
        return True
    if old_base == "timestamp" and new_base == "timestamptz":
        return timezone_utc
    return False


SERIAL_BASE = {"serial": "int4", "serial4": "int4", "bigserial": "int8", "serial8": "int8", "smallserial": "int2",
                "serial2": "int2"}


def type_change_rewrites(old_type: str, new_type: str, *, pg_version: float = 15.0, timezone_utc: bool = True) -> bool:
    """Does ``ALTER COLUMN … TYPE new_type`` rewrite a column of `old_type`? (checked against PostgreSQL 15)"""
    old_type = SERIAL_BASE.get(old_type, old_type)
    old_base, old_mods, old_array = split_type(old_type)
    new_base, new_mods, new_array = split_type(new_type)
    if old_array or new_array:
        # arrays: only the same element type, keeping or dropping its modifier, avoids the rewrite
        return not (old_array and new_array and old_base == new_base and (not new_mods or new_mods == old_mods))
    if {old_base, new_base} == {"timestamp", "timestamptz"}:
        if old_base == new_base:
            return not binary_coercible(old_type, new_type)
        if old_base == "timestamptz":
            return True  # timestamptz → timestamp always converts the values
        # PostgreSQL 12+ skips the rewrite when the session time zone is UTC, unless a precision
        # has to be applied to the result (timestamp(3) → timestamptz(3) still rewrites)
        return not (timezone_utc and pg_version >= 12 and not new_mods)
    if "citext" in (old_base, new_base) and {old_base, new_base} <= {"citext", "text", "varchar"}:
        # binary-coercible casts; only shortening a varchar needs the rows checked
        return new_base == "varchar" and bool(new_mods)
    return not binary_coercible(old_type, new_type)


def plain_cast(using: Any, column: str, new_type: str) -> bool:
    """Is a USING expression just the column, or the column cast to the new type (the default conversion)?"""
    kind, value = unwrap(using)
    if kind == "TypeCast":
        if not new_type or ast.type_name(value.get("typeName")) != new_type:
            return False
        kind, value = unwrap(value.get("arg"))
    if kind == "ColumnRef":
        return ast.strings(value.get("fields"))[-1:] == [column]
    return False
