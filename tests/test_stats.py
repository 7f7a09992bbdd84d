"""Table sizes make the risk size-aware (`--stats`), and `migration-lint stats` reads them read-only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration_lint.cli import main

MIGRATION = 'ALTER TABLE "Order" ALTER COLUMN "total" TYPE numeric(14,2);\n'


def _stats(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / f"stats-{rows}.json"
    path.write_text(json.dumps({"format": "migration-lint-stats/1",
                                "tables": [{"schema": "public", "table": "Order", "rows": rows, "bytes": rows * 120}]}))
    return path


def _lint(tmp_path, capsys, *extra):
    path = tmp_path / "20240101000000_widen_order_total.sql"
    path.write_text(MIGRATION)
    main([str(path), "--format", "json", *extra])
    return json.loads(capsys.readouterr().out)["files"][0]


@pytest.mark.parametrize(("rows", "risk"), [(2_000, "LOW"), (2_000_000, "MEDIUM"), (50_000_000, "HIGH")])
def test_risk_follows_the_table_size(tmp_path, capsys, rows, risk):
    file = _lint(tmp_path, capsys, "--stats", str(_stats(tmp_path, rows)))
    [statement] = file["statements"]
    assert statement["risk"] == risk and file["risk"] == risk
    assert statement["estimate"]["rows"] == rows and statement["estimate"]["work"] == "rewrite"
    assert "rows at ~500k rows/s" in statement["estimate"]["text"]


def test_without_stats_the_verdict_is_conservative(tmp_path, capsys):
    file = _lint(tmp_path, capsys)
    assert file["risk"] == "HIGH" and "estimate" not in file["statements"][0]


def test_a_table_missing_from_the_stats_keeps_the_conservative_verdict(tmp_path, capsys):
    stats = tmp_path / "s.json"
    stats.write_text(json.dumps([{"schema": "public", "table": "Other", "rows": 10, "bytes": 1}]))
    file = _lint(tmp_path, capsys, "--stats", str(stats))
    assert file["risk"] == "HIGH"


def test_the_estimate_is_shown_in_the_text_report(tmp_path, capsys):
    path = tmp_path / "20240101000000_widen_order_total.sql"
    path.write_text(MIGRATION)
    main([str(path), "--stats", str(_stats(tmp_path, 90_000_000))])
    out = capsys.readouterr().out
    assert "~3 min rewrite of 90M rows at ~500k rows/s" in out


@pytest.mark.parametrize("content", ["not json", '{"format": "other/9", "tables": []}', '[{"table": "x", "rows": "many"}]'])
def test_bad_stats_file_is_a_usage_error(tmp_path, capsys, content):
    stats = tmp_path / "bad.json"
    stats.write_text(content)
    path = tmp_path / "001_x.sql"
    path.write_text("SELECT 1;\n")
    assert main([str(path), "--stats", str(stats)]) == 2
    assert "bad.json" in capsys.readouterr().err


def test_print_query(capsys):
    assert main(["stats", "--print-query"]) == 0
    out = capsys.readouterr().out
    assert "pg_total_relation_size" in out and "reltuples" in out and "json_agg" in out


def test_stats_without_url_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.delenv("MIGRATION_LINT_DATABASE_URL", raising=False)
    assert main(["stats"]) == 2


@pytest.mark.postgres
def test_stats_reads_a_real_database(pg_server, pg_db, tmp_path, capsys):
    pg_db.execute('CREATE TABLE "Order" (id int)')
    pg_db.execute('INSERT INTO "Order" SELECT generate_series(1, 5000)')
    pg_db.execute("CREATE SCHEMA billing")
    pg_db.execute("CREATE TABLE billing.invoice (id int)")
    pg_db.execute('ANALYZE "Order"')
    dbname = pg_db.info.dbname
    url = pg_server.conninfo_for(dbname, "postgres") if hasattr(pg_server, "conninfo_for") else pg_server.conninfo.replace("dbname=postgres", f"dbname={dbname}")
    out_file = tmp_path / "stats.json"
    assert main(["stats", "--database-url", url, "-o", str(out_file)]) == 0
    data = json.loads(out_file.read_text())
    tables = {(t["schema"], t["table"]): t for t in data["tables"]}
    assert data["format"] == "migration-lint-stats/1"
    assert tables[("public", "Order")]["rows"] == 5000 and tables[("public", "Order")]["bytes"] > 0
    assert ("billing", "invoice") in tables
    assert all(set(t) == {"schema", "table", "rows", "bytes"} for t in data["tables"])
    assert "password" not in out_file.read_text().lower()
    # the file is usable as it is
    migration = tmp_path / "001_widen.sql"
    migration.write_text(MIGRATION)
    main([str(migration), "--stats", str(out_file), "-f", "json"])
    assert json.loads(capsys.readouterr().out)["files"][0]["risk"] == "LOW"


def test_bad_database_url_does_not_echo_the_password(capsys):
    code = main(["stats", "--database-url", "postgresql://u:s3cretpw@127.0.0.1:1/db?connect_timeout=2"])
    err = capsys.readouterr().err
    assert code == 2 and "s3cretpw" not in err and "cannot read statistics" in err
