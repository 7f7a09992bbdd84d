"""Table sizes and duration estimates: make the risk size-aware.

A stats file lists, per table, the planner's row estimate (``pg_class.reltuples``)
and the total size (``pg_total_relation_size``). It is written by
``migration-lint stats --database-url URL`` or by running `STATS_QUERY` yourself:

    psql "$DATABASE_URL" -At -c "SELECT json_agg(t) FROM (<STATS_QUERY>) t" > stats.json

With it, a statement that rewrites, scans or builds an index on a known table
gets an order-of-magnitude duration ("~3 min at ~300k rows/s") and its risk
follows the duration instead of the conservative default. The throughput
figures come from bench/throughput.py, run on a real PostgreSQL (see
bench/README.md); they are deliberately round: the estimate is an order of
magnitude, not a promise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_lint.facts.locks import ACCESS_EXCLUSIVE, Effect
from migration_lint.model import Risk, Statement
from migration_lint.syntax import ast

STATS_FORMAT = "migration-lint-stats/1"

STATS_QUERY = """SELECT n.nspname AS schema, c.relname AS table,
       GREATEST(c.reltuples, 0)::bigint AS rows,
       pg_total_relation_size(c.oid) AS bytes
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1, 2"""

# Rows per second, rounded down to about half of what bench/throughput.py measures on a
# throwaway server (fsync off, table cached): production pays for WAL, fsync and its own load.
# Measured figures and the command are in bench/README.md.
THROUGHPUT = {
    "rewrite": 500_000,  # ALTER TABLE that rewrites (type change, volatile default, SET LOGGED…); measured 1.0M/s
    "scan": 5_000_000,  # validation scans (SET NOT NULL, CHECK, FOREIGN KEY); measured 11.6M/s
    "index": 1_000_000,  # CREATE INDEX (btree, one column); measured 2.0M/s
    "update": 100_000,  # UPDATE/DELETE touching every row; measured 230k/s
}

# Seconds: below the first a lock is a blip; from the second on it is an outage.
READS_BLOCKED = (1.0, 10.0)  # ACCESS EXCLUSIVE: LOW below 1 s, MEDIUM below 10 s, HIGH from 10 s
WRITES_BLOCKED = (5.0, 300.0)  # SHARE / SHARE ROW EXCLUSIVE / row locks: LOW below 5 s, MEDIUM below 5 min


class StatsError(Exception):
    """The stats file cannot be used; the message names it."""


@dataclass
class TableStats:
    schema: str
    table: str
    rows: int
    bytes: int


class Stats:
    def __init__(self, tables: list[TableStats], source: str = "") -> None:
        self.source = source
        self._by_name: dict[str, TableStats] = {}
        for entry in tables:
            self._by_name[f"{entry.schema}.{entry.table}"] = entry
            if entry.schema == "public" or entry.table not in self._by_name:
                self._by_name.setdefault(entry.table, entry)
                if entry.schema == "public":
                    self._by_name[entry.table] = entry

    def get(self, relation: str) -> TableStats | None:
        return self._by_name.get(relation) or self._by_name.get(ast.table_key(relation))

    def __len__(self) -> int:
        return len({id(v) for v in self._by_name.values()})


def load_stats(path: Path) -> Stats:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StatsError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StatsError(f"{path}: cannot read: {exc}") from None
    except ValueError as exc:
        raise StatsError(f"{path}: not valid JSON: {exc}") from None
    return parse_stats(data, str(path))


def parse_stats(data: Any, source: str = "stats") -> Stats:
    """Accept the file `stats` writes ({"format": …, "tables": [...]}) or the bare array of STATS_QUERY rows."""
    rows = data.get("tables") if isinstance(data, dict) else data
    if isinstance(data, dict) and data.get("format") not in (None, STATS_FORMAT):
        raise StatsError(f"{source}: unknown format {data.get('format')!r} (expected {STATS_FORMAT})")
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise StatsError(f"{source}: expected a list of tables")
    tables = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or "table" not in row:
            raise StatsError(f"{source}: entry {index + 1} is not an object with a `table` key")
        try:
            tables.append(TableStats(str(row.get("schema") or "public"), str(row["table"]),
                                     max(0, int(float(row.get("rows") or 0))), max(0, int(row.get("bytes") or 0))))
        except (TypeError, ValueError):
            raise StatsError(f"{source}: entry {index + 1} has a non-numeric rows/bytes value") from None
    return Stats(tables, source)


def stats_document(rows: list[tuple[str, str, int, int]]) -> dict[str, Any]:
    return {
        "format": STATS_FORMAT,
        "tables": [{"schema": s, "table": t, "rows": int(r), "bytes": int(b)} for s, t, r, b in rows],
    }


def collect_stats(database_url: str) -> dict[str, Any]:
    """Read row estimates and sizes (read-only, one query) from a live database."""
    try:
        import psycopg
    except ImportError:
        raise StatsError("`migration-lint stats` needs psycopg: pip install 'pg-migration-lint[db]'") from None
    try:
        with psycopg.connect(database_url, autocommit=True, connect_timeout=15) as conn:
            conn.execute("SET default_transaction_read_only = on")
            rows = conn.execute(STATS_QUERY).fetchall()
    except psycopg.Error as exc:
        # the URL may hold a password: never echo it
        raise StatsError(f"cannot read statistics: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    return stats_document(rows)


def human_rows(rows: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rows >= limit:
            value = rows / limit
            return f"{value:.0f}{suffix}" if value >= 10 else f"{value:.1f}{suffix}".replace(".0", "")
    return f"{rows:.0f}"


def human_duration(seconds: float) -> str:
    if seconds < 1:
        return "< 1 s"
    if seconds < 60:
        return f"~{seconds:.0f} s"
    if seconds < 3600:
        return f"~{seconds / 60:.0f} min"
    return f"~{seconds / 3600:.1f} h"


def _work(stmt: Statement, effect: Effect) -> str | None:
    if stmt.node_type == "IndexStmt" or (stmt.node_type == "ReindexStmt"):
        return "index"
    if stmt.node_type in ("UpdateStmt", "DeleteStmt") and effect.row_locks_all:
        return "update"
    if effect.rewrites and stmt.node_type != "TruncateStmt":
        return "rewrite"
    if effect.scans:
        return "scan"
    return None


def estimate(stmt: Statement, effect: Effect, stats: Stats) -> dict[str, Any] | None:
    """Duration estimate for a statement whose work is proportional to a known table."""
    work = _work(stmt, effect)
    if work is None:
        return None
    tables = [t for t in effect.targets if t] or [lock.relation for lock in effect.locks]
    known = [k for k in (stats.get(t) for t in tables) if k is not None]
    if not known:
        return None
    rows = max(k.rows for k in known)
    rate = THROUGHPUT[work]
    seconds = rows / rate
    verb = {"index": "index build", "update": "update of every row", "rewrite": "rewrite", "scan": "scan"}[work]
    return {
        "rows": rows,
        "bytes": max(k.bytes for k in known),
        "work": work,
        "seconds": round(seconds, 3),
        "text": f"{human_duration(seconds)} {verb} of {human_rows(rows)} rows at ~{human_rows(rate)} rows/s",
    }


def sized_risk(effect: Effect, est: dict[str, Any], current: Risk) -> tuple[Risk, str] | None:
    """The risk once the duration is known (None: keep the current verdict)."""
    seconds = est["seconds"]
    reads = effect.strongest == ACCESS_EXCLUSIVE
    low, high = READS_BLOCKED if reads else WRITES_BLOCKED
    blocked = "reads and writes" if reads else "writes"
    if seconds < low:
        return Risk.LOW, f"blocks {blocked} only briefly: {est['text']}"
    if seconds < high:
        return Risk.MEDIUM, f"blocks {blocked} for {est['text']}"
    return Risk.HIGH, f"blocks {blocked} for {est['text']}"
