"""Linting in several processes gives the very report of one process.

The corpus sample covers every layout of the shared corpus; one directory linted with two processes
is split in two chunks (the second replays the first), so the history handover is compared too.
"""

from __future__ import annotations

import os

import pytest

from migration_lint.cli import main
from migration_lint.pipeline import parallel

pytestmark = pytest.mark.skipif(not parallel._fork_available(), reason="parallel runs need fork")

# one project of each layout (Diesel, Prisma, Flyway, golang-migrate, Supabase/plain, Drizzle)
SAMPLE = ("LemmyNet__lemmy", "triggerdotdev__trigger.dev", "MarquezProject__marquez", "goharbor__harbor",
          "supabase__auth", "elie222__inbox-zero")


def _json(capsys, args: list[str]) -> str:
    code = main(args + ["--format", "json"])
    out = capsys.readouterr().out
    assert code in (0, 1), out[-2000:]
    return out


def test_corpus_sample_is_the_same_in_one_and_two_processes(corpus, capsys):
    paths = [str(corpus / name) for name in SAMPLE]
    one = _json(capsys, paths + ["--jobs", "1"])
    two = _json(capsys, paths + ["--jobs", "2"])
    assert '"statements"' in one and one.count('"path"') > 500
    assert one == two


def test_one_directory_split_in_two_is_the_same(corpus, capsys):
    from migration_lint.config import Config
    from migration_lint.ingest.discover import discover
    from migration_lint.pipeline.engine import Linter
    from migration_lint.rules.registry import all_rules

    root = corpus / "triggerdotdev__trigger.dev"
    linter = Linter(Config(), all_rules())
    found = discover([str(root)])
    [unit] = linter.plan(found.files, walked=found.walked)
    chunks = parallel.split([unit], 2, linter)
    assert len(chunks) == 2 and sum(step.index is None for step in chunks[1].steps) > 100  # the replayed half
    assert _json(capsys, [str(root), "--jobs", "1"]) == _json(capsys, [str(root), "--jobs", "2"])


def test_a_dead_worker_costs_nothing(tmp_path, capsys, monkeypatch):
    """A worker that dies (out of memory, killed) leaves its work to the main process."""
    root = tmp_path / "migrations"
    root.mkdir()
    for n in range(6):
        (root / f"V{n + 1}__add_c{n}.sql").write_text(f"ALTER TABLE t ADD COLUMN c{n} int NOT NULL;\n")
    expected = _json(capsys, [str(root), "--jobs", "1"])
    monkeypatch.setattr(parallel, "_run", lambda number: os._exit(9))
    assert _json(capsys, [str(root), "--jobs", "2"]) == expected


def test_small_runs_stay_in_one_process(tmp_path):
    from migration_lint.model import MigrationFile
    from migration_lint.pipeline.engine import Step, Unit

    small = tmp_path / "V1__a.sql"
    small.write_text("SELECT 1;\n")
    units = [Unit(tmp_path, [Step(0, MigrationFile(small, "V1__a.sql"))])]
    assert parallel.workers(None, units) == 1
    assert parallel.workers(1, units) == 1


def test_jobs_must_not_be_negative(capsys):
    assert main(["--jobs", "-1", "."]) == 2
    assert "--jobs" in capsys.readouterr().err
