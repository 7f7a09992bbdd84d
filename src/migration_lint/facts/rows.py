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


def _constant(node: Any) -> bool:
    kind, value = ast.unwrap(node)
    if kind in ("A_Const", "ParamRef"):
        return True
    if kind == "TypeCast":
        return _constant(value.get("arg"))
    if kind == "A_ArrayExpr":
        return all(_constant(e) for e in value.get("elements") or ())
    if kind == "List":
        return all(_constant(e) for e in value.get("items") or ())
    if kind == "FuncCall":  # lower('x'), uuid('...'): a function of constants
        args = value.get("args") or ()
        return bool(args) and all(_constant(a) for a in args)
    return False


def _limited(select: Any) -> bool:
    """A subquery with LIMIT / FETCH FIRST (a batch)."""
    kind, value = ast.unwrap(select)
    return isinstance(value, dict) and value.get("limitCount") is not None


def targets_few_rows(where: Any, keys: frozenset[str] = frozenset()) -> bool:
    """Does the WHERE clause pick rows by key or in batches?

    True when one of its AND-ed conditions (every branch of an OR) compares a key-like column
    (`id`, `…_id`, `…Id`, a primary/unique key, a natural key such as `email`, `slug`, `name`)
    with constants (`=`, `IN (…)`, `= ANY(…)`, `BETWEEN`, `<`, `>`), or is `… IN (SELECT … LIMIT n)`.
    """
    kind, value = ast.unwrap(where)
    if kind == "BoolExpr":
        args = value.get("args") or ()
        if value.get("boolop") == "AND_EXPR":
            return any(targets_few_rows(a, keys) for a in args)
        if value.get("boolop") == "OR_EXPR":
            return bool(args) and all(targets_few_rows(a, keys) for a in args)
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
        if expr_kind == "AEXPR_OP" and _column(right) is not None and _constant(left):
            left, right = right, left
        column = _column(left)
        if column is None or not is_key_column(column, keys):
            # a limited subquery on the right (`id = (SELECT … LIMIT 1)`)
            return expr_kind == "AEXPR_OP" and op == "=" and ast.unwrap(right)[0] == "SubLink" and _limited(
                ast.inner(right).get("subselect"))
        if expr_kind in ("AEXPR_OP", "AEXPR_OP_ANY", "AEXPR_IN"):
            if op in ("=", "<", "<=", ">", ">=") and _constant(right):
                return True
            kind_right, value_right = ast.unwrap(right)
            if kind_right == "SubLink" and _limited(value_right.get("subselect")):
                return True
            return False
        if expr_kind in ("AEXPR_BETWEEN", "AEXPR_BETWEEN_SYM"):
            return _constant(right)
        if expr_kind == "AEXPR_LIKE" and op == "~~":  # LIKE without wildcards is an equality
            literal = ast.const_value(right)
            return isinstance(literal, str) and not any(ch in literal for ch in "%_")
    return False
