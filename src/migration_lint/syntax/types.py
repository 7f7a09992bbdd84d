"""Types as SQL the user can paste: the model's spelling (``int4``, ``varchar(10)``) in SQL words."""

from __future__ import annotations

from typing import Any

from migration_lint.syntax import ast

_SQL_TYPES = {"int4": "integer", "int8": "bigint", "int2": "smallint", "bool": "boolean", "float8": "double precision",
              "float4": "real", "bpchar": "char", "varchar": "varchar", "timestamptz": "timestamptz",
              "timestamp": "timestamp", "numeric": "numeric", "text": "text", "jsonb": "jsonb", "json": "json",
              "uuid": "uuid", "date": "date", "time": "time", "timetz": "timetz", "interval": "interval",
              "bytea": "bytea", "inet": "inet", "cidr": "cidr", "varbit": "varbit", "bit": "bit"}


def sql_type(type_node: Any) -> str:
    """A TypeName as SQL the user can paste: ``bigint``, ``varchar(255)``, ``"Status"[]``."""
    if not type_node:
        return "?"
    _, tn = ast.unwrap(type_node)
    names = ast.strings(tn.get("names"))
    builtin = bool(names) and names[0] == "pg_catalog"
    if builtin and len(names) > 1:
        names = names[1:]
    if builtin or (len(names) == 1 and names[0] in _SQL_TYPES.values()):
        base = _SQL_TYPES.get(names[-1], names[-1]) if names else "?"
    else:
        base = ".".join(ast.quote_ident(n) for n in names) or "?"
    text = ast.type_name(type_node)
    mods = text[text.index("("):text.index(")") + 1] if "(" in text and ")" in text else ""
    arrays = "[]" * len(tn.get("arrayBounds") or ())
    return base + mods + arrays


def type_words(type_text: str) -> str:
    """A type as the schema model spells it (``int4``, ``varchar(10)``) in SQL words (``integer``)."""
    base, _, rest = type_text.partition("(")
    array = "[]" if type_text.endswith("[]") else ""
    mods = "(" + rest.split(")")[0] + ")" if rest else ""
    base = base.rstrip("[]")
    return _SQL_TYPES.get(base, base) + mods + array


def type_base(type_text: str) -> str:
    """The type's name without modifiers or array brackets, lower case: ``varchar(10)[]`` → ``varchar``."""
    return type_text.split("(")[0].split("[")[0].strip().lower()
