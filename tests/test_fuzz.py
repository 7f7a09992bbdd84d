"""Property-based test of the whole pipeline, and the corpus with thousands of mutated files.

`test_pipeline_invariants` draws migration projects from `fuzz_grammar` (SQL built from a grammar of
real statement shapes, and byte-level mutations of the shared corpus) and runs them through the
whole pipeline: discovery → parse → facts → rules → risk → every reporter (text, JSON, GitHub,
SARIF and the pull-request comment). Whatever the input, no exception escapes and every report
keeps its contract (see `check_run`).

In the normal suite it runs 200 examples with a fixed seed (`derandomize`), so CI is reproducible.
A long run uses random seeds and as many examples as asked:

    MIGRATION_LINT_FUZZ_EXAMPLES=100000 python -m pytest tests/test_fuzz.py -k pipeline -q -p no:cacheprovider

(add ``--hypothesis-seed=N`` to choose the seed, ``--hypothesis-show-statistics`` for what was drawn;
several such processes with different seeds can share the work).
"""

from __future__ import annotations

import functools
import html
import json
import os
import random
import re
import tempfile
from pathlib import Path

import fuzz_grammar
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis.control import currently_in_test_context

from migration_lint.cli import main
from migration_lint.config import Config
from migration_lint.ingest.discover import discover
from migration_lint.ingest.source import Source, decode
from migration_lint.model import Risk, RunReport
from migration_lint.pipeline.engine import Linter
from migration_lint.report import render
from migration_lint.report.markdown import GITHUB_LIMIT, MARKER, render_comment
from migration_lint.risk.estimate import Stats, TableStats
from migration_lint.rules.registry import all_rules

LONG_RUN = bool(os.environ.get("MIGRATION_LINT_FUZZ_EXAMPLES"))
EXAMPLES = int(os.environ.get("MIGRATION_LINT_FUZZ_EXAMPLES") or 200)
REGISTRY = all_rules()
RISKS = {r.value for r in Risk}
RAW_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
GITHUB_COMMAND = re.compile(r"^::(error|warning|notice) file=[^,:\r\n]*,line=\d+,col=\d+,endLine=\d+,endColumn=\d+,"
                            r"title=[^,:\r\n]*::[^\r\n]*$")
STATS = Stats([TableStats("public", name, rows, rows * 120) for name, rows in (
    ("users", 2_000), ("orders", 50_000_000), ("order_items", 300_000_000), ("t", 10), ("accounts", 900_000),
    ("audit_log", 1_200_000_000), ("events", 40_000_000), ("User", 5_000_000))] +
    [TableStats("app", "orders", 7, 700)])

def write_project(root: Path, project: fuzz_grammar.Project) -> None:
    for relative, data in project.files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def project_linter(root: Path, project: fuzz_grammar.Project):
    """The Linter the project's options describe, and what discovery finds in it."""
    options = project.options
    config = Config(select=options["select"], pg_version=options["pg_version"], framework=options["framework"],
                    prisma_version=options["prisma_version"])
    found = discover([str(root / project.root)], framework=config.framework)
    new = {f.path for f in found.files} if options["new"] else set()
    return Linter(config, REGISTRY, stats=STATS if options["stats"] else None, new_paths=new), found


def lint_project(root: Path, project: fuzz_grammar.Project) -> RunReport | None:
    linter, found = project_linter(root, project)
    assert found.problems == [], found.problems
    assert len(found.files) == sum(1 for p in project.files if p.endswith(".sql")), [f.display for f in found.files]
    return linter.run(found.files)


def _event(name: str) -> None:
    """A hypothesis event (shown by --hypothesis-show-statistics); nothing outside a hypothesis test."""
    if currently_in_test_context():
        event(name)


def _in_a_comment(text: str, secret: str) -> bool:
    """The secret sits in a comment (comments are not checked for secrets, by design)."""
    for match in re.finditer(re.escape(secret), text):
        line_start = max(text.rfind("\n", 0, match.start()), text.rfind("\r", 0, match.start())) + 1
        if "--" in text[line_start:match.start()] or "/*" in text[:match.start()]:
            return True
    return False


