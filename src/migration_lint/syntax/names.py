"""The names PostgreSQL gives things: identifiers cut to 63 bytes, default constraint and index names."""

from __future__ import annotations

from typing import Any

from migration_lint.syntax import ast

MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1


def truncate(name: str) -> str:
    """PostgreSQL's truncate_identifier: at most 63 bytes, cut on a character boundary."""
    data = name.encode()
    if len(data) <= MAX_IDENTIFIER_BYTES:
        return name
    return data[:MAX_IDENTIFIER_BYTES].decode(errors="ignore")


def base_name(table: str) -> str:
    """The table's name without its schema: the first part of the names PostgreSQL makes up."""
    return table.split(".")[-1]


def default_fk_name(table: str, columns: list[str]) -> str:
    """The name PostgreSQL gives an unnamed FOREIGN KEY: ``<table>_<columns>_fkey``."""
    return f"{base_name(table)}_{'_'.join(columns)}_fkey"[:63]


def default_check_name(table: str, expr: Any) -> str:
    """The name PostgreSQL gives an unnamed CHECK: ``<table>_<column>_check`` when it uses one column."""
    columns = {ast.strings(value.get("fields"))[-1] for kind, value in ast.walk({"_": expr})
               if kind == "ColumnRef" and ast.strings(value.get("fields"))}
    base = base_name(table)
    return (f"{base}_{next(iter(columns))}_check" if len(columns) == 1 else f"{base}_check")[:63]


def index_name(table: str, columns: list[str]) -> str:
    """A name for a new index on the columns, PostgreSQL style: ``<table>_<columns>_idx`` (63 bytes at most)."""
    return truncate(f"{base_name(table)}_{'_'.join(columns)}_idx")


def not_null_check_name(table: str, column: str) -> str:
    """The name the recipes give the CHECK (col IS NOT NULL) that proves a column NOT NULL."""
    return f"{base_name(table)}_{column}_not_null"
