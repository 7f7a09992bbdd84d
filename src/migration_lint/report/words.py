"""What a statement's locks mean, in words a reviewer understands (shared by every report).

    impact(item) → 'blocks writes to "Order" and "User" while it validates'
"""

from __future__ import annotations

from migration_lint.facts.locks import blocks
from migration_lint.model import StatementReport
from migration_lint.syntax import ast

_VALIDATES = ("AlterTableStmt", "AlterDomainStmt")


def lock_name(mode: str) -> str:
    """`AccessExclusiveLock` → `ACCESS EXCLUSIVE`."""
    import re

    name = mode[:-4] if mode.endswith("Lock") else mode
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).upper()


def _names(relations: list[str]) -> str:
    quoted = [f'"{r}"' if not r.startswith('"') else r for r in relations]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _while(item: StatementReport) -> str:
    node_type = item.statement.node_type
    if item.rewrites and node_type in ("IndexStmt", "ReindexStmt"):
        return "while it rebuilds the index"
    if node_type == "IndexStmt":
        return "while it builds the index"
    if node_type in ("UpdateStmt", "DeleteStmt", "MergeStmt") and item.scans:
        return "until every row is changed and committed"
    if item.rewrites and node_type != "TruncateStmt":
        return "while it rewrites the table"
    if item.scans and node_type in _VALIDATES:
        return "while it validates"
    if item.scans:
        return "while it scans the table"
    return "briefly (a catalog change), after waiting for running queries on it"


def impact(item: StatementReport) -> str:
    """One sentence: what other sessions cannot do, on which tables, and for how long."""
    if not item.known:
        return "locks unknown: this statement is not in the lock model"
    if not item.locks:
        return "takes no lock on an existing table"
    reads_writes: list[str] = []
    writes: list[str] = []
    for lock in item.locks:
        blocked = blocks(lock.mode)
        name = ast.quote_qualified(lock.relation) if lock.relation.lower() == lock.relation else lock.relation
        if "reads" in blocked:
            reads_writes.append(name)
        elif "writes" in blocked:
            writes.append(name)
    if item.statement.node_type in ("UpdateStmt", "DeleteStmt") and item.scans and not writes and not reads_writes:
        writes = [lock.relation for lock in item.locks[:1]]
    parts = []
    if reads_writes:
        parts.append(f"blocks reads and writes of {_names(reads_writes)}")
    if writes:
        parts.append(f"blocks writes to {_names(writes)}")
    if not parts:
        return "blocks neither reads nor writes (only other schema changes)"
    return " and ".join(parts) + " " + _while(item)
