"""Golden files pin the text, JSON, GitHub and SARIF reports of the example project.

Regenerate after an intended change with: python -m pytest tests/test_golden.py --update-golden
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migration_lint import __version__
from migration_lint.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("json", "json"), ("github", "github"), ("sarif", "sarif.json")])
def test_example_project_report(fmt, suffix, capsys, monkeypatch, tmp_path, update_golden):
    # a copy in a repository of its own: the SARIF names files from the repository's root, which is then known
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", repo / "examples")
    (repo / ".git").mkdir()
    monkeypatch.chdir(repo)
    code = main(["examples/prisma/migrations", "--format", fmt, "--color", "never"])
    out = capsys.readouterr().out.replace(__version__, "<version>").replace(repo.as_uri(), "file:///repo")
    assert code == 1
    path = GOLDEN / f"example.{suffix}"
    if update_golden:
        path.write_text(out, encoding="utf-8")
    assert path.is_file(), "missing golden file: run pytest tests/test_golden.py --update-golden"
    assert out == path.read_text(encoding="utf-8"), "report changed: review, then run pytest tests/test_golden.py --update-golden"


def test_injection_in_sql_stays_inert_in_every_format(tmp_path, capsys, monkeypatch):
    """SQL and paths from a migration cannot inject terminal escapes or workflow commands."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "001_add_index_x_t.sql").write_text(
        "CREATE INDEX \"evil\x1b[2J\n::error::pwned\" ON t (x);\n"
        "DROP TABLE \"x%0A::warning::y\";\n", encoding="utf-8")
    main(["m", "--format", "text", "--color", "never"])
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\\x1b[2J" in text
    main(["m", "--format", "github"])
    github = capsys.readouterr().out
    for line in github.splitlines():
        assert line.startswith(("::error ", "::warning ", "::notice ")), line
        assert "\n" not in line and "\r" not in line
    assert "%250A::warning::y" in github


def test_json_rendered_file_by_file_is_the_whole_dump(corpus):
    """The JSON reporter dumps one file at a time (memory); the text equals dumping the whole report."""
    import orjson

    from migration_lint.config import Config
    from migration_lint.ingest.discover import discover
    from migration_lint.model import RunReport
    from migration_lint.pipeline.engine import Linter
    from migration_lint.report import json as json_report
    from migration_lint.rules.registry import all_rules

    found = discover([str(corpus / "MarquezProject__marquez"), str(corpus / "supabase__auth")])
    run = Linter(Config(), all_rules()).run(found.files, walked=found.walked, keep_trees=False)
    for sample in (run, RunReport([]), RunReport(run.files[:1]), RunReport(run.files[:9])):
        whole = orjson.dumps(json_report.report_dict(sample), option=orjson.OPT_INDENT_2).decode() + "\n"
        assert json_report.render(sample) == whole
