"""Configuration discovery in a monorepo: upward from the linted paths, not above the git root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration_lint.cli import main
from migration_lint.config import find_config, find_config_for, load_config


@pytest.fixture
def monorepo(tmp_path, monkeypatch):
    """repo/ (git root) with services/api/{migration-lint.toml, prisma/migrations}; the cwd is repo/."""
    monkeypatch.delenv("MIGRATION_LINT_NO_CONFIG", raising=False)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    api = repo / "services" / "api"
    migrations = api / "prisma" / "migrations"
    for name, sql in (("20260101000000_init", 'CREATE TABLE "Client" (id bigint PRIMARY KEY, name text);\n'),
                      ("20260102000000_set_client_name_not_null", 'ALTER TABLE "Client" ALTER COLUMN "name" SET NOT NULL;\n')):
        (migrations / name).mkdir(parents=True)
        (migrations / name / "migration.sql").write_text(sql)
    (migrations / "migration_lock.toml").write_text('provider = "postgresql"\n')
    (api / "migration-lint.toml").write_text('ignore = ["set-not-null"]\nexclude = ["prisma/migrations/20260101000000_init/*"]\n')
    monkeypatch.chdir(repo)
    return repo, api


def test_found_upward_from_the_linted_path(monorepo):
    repo, api = monorepo
    assert find_config() is None  # from the working directory: nothing
    assert find_config_for(["services/api/prisma/migrations"]) == (api / "migration-lint.toml").resolve()
    assert find_config_for(["services/api/prisma/migrations/*/migration.sql"]) == (api / "migration-lint.toml").resolve()


def test_the_search_stops_at_the_git_root(monorepo, tmp_path):
    repo, api = monorepo
    (tmp_path / "migration-lint.toml").write_text('fail_on = "never"\n')  # above the repository
    (api / "migration-lint.toml").unlink()
    assert find_config(repo / "services", stop_at_git_root=True) is None
    # without a configuration in the repository, the working directory's search still applies
    assert find_config_for(["services/api/prisma/migrations"]) == (tmp_path / "migration-lint.toml").resolve()


def test_exclude_is_relative_to_the_configuration_file(monorepo):
    repo, api = monorepo
    config = load_config(paths=["services/api/prisma/migrations"])
    (pattern,) = config.exclude
    assert Path(pattern).resolve() == (api / "prisma/migrations/20260101000000_init").resolve() / "*"


def test_the_command_uses_the_configuration_next_to_the_migrations(monorepo, capsys):
    code = main(["services/api/prisma/migrations", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    paths = [Path(r["path"]).parent.name for r in report["files"]]
    assert paths == ["20260102000000_set_client_name_not_null"]  # the init migration is excluded
    assert code == 0  # set-not-null is ignored by services/api/migration-lint.toml


def test_a_broken_configuration_names_the_file(monorepo, capsys):
    _, api = monorepo
    (api / "migration-lint.toml").write_text("select = []\nfail_on = never\n")
    assert main(["services/api/prisma/migrations"]) == 2
    err = capsys.readouterr().err
    assert "migration-lint.toml: invalid TOML" in err and "line 2" in err and "Traceback" not in err
