"""The command line end to end: exit codes, formats, config errors, bad files, stdin, globs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migration_lint import __version__
from migration_lint.cli import main


def run(argv, capsys, stdin: bytes | None = None, monkeypatch=None):
    if stdin is not None:
        import io

        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def prisma(tmp_path: Path) -> Path:
    root = tmp_path / "prisma" / "migrations"
    write(root / "migration_lock.toml", 'provider = "postgresql"\n')
    write(root / "20240101000000_init" / "migration.sql",
          '-- CreateTable\nCREATE TABLE "User" ("id" TEXT NOT NULL, "email" TEXT NOT NULL, CONSTRAINT "User_pkey" PRIMARY KEY ("id"));\n'
          '-- CreateIndex\nCREATE UNIQUE INDEX "User_email_key" ON "User"("email");\n')
    write(root / "20240201000000_add_index_name_user" / "migration.sql",
          '-- AlterTable\nALTER TABLE "User" ADD COLUMN "name" TEXT;\n-- CreateIndex\nCREATE INDEX "User_name_idx" ON "User"("name");\n')
    return root


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_clean_directory_exits_0(tmp_path, capsys):
    write(tmp_path / "m" / "001_create_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY);\n")
    code, out, err = run([str(tmp_path / "m")], capsys)
    assert code == 0, out + err
    assert "1 file checked, no findings; overall risk LOW" in out


def test_prisma_project_text_output_and_exit_1(prisma, capsys, monkeypatch):
    monkeypatch.chdir(prisma.parent.parent)
    code, out, err = run(["prisma/migrations/"], capsys)
    assert code == 1
    path = os.path.join("prisma", "migrations", "20240201000000_add_index_name_user", "migration.sql")
    assert f"{path}:4:33: error non-concurrent-index CREATE INDEX takes a SHARE lock on \"User\"" in out
    assert "    help: Build it without blocking writes: `CREATE INDEX CONCURRENTLY \"User_name_idx\"" in out
    assert "migration risk MEDIUM" in out
    assert "\x1b[" not in out  # not a TTY: no colour
    # the init migration's index is on a table it created: not reported
    assert "20240101000000_init" not in out.split("overall risk")[0].split("risk MEDIUM")[0] or "User_email_key" not in out


def test_json_contract(prisma, capsys):
    code, out, _ = run([str(prisma), "--format", "json", "--select", "non-concurrent-index"], capsys)
    assert code == 1
    data = json.loads(out)
    assert data["tool"] == {"name": "migration-lint", "version": __version__}
    assert [f["migration"] for f in data["files"]] == ["init", "add_index_name_user"]
    assert {f["framework"] for f in data["files"]} == {"prisma"}
    init, second = data["files"]
    assert init["risk"] == "LOW" and init["findings"] == []
    assert [s["kind"] for s in init["statements"]] == ["CREATE TABLE", "CREATE UNIQUE INDEX"]
    create_index = second["statements"][1]
    assert create_index["line"] == 4 and create_index["column"] == 1 and create_index["end_line"] == 4
    assert create_index["kind"] == "CREATE INDEX"
    assert create_index["sql"] == 'CREATE INDEX "User_name_idx" ON "User"("name")'
    assert create_index["locks"] == [{"relation": "User", "mode": "ShareLock"}]
    assert create_index["blocks"] == ["writes"]
    assert create_index["rewrites"] is False and create_index["scans"] is True
    assert create_index["risk"] == "MEDIUM"
    alter = second["statements"][0]
    assert alter["locks"] == [{"relation": "User", "mode": "AccessExclusiveLock"}]
    assert alter["blocks"] == ["reads", "writes"] and alter["risk"] == "LOW"
    [finding] = second["findings"]
    assert finding == {
        "rule": "non-concurrent-index", "severity": "error", "line": 4, "column": 33, "end_line": 4,
        "end_column": 47, "message": finding["message"], "help": finding["help"], "url": finding["url"],
        "fix": finding["fix"],
    }
    # Prisma 7.4+ runs a one-statement migration outside a transaction: CONCURRENTLY in place, safe
    assert finding["fix"] == {
        "title": finding["fix"]["title"], "safe": True,
        "edits": [{"line": 4, "column": 13, "end_line": 4, "end_column": 13, "text": " CONCURRENTLY"}],
    }
    assert finding["url"].endswith("/rules/non-concurrent-index.md")
    assert second["risk"] == "MEDIUM"
    assert data["summary"] == {"files": 2, "risk": "MEDIUM", "findings": {"error": 1, "warning": 0, "info": 0}}


def test_fail_on_levels(tmp_path, capsys):
    path = write(tmp_path / "2024_update_schema.sql", "ALTER TABLE t ADD COLUMN c int;\n")
    assert run([str(path)], capsys)[0] == 0  # a warning only
    assert run([str(path), "--fail-on", "warning"], capsys)[0] == 1
    assert run([str(path), "--fail-on", "never"], capsys)[0] == 0


def test_select_and_ignore(tmp_path, capsys):
    path = write(tmp_path / "001_add_index_x_t.sql", "CREATE INDEX i ON t (x);\nDROP TABLE old;\n")
    code, out, _ = run([str(path), "--ignore", "non-concurrent-index", "-f", "json"], capsys)
    rules = {f["rule"] for f in json.loads(out)["files"][0]["findings"]}
    assert "drop-without-backup" in rules and "non-concurrent-index" not in rules
    code, out, _ = run([str(path), "--select", "non-concurrent-index", "-f", "json"], capsys)
    assert {f["rule"] for f in json.loads(out)["files"][0]["findings"]} == {"non-concurrent-index"}


def test_unknown_rule_in_select_is_a_usage_error(tmp_path, capsys):
    path = write(tmp_path / "001_x.sql", "SELECT 1;\n")
    code, _, err = run([str(path), "--select", "no-such-rule"], capsys)
    assert code == 2
    assert "unknown rule `no-such-rule`" in err


def test_github_annotations_are_escaped(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "db" / "001_add_index_a,b:c.sql", "CREATE INDEX i ON t (x);\n")
    code, out, _ = run(["db", "--format", "github"], capsys)
    assert code == 1
    [line] = [entry for entry in out.splitlines() if "non-concurrent-index" in entry.split("::")[1]]
    assert line.startswith("::error file=db/001_add_index_a%2Cb%3Ac.sql,line=1,col=19,endLine=1,endColumn=24,"
                           "title=migration-lint non-concurrent-index::")
    assert "\n" not in line and "%0A" in line


def test_sarif_output(tmp_path, capsys):
    path = write(tmp_path / "001_add_index_x_t.sql", "CREATE INDEX i ON t (x);\n")
    code, out, _ = run([str(path), "--format", "sarif", "--select", "non-concurrent-index"], capsys)
    data = json.loads(out)
    assert data["version"] == "2.1.0"
    run_ = data["runs"][0]
    rules = {r["id"]: r for r in run_["tool"]["driver"]["rules"]}
    assert rules["non-concurrent-index"]["helpUri"].endswith("non-concurrent-index.md")
    [result] = run_["results"]
    assert result["ruleId"] == "non-concurrent-index" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert run_["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "non-concurrent-index"


def test_bad_files_are_findings_and_the_rest_is_linted(tmp_path, capsys):
    d = tmp_path / "m"
    write(d / "001_create_a.sql", "CREATE TABLE a (id int);\n")
    write(d / "002_broken.sql", "CREATE TABLE b (id int);\nCREATE TABLE c (id int,);\n")
    write(d / "003_latin1.sql", b"-- caf\xe9\nSELECT 1;\n")
    write(d / "004_binary.sql", b"\x00\x01\x02 binary")
    write(d / "005_add_index_x_t.sql", "CREATE INDEX i ON t (x);\n")
    code, out, err = run([str(d), "-f", "json", "--select", "parse-error,non-concurrent-index"], capsys)
    assert code == 1 and err == ""
    files = {Path(f["path"]).name: f for f in json.loads(out)["files"]}
    assert len(files) == 5
    [broken] = files["002_broken.sql"]["findings"]
    assert (broken["rule"], broken["line"], broken["column"]) == ("parse-error", 2, 24)
    [latin] = files["003_latin1.sql"]["findings"]
    assert latin["rule"] == "parse-error" and latin["line"] == 1 and "UTF-8" in latin["message"]
    assert files["004_binary.sql"]["findings"][0]["rule"] == "parse-error"
    assert files["005_add_index_x_t.sql"]["findings"][0]["rule"] == "non-concurrent-index"


def test_missing_path_is_reported_and_others_linted(tmp_path, capsys):
    ok = write(tmp_path / "001_create_a.sql", "CREATE TABLE a (id int);\n")
    code, out, _ = run([str(ok), str(tmp_path / "nope.sql")], capsys)
    assert code == 1
    assert "nope.sql:1:1: error parse-error no such file or directory" in out


def test_no_path_is_usage_error(capsys):
    code, _, err = run([], capsys)
    assert code == 2 and "no path given" in err


def test_bad_option_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["x.sql", "--format", "xml"])
    assert exc.value.code == 2


def test_stdin(capsys, monkeypatch):
    code, out, _ = run(["-", "--stdin-filename", "prisma/migrations/20240101000000_add_index_x/migration.sql", "-f", "json",
                        "--select", "non-concurrent-index,migration-name"],
                       capsys, stdin=b"\xef\xbb\xbfCREATE INDEX i ON t (x);\r\n", monkeypatch=monkeypatch)
    data = json.loads(out)
    [file] = data["files"]
    assert file["path"] == "prisma/migrations/20240101000000_add_index_x/migration.sql"
    assert file["framework"] == "prisma" and file["migration"] == "add_index_x"
    assert [(f["rule"], f["line"], f["column"]) for f in file["findings"]] == [("non-concurrent-index", 1, 19)]
    assert code == 1


def test_globs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "db" / "V1__create_a.sql", "CREATE TABLE a (id int);\n")
    write(tmp_path / "db" / "V2__create_b.sql", "CREATE TABLE b (id int);\n")
    write(tmp_path / "db" / "notes.txt", "x")
    code, out, _ = run(["db/V*.sql", "-f", "json"], capsys)
    assert [f["path"] for f in json.loads(out)["files"]] == [os.path.join("db", "V1__create_a.sql"), os.path.join("db", "V2__create_b.sql")]
    code, out, _ = run(["db/*.nothing"], capsys)
    assert "no file matches this pattern" in out


def test_config_file_is_found_upward_and_validated(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MIGRATION_LINT_NO_CONFIG")
    write(tmp_path / "pyproject.toml", '[tool.migration-lint]\nignore = ["non-concurrent-index", "missing-lock-timeout"]\n[tool.migration-lint.severity]\ndrop-without-backup = "warning"\n')
    sub = tmp_path / "a" / "b"
    write(sub / "001_add_index_x_t.sql", "CREATE INDEX i ON t (x);\nDROP TABLE t2;\n")
    monkeypatch.chdir(sub)
    code, out, _ = run(["001_add_index_x_t.sql", "-f", "json"], capsys)
    findings = json.loads(out)["files"][0]["findings"]
    assert [(f["rule"], f["severity"]) for f in findings] == [("drop-without-backup", "warning")]
    assert code == 0


def test_unknown_config_key_is_an_error_naming_it(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MIGRATION_LINT_NO_CONFIG")
    write(tmp_path / "migration-lint.toml", 'pg_version = 14\nfail_onn = "warning"\n')
    write(tmp_path / "001_x.sql", "SELECT 1;\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["001_x.sql"], capsys)
    assert code == 2
    assert "migration-lint.toml" in err and "unknown key `fail_onn`" in err


@pytest.mark.parametrize(("content", "fragment"), [
    ('pg_version = "eleven"\n', "pg_version"),
    ('fail_on = "sometimes"\n', "fail_on"),
    ('select = ["no-such-rule"]\n', "unknown rule `no-such-rule`"),
    ('[rules.migration-name]\nverbs = ["x"]\n', "unknown key `verbs`"),
    ("this is not toml", "invalid TOML"),
])
def test_invalid_config_values(tmp_path, capsys, content, fragment):
    config = write(tmp_path / "cfg.toml", content)
    write(tmp_path / "001_x.sql", "SELECT 1;\n")
    code, _, err = run([str(tmp_path / "001_x.sql"), "--config", str(config)], capsys)
    assert code == 2, err
    assert fragment in err and "cfg.toml" in err


def test_pg_version_is_numeric(tmp_path, capsys):
    path = write(tmp_path / "001_add_flag_to_t.sql", "ALTER TABLE t ADD COLUMN flag boolean DEFAULT false;\n")
    _, out10, _ = run([str(path), "--pg-version", "10", "-f", "json"], capsys)
    _, out11, _ = run([str(path), "--pg-version", "11.0", "-f", "json"], capsys)
    assert json.loads(out10)["files"][0]["statements"][0]["rewrites"] is True
    assert json.loads(out11)["files"][0]["statements"][0]["rewrites"] is False


def test_rules_command(capsys):
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "non-concurrent-index" in out and "error" in out
    assert main(["rules", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ids = {r["id"] for r in data}
    assert {"drop-without-backup", "non-concurrent-index", "not-null-without-default", "set-not-null",
            "migration-name", "mixed-schema-and-data", "concurrently-in-transaction"} <= ids
    assert all(set(r) >= {"id", "severity", "summary", "url"} for r in data)


def test_explain(capsys):
    assert main(["explain", "set-not-null"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!--") and "# set-not-null" in out and "## Use instead" in out
    assert main(["explain", "set-not-nul"]) == 2
    assert "did you mean set-not-null" in capsys.readouterr().err


def test_color_when_forced_and_no_color(tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "001_add_index_x_t.sql", "CREATE INDEX i ON t (x);\n")
    _, out, _ = run([str(path), "--color", "always"], capsys)
    assert "\x1b[31merror\x1b[0m" in out
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    _, out, _ = run([str(path)], capsys)
    assert "\x1b[" not in out


def test_output_file(tmp_path, capsys):
    path = write(tmp_path / "001_create_a.sql", "CREATE TABLE a (id int);\n")
    target = tmp_path / "report.json"
    assert run([str(path), "-f", "json", "-o", str(target)], capsys)[0] == 0
    assert json.loads(target.read_text())["summary"]["files"] == 1


def test_console_script_runs_as_a_process(tmp_path):
    path = write(tmp_path / "001_add_index_x_t.sql", "CREATE INDEX i ON t (x);\n")
    env = dict(os.environ, MIGRATION_LINT_NO_CONFIG="1")
    proc = subprocess.run([sys.executable, "-m", "migration_lint", str(path), "-f", "json"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["summary"]["findings"]["error"] == 1
    assert proc.stderr == ""


def test_plugin_that_fails_to_load_is_an_error(tmp_path, capsys, monkeypatch):
    from importlib import metadata

    from migration_lint.rules import registry

    class BrokenEntryPoint:
        name, value, group = "broken", "broken_plugin:Rule", "migration_lint.rules"

        def load(self):
            raise ImportError("No module named 'broken_plugin'")

    monkeypatch.setattr(registry, "_may_have_plugins", lambda: True)
    monkeypatch.setattr(metadata, "entry_points", lambda group=None: [BrokenEntryPoint()] if group == "migration_lint.rules" else [])
    registry.reset_cache()
    try:
        path = write(tmp_path / "001_x.sql", "SELECT 1;\n")
        code, _, err = run([str(path)], capsys)
        assert code == 2
        assert "rule plugin 'broken'" in err and "failed to load" in err
    finally:
        registry.reset_cache()


def test_plugin_rule_is_loaded_and_runs(tmp_path, capsys, monkeypatch):
    from importlib import metadata

    from migration_lint.model import Severity
    from migration_lint.rules import registry
    from migration_lint.rules.base import Rule

    class BanVacuum(Rule):
        """Bans VACUUM.

        ## Why is this bad?
        Because.

        ## Example
        ```sql
        VACUUM t;
        ```

        ## Use instead
        ```sql
        SELECT 1;
        ```

        ## When it's fine
        Never.

        ## References
        - none
        """

        id = "ban-vacuum"
        summary = "No VACUUM in migrations"
        severity = Severity.WARNING
        statements = ("VacuumStmt",)

        def check_statement(self, stmt, ctx):
            yield ctx.finding(stmt, "VACUUM in a migration")

    class EntryPoint:
        name, value, group = "ban-vacuum", "plugin:BanVacuum", "migration_lint.rules"

        def load(self):
            return BanVacuum

    monkeypatch.setattr(registry, "_may_have_plugins", lambda: True)
    monkeypatch.setattr(metadata, "entry_points", lambda group=None: [EntryPoint()] if group == "migration_lint.rules" else [])
    registry.reset_cache()
    try:
        path = write(tmp_path / "001_vacuum_t.sql", "VACUUM t;\n")
        code, out, _ = run([str(path), "--fail-on", "warning"], capsys)
        assert code == 1
        assert "warning ban-vacuum VACUUM in a migration" in out
    finally:
        registry.reset_cache()


def test_plugin_written_for_targets_and_check_is_a_clear_error(tmp_path, capsys, monkeypatch):
    """A rule class with `targets` and `check(node, ctx)` is refused with a message saying what replaced them."""
    from importlib import metadata

    from migration_lint.model import Severity
    from migration_lint.rules import registry
    from migration_lint.rules.base import Rule

    class OldStyle(Rule):
        """Old.

        ## Why is this bad?
        x
        ## Example
        ```sql
        VACUUM t;
        ```
        ## Use instead
        ```sql
        SELECT 1;
        ```
        ## When it's fine
        x
        ## References
        - none
        """

        id = "old-style"
        summary = "old"
        severity = Severity.WARNING
        targets = ("VacuumStmt",)

        def check(self, node, ctx):
            yield ctx.finding(ctx.statement, "VACUUM")

    class EntryPoint:
        name, value, group = "old-style", "plugin:OldStyle", "migration_lint.rules"

        def load(self):
            return OldStyle

    monkeypatch.setattr(registry, "_may_have_plugins", lambda: True)
    monkeypatch.setattr(metadata, "entry_points", lambda group=None: [EntryPoint()] if group == "migration_lint.rules" else [])
    registry.reset_cache()
    try:
        path = write(tmp_path / "001_vacuum_t.sql", "VACUUM t;\n")
        code, out, err = run([str(path)], capsys)
        assert code == 2 and out == ""
        assert "is malformed" in err and "`targets` and `check` were replaced by `statements`" in err
        assert "the rule looks at nothing" in err
        assert "Traceback" not in err
    finally:
        registry.reset_cache()


def _crashing_rules():
    from migration_lint.model import Severity
    from migration_lint.rules.base import Rule

    doc = """Crashes.

    ## Why is this bad?
    x
    ## Example
    ```sql
    VACUUM t;
    ```
    ## Use instead
    ```sql
    SELECT 1;
    ```
    ## When it's fine
    x
    ## References
    - none
    """

    class CrashOnStatement(Rule):
        __doc__ = doc
        id = "crash-on-statement"
        summary = "crashes on VACUUM"
        severity = Severity.INFO
        statements = ("VacuumStmt",)

        def check_statement(self, stmt, ctx):
            raise KeyError("relation")

    class CrashOnFile(Rule):
        __doc__ = doc
        id = "crash-on-file"
        summary = "crashes on every file"
        severity = Severity.INFO
        migration = True

        def check_migration(self, ctx):
            yield from ()
            raise RuntimeError("boom")

    return [CrashOnStatement, CrashOnFile]


@pytest.mark.parametrize("select", [None, "crash-on-statement,crash-on-file", "non-concurrent-index,crash-on-statement,crash-on-file"])
def test_a_crashing_rule_is_an_internal_error_finding_whatever_select_says(tmp_path, capsys, monkeypatch, select):
    """A rule that raises costs its own check, never the run or the other findings, and is reported as
    internal-error (severity error, at the statement, or at line 1 for a whole-file rule) even when
    internal-error is not selected; only an explicit --ignore hides it."""
    from importlib import metadata

    from migration_lint.rules import registry

    class EntryPoint:
        name, value, group = "crashing", "crashing:rules", "migration_lint.rules"

        def load(self):
            import types

            module = types.ModuleType("crashing")
            for cls in _crashing_rules():
                setattr(module, cls.__name__, cls)
                cls.__module__ = "crashing"
            return module

    monkeypatch.setattr(registry, "_may_have_plugins", lambda: True)
    monkeypatch.setattr(metadata, "entry_points", lambda group=None: [EntryPoint()] if group == "migration_lint.rules" else [])
    registry.reset_cache()
    try:
        path = write(tmp_path / "001_vacuum_t.sql", "CREATE INDEX i ON t (a);\nVACUUM t;\n")
        argv = [str(path), "--format", "json", "--fail-on", "never"] + (["--select", select] if select else [])
        code, out, err = run(argv, capsys)
        assert code == 0 and "Traceback" not in err
        [report] = json.loads(out)["files"]
        crashes = [(f["line"], f["severity"], f["message"]) for f in report["findings"] if f["rule"] == "internal-error"]
        assert crashes == [(1, "error", "internal error in rule crash-on-file: RuntimeError: boom"),
                           (2, "error", "internal error in rule crash-on-statement: KeyError: 'relation'")]
        if select is None or "non-concurrent-index" in select:
            assert any(f["rule"] == "non-concurrent-index" for f in report["findings"])  # the other findings stand
        assert report["risk"] != "LOW"
        code, out, _ = run([*argv, "--ignore", "internal-error"], capsys)
        assert not [f for f in json.loads(out)["files"][0]["findings"] if f["rule"] == "internal-error"]
    finally:
        registry.reset_cache()


def test_plugin_scan_finds_declared_entry_points(tmp_path, monkeypatch):
    """The quick scan that spares importlib.metadata when no plugin is installed must see a plugin's
    distribution wherever it sits on sys.path."""
    from migration_lint.rules import registry

    assert registry._may_have_plugins() is False  # this environment has no rule plugin
    site = tmp_path / "site"
    info = site / "acme_rules-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[console_scripts]\nx = y:z\n")
    monkeypatch.syspath_prepend(str(site))
    assert registry._may_have_plugins() is False
    (info / "entry_points.txt").write_text("[migration_lint.rules]\nacme = acme_rules:rules\n")
    assert registry._may_have_plugins() is True


# -- the per-rule summary and --quiet --------------------------------------------------------------
EXAMPLE_MIGRATIONS = str(Path(__file__).resolve().parent.parent / "examples" / "prisma" / "migrations")


def test_text_report_counts_findings_per_rule(capsys):
    code, out, _ = run([EXAMPLE_MIGRATIONS, "--color", "never"], capsys)
    assert code == 1
    tail = out[out.index("findings per rule:"):].splitlines()
    assert tail[1].split() == ["3", "missing-lock-timeout", "(3", "info)"]  # the most frequent first
    rules = [line.split()[1] for line in tail[1:] if line.startswith("  ")]
    assert len(rules) == len(set(rules)) == 8 and "set-not-null" in rules
    assert tail[-2].startswith("4 files checked, 3 errors, 4 warnings, 3 info")
    assert tail[-1] == "[*] 5 fixable with --fix"


def test_no_per_rule_summary_without_findings(tmp_path, capsys):
    (tmp_path / "001_create_t.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY);\n")
    code, out, _ = run([str(tmp_path), "--color", "never", "--select", "set-not-null"], capsys)
    assert code == 0 and "findings per rule" not in out


def test_quiet_shows_only_findings_and_the_summary(capsys):
    code, out, _ = run([EXAMPLE_MIGRATIONS, "--color", "never", "--quiet"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[-1].startswith("4 files checked, 3 errors")
    body = lines[:-1]
    assert len(body) == 10 and all(" error " in line or " warning " in line or " info " in line for line in body)
    assert "help:" not in out and "findings per rule" not in out and "migration risk" not in out and ": risk " not in out
    # the same findings as without --quiet
    _, full, _ = run([EXAMPLE_MIGRATIONS, "--color", "never"], capsys)
    assert all(line in full.splitlines() for line in body)
    assert run([EXAMPLE_MIGRATIONS, "-q", "--format", "json"], capsys)[1] == run([EXAMPLE_MIGRATIONS, "--format", "json"], capsys)[1]


# -- stdin with --stdin-filename: the folder's history ------------------------------------------------
def _history_folder(tmp_path: Path) -> Path:
    migrations = tmp_path / "prisma" / "migrations"
    for name, sql in (
        ("20260101000000_init", 'CREATE TABLE "Client" (id bigint PRIMARY KEY, name text);\n'
                                'ALTER TABLE "Client" ADD CONSTRAINT "name_nn" CHECK ("name" IS NOT NULL) NOT VALID;\n'),
        ("20260102000000_validate_name_nn", 'ALTER TABLE "Client" VALIDATE CONSTRAINT "name_nn";\n'),
        ("20260103000000_set_name_not_null", 'DROP TABLE "Client";\n'),  # replaced by stdin
        ("20260104000000_drop_client", 'DROP TABLE "Client";\n'),  # later: never replayed before it
    ):
        (migrations / name).mkdir(parents=True)
        (migrations / name / "migration.sql").write_text(sql)
    (migrations / "migration_lock.toml").write_text('provider = "postgresql"\n')
    return migrations


def test_stdin_replays_the_history_of_its_folder(tmp_path, capsys, monkeypatch):
    migrations = _history_folder(tmp_path)
    name = str(migrations / "20260103000000_set_name_not_null" / "migration.sql")
    sql = b'ALTER TABLE "Client" ALTER COLUMN "name" SET NOT NULL;\n'
    code, out, err = run(["-", "--stdin-filename", name, "--format", "json"], capsys, stdin=sql, monkeypatch=monkeypatch)
    (report,) = json.loads(out)["files"]
    assert report["path"].endswith("20260103000000_set_name_not_null/migration.sql")
    rules = [f["rule"] for f in report["findings"]]
    # the validated CHECK of the earlier migrations makes SET NOT NULL cheap; the text is stdin's, not the file's
    assert "set-not-null" not in rules and "drop-table" not in " ".join(rules) and "Traceback" not in err
    assert len(report["statements"]) == 1
    code, out, _ = run(["-", "--stdin-filename", name, "--format", "json", "--no-history"], capsys, stdin=sql,
                       monkeypatch=monkeypatch)
    assert "set-not-null" in [f["rule"] for f in json.loads(out)["files"][0]["findings"]]



def test_github_formats_name_files_from_the_repository_root_whatever_the_working_directory(tmp_path, capsys, monkeypatch):
    """A monorepo job that runs in apps/api: annotations and code scanning read paths from the repository's
    root, so they say apps/api/…; outside a repository the names stay relative to the working directory."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    migration = repo / "apps" / "api" / "migrations" / "001_add_index_users_email.sql"
    migration.parent.mkdir(parents=True)
    migration.write_text('CREATE INDEX "users_email_idx" ON "users" ("email");\n')
    monkeypatch.chdir(repo / "apps" / "api")

    main(["migrations", "--format", "github", "--no-cache"])
    out = capsys.readouterr().out
    assert "file=apps/api/migrations/001_add_index_users_email.sql,line=1" in out

    main(["migrations", "--format", "sarif", "--no-cache"])
    sarif = json.loads(capsys.readouterr().out)
    run = sarif["runs"][0]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "apps/api/migrations/001_add_index_users_email.sql", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": repo.as_uri() + "/"}}
    fixed = next(r for r in run["results"] if r.get("fixes"))
    assert fixed["fixes"][0]["artifactChanges"][0]["artifactLocation"] == location

    main(["migrations", "--format", "json", "--no-cache"])  # the terminal-facing reports keep the short name
    assert json.loads(capsys.readouterr().out)["files"][0]["path"] == "migrations/001_add_index_users_email.sql"

    shutil.rmtree(repo / ".git")  # no repository: relative to the working directory, no base id
    main(["migrations", "--format", "sarif", "--no-cache"])
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "migrations/001_add_index_users_email.sql"}
    assert "originalUriBaseIds" not in run
