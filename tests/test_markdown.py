"""The pull-request comment: the sanitiser, the size degradation, the checklist, and golden files.

The golden files use a fixed set of rules (RULES). Regenerate them after an intended change with:
python -m pytest tests/test_markdown.py --update-golden
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migration_lint import __version__
from migration_lint.config import Config
from migration_lint.ingest.discover import discover
from migration_lint.model import FileReport, Finding, MigrationFile, Risk, RunReport, Severity
from migration_lint.pipeline.engine import Linter
from migration_lint.report.markdown import (
    BUDGET,
    GITHUB_LIMIT,
    MARKER,
    checklist,
    code,
    inert,
    lock_words,
    render,
    render_comment,
    rich,
    safe_url,
)
from migration_lint.rules.base import CHECKLIST_ITEMS
from migration_lint.rules.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"

INJECTION_SQL = (
    'CREATE TABLE "a`b</details><!-- x -->" (id int);\n'
    'CREATE INDEX "@octocat #123 <script>alert(1)</script>" ON "users" ("e`mail");\n'
    'DROP TABLE "GH-42 </details> ``` | pipe";\n'
    "UPDATE \"users\" SET note = '<!-- migration-lint:comment --> @octocat fixes #123 ``` "
    "[x](javascript:alert(1)) *bold* _i_ ~~s~~ $x$ \\\\ <img src=x onerror=alert(1)>';\n"
)
INJECTION_NAME = "001_add_index_`x`_@octocat_#123_<b>.sql"


# the golden files pin the layout, not every rule's wording: they use a fixed set of rules
RULES = ["drop-without-backup", "migration-name", "mixed-schema-and-data", "non-concurrent-index",
         "not-null-without-default", "parse-error", "set-not-null"]


def lint(paths: list[str], stats=None) -> RunReport:
    return Linter(Config(select=RULES), all_rules(), stats=stats).run(discover(paths).files)


def check_golden(name: str, body: str, update: bool) -> None:
    body = body.replace(__version__, "<version>")
    path = GOLDEN / name
    if update:
        path.write_text(body, encoding="utf-8")
    assert path.is_file(), f"missing golden file {name}: run pytest tests/test_markdown.py --update-golden"
    assert body == path.read_text(encoding="utf-8"), f"{name} changed: review, then run pytest tests/test_markdown.py --update-golden"


def assert_structure(body: str) -> None:
    """What migration text must never do to the comment."""
    assert body.count("<!--") == body.count(MARKER), "an HTML comment was opened"
    assert body.count("<details>") == body.count("</details>")
    assert "<script" not in body.lower() and "<img" not in body.lower()
    assert not re.search(r"@[A-Za-z0-9]", body), "a live @mention"
    assert not re.search(r"#[0-9]", body), "a live #123 reference"
    assert not re.search(r"\bGH-[0-9]", body, re.I), "a live GH-123 reference"
    assert "](javascript" not in body
    assert body.count("<code>") == body.count("</code>")
    table_width = None
    for line in body.splitlines():
        if line.startswith("| line |"):
            table_width = line.count("|")
        elif line.startswith("|") and table_width is not None:
            assert line.count("|") == table_width, f"a table row changed shape: {line}"
        else:
            table_width = None


# -- the sanitiser ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "expected"), [
    ("`code`", "&grave;code&grave;"),
    ("</details>", "&lt;/details&gt;"),
    ("<!-- x -->", "&lt;!-- x --&gt;"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("@octocat", "@&zwj;octocat"),
    ("fixes #123", "fixes #&zwj;123"),
    ("GH-123 and gh-4", "GH&zwj;-123 and gh&zwj;-4"),
    ("a | b", "a &vert; b"),
    ("*a* _b_ ~c~ [d](e) $f$ \\g", "&ast;a&ast; &lowbar;b&lowbar; &#x7E;c&#x7E; &lsqb;d&rsqb;(e) &dollar;f&dollar; &bsol;g"),
    ("a &amp; b", "a &amp;amp; b"),
    ("two\nlines\r\n  here", "two lines here"),
    ("\x1b[2J", "&bsol;x1b&lsqb;2J"),
    ("bidi \u202e override", "bidi &bsol;u202e override"),
])
def test_inert(raw, expected):
    assert inert(raw) == expected


def test_inert_cuts_long_text_before_escaping():
    assert inert("x" * 100, 10) == "x" * 9 + "…"


def test_code_cannot_be_closed_from_inside():
    assert code("a</code><b>bold</b>") == "<code>a&lt;/code&gt;&lt;b&gt;bold&lt;/b&gt;</code>"


def test_rich_keeps_code_spans_and_spaces():
    assert rich("use `CREATE INDEX CONCURRENTLY` on `t` now") == (
        "use <code>CREATE INDEX CONCURRENTLY</code> on <code>t</code> now")
    # a backtick inside an identifier shifts the spans, but nothing gets out of them
    shifted = rich('DROP TABLE "a`b" then `x`')
    assert shifted.count("<code>") == shifted.count("</code>") and "`" not in shifted.replace("&grave;", "")


def test_rich_keeps_a_cut_code_span_closed():
    text = rich("first `" + "y" * 50 + "` end", 20)
    assert text.count("<code>") == text.count("</code>") == 1 and text.endswith("…")


def test_safe_url():
    assert safe_url("https://example.com/rules/x.md") == "https://example.com/rules/x.md"
    assert safe_url("javascript:alert(1)") == ""
    assert safe_url("data:text/html,x") == ""
    assert safe_url("https://example.com/a b)c") == "https://example.com/a%20b%29c"
    assert safe_url("") == ""


def test_lock_words():
    assert lock_words("AccessExclusiveLock") == "ACCESS EXCLUSIVE"
    assert lock_words("ShareUpdateExclusiveLock") == "SHARE UPDATE EXCLUSIVE"
    assert lock_words("ShareLock") == "SHARE"


# -- the checklist ---------------------------------------------------------------------------------
def _run_with(*rules: str) -> RunReport:
    report = FileReport(MigrationFile(None, "m.sql"), risk=Risk.HIGH, risk_reason="r")
    report.findings = [Finding(rule, Severity.ERROR, 1, 1, 1, 2, "m") for rule in rules]
    return RunReport([report])


def test_checklist_comes_from_the_rules_that_fired():
    items = checklist(_run_with("drop-without-backup", "non-concurrent-index"))
    assert items == [CHECKLIST_ITEMS["backup"], CHECKLIST_ITEMS["deploy-first"], CHECKLIST_ITEMS["lock-timeout"],
                     CHECKLIST_ITEMS["long-lock"]]


def test_checklist_items_appear_once_and_unknown_rules_add_nothing():
    assert checklist(_run_with("rename-column", "rename-table", "drop-object")) == [CHECKLIST_ITEMS["deploy-first"]]
    assert checklist(_run_with("some-plugin-rule", "migration-name")) == []


def test_checklist_items_are_declared_by_the_rules_plugins_included():
    from migration_lint.rules.base import Rule
    from migration_lint.rules.registry import all_rules

    class PluginRule(Rule):
        id = "some-plugin-rule"
        checklist = ("backup",)

    registry = {**all_rules(), "some-plugin-rule": PluginRule}
    assert checklist(_run_with("some-plugin-rule"), registry) == [CHECKLIST_ITEMS["backup"]]
    assert PluginRule.validate_metadata()  # and an unknown item would be named by the contract check
    PluginRule.checklist = ("no-such-item",)
    assert any("checklist item 'no-such-item'" in p for p in PluginRule.validate_metadata())


# -- rendering and size ----------------------------------------------------------------------------
def test_example_project_comment(monkeypatch, update_golden):
    monkeypatch.chdir(ROOT)
    run = lint(["examples/prisma/migrations"])
    rendered = render_comment(run, scope="changed since main (abc1234)",
                              details_url="https://github.example/acme/shop/actions/runs/42")
    assert rendered.level == "full"
    body = rendered.body
    assert body.startswith(MARKER + "\n### 🔴 migration-lint: risk HIGH\n")
    assert_structure(body)
    check_golden("comment-example.md", body, update_golden)


@pytest.mark.parametrize("level", ["compact", "summary"])
def test_example_project_comment_levels(level, monkeypatch, update_golden):
    monkeypatch.chdir(ROOT)
    rendered = render_comment(lint(["examples/prisma/migrations"]), start=level,
                              details_url="https://github.example/acme/shop/actions/runs/42")
    assert rendered.level == level
    assert_structure(rendered.body)
    check_golden(f"comment-example-{level}.md", rendered.body, update_golden)


def test_example_project_comment_as_a_short_list(monkeypatch, update_golden):
    monkeypatch.chdir(ROOT)
    run = lint(["examples/prisma/migrations"])
    full = render_comment(run).body
    rendered = render_comment(run, budget=len(render_comment(run, start="list").body) - 10)
    assert rendered.level == "list" and len(rendered.body) < len(full)
    assert "… and 1 more migration" in rendered.body
    assert_structure(rendered.body)
    check_golden("comment-example-list.md", rendered.body, update_golden)


def test_clean_comment(tmp_path, monkeypatch, update_golden):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "V1__create_audit.sql").write_text("CREATE TABLE audit (id bigint PRIMARY KEY, note text);\n")
    run = lint(["db"])
    rendered = render_comment(run, scope="changed since main (abc1234)")
    assert rendered.level == "clean"
    assert "no findings, risk LOW" in rendered.body
    check_golden("comment-clean.md", rendered.body, update_golden)
    nothing = render_comment(RunReport([]), scope="changed since main (abc1234)").body
    assert "No migration to check (changed since main (abc1234))." in nothing


def test_injection_stays_inert(tmp_path, monkeypatch, update_golden):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / INJECTION_NAME).write_text(INJECTION_SQL, encoding="utf-8")
    run = lint(["m"])
    for level in ("full", "compact", "summary", "list"):
        body = render_comment(run, start=level).body
        assert_structure(body)
        assert "`" not in body.replace("`migration-lint`", "")  # no code span can open
        assert "@octocat" not in body and "#123" not in body
    body = render_comment(run).body
    assert "&lt;/details&gt;" in body and "&lt;!-- migration-lint:comment --&gt;" in body
    assert body.count(MARKER) == 1 and body.startswith(MARKER)
    check_golden("comment-injection.md", body, update_golden)


def _huge(folder: Path, files: int, per_file: int) -> None:
    folder.mkdir()
    for i in range(1, files + 1):
        statements = []
        for j in range(per_file):
            statements.append(f'CREATE INDEX "idx_{i}_{j}" ON "orders_{j}" ("customer_id_{i}");')
            statements.append(f'ALTER TABLE "orders_{j}" ALTER COLUMN "status_{i}" SET NOT NULL;')
        (folder / f"V{i}__add_indexes_to_orders_{i}.sql").write_text("\n".join(statements) + "\n")


def test_huge_report_fits_in_a_comment(tmp_path, monkeypatch, update_golden):
    monkeypatch.chdir(tmp_path)
    _huge(tmp_path / "db", 120, 12)
    run = lint(["db"])
    assert len(render_comment(run, budget=10**9).body) > GITHUB_LIMIT  # the full report would not fit
    rendered = render_comment(run, details_url="https://github.example/acme/shop/actions/runs/42")
    assert len(rendered.body) < GITHUB_LIMIT and len(rendered.body) <= BUDGET
    assert rendered.level == "list"
    assert "job summary" in rendered.body
    assert_structure(rendered.body)
    check_golden("comment-huge.md", rendered.body, update_golden)


def test_degradation_goes_level_by_level(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _huge(tmp_path / "db", 12, 30)
    run = lint(["db"])
    sizes = {level: len(render_comment(run, start=level, budget=10**9).body) for level in ("full", "compact", "summary")}
    assert sizes["full"] > sizes["compact"] > sizes["summary"]
    seen = []
    for budget in (sizes["full"], sizes["full"] - 1, sizes["compact"] - 1, sizes["summary"] - 1, 2_000):
        rendered = render_comment(run, budget=budget)
        seen.append(rendered.level)
        assert len(rendered.body) <= budget
    assert seen == ["full", "compact", "summary", "list", "list"]
    tiny = render_comment(run, budget=2_000).body
    assert "more migrations with something to report, not listed" in tiny


def test_never_fails_because_of_size():
    report = FileReport(MigrationFile(None, "p" * 10_000 + ".sql"), risk=Risk.HIGH, risk_reason="x" * 100_000)
    report.findings = [Finding("x-rule", Severity.ERROR, 1, 1, 1, 2, "y" * 100_000, "z" * 100_000)]
    rendered = render_comment(RunReport([report] * 50), budget=3_000)
    assert len(rendered.body) <= 3_000


def test_summary_render_has_no_marker(monkeypatch):
    monkeypatch.chdir(ROOT)
    body = render(lint(["examples/prisma/migrations"]))
    assert MARKER not in body and body.startswith("### 🔴 migration-lint: risk HIGH")


def test_estimates_column_only_with_stats(monkeypatch, update_golden):
    from migration_lint.risk.estimate import parse_stats

    monkeypatch.chdir(ROOT)
    assert "| estimate |" not in render_comment(lint(["examples/prisma/migrations"])).body
    stats = parse_stats([{"schema": "public", "table": "ClientKpi", "rows": 90_000_000, "bytes": 9 * 10**9},
                         {"schema": "public", "table": "Client", "rows": 2_000, "bytes": 200_000}])
    run = lint(["examples/prisma/migrations"], stats)
    body = render_comment(run).body
    assert "| line | statement | lock | rewrite / scan | estimate | risk |" in body
    assert " rows/s |" in body
    assert_structure(body)
    check_golden("comment-example-stats.md", body, update_golden)


def test_quiet_files_collapse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "V1__create_audit.sql").write_text("CREATE TABLE audit (id bigint PRIMARY KEY);\n")
    (tmp_path / "db" / "V2__add_index_audit.sql").write_text("CREATE INDEX audit_id ON audit (id);\n")
    body = render_comment(lint(["db"])).body
    assert "<details><summary>🟢 LOW · <code>db/V1&lowbar;&lowbar;create&lowbar;audit.sql</code>: nothing to report</summary>" in body
    assert "#### 🟠 MEDIUM · <code>db/V2&lowbar;&lowbar;add&lowbar;index&lowbar;audit.sql</code>" in body
    assert_structure(body)


# -- code is copied: no zero-width characters in it ---------------------------------------------------
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]|&zwj;|&zwnj;|&ZeroWidthSpace;|&NoBreak;")


def _code_parts(html: str) -> list[str]:
    return re.findall(r"<code>(.*?)</code>", html)


def test_code_spans_carry_no_zero_width_characters():
    import html

    help_text = "add `@@index([authorId])` and `@relation(fields: [a], references: [id])` to schema.prisma, see #123 @octocat"
    out = rich(help_text)
    parts = _code_parts(out)
    assert [html.unescape(p) for p in parts] == ["@@index([authorId])", "@relation(fields: [a], references: [id])"]
    assert not any(_ZERO_WIDTH.search(p) for p in parts)
    # outside the code spans mentions and references are still broken
    outside = re.sub(r"<code>.*?</code>", "", out)
    assert "#&zwj;123" in outside and "@&zwj;octocat" in outside
    assert not re.search(r"@[A-Za-z0-9]", out) and not re.search(r"#[0-9]", out)


def test_code_has_no_zero_width_characters():
    import html

    out = code('CREATE INDEX "@x#1" ON gh-12')
    assert not _ZERO_WIDTH.search(out)
    assert html.unescape(_code_parts(out)[0]) == 'CREATE INDEX "@x#1" ON gh-12'
    assert_structure(out)
