"""Statement and file risk: LOW / MEDIUM / HIGH.

* HIGH: the statement will fail (CONCURRENTLY inside a transaction, NOT NULL
  without a default on a filled table); it holds ACCESS EXCLUSIVE (which
  blocks reads) for time proportional to the table (rewrite or validation
  scan); or it destroys data without a backup note.
* MEDIUM: it blocks writes for time proportional to the table (plain CREATE
  INDEX, FOREIGN KEY validation, whole-table UPDATE/DELETE), or it breaks the
  code that is running now (renaming or dropping a table or column).
* LOW: brief catalog-only locks, or none.

A statement whose tables were all created earlier in the same migration is
LOW whatever it does (the tables are empty), unless it will fail. A
statement the lock model does not know is at least MEDIUM: it cannot be
vouched for. File risk is the highest statement risk.
"""

from __future__ import annotations

from migration_lint.facts.locks import ACCESS_EXCLUSIVE, Effect
from migration_lint.model import Finding, Risk, Statement

_HARMLESS_RENAMES = frozenset({"OBJECT_INDEX", "OBJECT_TABCONSTRAINT", "OBJECT_DOMCONSTRAINT", "OBJECT_TRIGGER",
                               "OBJECT_POLICY", "OBJECT_RULE", "OBJECT_STATISTIC_EXT"})
_BREAKING_DROPS = frozenset({"OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE", "OBJECT_TYPE",
                             "OBJECT_FUNCTION", "OBJECT_SCHEMA", "OBJECT_PROCEDURE"})


def breaks_running_code(stmt: Statement) -> str:
    """Why the statement breaks application code deployed now ("" if it does not)."""
    node_type, node = stmt.node_type, stmt.node
    if node_type == "RenameStmt":
        if node.get("renameType") in _HARMLESS_RENAMES:
            return ""
        return "renames an object the running code may use"
    if node_type == "DropStmt" and node.get("removeType") in _BREAKING_DROPS:
        return "drops an object the running code may use"
    if node_type == "TruncateStmt":
        return "removes every row of the table"
    if node_type == "AlterTableStmt":
        for item in node.get("cmds") or ():
            cmd = next(iter(item.values())) if isinstance(item, dict) and len(item) == 1 else item
            if cmd.get("subtype") == "AT_DropColumn":
                return "drops a column the running code may use"
    return ""


def statement_risk(stmt: Statement, effect: Effect, findings: list[Finding], on_new_tables: bool) -> tuple[Risk, str]:
    """The risk of one statement and the reason, in words."""
    for finding in findings:
        if finding.risk is Risk.HIGH and not finding.suppressed and finding.fails:
            return Risk.HIGH, finding.message
    if on_new_tables:
        return Risk.LOW, "only touches tables created in this migration (they are empty)"
    for finding in findings:
        if finding.risk is Risk.HIGH and not finding.suppressed:
            return Risk.HIGH, finding.message
    strongest = effect.strongest
    # TRUNCATE and REFRESH … WITH NO DATA swap in a new, empty file: a rewrite in name only
    emptied = stmt.node_type == "TruncateStmt" or (stmt.node_type == "RefreshMatViewStmt" and stmt.node.get("skipData"))
    slow = effect.scans or (effect.rewrites and not emptied)
    if slow and strongest == ACCESS_EXCLUSIVE:
        return Risk.HIGH, f"holds ACCESS EXCLUSIVE (blocks reads and writes) while it {_work(stmt, effect)}"
    blocked = effect.blocked()
    if slow and "writes" in blocked:
        return Risk.MEDIUM, f"blocks writes while it {_work(stmt, effect)}"
    breaking = breaks_running_code(stmt)
    if breaking:
        return Risk.MEDIUM, breaking
    for finding in findings:
        if finding.risk is Risk.MEDIUM and not finding.suppressed:
            return Risk.MEDIUM, finding.message
    if not effect.known:
        return Risk.MEDIUM, "its locks cannot be determined statically"
    if strongest:
        return Risk.LOW, "brief catalog-only lock"
    return Risk.LOW, "takes no lock on user tables"


def _work(stmt: Statement, effect: Effect) -> str:
    if stmt.node_type in ("IndexStmt", "ReindexStmt"):
        return "builds the index"
    if stmt.node_type in ("UpdateStmt", "DeleteStmt", "MergeStmt"):
        return "changes every row"
    if effect.rewrites:
        return "rewrites the table"
    if stmt.node_type == "AlterTableStmt":
        return "validates every row"
    return "scans the table"


def file_risk(statement_risks: list[tuple[Risk, str]], findings: list[Finding]) -> tuple[Risk, str]:
    best, reason = Risk.LOW, "no statement takes more than a brief lock"
    for risk, why in statement_risks:
        if risk.rank > best.rank:
            best, reason = risk, why
    for finding in findings:
        if finding.statement is None and finding.risk is not None and not finding.suppressed and finding.risk.rank > best.rank:
            best, reason = finding.risk, finding.message
    return best, reason
