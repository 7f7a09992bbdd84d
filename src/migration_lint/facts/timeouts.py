"""Which `SET lock_timeout` / `SET statement_timeout` are in force before each statement of a file."""

from __future__ import annotations

from dataclasses import dataclass

from migration_lint.model import Statement
from migration_lint.syntax import ast


@dataclass
class Timeouts:
    lock_timeout: bool = False
    statement_timeout: bool = False


def _is_zero(node: dict) -> bool:
    for arg in node.get("args") or ():
        value = ast.const_value(arg)
        if value in (0, "0", "0s", "0ms"):
            return True
    return False


def timeouts(statements: list[Statement]) -> list[Timeouts]:
    """For each statement, the timeouts set (to something other than 0) by the statements before it."""
    out: list[Timeouts] = []
    current = Timeouts()
    for stmt in statements:
        out.append(Timeouts(current.lock_timeout, current.statement_timeout))
        if stmt.node_type == "VariableSetStmt":
            node = stmt.node
            name = (node.get("name") or "").lower()
            if name == "lock_timeout":
                current.lock_timeout = node.get("kind") != "VAR_RESET" and not _is_zero(node)
            elif name == "statement_timeout":
                current.statement_timeout = node.get("kind") != "VAR_RESET" and not _is_zero(node)
    return out
