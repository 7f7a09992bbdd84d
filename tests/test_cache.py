"""The report cache is never wrong: a run served from it prints exactly what a fresh run prints, and
everything a report depends on (the file, the migrations before it, the configuration, the table
sizes, the linter's code) makes a miss."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from migration_lint.cli import main
from migration_lint.pipeline.engine import Linter

SAMPLE = ("triggerdotdev__trigger.dev", "MarquezProject__marquez", "supabase__auth", "rust-lang__crates.io")


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.delenv("MIGRATION_LINT_NO_CACHE", raising=False)
    monkeypatch.setenv("MIGRATION_LINT_CACHE_DIR", str(directory))
    return directory


@pytest.fixture
def count_lints(monkeypatch) -> list[str]:
    linted: list[str] = []
    original = Linter.lint_file

    def lint_file(self, file, *args, **kwargs):
        linted.append(file.display)
        return original(self, file, *args, **kwargs)

    monkeypatch.setattr(Linter, "lint_file", lint_file)
    return linted


def _json(capsys, *args: str, jobs: int = 1) -> str:
    code = main([*args, "--format", "json", "--jobs", str(jobs)])
    out = capsys.readouterr().out
    assert code in (0, 1), out[-2000:]
    return out


def _prisma(tmp_path: Path) -> Path:
    root = tmp_path / "prisma" / "migrations"
    files = {
        "20240101000000_create_client": 'CREATE TABLE "Client" ("id" TEXT NOT NULL, "size" INTEGER);\n',
        "20240201000000_add_check": 'ALTER TABLE "Client" ADD CONSTRAINT "size_nn" CHECK ("size" IS NOT NULL) NOT VALID;\n',
        "20240301000000_validate_check": 'ALTER TABLE "Client" VALIDATE CONSTRAINT "size_nn";\n',
        "20240401000000_require_client_size": 'ALTER TABLE "Client" ALTER COLUMN "size" SET NOT NULL;\n'
                                              'CREATE INDEX "Client_size_idx" ON "Client" ("size");\n',
    }
    for name, sql in files.items():
        (root / name).mkdir(parents=True)
        (root / name / "migration.sql").write_text(sql)
    (root / "migration_lock.toml").write_text('provider = "postgresql"\n')
    return root


def test_corpus_sample_is_the_same_fresh_cold_and_warm(corpus, cache_dir, capsys, count_lints):
    paths = [str(corpus / name) for name in SAMPLE]
    fresh = _json(capsys, *paths, "--no-cache")
    assert not cache_dir.exists(), "--no-cache wrote a cache"
    cold = _json(capsys, *paths, jobs=2)  # linted in two processes, stored by this one
    assert cache_dir.exists()
    count_lints.clear()
    warm = _json(capsys, *paths)
    assert count_lints == [], "a warm run linted again"
    assert fresh == cold == warm
    assert json.loads(warm)["files"][0]["statements"]


def test_an_edited_migration_invalidates_itself_and_the_ones_after(tmp_path, cache_dir, capsys, count_lints):
    root = _prisma(tmp_path)
    _json(capsys, str(root))
    # without the VALIDATE, SET NOT NULL has to scan the table: the last migration's report changes
    (root / "20240301000000_validate_check" / "migration.sql").write_text("SELECT 1;\n")
    count_lints.clear()
    warm = _json(capsys, str(root))
    assert [Path(d).parent.name for d in count_lints] == ["20240301000000_validate_check",
                                                          "20240401000000_require_client_size"]
    assert warm == _json(capsys, str(root), "--no-cache")
    last = json.loads(warm)["files"][-1]
    assert last["statements"][0]["scans"] is True


def test_a_single_file_run_reuses_the_directory_run(tmp_path, cache_dir, capsys, count_lints):
    root = _prisma(tmp_path)
    whole = json.loads(_json(capsys, str(root)))
    last = root / "20240401000000_require_client_size" / "migration.sql"
    count_lints.clear()
    single = json.loads(_json(capsys, str(last)))
    assert count_lints == []
    assert single["files"] == [whole["files"][-1]]
    count_lints.clear()
    _json(capsys, str(root))
    assert count_lints == [], "the single-file run evicted the directory's entries"


@pytest.mark.parametrize("change", ["config", "select", "pg-version", "stats", "source", "rename", "history"])
def test_what_a_report_depends_on_makes_a_miss(tmp_path, cache_dir, capsys, count_lints, change, monkeypatch):
    root = _prisma(tmp_path)
    args = [str(root)]
    _json(capsys, *args)
    restore = None
    if change == "config":
        monkeypatch.delenv("MIGRATION_LINT_NO_CONFIG")
        monkeypatch.chdir(tmp_path)
        (tmp_path / "migration-lint.toml").write_text("pg_version = 11\n")
    elif change == "select":
        args.append("--select=ALL")
    elif change == "pg-version":
        args.append("--pg-version=10")
    elif change == "stats":
        stats = tmp_path / "stats.json"
        stats.write_text(json.dumps({"tables": [{"schema": "public", "table": "Client", "rows": 90_000_000,
                                                 "bytes": 9_000_000_000}]}))
        args.append(f"--stats={stats}")
    elif change == "source":  # an edited checkout of the linter itself
        import migration_lint.rules.builtin.set_not_null as module

        path = Path(module.__file__)
        before = path.stat()
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        restore = lambda: os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # noqa: E731
    elif change == "rename":
        (root / "20240401000000_require_client_size").rename(root / "20240401000000_require_size")
    elif change == "history":
        args.append("--no-history")
    count_lints.clear()
    try:
        warm = _json(capsys, *args)
    finally:
        if restore:
            restore()
    assert count_lints, f"{change}: served from the cache"
    assert warm == _json(capsys, *args, "--no-cache")


def test_damaged_or_unwritable_cache_is_no_cache(tmp_path, cache_dir, capsys):
    root = _prisma(tmp_path)
    fresh = _json(capsys, str(root), "--no-cache")
    _json(capsys, str(root))
    for entry in (cache_dir / "v1").iterdir():
        entry.write_bytes(b"\x80\x04garbage")
    assert _json(capsys, str(root)) == fresh
    for entry in (cache_dir / "v1").iterdir():  # a foreign pickle: not a report
        entry.write_bytes(pickle.dumps({"format": 1, "salt": b"x", "entries": {}}))
    assert _json(capsys, str(root)) == fresh
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    os.environ["MIGRATION_LINT_CACHE_DIR"] = str(blocked / "cache")
    assert _json(capsys, str(root)) == fresh


def test_cache_can_be_turned_off(tmp_path, cache_dir, capsys, monkeypatch):
    root = _prisma(tmp_path)
    monkeypatch.setenv("MIGRATION_LINT_NO_CACHE", "1")
    _json(capsys, str(root))
    monkeypatch.delenv("MIGRATION_LINT_NO_CACHE")
    monkeypatch.delenv("MIGRATION_LINT_NO_CONFIG")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "migration-lint.toml").write_text("cache = false\n")
    _json(capsys, str(root))
    assert not cache_dir.exists()


def test_undeployed_migrations_are_not_cached(tmp_path, cache_dir, capsys, count_lints):
    """With --new, a migration's tables count as empty for the next ones: the order carries more than
    the schema, so those runs are linted afresh."""
    root = _prisma(tmp_path)
    new = str(root / "20240101000000_create_client")
    first = _json(capsys, str(root), "--new", new)
    count_lints.clear()
    assert _json(capsys, str(root), "--new", new) == first
    assert len(count_lints) == 4


def test_a_new_migration_starts_from_the_stored_schema_model(tmp_path, cache_dir, capsys, schema_applies):
    """One new migration after a long history (the commit-hook case): the schema model stored by the last
    run is loaded instead of replaying every earlier migration, and the report is the same."""
    root = _prisma(tmp_path)
    _json(capsys, str(root))
    new = root / "20240501000000_require_client_size_again"
    new.mkdir()
    (new / "migration.sql").write_text('ALTER TABLE "Client" ALTER COLUMN "size" SET NOT NULL;\n')
    applied = schema_applies
    applied.clear()  # the first run's
    warm = _json(capsys, str(new / "migration.sql"))
    assert len(applied) == 1, "the earlier migrations were replayed"
    assert json.loads(warm)["files"][0]["statements"][0]["scans"] is False  # it knows the VALIDATE before
    applied.clear()
    assert warm == _json(capsys, str(new / "migration.sql"), "--no-cache")
    assert len(applied) == 6
    # editing an earlier migration changes the chain: no stored model matches, everything is replayed
    (root / "20240301000000_validate_check" / "migration.sql").write_text("SELECT 1;\n")
    applied.clear()
    edited = _json(capsys, str(new / "migration.sql"))
    assert len(applied) == 6
    assert edited == _json(capsys, str(new / "migration.sql"), "--no-cache")


def test_a_file_over_the_size_limit_is_not_read_to_key_it(tmp_path, cache_dir, capsys, whole_reads, count_lints):
    """A file above load.MAX_FILE_BYTES is reported without being read: the cache does not read it either
    (a sparse file of the limit and one byte), and the files after it are still served from the cache."""
    from migration_lint.pipeline.load import MAX_FILE_BYTES

    root = _prisma(tmp_path)
    huge = root / "20240151000000_load_everything" / "migration.sql"
    huge.parent.mkdir()
    with open(huge, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    first = _json(capsys, str(root))
    assert huge not in whole_reads
    report = next(f for f in json.loads(first)["files"] if f["path"].endswith("load_everything/migration.sql"))
    assert [f["message"] for f in report["findings"] if f["rule"] == "parse-error"] == [
        f"file is too large to lint ({MAX_FILE_BYTES + 1:,} bytes; the limit is {MAX_FILE_BYTES:,})"]
    whole_reads.clear()
    count_lints.clear()
    assert _json(capsys, str(root)) == first
    assert huge not in whole_reads
    assert [Path(d).parent.name for d in count_lints] == ["20240151000000_load_everything"]  # the others: hits
