"""Does a statement pick out a few rows, or every row? Key-like columns compared with constants, or a
batch (`IN (SELECT … LIMIT n)`), pick a few; anything else is taken to touch the whole table."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from migration_lint.facts.columns import primary_key_column
from migration_lint.syntax import ast

if TYPE_CHECKING:
    from migration_lint.facts.schema import Schema

#: column names that identify a row (or a handful), besides the schema model's primary/unique keys
_NATURAL_KEYS = frozenset({"id", "uuid", "ctid", "key", "slug", "email", "code", "name", "username", "handle",
                           "identifier", "external_id", "api_key"})
_KEY_NAME = re.compile(r"(?:^|_)(?:id|uuid|key)$|[a-z0-9](?:Id|ID|Uuid|Key)$")


def is_key_column(name: str, key_columns: frozenset[str] = frozenset()) -> bool:
    return name in key_columns or name.lower() in _NATURAL_KEYS or bool(_KEY_NAME.search(name))


def key_columns(schema: Schema, table: str) -> frozenset[str]:
    """Primary-key and unique columns of the table that the schema model knows."""
    model = schema.table(table)
    found: set[str] = set()
    if model is not None:
        for constraint in model.constraints:
            if constraint.kind in ("CONSTR_PRIMARY", "CONSTR_UNIQUE") and len(constraint.columns) == 1:
                found.add(constraint.columns[0])
    for index in schema.indexes_of(table):
        if index.unique and not index.partial and len(index.columns) == 1:
            found.add(index.columns[0])
    return frozenset(found)


def primary_key(schema: Schema, table: str) -> str:
    """The table's single primary-key column, or `id` when the schema model does not know it."""
    return primary_key_column(schema, table) or "id"


def _column(node: Any) -> str | None:
    kind, value = ast.unwrap(node)
    while kind == "TypeCast":
        kind, value = ast.unwrap(value.get("arg"))
    if kind == "ColumnRef":
        fields = value.get("fields") or []
        names = ast.strings(fields)
        if names and len(names) == len(fields):
            return names[-1]
    return None


def _constant(node: Any, variables: frozenset[str] = frozenset()) -> bool:
    """A value fixed for the statement: a constant, a parameter, or a PL/pgSQL variable (`rec.id` in a DO block)."""
    kind, value = ast.unwrap(node)
    if kind in ("A_Const", "ParamRef"):
        return True
    if kind == "ColumnRef":
        names = ast.strings(value.get("fields"))
        return bool(names) and names[0] in variables
    if kind == "TypeCast":
        return _constant(value.get("arg"), variables)
    if kind == "A_ArrayExpr":
        return all(_constant(e, variables) for e in value.get("elements") or ())
    if kind == "List":
        return all(_constant(e, variables) for e in value.get("items") or ())
    if kind == "FuncCall":  # lower('x'), uuid('...'): a function of constants
        args = value.get("args") or ()
        return bool(args) and all(_constant(a, variables) for a in args)
    return False


def _limited(select: Any) -> bool:
    """A subquery with LIMIT / FETCH FIRST (a batch)."""
    kind, value = ast.unwrap(select)
    return isinstance(value, dict) and value.get("limitCount") is not None