def check_run(run: RunReport, origins: dict[Path, str] | None = None) -> None:
    """The contract of every report, whatever the input."""
    total = 0
    secrets: set[str] = set()
    exempt: set[str] = set()  # also somewhere no report promises to mask it, in this file or another
    for report in run.files:
        assert report.risk.value in RISKS
        text = ""
        line_count = 1
        if report.file.path is not None:
            text, _ = decode(report.file.path.read_bytes())
            source = Source(text)
            line_count = source.line_count  # counts the empty line after a final line break
        if report.error:
            _event("file does not parse")
        grammar_and_parsed = bool(origins) and origins.get(report.file.path) == "grammar" and not report.error
        for secret in fuzz_grammar.SECRET_CORES:
            if secret not in text:
                continue
            if grammar_and_parsed and not _in_a_comment(text, secret):
                secrets.add(secret)  # a grammar file puts secrets only in string literals: each is masked
            else:
                # in a comment (not checked, by design), glued to other bytes by a corpus mutation (then it is
                # no recognisable secret: `Dsk_live_…`), or cut by a parse error: no promise in any report
                exempt.add(secret)
        for item in report.statements:
            stmt = item.statement
            assert item.risk.value in RISKS
            assert 1 <= stmt.line <= stmt.end_line <= line_count, (stmt.line, stmt.end_line, line_count)
            assert 1 <= stmt.column <= len(source.line_text(stmt.line)) + 1
        for finding in report.findings:
            total += 1
            where = f"{report.file.display}:{finding.line}:{finding.column} {finding.rule} {finding.message!r}"
            assert finding.rule in REGISTRY, where
            assert 1 <= finding.line <= line_count, (where, line_count)
            assert finding.column >= 1, where
            if report.file.path is not None:
                assert finding.column <= len(source.line_text(finding.line)) + 1, (where, source.line_text(finding.line))
            assert (finding.end_line, finding.end_column) > (finding.line, finding.column), where
            assert finding.message.strip(), where
            assert "internal error" not in finding.message, where
            assert "\n" not in finding.message and "\r" not in finding.message, where

    secrets -= exempt
    outputs = {fmt: render(fmt, run, registry=REGISTRY) for fmt in ("text", "json", "github", "sarif")}
    outputs["markdown"] = body = render_comment(run).body
    for fmt, out in outputs.items():
        for secret in secrets:
            assert secret not in out, f"the {fmt} report shows the secret {secret}"

    out = outputs["text"]
    assert not RAW_CONTROLS.search(out), repr(RAW_CONTROLS.search(out).group())

    out = outputs["json"]
    out.encode("utf-8")
    data = json.loads(out)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert len(data["files"]) == len(run.files)
    assert sum(len(f["findings"]) for f in data["files"]) == total
    assert data["summary"]["risk"] in RISKS
    assert all(s["risk"] in RISKS for f in data["files"] for s in f["statements"])

    out = outputs["github"]
    lines = out.splitlines()
    assert len(lines) == total
    for line in lines:
        assert line.startswith("::") and GITHUB_COMMAND.match(line), line
        assert not RAW_CONTROLS.search(line), line

    out = outputs["sarif"]
    out.encode("utf-8")
    sarif = json.loads(out)
    results = sarif["runs"][0]["results"]
    assert len(results) == total
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for r in results)

    assert len(body) < GITHUB_LIMIT
    assert body.count("<!--") == 1 and body.startswith(MARKER)
    assert body.count("<details>") == body.count("</details>")
    assert body.count("<code>") == body.count("</code>")
    # GitHub links no reference inside a code element (there the text stays as written, copyable)
    rendered = html.unescape(re.sub(r"<code>.*?</code>", "<code></code>", body, flags=re.S))
    assert not re.search(r"(?<!\w)@[A-Za-z0-9]", rendered), "a live @mention"
    assert not re.search(r"(?<![\w&])#[0-9]", rendered), "a live #123 reference"


@pytest.fixture(scope="module", autouse=True)
def _one_template_environment():
    """render_comment builds a Jinja environment (and compiles the template) on every call, which is
    most of the time an example takes; one environment for the module renders the same."""
    from migration_lint.report import markdown

    original = markdown._environment
    markdown._environment = functools.lru_cache(maxsize=1)(original)
    yield
    markdown._environment = original


def _check_project(tmp_path: Path, project: fuzz_grammar.Project) -> RunReport:
    write_project(tmp_path, project)
    run = lint_project(tmp_path, project)
    check_run(run, {tmp_path / relative: origin for relative, origin in project.origins.items()})
    return run


