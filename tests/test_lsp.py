"""`migration-lint lsp`: a real client session over stdio, the history kept between lints, hovers, code actions,
and the message when pygls is not installed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from migration_lint import cli

ROOT = Path(__file__).resolve().parent.parent

INIT = 'CREATE TABLE "Post" ("id" serial PRIMARY KEY, "a" text);\n'
INDEX = 'CREATE INDEX "i" ON "Post" ("a");\n'
FIXED = 'CREATE INDEX CONCURRENTLY "i" ON "Post" ("a");\n'


def _prisma(tmp_path: Path) -> tuple[Path, Path]:
    migrations = tmp_path / "prisma" / "migrations"
    first = migrations / "20240101000000_init" / "migration.sql"
    second = migrations / "20240102000000_idx" / "migration.sql"
    first.parent.mkdir(parents=True)
    second.parent.mkdir(parents=True)
    first.write_text(INIT)
    second.write_text(INDEX)
    return first, second


def test_without_pygls_the_command_says_what_to_install(monkeypatch, capsys):
    for name in [m for m in sys.modules if m.partition(".")[0] in ("pygls", "lsprotocol")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delitem(sys.modules, "migration_lint.cli.lsp.server", raising=False)
    monkeypatch.setitem(sys.modules, "pygls", None)  # `import pygls` raises ImportError
    assert cli.main(["lsp"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "pip install 'pg-migration-lint[lsp]'" in captured.err
    assert "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_a_bad_configuration_named_on_the_command_line_is_a_usage_error(tmp_path, capsys):
    pytest.importorskip("pygls")
    bad = tmp_path / "migration-lint.toml"
    bad.write_text("select = ['no-such-rule']\n")
    assert cli.main(["lsp", "--config", str(bad)]) == 2
    assert "no-such-rule" in capsys.readouterr().err


# -- the analysis, without the protocol ------------------------------------------------------------
def _analyzer():
    from migration_lint.cli.lsp.analysis import Analyzer
    from migration_lint.config import Config
    from migration_lint.pipeline.engine import Linter
    from migration_lint.rules.registry import all_rules

    return Analyzer(Linter(Config(), all_rules()))


def _count_parses(monkeypatch) -> list[int]:
    import migration_lint.pipeline.load as load

    calls = [0]
    real = load.parse

    def counted(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(load, "parse", counted)
    return calls


def test_the_history_is_replayed_once_while_it_is_unchanged(tmp_path, monkeypatch):
    first, second = _prisma(tmp_path)
    third = tmp_path / "prisma" / "migrations" / "20240103000000_add_b" / "migration.sql"
    third.parent.mkdir()
    third.write_text('ALTER TABLE "Post" ADD COLUMN "b" text;\n')
    parses = _count_parses(monkeypatch)
    analyzer = _analyzer()

    report = analyzer.lint(third, 'CREATE INDEX "j" ON "Post" ("b");\n')
    assert "non-concurrent-index" in {f.rule for f in report.findings}
    assert (analyzer.counters.replayed, parses[0]) == (2, 3)  # two earlier migrations, then the buffer

    for n, text in enumerate(['CREATE INDEX "j" ON "Post" ("a");\n', FIXED], start=1):
        report = analyzer.lint(third, text)
        assert (analyzer.counters.replayed, parses[0]) == (2, 3 + n)  # the buffer only
    assert not report.findings  # the index built concurrently: nothing left
    assert analyzer.counters.history_hits == 2

    # another file of the folder has another history (the first migration only); both are kept
    analyzer.lint(second, INDEX)
    assert analyzer.counters.replayed == 3
    analyzer.lint(third, FIXED)
    analyzer.lint(second, INDEX)
    assert analyzer.counters.replayed == 3

    # an earlier migration changes on disk: the history is replayed again
    first.write_text(INIT.replace('"a" text', '"a" text, "c" int'))
    os.utime(first, ns=(1, 1))
    analyzer.lint(third, FIXED)
    assert analyzer.counters.replayed == 5


def test_a_new_migration_after_a_known_history_replays_only_what_is_new(tmp_path, monkeypatch):
    _, second = _prisma(tmp_path)
    analyzer = _analyzer()
    analyzer.lint(second, INDEX)
    assert analyzer.counters.replayed == 1
    third = tmp_path / "prisma" / "migrations" / "20240103000000_add_b" / "migration.sql"
    third.parent.mkdir()
    third.write_text("")
    report = analyzer.lint(third, 'DROP INDEX "i";\n')
    assert analyzer.counters.replayed == 2  # the second migration only: the first one's model is kept
    # the history made the index known: dropping it is judged on the table it belongs to
    assert report.statements[0].locks and report.statements[0].locks[0].relation == "Post"


def test_hover_text_names_the_locks_what_they_block_and_the_risk(tmp_path):
    from migration_lint.cli.lsp.analysis import hover_markdown, statement_at

    _, second = _prisma(tmp_path)
    report = _analyzer().lint(second, "SELECT 1;\n" + INDEX)
    assert statement_at(report, 1, 3).statement.node_type == "SelectStmt"
    item = statement_at(report, 2, 5)
    assert item is not None and item.statement.node_type == "IndexStmt"
    assert statement_at(report, 2, len(INDEX.rstrip())) is item  # the `;` belongs to it
    text = hover_markdown(report, item)
    assert "| SHARE | `Post` | writes |" in text
    assert "Blocks writes (INSERT, UPDATE, DELETE)" in text
    assert "risk **MEDIUM**" in text
    assert "Scans the table: yes" in text and "Rewrites the table: no" in text
    assert "non-concurrent-index" in text


# -- a session over stdio --------------------------------------------------------------------------
@pytest.fixture
def client(tmp_path):
    pytest.importorskip("pygls")
    from tests.lsp_client import Client

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env.pop("MIGRATION_LINT_NO_CONFIG", None)  # the configuration is looked up from each document's folder
    session = Client([sys.executable, "-m", "migration_lint", "lsp"], cwd=tmp_path, env=env)
    yield session
    if session.process.poll() is None:
        session.process.kill()
        session.close()


def _initialize(client, tmp_path, *, document_changes=True):
    result = client.request("initialize", {
        "processId": os.getpid(),
        "rootUri": tmp_path.as_uri(),
        "capabilities": {
            "workspace": {"workspaceEdit": {"documentChanges": document_changes, "resourceOperations": ["create"]}},
            "textDocument": {"hover": {"contentFormat": ["markdown"]}},
        },
    })
    client.notify("initialized", {})
    return result["capabilities"]


def _open(client, path: Path, text: str, version: int = 1) -> str:
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "sql", "version": version, "text": text}})
    return uri


def test_a_client_session_diagnostics_hover_code_action_and_fix(client, tmp_path):
    _, second = _prisma(tmp_path)
    capabilities = _initialize(client, tmp_path)
    assert capabilities["hoverProvider"] and capabilities["codeActionProvider"]

    uri = _open(client, second, INDEX)
    diagnostics = client.diagnostics(uri, version=1)
    by_rule = {d["code"]: d for d in diagnostics}
    index = by_rule["non-concurrent-index"]
    assert index["severity"] == 1  # Error
    assert index["source"] == "migration-lint"
    assert index["codeDescription"]["href"].endswith("rules/non-concurrent-index.md")
    assert index["range"] == {"start": {"line": 0, "character": 20}, "end": {"line": 0, "character": 32}}
    assert "SHARE lock" in index["message"]
    assert by_rule["migration-name"]["severity"] == 2  # Warning
    assert by_rule["missing-lock-timeout"]["severity"] == 3  # Information

    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 8}})
    assert hover["contents"]["kind"] == "markdown"
    value = hover["contents"]["value"]
    assert "SHARE" in value and "Blocks writes" in value and "MEDIUM" in value
    assert hover["range"]["start"] == {"line": 0, "character": 0}

    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": index["range"], "context": {"diagnostics": [index]}})
    concurrent = next(a for a in actions if a["title"] == "Build the index concurrently")
    assert concurrent["kind"] == "quickfix" and concurrent["isPreferred"] is True
    assert concurrent["diagnostics"][0]["code"] == "non-concurrent-index"
    (change,) = concurrent["edit"]["documentChanges"]
    assert change["textDocument"] == {"uri": uri, "version": 1}
    (edit,) = change["edits"]
    assert edit == {"range": {"start": {"line": 0, "character": 12}, "end": {"line": 0, "character": 12}},
                    "newText": " CONCURRENTLY"}

    # the client applies the edit (an incremental change) and the finding is gone
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"range": edit["range"], "text": edit["newText"]}]})
    after = client.diagnostics(uri, version=2)
    assert {d["code"] for d in after} == {"migration-name"}  # the folder name "idx" is all that is left

    # a full-text change back brings it again; closing clears them
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": INDEX}]})
    assert "non-concurrent-index" in {d["code"] for d in client.diagnostics(uri, version=3)}
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert client.diagnostics(uri) == []

    # a buffer without a file is linted alone (no history: the table is unknown, the index still blocks writes)
    untitled = "untitled:Untitled-1"
    client.notify("textDocument/didOpen", {"textDocument": {"uri": untitled, "languageId": "sql", "version": 1, "text": INDEX}})
    assert "non-concurrent-index" in {d["code"] for d in client.diagnostics(untitled, version=1)}

    assert client.request("shutdown", None) is None
    client.notify("exit", None)
    assert client.close() == 0


def test_a_fix_that_creates_a_migration_is_a_create_file_then_its_text(client, tmp_path):
    first, _ = _prisma(tmp_path)
    second = tmp_path / "prisma" / "migrations" / "20240102000000_add_b" / "migration.sql"
    second.parent.mkdir()
    text = 'ALTER TABLE "Post" ADD COLUMN "b" text;\nCREATE INDEX "j" ON "Post" ("b");\n'
    second.write_text(text)
    # before Prisma 7.4 a migration.sql runs as one transaction: CONCURRENTLY needs a migration of its own
    (tmp_path / "migration-lint.toml").write_text('prisma_version = "6.0"\n')
    _initialize(client, tmp_path)
    uri = _open(client, second, text)
    index = next(d for d in client.diagnostics(uri, version=1) if d["code"] == "non-concurrent-index")
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": index["range"], "context": {"diagnostics": [index]}})
    unsafe = [a for a in actions if a["title"].endswith("(unsafe)")]
    assert unsafe, [a["title"] for a in actions]
    action = unsafe[0]
    assert action["isPreferred"] is False
    changes = action["edit"]["documentChanges"]
    creates = [c for c in changes if c.get("kind") == "create"]
    assert creates and creates[0]["uri"].endswith("/migration.sql") and creates[0]["uri"] != uri
    created_edit = next(c for c in changes if c.get("textDocument", {}).get("uri") == creates[0]["uri"])
    assert changes.index(creates[0]) < changes.index(created_edit)
    assert "CONCURRENTLY" in created_edit["edits"][0]["newText"]
    assert client.request("shutdown", None) is None
    client.notify("exit", None)
    assert client.close() == 0


def test_positions_are_in_utf16_units_and_crlf_lines(client, tmp_path):
    """A character outside the BMP counts two UTF-16 units before the finding; CRLF is one line break, U+2028
    none (as the protocol counts lines)."""
    _, second = _prisma(tmp_path)
    _initialize(client, tmp_path)
    text = 'SELECT 1; -- a\u2028b\r\n/* \U0001F600 */ CREATE INDEX "i" ON "Post" ("a");\r\n'
    uri = _open(client, second, text)
    index = next(d for d in client.diagnostics(uri, version=1) if d["code"] == "non-concurrent-index")
    assert index["range"] == {"start": {"line": 1, "character": 29}, "end": {"line": 1, "character": 41}}
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 12}})
    assert "SHARE" in hover["contents"]["value"]
    assert hover["range"]["start"] == {"line": 1, "character": 9}
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": index["range"], "context": {"diagnostics": [index]}})
    concurrent = next(a for a in actions if a["title"] == "Build the index concurrently")
    (edit,) = concurrent["edit"]["documentChanges"][0]["edits"]
    assert edit["range"]["start"] == {"line": 1, "character": 21}
    assert client.request("shutdown", None) is None
    client.notify("exit", None)
    assert client.close() == 0


def test_saving_an_earlier_migration_lints_the_open_later_ones_again(client, tmp_path):
    first, second = _prisma(tmp_path)
    _initialize(client, tmp_path)
    uri = _open(client, second, 'ALTER TABLE "Post" ALTER COLUMN "a" SET NOT NULL;\n')
    before = {d["code"] for d in client.diagnostics(uri, version=1)}
    first_uri = _open(client, first, INIT)
    client.diagnostics(first_uri, version=1)
    changed = 'CREATE TABLE "Post" ("id" serial PRIMARY KEY, "a" text);\nCREATE TABLE "Other" ("id" int);\n'
    first.write_text(changed)
    client.notify("textDocument/didSave", {"textDocument": {"uri": first_uri}})
    client.diagnostics(first_uri)
    again = {d["code"] for d in client.diagnostics(uri)}  # published again without an edit of its own
    assert again == before
    assert client.request("shutdown", None) is None
    client.notify("exit", None)
    assert client.close() == 0


def test_an_earlier_migration_open_in_the_editor_is_read_from_its_buffer(tmp_path):
    first, second = _prisma(tmp_path)
    analyzer = _analyzer()
    change = 'ALTER TABLE "Post" ALTER COLUMN "a" SET NOT NULL;\n'
    assert "set-not-null" in {f.rule for f in analyzer.lint(second, change).findings}
    # the first migration, edited but not saved, makes the column NOT NULL already: nothing to scan
    unsaved = {first.resolve(): INIT.replace('"a" text', '"a" text NOT NULL')}
    report = analyzer.lint(second, change, buffers=unsaved)
    assert "set-not-null" not in {f.rule for f in report.findings}
    assert analyzer.counters.replayed == 2
    analyzer.lint(second, change, buffers=unsaved)
    assert analyzer.counters.replayed == 2  # the same unsaved text: the kept model
    analyzer.lint(second, change, buffers={first.resolve(): INIT})
    assert analyzer.counters.replayed == 3  # another text: replayed again


def _quit(client) -> None:
    assert client.request("shutdown", None) is None
    client.notify("exit", None)
    assert client.close() == 0


def test_edits_are_linted_once_typing_pauses(client, tmp_path):
    _, second = _prisma(tmp_path)
    result = client.request("initialize", {"processId": os.getpid(), "rootUri": tmp_path.as_uri(), "capabilities": {},
                                           "initializationOptions": {"debounce": 2.0}})
    assert result["capabilities"]["hoverProvider"]
    client.notify("initialized", {})
    uri = _open(client, second, INDEX)
    assert client.diagnostics(uri, version=1)  # opening lints at once
    for version in range(2, 6):  # four quick edits: one lint, of the last text
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                 "contentChanges": [{"text": INDEX * version}]})
    last = client.diagnostics(uri)
    assert [d["range"]["start"]["line"] for d in last if d["code"] == "non-concurrent-index"] == [0, 1, 2, 3, 4]
    _quit(client)
    published = [m for m in client.pending if m.get("method") == "textDocument/publishDiagnostics"]
    assert published == []


def test_configuration_exclude_stats_and_the_prisma_version_of_package_json(client, tmp_path):
    import json

    first, second = _prisma(tmp_path)
    (tmp_path / "package.json").write_text(json.dumps({"devDependencies": {"prisma": "6.3.1"}}))
    (tmp_path / "sizes.json").write_text(json.dumps({"tables": [{"schema": "public", "table": "Post",
                                                                  "rows": 50_000_000, "bytes": 20 * 10**9}]}))
    (tmp_path / "migration-lint.toml").write_text('stats = "sizes.json"\nexclude = ["scratch/**"]\n')
    scratch = tmp_path / "scratch" / "try.sql"
    scratch.parent.mkdir()
    scratch.write_text(INDEX)
    _initialize(client, tmp_path)

    assert client.diagnostics(_open(client, scratch, INDEX), version=1) == []  # excluded: nothing

    text = 'ALTER TABLE "Post" ADD COLUMN "b" text;\n' + INDEX
    uri = _open(client, second, text)
    index = next(d for d in client.diagnostics(uri, version=1) if d["code"] == "non-concurrent-index")
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 3}})
    assert "Estimate:" in hover["contents"]["value"]  # the table sizes of the configuration
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": index["range"], "context": {"diagnostics": [index]}})
    # Prisma 6 (package.json) runs migration.sql as one transaction: CONCURRENTLY goes to a new migration
    assert any(a["title"].endswith("(unsafe)") and any(c.get("kind") == "create" for c in a["edit"]["documentChanges"])
               for a in actions), [a["title"] for a in actions]
    _quit(client)


def test_a_prisma_folder_of_another_provider_is_one_finding(client, tmp_path):
    _, second = _prisma(tmp_path)
    (tmp_path / "prisma" / "schema.prisma").write_text('datasource db {\n  provider = "mysql"\n  url = env("D")\n}\n')
    _initialize(client, tmp_path)
    uri = _open(client, second, "CREATE TABLE `Post` (`id` INTEGER NOT NULL AUTO_INCREMENT, PRIMARY KEY (`id`));\n")
    (diagnostic,) = client.diagnostics(uri, version=1)
    assert diagnostic["code"] == "unsupported-provider"
    assert 'provider = "mysql" (line 2)' in diagnostic["message"]
    _quit(client)


def test_fix_all_is_a_source_action_that_leaves_no_fixable_finding(client, tmp_path):
    _, second = _prisma(tmp_path)
    capabilities = _initialize(client, tmp_path)
    assert "source.fixAll.migration-lint" in capabilities["codeActionProvider"]["codeActionKinds"]
    text = INDEX + 'CREATE INDEX "k" ON "Post" ("id", "a");\n'
    uri = _open(client, second, text)
    before = client.diagnostics(uri, version=1)
    assert [d["code"] for d in before].count("non-concurrent-index") == 2
    whole = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}

    def actions(only):
        return client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": whole, "context": {"diagnostics": [], "only": only}})

    assert {a["kind"] for a in actions(["quickfix"])} == {"quickfix"}  # fix-all is not a quick fix
    (action,) = actions(["source.fixAll"])
    assert action["kind"] == "source.fixAll.migration-lint"
    (change,) = action["edit"]["documentChanges"]
    assert change["textDocument"] == {"uri": uri, "version": 1}
    (edit,) = change["edits"]
    assert edit["range"] == {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}
    fixed = edit["newText"]
    assert fixed.count("CREATE INDEX CONCURRENTLY") == 2

    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"range": edit["range"], "text": fixed}]})
    after = client.diagnostics(uri, version=2)
    assert "non-concurrent-index" not in {d["code"] for d in after}
    for diagnostic in after:  # what is left has no safe fix
        fixes = client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}})
        assert not [a for a in fixes if a["kind"] == "quickfix" and a["isPreferred"]], fixes
    assert actions(["source.fixAll"]) == []  # nothing left to fix
    _quit(client)
