"""Measure the throughput figures behind the duration estimates (src/migration_lint/estimate.py).

Starts a throwaway PostgreSQL (the same harness as the tests), fills a table with
N rows shaped like a typical application table, and times the four kinds of work
the estimates use: a table rewrite, a validation scan, a btree index build and an
update of every row. Prints rows per second for each (median of --runs runs).

    python bench/throughput.py --rows 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from migration_lint.cli.trace.server import PostgresServer

SETUP = """
DROP TABLE IF EXISTS bench_orders;
CREATE TABLE bench_orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL,
    status text NOT NULL,
    amount numeric(12,2),
    note varchar(200),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO bench_orders (customer_id, status, amount, note, created_at)
SELECT (random() * 100000)::bigint, (ARRAY['new','paid','shipped','cancelled'])[1 + (g % 4)],
       round((random() * 1000)::numeric, 2), md5(g::text), now() - (g || ' seconds')::interval
FROM generate_series(1, %(rows)s) g
"""

WORK = {
    "rewrite": "ALTER TABLE bench_orders ALTER COLUMN customer_id TYPE numeric",
    "scan": "ALTER TABLE bench_orders ALTER COLUMN amount SET NOT NULL",
    "index": "CREATE INDEX bench_orders_customer_idx ON bench_orders (customer_id)",
    "update": "UPDATE bench_orders SET status = upper(status)",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with PostgresServer(settings={"maintenance_work_mem": "64MB", "max_wal_size": "4GB"}) as server:
        conn = server.connect()
        for statement in SETUP.replace("%(rows)s", str(args.rows)).split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("VACUUM ANALYZE bench_orders")
        print(f"PostgreSQL {server.version_num}, {args.rows:,} rows, median of {args.runs} runs")
        print(f"{'work':<8} {'seconds':>8} {'rows/s':>12}  statement")
        for name, sql in WORK.items():
            timings = []
            for _ in range(args.runs):
                conn.execute("BEGIN")
                started = time.perf_counter()
                conn.execute(sql)
                timings.append(time.perf_counter() - started)
                conn.execute("ROLLBACK")
            median = statistics.median(timings)
            print(f"{name:<8} {median:>8.3f} {args.rows / median:>12,.0f}  {sql}")
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