_OPTIONS = {"pg_version": 15, "select": None, "framework": "auto", "prisma_version": "7.4", "stats": False, "new": False}


def test_reproducer_a_secret_in_two_migrations_is_masked_in_both(tmp_path):
    """Long-run finding (seed 20260522), minimised: a secret in a column default of one migration and in
    COMMENT ON in the next one was shown by the JSON report of the second."""
    run = _check_project(tmp_path, fuzz_grammar.Project(
        files={"m/001_create_users.sql": b"CREATE TABLE users (id int DEFAULT $$AKIAIOSFODNN7EXAMPLE$$);\n",
               "m/002_comment.sql": b"COMMENT ON TABLE users IS 'AKIAIOSFODNN7EXAMPLE';\n"},
        root="m", options=_OPTIONS, origins={"m/001_create_users.sql": "grammar", "m/002_comment.sql": "grammar"}))
    out = render("json", run, registry=REGISTRY)
    assert "AKIAIOSFODNN7EXAMPLE" not in out and out.count("AKIA****") >= 2


def test_reproducer_a_secret_glued_to_garbage_is_no_secret(tmp_path):
    """Long-run finding (seed 271828), minimised: mutated corpus bytes glue a secret-like token to other
    letters (`Dsk_live_…ROP`); no detector recognises that, and the parse error quotes it. The same token
    as a string literal in another migration is still masked there."""
    secret = "sk_live_51HxYzAbCdEfGhIjKlMnOpQr"
    run = _check_project(tmp_path, fuzz_grammar.Project(
        files={"m/001_add_key.sql": f"UPDATE settings SET value = '{secret}' WHERE key = 'stripe';\n".encode(),
               "m/002_broken.sql": f"D{secret}ROP TABLE user_ban;\n".encode()},
        root="m", options=_OPTIONS, origins={"m/001_add_key.sql": "grammar", "m/002_broken.sql": "corpus"}))
    [first, broken] = run.files
    assert all(secret not in item.statement.sql for item in first.statements)
    assert broken.error is not None


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG_RUN, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                 HealthCheck.filter_too_much])
@given(project=fuzz_grammar.projects())
def test_pipeline_invariants(project):
    with tempfile.TemporaryDirectory(prefix="migration-lint-fuzz-") as tmp:
        root = Path(tmp)
        write_project(root, project)
        run = lint_project(root, project)
        if run is not None:
            check_run(run, {root / relative: origin for relative, origin in project.origins.items()})


# -- the corpus and mutations of it -------------------------------------------------------------------------
_DBMATE_UP = re.compile(r"^--\s*migrate:up\b", re.M)
_DBMATE_DOWN = re.compile(r"^--\s*migrate:down\b", re.M)


def _expected_bad(data: bytes) -> bool:
    """Independently of the linter: is this file unreadable as UTF-8 SQL for PostgreSQL?"""
    from pglast import parser

    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    if "\x00" in text:
        return True
    if _DBMATE_UP.search(text[:65536]):
        down = _DBMATE_DOWN.search(text)
        if down:
            text = text[: down.start()]
    try:
        parser.parse_sql(text)
    except parser.ParseError:
        return True
    except Exception:  # limits of the parser (nesting, size) are bad files too
        return True
    return False


def _mutate(data: bytes, rng: random.Random, others: list[Path]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(out))
        kind = rng.randrange(7)
        if kind == 0 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif kind == 1:
            del out[at:at + rng.randint(1, 200)]
        elif kind in (2, 3):
            out[at:at] = rng.choice(fuzz_grammar.TOKENS)
        elif kind == 4:
            out[at:at] = bytes(out[at:at + rng.randint(1, 400)]) * rng.randint(1, 3)
        elif kind == 5:
            del out[at:]
        else:
            other = rng.choice(others).read_bytes()
            start = rng.randint(0, len(other))
            out[at:at] = other[start:start + rng.randint(1, 2000)]
    return bytes(out)


MUTATIONS = 2_000


