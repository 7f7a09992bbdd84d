"""The pre-commit hook, for real: `pre-commit try-repo` in a temporary repository.

pre-commit installs this project into a virtual environment of its own (with its
dependencies from the package index), so this test needs the network; it runs in CI
(CI=true makes a missing `pre-commit` a failure) and takes about half a minute.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / ".pre-commit-hooks.yaml"

INIT = 'CREATE TABLE "Client" (id text PRIMARY KEY, name text);\n'
GOOD = 'CREATE TABLE "Audit" (id bigint PRIMARY KEY, note text);\n'
BAD = 'CREATE INDEX "Client_name_idx" ON "Client"("name");\n'


def _hook() -> dict:
    (hook,) = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    return hook


def _selected(path: str) -> bool:
    """pre-commit's own test: `files` searched, `exclude` not found."""
    hook = _hook()
    return bool(re.search(hook["files"], path)) and not re.search(hook["exclude"], path)


@pytest.mark.parametrize(("path", "selected"), [
    ("prisma/migrations/20260101000000_init/migration.sql", True),
    ("apps/api/prisma/migrations/20260101000000_init/migration.sql", True),
    ("src/main/resources/db/migration/V2__add_email.sql", True),
    ("db/migration/V1.1__init.sql", True),
    ("db/migration/R__views.sql", True),
    ("db/migration/U2__undo_add_email.sql", False),
    ("db/migrations/000001_create_users.up.sql", True),
    ("db/migrations/000001_create_users.down.sql", False),
    ("supabase/migrations/20240101000000_create_profiles.sql", True),
    ("db/migrations/20240101000000_create_users.sql", True),
    ("migrations/2024-01-01-000000_create_users/up.sql", True),
    ("migrations/2024-01-01-000000_create_users/down.sql", False),
    ("queries/report.sql", False),
    ("supabase/seed.sql", False),
    ("docs/migrations.md", False),
])
def test_files_pattern(path, selected):
    assert _selected(path) == selected


def test_hook_definition():
    hook = _hook()
    assert hook["id"] == "migration-lint" and hook["language"] == "python"
    assert hook["entry"] == "migration-lint" and hook["pass_filenames"] is True


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _hook_repository(tmp: Path) -> Path:
    """A committed copy of this working tree's package (pre-commit installs from a git commit)."""
    repo = tmp / "hook-repo"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    shutil.copytree(ROOT / "src" / "migration_lint", repo / "src" / "migration_lint",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "hook")
    return repo


def _pre_commit_available() -> bool:
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        return False
    return shutil.which("git") is not None


@pytest.mark.skipif(not _pre_commit_available() and not os.environ.get("CI"),
                    reason="pre-commit is not installed (pip install -e '.[test]')")
def test_the_hook_fails_a_bad_migration_and_passes_a_good_one(tmp_path, monkeypatch):
    for key, value in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
                       "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": os.devnull,
                       "GIT_CONFIG_NOSYSTEM": "1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MIGRATION_LINT_NO_CONFIG", raising=False)
    hook_repo = _hook_repository(tmp_path)
    project = tmp_path / "project"
    migrations = project / "prisma" / "migrations"
    files = {
        "prisma/migrations/20260101000000_init/migration.sql": INIT,
        "prisma/migrations/20260201000000_create_audit/migration.sql": GOOD,
        "prisma/migrations/20260202000000_add_index_name_client/migration.sql": BAD,
        "queries/report.sql": BAD,  # not a migration: not passed to the hook
        "db/migrations/000001_create_users.down.sql": BAD,  # a down migration: excluded
    }
    for name, sql in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(sql, encoding="utf-8")
    (migrations / "migration_lock.toml").write_text('provider = "postgresql"\n')
    _git(project, "init", "-q")
    _git(project, "add", "-A")  # staged, not committed

    def try_repo(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "migration-lint",
                               "--color", "never", *args], cwd=project, capture_output=True, text=True, timeout=600)

    failed = try_repo("--all-files")
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1, output
    assert "migration-lint" in output and "Failed" in output
    assert "20260202000000_add_index_name_client/migration.sql:1:35: error non-concurrent-index" in output
    assert "queries/report.sql" not in output and "down.sql" not in output
    assert "error" not in "\n".join(line for line in output.splitlines() if "20260201000000_create_audit" in line)

    passed = try_repo("--files", "prisma/migrations/20260101000000_init/migration.sql",
                      "prisma/migrations/20260201000000_create_audit/migration.sql")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