def targets_few_rows(where: Any, keys: frozenset[str] = frozenset(), variables: frozenset[str] = frozenset()) -> bool:
    """Does the WHERE clause pick rows by key or in batches? (`variables`: PL/pgSQL variables, values here)

    True when one of its AND-ed conditions (every branch of an OR) compares a key-like column
    (`id`, `…_id`, `…Id`, a primary/unique key, a natural key such as `email`, `slug`, `name`)
    with constants (`=`, `IN (…)`, `= ANY(…)`, `BETWEEN`, `<`, `>`), or is `… IN (SELECT … LIMIT n)`.
    """
    kind, value = ast.unwrap(where)
    if kind == "BoolExpr":
        args = value.get("args") or ()
        if value.get("boolop") == "AND_EXPR":
            return any(targets_few_rows(a, keys, variables) for a in args)
        if value.get("boolop") == "OR_EXPR":
            return bool(args) and all(targets_few_rows(a, keys, variables) for a in args)
        return False
    if kind == "SubLink":
        if value.get("subLinkType") in ("ANY_SUBLINK", "EXPR_SUBLINK") and _limited(value.get("subselect")):
            return True
        return False
    if kind == "A_Expr":
        expr_kind = value.get("kind")
        ops = ast.strings(value.get("name"))
        op = ops[-1] if ops else ""
        left, right = value.get("lexpr"), value.get("rexpr")
        if expr_kind == "AEXPR_OP" and _column(right) is not None and _constant(left, variables):
            left, right = right, left
        column = _column(left)
        if column is None or not is_key_column(column, keys):
            # a limited subquery on the right (`id = (SELECT … LIMIT 1)`)
            return expr_kind == "AEXPR_OP" and op == "=" and ast.unwrap(right)[0] == "SubLink" and _limited(
                ast.inner(right).get("subselect"))
        if expr_kind in ("AEXPR_OP", "AEXPR_OP_ANY", "AEXPR_IN"):
            if op in ("=", "<", "<=", ">", ">=") and _constant(right, variables):
                return True
            kind_right, value_right = ast.unwrap(right)
            if kind_right == "SubLink" and _limited(value_right.get("subselect")):
                return True
            return False
        if expr_kind in ("AEXPR_BETWEEN", "AEXPR_BETWEEN_SYM"):
            return _constant(right, variables)
        if expr_kind == "AEXPR_LIKE" and op == "~~":  # LIKE without wildcards is an equality
            literal = ast.const_value(right)
            return isinstance(literal, str) and not any(ch in literal for ch in "%_")
    return False


_COMPARE = {"=": lambda a, b: a == b, "<>": lambda a, b: a != b, "!=": lambda a, b: a != b,
            "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_TRUE_WORDS = {"t": True, "true": True, "y": True, "yes": True, "on": True, "1": True,
               "f": False, "false": False, "n": False, "no": False, "off": False, "0": False}


def _constant_value(node: Any) -> tuple[bool, Any]:
    """(known, value) of a constant expression: numbers, strings, booleans, NULL, casts of those."""
    kind, value = ast.unwrap(node)
    to_bool = False
    while kind == "TypeCast":  # a loop: casts nest as deep as the SQL says
        names = ast.strings((value.get("typeName") or {}).get("names"))
        to_bool = to_bool or (bool(names) and names[-1] in ("bool", "boolean"))
        kind, value = ast.unwrap(value.get("arg"))
    if kind != "A_Const":
        return False, None
    if value.get("isnull"):
        return True, None
    constant = ast.const_value({kind: value})
    if to_bool and isinstance(constant, str):
        word = _TRUE_WORDS.get(constant.strip().lower())
        return word is not None, word
    return constant is not None, constant


_MAX_DEPTH = 64  # AND/OR/NOT nested deeper than this is not worked out (None: depends on the rows)


def constant_truth(where: Any, _depth: int = 0) -> bool | None:
    """What a WHERE clause that depends on no row evaluates to: True (`WHERE true`, `WHERE 1 = 1`),
    False (`WHERE false`, `WHERE 1 = 0`, `WHERE NULL`: no row), None when it depends on the rows."""
    kind, value = ast.unwrap(where)
    if kind == "BoolExpr":
        if _depth >= _MAX_DEPTH:
            return None
        args = [constant_truth(a, _depth + 1) for a in value.get("args") or ()]
        op = value.get("boolop")
        if op == "AND_EXPR":
            return False if False in args else (True if args and all(a is True for a in args) else None)
        if op == "OR_EXPR":
            return True if True in args else (False if args and all(a is False for a in args) else None)
        if op == "NOT_EXPR" and len(args) == 1 and args[0] is not None:
            return not args[0]
        return None
    if kind == "A_Expr" and value.get("kind") == "AEXPR_OP":
        ops = ast.strings(value.get("name"))
        compare = _COMPARE.get(ops[-1] if ops else "")
        known_left, left = _constant_value(value.get("lexpr"))
        known_right, right = _constant_value(value.get("rexpr"))
        if compare is None or not (known_left and known_right):
            return None
        if left is None or right is None:
            return False  # a comparison with NULL is NULL: no row
        if isinstance(left, bool) or isinstance(right, bool) or type(left) is not type(right):
            if not (isinstance(left, (int, float)) and isinstance(right, (int, float))):
                return None
        try:
            return bool(compare(left, right))
        except TypeError:
            return None
    known, constant = _constant_value(where)
    if known:
        if constant is None:
            return False
        if isinstance(constant, bool):
            return constant
        if isinstance(constant, str):
            word = _TRUE_WORDS.get(constant.strip().lower())
            return word
    return None