def test_corpus_and_2000_mutations_lint_without_a_traceback(corpus, tmp_path, capsys):
    """The whole corpus and 2,000 mutated copies (fixed seed): no traceback, every file in the report
    once, and a parse-error finding naming exactly the files that are not UTF-8 SQL PostgreSQL parses."""
    files = sorted(p for p in corpus.rglob("*.sql") if p.is_file())
    rng = random.Random(20260522)
    mutated = tmp_path / "mutated"
    mutated.mkdir()
    expected: dict[str, bool] = {}
    for i in range(MUTATIONS):
        source = rng.choice(files)
        data = _mutate(source.read_bytes(), rng, files)
        name = f"{i:04d}_{source.parent.name[:40]}.sql"
        (mutated / name).write_bytes(data)
        expected[name] = _expected_bad(data)
    assert 0 < sum(expected.values()) < MUTATIONS, "the mutations should make some files bad, not all"

    code = main([str(corpus), str(mutated), "--format", "json", "--include-down"])
    out, err = capsys.readouterr()
    assert code in (0, 1) and err == "" and "Traceback" not in out
    reports = json.loads(out)["files"]
    internal = [(r["path"], f["message"]) for r in reports for f in r["findings"] if "internal error" in f["message"]
                and "RecursionError" not in f["message"]]
    assert internal == []
    by_name = {}
    for report in reports:
        path = Path(report["path"])
        if path.parent.name == "mutated":
            assert path.name not in by_name, f"{path.name} reported twice"
            by_name[path.name] = report
    assert set(by_name) == set(expected)
    wrong = []
    for name, bad in expected.items():
        report = by_name[name]
        parse_errors = [f for f in report["findings"] if f["rule"] == "parse-error" and "internal error" not in f["message"]]
        if bool(parse_errors) != bad:
            wrong.append((name, bad, [f["message"] for f in parse_errors]))
        if bad:
            assert report["risk"] == "HIGH", name
    assert wrong == []
    assert len([r for r in reports if Path(r["path"]).parent.name != "mutated"]) >= len(files) - 10


@pytest.mark.parametrize("fmt", ["text", "github", "sarif", "markdown"])
def test_a_sample_of_mutations_renders_in_every_format(corpus, tmp_path, fmt):
    """200 mutated files (fixed seed) through the other reporters."""
    files = sorted(p for p in corpus.rglob("*.sql") if p.is_file())
    rng = random.Random(7 + len(fmt))
    root = tmp_path / "m"
    root.mkdir()
    for i in range(200):
        source = rng.choice(files)
        (root / f"{i:03d}_{source.stem[:30]}.sql").write_bytes(_mutate(source.read_bytes(), rng, files))
    run = Linter(Config(select=["ALL"]), REGISTRY).run(discover([str(root)]).files)
    assert len(run.files) == 200
    if fmt == "markdown":
        body = render_comment(run).body
        assert len(body) < GITHUB_LIMIT and body.count("<details>") == body.count("</details>")
    else:
        out = render(fmt, run, registry=REGISTRY)
        out.encode("utf-8")
        if fmt == "sarif":
            json.loads(out)
        if fmt == "github":
            assert all(line.startswith("::") for line in out.splitlines())


# -- the fast paths give the same report ----------------------------------------------------------------------
SAME_EXAMPLES = max(30, EXAMPLES // 20)


@settings(max_examples=SAME_EXAMPLES, deadline=None, derandomize=not LONG_RUN, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                 HealthCheck.filter_too_much])
@given(project=fuzz_grammar.projects())
def test_parallel_and_cached_runs_report_the_same(project):
    """Two processes (the directory split in two), a cold cache and a warm one: the JSON report of each is
    byte-identical to the plain run's, whatever the project."""
    from migration_lint.pipeline import parallel
    from migration_lint.pipeline.cache import Cache

    with tempfile.TemporaryDirectory(prefix="migration-lint-same-") as tmp:
        root = Path(tmp)
        write_project(root, project)
        linter, found = project_linter(root, project)

        def report(**kwargs) -> str:
            return render("json", linter.run(found.files, keep_trees=False, walked=found.walked, **kwargs),
                          registry=REGISTRY)

        plain = report()
        if parallel._fork_available():
            assert report(jobs=2) == plain
        cache_dir = root / ".cache"
        assert report(cache=Cache(cache_dir, linter, history=True)) == plain  # cold: fills it
        assert report(cache=Cache(cache_dir, linter, history=True)) == plain  # warm
