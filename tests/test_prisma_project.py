"""What the Prisma project around a migrations folder says: the provider and the Prisma version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration_lint.cli import main
from migration_lint.ingest.prisma import prisma_version, version_range

MYSQL_MIGRATION = "CREATE TABLE `User` (`id` INTEGER NOT NULL AUTO_INCREMENT, PRIMARY KEY (`id`)) ENGINE=InnoDB;\n"
SCHEMA = """generator client {
  provider = "prisma-client-js"
}

datasource db {
  provider = "%s"
  url      = env("DATABASE_URL")
}
"""


def project(root: Path, provider: str | None, sql: str = MYSQL_MIGRATION, lock: str | None = None) -> Path:
    migrations = root / "prisma" / "migrations"
    for name in ("20260101000000_init", "20260102000000_add_post"):
        (migrations / name).mkdir(parents=True)
        (migrations / name / "migration.sql").write_text(sql)
    if provider is not None:
        (root / "prisma" / "schema.prisma").write_text(SCHEMA % provider)
    if lock is not None:
        (migrations / "migration_lock.toml").write_text(f'provider = "{lock}"\n')
    return migrations


def lint(capsys, *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("provider", ["mysql", "sqlite", "sqlserver", "mongodb", "cockroachdb"])
def test_another_provider_is_one_finding_per_folder(tmp_path, capsys, monkeypatch, provider):
    monkeypatch.chdir(tmp_path)
    project(tmp_path, provider)
    code, report = lint(capsys, "prisma/migrations")
    assert code == 1
    (only,) = report["files"]
    assert only["path"] == "prisma/schema.prisma"
    (finding,) = only["findings"]
    assert finding["rule"] == "unsupported-provider" and finding["line"] == 6
    assert f'provider = "{provider}"' in finding["message"] and "2 migrations of prisma/migrations" in finding["message"]


def test_the_migration_lock_says_so_without_a_schema(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project(tmp_path, None, lock="sqlite")
    _, report = lint(capsys, "prisma/migrations")
    (only,) = report["files"]
    assert only["path"] == "prisma/migrations/migration_lock.toml" and only["findings"][0]["line"] == 1
    assert not any(f["rule"] == "parse-error" for r in report["files"] for f in r["findings"])


def test_postgresql_is_linted(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project(tmp_path, "postgresql", sql='CREATE TABLE "User" ("id" BIGINT PRIMARY KEY);\n', lock="postgresql")
    code, report = lint(capsys, "prisma/migrations")
    assert code == 0 and len(report["files"]) == 2
    assert not any(f["rule"] == "unsupported-provider" for r in report["files"] for f in r["findings"])


def test_ignoring_the_rule_silences_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project(tmp_path, "mysql")
    code, report = lint(capsys, "prisma/migrations", "--ignore", "unsupported-provider")
    assert code == 0 and report["files"] == []


# -- the Prisma version from package.json -------------------------------------------------------------
@pytest.mark.parametrize(("spec", "expected"), [
    ("^6.2.0", "6.2"), ("~5.22.1", "5.22"), ("6.19.0", "6.19"), (">=6.0.0 <7", "6.0"), ("7", "7"), ("6.x", "6"),
    ("npm:prisma@6.1.0", "6.1"), ("latest", None), ("*", None), ("workspace:^7.4.0", "7.4"),
])
def test_version_range(spec, expected):
    assert version_range(spec) == expected


def _package(directory: Path, data) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package.json").write_text(data if isinstance(data, str) else json.dumps(data))


def test_nearest_package_json_naming_prisma(tmp_path):
    (tmp_path / ".git").mkdir()
    _package(tmp_path, {"devDependencies": {"prisma": "^6.2.0"}})
    _package(tmp_path / "apps" / "api", {"dependencies": {"@prisma/client": "~5.22.0"}})
    _package(tmp_path / "apps" / "api" / "prisma", {"name": "no prisma here"})
    migrations = tmp_path / "apps" / "api" / "prisma" / "migrations"
    migrations.mkdir()
    found, warning = prisma_version(migrations)
    assert found is not None and (found.value, found.path) == ("5.22", tmp_path / "apps" / "api" / "package.json")
    assert warning == ""


def test_the_search_stops_at_the_git_root(tmp_path):
    _package(tmp_path, {"devDependencies": {"prisma": "^6.2.0"}})
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    assert prisma_version(tmp_path / "repo") == (None, "")


def test_invalid_package_json_is_a_warning_with_its_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    _package(tmp_path, '{\n  "devDependencies": {\n    "prisma": "6.1.0",\n  }\n}\n')
    project(tmp_path, "postgresql", sql='CREATE TABLE "User" ("id" BIGINT PRIMARY KEY);\n')
    code = main(["prisma/migrations"])
    err = capsys.readouterr().err
    assert code == 0 and "package.json:4:3: invalid JSON" in err and "Traceback" not in err


def test_package_json_version_is_used_and_config_or_cli_win(tmp_path, capsys, monkeypatch):
    from migration_lint.cli.common import _check_parser, build_linter
    from migration_lint.config import load_config

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    _package(tmp_path, {"devDependencies": {"prisma": "^6.2.0"}})
    project(tmp_path, "postgresql", sql='CREATE TABLE "User" ("id" BIGINT PRIMARY KEY);\n')

    def configured(*argv: str):
        return build_linter(_check_parser().parse_args(["prisma/migrations", *argv]))[1]

    config = configured()
    assert (config.prisma_version, config.prisma_version_from) == ("6.2", str(tmp_path / "package.json"))
    assert configured("--prisma-version", "7.4").prisma_version == "7.4"
    (tmp_path / "migration-lint.toml").write_text('prisma_version = "7.5"\n')
    config = configured("--config", "migration-lint.toml")
    assert config.prisma_version == "7.5" and config.prisma_version_from == "migration-lint.toml"
    assert load_config(tmp_path / "migration-lint.toml").prisma_version_from is not None
    assert configured("--no-config").prisma_legacy


def test_each_project_of_a_monorepo_is_linted_with_its_own_prisma_version(tmp_path, capsys, monkeypatch):
    """apps/legacy uses Prisma 6 (a migration.sql is one transaction), apps/current Prisma 7.5: the same
    migration fails to deploy in the first one only, in one run over both; the configuration still wins."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    sql = ('CREATE TABLE "User" ("id" BIGINT PRIMARY KEY, "email" TEXT);\n'
           'CREATE INDEX CONCURRENTLY "User_email_idx" ON "User" ("email");\n')
    for app, version in (("legacy", "^6.2.0"), ("current", "7.5.0")):
        _package(tmp_path / "apps" / app, {"devDependencies": {"prisma": version}})
        project(tmp_path / "apps" / app, "postgresql", sql=sql)

    def rules(*argv: str) -> dict[str, set[str]]:
        _, report = lint(capsys, "apps/current/prisma/migrations", "apps/legacy/prisma/migrations", "--no-cache", *argv)
        out: dict[str, set[str]] = {}
        for file in report["files"]:
            out.setdefault(file["path"].split("/")[1], set()).update(f["rule"] for f in file["findings"])
        return out

    found = rules()
    assert "concurrently-in-transaction" in found["legacy"]
    assert "concurrently-in-transaction" not in found["current"]
    message = next(f["message"] for f in lint(capsys, "apps/legacy/prisma/migrations", "--no-cache")[1]["files"][0]["findings"]
                   if f["rule"] == "concurrently-in-transaction")
    assert "prisma_version = 6.2" in message
    found = rules("--prisma-version", "7.4")  # named on the command line: for every project
    assert "concurrently-in-transaction" not in found["legacy"] | found["current"]
