"""Bad input never crashes the linter, never hides the other files, and never leaks into the output.

Every test lints several files in one run, end to end through ``migration_lint.cli.main``: the bad
file next to a good one (``001_add_index_i.sql``, whose non-concurrent-index error at 1:19 must
survive), in every output format. A bad file is a finding that names it and the line where reading
stopped; the exit status stays 1 while an error finding exists; no traceback ever reaches the output.

No test reads a clock or a memory counter, so none depends on the machine or its load. The size
limits that bound memory are checked as behaviour (the file is reported, its parse tree never
loaded), linear growth by counting the lines of migration-lint's code that run
(``python_steps``, tests/conftest.py), and the time and memory of the full-size inputs are
measured by bench/limits.py.
"""

from __future__ import annotations

import html
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from migration_lint.cli import main
from migration_lint.pipeline.load import MAX_FILE_BYTES
from migration_lint.syntax.parse import MAX_TREE_CHARS

FORMATS = ("text", "json", "github", "sarif")
GOOD_NAME = "001_add_index_i.sql"
GOOD_SQL = "CREATE INDEX i ON t (x);\n"  # non-concurrent-index (error) at 1:19
RAW_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# -- helpers ---------------------------------------------------------------------------------------
def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", newline="")
    return path


def folder(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    """A migrations folder with the good file and `files`."""
    root = tmp_path / "m"
    write(root / GOOD_NAME, GOOD_SQL)
    for name, data in files.items():
        write(root / name, data)
    return root


def lint(capsys, *argv: str) -> tuple[int, dict[str, dict], str]:
    """Lint in every format; returns (exit status, JSON files by file name, text output).

    Asserts what holds for every run: the same exit status in every format, nothing on stderr,
    no traceback, JSON and SARIF that parse, one GitHub command per line.
    """
    outputs: dict[str, str] = {}
    codes = set()
    for fmt in FORMATS:
        code = main([*argv, "--format", fmt, "--color", "never"])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, out + err
        assert err == "", err
        codes.add(code)
        outputs[fmt] = out
    assert len(codes) == 1, f"the exit status depends on the format: {codes}"
    data = json.loads(outputs["json"])
    json.loads(outputs["sarif"])
    assert all(line.startswith("::") for line in outputs["github"].splitlines())
    files = {Path(f["path"]).name: f for f in data["files"]}
    assert len(files) == len(data["files"]), "two reports for the same file name"
    return codes.pop(), files, outputs["text"]


def findings(report: dict, rule: str | None = None) -> list[tuple[str, int, int]]:
    return [(f["rule"], f["line"], f["column"]) for f in report["findings"] if rule is None or f["rule"] == rule]


def messages(report: dict, rule: str = "parse-error") -> list[str]:
    return [f["message"] for f in report["findings"] if f["rule"] == rule]


def assert_intact(files: dict[str, dict]) -> None:
    """The good file still gets its finding, at its position."""
    assert ("non-concurrent-index", 1, 19) in findings(files[GOOD_NAME]), files[GOOD_NAME]["findings"]


def assert_clean_parse(report: dict) -> None:
    assert not messages(report), report["findings"]
    assert report["risk"] in ("LOW", "MEDIUM", "HIGH")


# -- empty and near-empty files --------------------------------------------------------------------
def test_empty_file(tmp_path, capsys):
    root = folder(tmp_path, {"002_add_nothing.sql": b""})
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    empty = files["002_add_nothing.sql"]
    assert_clean_parse(empty)
    assert empty["statements"] == [] and empty["risk"] == "LOW"


def test_only_whitespace(tmp_path, capsys):
    root = folder(tmp_path, {"002_add_spaces.sql": " \n\t\r\n\x0c\x0b\n   \r", "003_add_newline.sql": "\n"})
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    for name in ("002_add_spaces.sql", "003_add_newline.sql"):
        assert_clean_parse(files[name])
        assert files[name]["statements"] == []


def test_only_comments(tmp_path, capsys):
    comments = (
        "-- a line comment\n/* a block /* nested */ comment */\n"
        "-- backup: s3://bucket/x.dump\n-- migration-lint: ignore-file non-concurrent-index -- nothing here\n--"
    )
    root = folder(tmp_path, {"002_add_comments.sql": comments, "003_add_semicolons.sql": ";;\n;\n"})
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    for name in ("002_add_comments.sql", "003_add_semicolons.sql"):
        assert_clean_parse(files[name])
        assert files[name]["statements"] == []


def test_only_empty_files_exit_0(tmp_path, capsys):
    """Exit status 0 when no finding reaches --fail-on: empty files are not errors."""
    root = tmp_path / "m"
    write(root / "001_add_nothing.sql", b"")
    write(root / "002_add_comment.sql", "-- nothing yet\n")
    code, files, _ = lint(capsys, str(root))
    assert code == 0
    assert all(f["severity"] != "error" for report in files.values() for f in report["findings"])


# -- encodings and line breaks ---------------------------------------------------------------------
def test_utf8_bom(tmp_path, capsys):
    root = folder(tmp_path, {
        "002_add_index_j.sql": b"\xef\xbb\xbfCREATE INDEX j ON t (y);\n",
        "003_add_index_k.sql": b"\xef\xbb\xbf-- comment\r\nCREATE INDEX k ON t (z);\r\n",
        "004_add_bom_only.sql": b"\xef\xbb\xbf",
    })
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    assert ("non-concurrent-index", 1, 19) in findings(files["002_add_index_j.sql"])  # the BOM is no column
    assert ("non-concurrent-index", 2, 19) in findings(files["003_add_index_k.sql"])
    assert files["002_add_index_j.sql"]["statements"][0]["sql"] == "CREATE INDEX j ON t (y)"
    assert_clean_parse(files["004_add_bom_only.sql"])


@pytest.mark.parametrize(("broken", "good", "line"), [
    ("-- header\r\nSELECT 1;\r\n\r\nCREATE INDEX j ON t (y);\r\nSELECT (1, 2;\r\n", "-- header\r\nCREATE INDEX j ON t (y);\r\n", 2),
    ("-- header\rSELECT 1;\r\rCREATE INDEX j ON t (y);\rSELECT (1, 2;\r", "-- header\rCREATE INDEX j ON t (y);\r", 2),
    ("-- header\r\nSELECT 1;\r\r\nCREATE INDEX j ON t (y);\nSELECT (1, 2;\r", "/* a\r\n*/\rCREATE INDEX j ON t (y);", 3),
], ids=["crlf", "lone-cr", "mixed"])
def test_crlf_and_lone_cr_positions(tmp_path, capsys, broken, good, line):
    root = folder(tmp_path, {"002_add_broken.sql": broken, "003_add_index_j.sql": good})
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    assert findings(files["002_add_broken.sql"], "parse-error") == [("parse-error", 5, 13)]
    assert ("non-concurrent-index", line, 19) in findings(files["003_add_index_j.sql"])
    [stmt] = files["003_add_index_j.sql"]["statements"]
    assert (stmt["line"], stmt["column"], stmt["end_line"]) == (line, 1, line)


@pytest.mark.parametrize(("data", "line", "column", "byte"), [
    ("-- café\nSELECT 'déjà vu';\n".encode("latin-1"), 1, 7, "0xe9"),
    ("SELECT 1;\nSELECT 2;\n-- naïve\n".encode("latin-1"), 3, 6, "0xef"),
    (b"SELECT 1;\n\xc3\x28 broken sequence\n", 2, 1, "0xc3"),
    (b"SELECT 'ok \xe2\x9c\x93';\nSELECT 'cut \xe2\x82", 2, 13, "0xe2"),  # truncated at the end of the file
    (b"SELECT 1; -- \xed\xa0\x80 encoded surrogate\n", 1, 14, "0xed"),
    (b"\xef\xbb\xbfSELECT '\xff';", 1, 9, "0xff"),  # after a BOM
], ids=["latin1", "latin1-line-3", "bad-sequence", "truncated", "surrogate", "after-bom"])
def test_invalid_utf8_names_file_and_line_of_first_bad_byte(tmp_path, capsys, data, line, column, byte):
    root = folder(tmp_path, {"002_add_latin.sql": data})
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    report = files["002_add_latin.sql"]
    [(rule, got_line, got_column)] = findings(report, "parse-error")
    assert (got_line, got_column) == (line, column)
    [message] = messages(report)
    assert "UTF-8" in message and byte in message, message
    assert report["risk"] == "HIGH"


def test_binary_data_and_nul_bytes(tmp_path, capsys):
    rng = random.Random(20260522)
    root = folder(tmp_path, {
        "002_add_nul.sql": "SELECT 1;\nSELECT 'a\x00b';\n",
        "003_add_random.sql": bytes(rng.randrange(256) for _ in range(4096)),
        "004_add_png.sql": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "005_add_nul_only.sql": b"\x00" * 64,
        "006_add_zip.sql": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\xff" * 100,
    })
    code, files, text = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    assert findings(files["002_add_nul.sql"], "parse-error") == [("parse-error", 2, 10)]
    assert "NUL" in messages(files["002_add_nul.sql"])[0]
    for name in ("003_add_random.sql", "004_add_png.sql", "005_add_nul_only.sql", "006_add_zip.sql"):
        assert len(findings(files[name], "parse-error")) == 1, (name, files[name]["findings"])
        assert files[name]["risk"] == "HIGH"
    assert "\x00" not in text and not RAW_CONTROLS.search(text)


def test_exit_status_follows_fail_on_with_bad_files(tmp_path, capsys):
    root = tmp_path / "m"
    write(root / "001_add_latin.sql", "SELECT 'café';\n".encode("latin-1"))
    write(root / "002_add_broken.sql", "SELECT (;\n")
    for argv, expected in (([], 1), (["--fail-on", "warning"], 1), (["--fail-on", "never"], 0)):
        code = main([str(root), *argv])
        out, err = capsys.readouterr()
        assert code == expected, argv
        assert "Traceback" not in out + err and err == ""
        assert out.count(" error parse-error ") == 2
        assert "      2  parse-error  (2 error)" in out


def test_stdin_with_invalid_utf8_is_a_finding(capsys, monkeypatch):
    data = "SELECT 'café';\nCREATE INDEX i ON t (x);\n".encode("latin-1")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code = main(["-", "--stdin-filename", "migrations/001_add_index_i.sql", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    [report] = json.loads(out)["files"]
    assert findings(report, "parse-error") == [("parse-error", 1, 12)]


# -- size --------------------------------------------------------------------------------------------
# No test here reads a clock or a memory counter: bench/limits.py lints these inputs at full size (a
# 50 MB migration, the largest files under the limits, 100,000 statements, 1 MB lines, 20,000 files)
# and checks its time and peak memory against the figures in README.md. The tests check what the
# linter does with such input, on input just large enough to take the same code path, and that its
# work grows linearly with the input, by counting the lines of its code that run (`python_steps`).
def test_file_above_the_size_limit_is_refused_without_reading_it(tmp_path, capsys, whole_reads):
    """Above load.MAX_FILE_BYTES a file is a finding at once: its size comes from the directory and the
    file (a sparse one) is never read (with the report cache on too: tests/test_cache.py)."""
    root = folder(tmp_path, {})
    huge = root / "002_add_huge.sql"
    with open(huge, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    [message] = messages(files["002_add_huge.sql"])
    assert message == f"file is too large to lint ({MAX_FILE_BYTES + 1:,} bytes; the limit is {MAX_FILE_BYTES:,})"
    whole_reads.clear()
    assert main([str(root), "--jobs", "1", "--format", "json"]) == 1  # in this process: its reads are seen
    assert json.loads(capsys.readouterr().out)["summary"]["files"] == 2
    assert huge not in whole_reads and root / GOOD_NAME in whole_reads


def _sql_over_the_size_limit() -> str:
    """Real SQL (tables, rows, updates, concurrent indexes), a little over load.MAX_FILE_BYTES."""
    block = (
        "CREATE TABLE audit_{n} (id bigint PRIMARY KEY, payload jsonb NOT NULL);\n"
        "INSERT INTO audit_{n} (id, payload) VALUES ({n}, '{{\"k\": \"v\"}}');\n"
        "UPDATE audit_{n} SET payload = '{{}}' WHERE id = {n};\n"
        "CREATE INDEX CONCURRENTLY audit_{n}_payload_idx ON audit_{n} USING gin (payload);\n"
    )
    one = len(block.format(n=100000))
    return "".join(block.format(n=100000 + n) for n in range(MAX_FILE_BYTES // one + 1))


def test_migration_over_the_size_limit_is_a_finding(tmp_path, capsys, whole_reads):
    """A migration of real SQL over the limit (bench/limits.py lints one of 50 MB) is a finding that
    explains; it is not read, and the other files are linted."""
    root = folder(tmp_path, {"002_add_audit_tables.sql": _sql_over_the_size_limit()})
    big = root / "002_add_audit_tables.sql"
    assert big.stat().st_size > MAX_FILE_BYTES
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    [message] = messages(files["002_add_audit_tables.sql"])
    assert message.startswith("file is too large to lint (") and f"the limit is {MAX_FILE_BYTES:,}" in message
    assert files["002_add_audit_tables.sql"]["risk"] == "HIGH"
    whole_reads.clear()
    assert main([str(root), "--jobs", "1", "--format", "json"]) == 1
    capsys.readouterr()
    assert big not in whole_reads and root / GOOD_NAME in whole_reads


# The densest files under the byte limit (size in bytes): the most statements, and millions of values
# in one statement (each a node of the parse tree)
_DENSE = {
    "002_select_many.sql": lambda size: "SELECT 1;\n" * ((size - 1) // len("SELECT 1;\n")),
    "002_values.sql": lambda size: "INSERT INTO t VALUES " + ",".join(["(1)"] * ((size - 40) // 4)) + ";\n",
    "002_select_list.sql": lambda size: "SELECT " + ",".join(["1"] * ((size - 20) // 2)) + ";\n",
}
_SCALE = 64  # both limits divided by this: 128 KiB files instead of 8 MiB


@pytest.mark.parametrize("name", sorted(_DENSE))
def test_largest_admitted_files_are_reported_not_loaded(tmp_path, capsys, monkeypatch, name):
    """The byte limit alone does not bound memory (a parse tree takes up to 700 times its text): beyond
    syntax.parse.MAX_TREE_CHARS of parse tree as JSON the file is reported, and the tree is never loaded.

    The tree of these files grows in proportion to their text, so the test divides both limits by
    _SCALE and lints 128 KiB files; that the full-size file is over the full tree limit follows from a
    sample's tree per character. bench/limits.py lints the full-size files (time and peak RSS).
    """
    from pglast import parser

    from migration_lint.pipeline import load as load_module
    from migration_lint.syntax import parse as parse_module

    make = _DENSE[name]
    sample = make(MAX_FILE_BYTES // _SCALE)
    # offsets in the tree have fewer digits in the sample: the full-size tree is a little larger still
    assert len(parser.parse_sql_json(sample)) / len(sample) * MAX_FILE_BYTES > MAX_TREE_CHARS
    loaded: list[int] = []
    loads = parse_module._loads
    monkeypatch.setattr(parse_module, "_loads", lambda raw: loaded.append(len(raw)) or loads(raw))
    monkeypatch.setattr(load_module, "MAX_FILE_BYTES", MAX_FILE_BYTES // _SCALE)
    monkeypatch.setattr(parse_module, "MAX_TREE_CHARS", MAX_TREE_CHARS // _SCALE)
    root = folder(tmp_path, {name: sample})
    assert (root / name).stat().st_size <= MAX_FILE_BYTES // _SCALE
    code, files, _ = lint(capsys, str(root))  # under 256 KiB of SQL: one process, its loads are seen
    assert code == 1
    assert_intact(files)
    [message] = messages(files[name])
    assert message.startswith("too large to analyse: its parse tree takes "), message
    assert files[name]["statements"] == []
    assert len(loaded) == len(FORMATS), "a tree other than the good file's was loaded"
    assert max(loaded) <= MAX_TREE_CHARS // _SCALE


_DATA_SHAPES = (
    "INSERT INTO audit_log (id, action) VALUES ({i}, 'create');",
    "SELECT setval('audit_log_id_seq', {i});",
    "SET statement_timeout = '{i}ms';",
    "COMMENT ON TABLE audit_log IS 'batch {i}';",
    "DO $$ BEGIN PERFORM {i}; END $$;",
)
_DDL_SHAPES = (
    "ALTER TABLE t{m} ADD COLUMN c{i} bigint;",
    "ALTER TABLE t{m} ALTER COLUMN c{i} DROP DEFAULT;",
    "ALTER TABLE t{m} RENAME COLUMN a{i} TO b{i};",
    "ALTER TABLE t{m} ADD CONSTRAINT f{i} FOREIGN KEY (a{i}) REFERENCES u{m} (id) NOT VALID;",
    "CREATE INDEX CONCURRENTLY i{i} ON t{m} (c{i});",
    "UPDATE t{m} SET c{i} = 0 WHERE id = {i};",
    "DELETE FROM t{m} WHERE id = {i};",
)


def _data_statements(n: int) -> str:
    return "".join(_DATA_SHAPES[i % len(_DATA_SHAPES)].format(i=i) + "\n" for i in range(n))


def _ddl_statements(n: int, *, tables: int = 50) -> str:
    """ALTER TABLE, CREATE INDEX, UPDATE and DELETE statements spread over `tables` tables."""
    return "".join(_DDL_SHAPES[i % len(_DDL_SHAPES)].format(i=i, m=i % tables) + "\n" for i in range(n))


def _create_tables(n: int) -> str:
    """A generated schema dump: `n` tables."""
    return "".join(f"CREATE TABLE t{i} (id bigint PRIMARY KEY);\n" for i in range(n))


_MANY = {
    "002_backfill_audit_log.sql": _data_statements,
    "002_alter_tables.sql": _ddl_statements,
    "002_create_tables.sql": _create_tables,
}


@pytest.mark.parametrize("name", list(_MANY))
def test_many_statements_in_one_file_are_all_linted(tmp_path, capsys, name):
    """Every statement of a long file is linted and reported at its line. 100,000 statements of each
    shape are under both limits, so they are analysed, not reported as too large; the test lints 2,000
    of them, bench/limits.py the 100,000."""
    from pglast import parser

    make = _MANY[name]
    full = make(100_000)
    assert len(full.encode("utf-8")) <= MAX_FILE_BYTES
    assert len(parser.parse_sql_json(full)) <= MAX_TREE_CHARS
    root = folder(tmp_path, {name: make(2_000)})
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    report = files[name]
    assert_clean_parse(report)
    top = [s for s in report["statements"] if "parent" not in s]  # a DO block's statements come with it
    assert len(top) == 2_000
    assert [s["line"] for s in top] == list(range(1, 2_001))


_LONG = 100_000  # characters in a line: far beyond what any report shows of one (bench/limits.py: 1 MB)


def test_long_single_lines(tmp_path, capsys):
    """Lines of 100,000 characters (3,400 statements, one VALUES list, one string literal, one comment):
    positions stay right along the line, and no report prints the line."""
    statements = "".join(f"INSERT INTO t (a) VALUES ({i}); " for i in range(3_400))
    assert len(statements) > _LONG
    values = "INSERT INTO t (a, b) VALUES " + ",".join(f"({i}, 'v{i}')" for i in range(8_000)) + ";"
    assert len(values) > _LONG
    literal = "INSERT INTO t (a) VALUES ('" + "x" * _LONG + "');"
    root = folder(tmp_path, {
        "002_add_rows.sql": statements + "CREATE INDEX j ON t (y);",
        "003_add_values.sql": values,
        "004_add_literal.sql": literal + "\n",
        "005_add_comment.sql": "SELECT 1; -- " + "y" * _LONG,
    })
    code, files, text = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    assert len(files["002_add_rows.sql"]["statements"]) == 3_401
    assert ("non-concurrent-index", 1, len(statements) + 19) in findings(files["002_add_rows.sql"])
    for name in ("003_add_values.sql", "004_add_literal.sql", "005_add_comment.sql"):
        assert_clean_parse(files[name])
    assert max(len(line) for line in text.splitlines()) < 2_000, "the text report prints a long line"


def _small_migrations(count: int) -> dict[str, str]:
    return {f"{i:05d}_add_column_c{i}.sql": f"ALTER TABLE t{i % 20} ADD COLUMN c{i} int;\n" for i in range(2, count + 2)}


def test_many_files_in_a_directory(tmp_path, capsys):
    """Every migration of a large folder is reported, each with its statement; the folder is split
    between two worker processes, the second replaying the first half (bench/limits.py lints 20,000)."""
    root = folder(tmp_path, _small_migrations(1_000))
    code, files, _ = lint(capsys, str(root), "--jobs", "2")
    assert code == 1
    assert len(files) == 1_001
    assert_intact(files)
    assert all(len(report["statements"]) == 1 for name, report in files.items() if name != GOOD_NAME)
    one_process = main([str(root), "--jobs", "1", "--format", "json"])
    assert one_process == 1
    assert {Path(f["path"]).name: f for f in json.loads(capsys.readouterr().out)["files"]} == files


# -- growth: operations, not seconds -----------------------------------------------------------------
# Each shape at sizes n, 2n and 4n, linted in this process: the Python lines migration-lint runs per
# unit of input (a statement, a row, a file) from 2n to 4n may not exceed those from n to 2n (linear:
# equal; a quadratic step: twice as many). Counting lines sees loops in Python, not work done inside
# one call (a regular expression, a copy): bench/limits.py and bench/speed.py (`growth`) time that.
#
# Statements on one table cost more as the table grows (duplicate-index compares a new index with each
# index of its table, unbatched-data-change reads the table's columns): the "ddl" shape gives each
# table the same number of statements at every size, the 100,000-statement file of bench/limits.py
# puts them on 50 tables.
_GROWTH = {  # shape: (n, the files at size k, statements linted at size k)
    "statements": (250, lambda k: {"002_backfill.sql": _data_statements(k)}, lambda k: k),
    "ddl": (280, lambda k: {"002_alter_tables.sql": _ddl_statements(k, tables=k // 70)}, lambda k: k),
    "create-tables": (250, lambda k: {"002_create_tables.sql": _create_tables(k)}, lambda k: k),
    "one-line": (250, lambda k: {"002_add_rows.sql": "".join(f"INSERT INTO t (a) VALUES ({i}); " for i in range(k))},
                 lambda k: k),
    "values-rows": (1_000, lambda k: {"002_add_values.sql": "INSERT INTO t (a, b) VALUES "
                                      + ",".join(f"({i}, 'v{i}')" for i in range(k)) + ";\n"}, lambda k: 1),
    "files": (50, _small_migrations, lambda k: k),
    "literal": (10_000, lambda k: {"002_add_literal.sql": "INSERT INTO t (a) VALUES ('" + "x" * k + "');\n"}, lambda k: 1),
    "comment": (10_000, lambda k: {"002_add_comment.sql": "SELECT 1; -- " + "y" * k}, lambda k: 1),
}


@pytest.mark.parametrize("shape", list(_GROWTH))
def test_work_grows_linearly_with_the_input(tmp_path, python_steps, schema_applies, shape):
    n, make, statements = _GROWTH[shape]
    steps = []
    for k in (n, n, 2 * n, 4 * n):  # the first run, not counted, does what is done once (imports, caches)
        root = folder(tmp_path / str(k), make(k))
        out = tmp_path / f"{k}.json"
        schema_applies.clear()
        steps.append(python_steps(lambda root=root, out=out: main([str(root), "--jobs", "1", "--format", "json", "--output", str(out)])))
        reports = json.loads(out.read_text(encoding="utf-8"))["files"]
        # statements of the files (a DO block's statements come with it: "parent"), each applied to the schema once
        linted = sum(1 for report in reports for s in report["statements"] if "parent" not in s)
        applied = sum(len(report["statements"]) for report in reports)
        assert linted == statements(k) + 1, f"{shape} at {k}: {linted} statements linted"
        assert len(schema_applies) == applied, "a statement was applied to the schema model more than once"
    early = (steps[2] - steps[1]) / n
    late = (steps[3] - steps[2]) / (2 * n)
    assert late <= 1.05 * early, f"{shape}: {early:,.1f} Python steps per unit from n to 2n, {late:,.1f} from 2n to 4n"


# -- nesting -------------------------------------------------------------------------------------------
N = 10_000
DEEP_OK = {
    "parentheses": "SELECT " + "(" * N + "1" + ")" * N + ";",
    "functions": "SELECT " + "lower(" * N + "'x'" + ")" * N + ";",
    "arrays": "SELECT " + "ARRAY[" * N + "1" + "]" * N + ";",
    "subqueries": "SELECT " + "(SELECT " * N + "1" + ")" * N + ";",
    "case": "SELECT " + "CASE WHEN true THEN " * N + "1" + " END" * N + ";",
    "not": "SELECT * FROM t WHERE " + "NOT " * N + "true;",
    "operators": "SELECT " + "+".join(["1"] * N) + ";",
    "or-list": "UPDATE t SET a = 1 WHERE " + " OR ".join(f"id = {i}" for i in range(N)) + ";",
    "index-expression": "CREATE INDEX j ON t ((" + "+".join(["a"] * N) + "));",
    "check": "ALTER TABLE t ADD CONSTRAINT c CHECK (" + "+".join(["a"] * N) + " > 0) NOT VALID;",
    "default": "ALTER TABLE t ADD COLUMN c int DEFAULT " + "+".join(["1"] * N) + ";",
    "view": "CREATE VIEW v AS SELECT " + "+".join(["a"] * N) + " FROM t;",
    "concatenation": "INSERT INTO settings (key, value) VALUES ('k', " + "||".join(["'ab'"] * N) + ");",
    "json-path": "UPDATE t SET a = a" + " -> 'k'" * N + " WHERE id = 1;",
}


def _assert_no_internal_error(files: dict[str, dict]) -> None:
    for name, report in files.items():
        for finding in report["findings"]:
            assert "internal error" not in finding["message"], (name, finding["message"])
            assert "RecursionError" not in finding["message"], (name, finding["message"])


def test_deep_nesting_10000_levels(tmp_path, capsys):
    """10,000 levels: the parser's own limit is a parse-error finding, and no Python recursion limit is hit."""
    root = folder(tmp_path, {f"{i:03d}_add_deep_{name}.sql": sql for i, (name, sql) in enumerate(DEEP_OK.items(), 2)})
    code, files, text = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    _assert_no_internal_error(files)
    for i, name in enumerate(DEEP_OK, 2):
        report = files[f"{i:03d}_add_deep_{name}.sql"]
        for _rule, line, column in findings(report, "parse-error"):
            assert line == 1 and column >= 1


# Left-recursive shapes PostgreSQL accepts at any depth: each reaches a different helper 10,000 levels deep
# (casts in secrets and in rules, UNION and JOIN chains, deep expressions); none may hit Python's recursion limit.
DEEP_IN_RULES = {
    "casts-in-a-secret-column": "INSERT INTO users (password) VALUES ('hunter2hunter2'" + "::text" * N + ");",
    "casts-in-where": "UPDATE t SET a = 1 WHERE id" + "::int" * N + " = 1;",
    "union-chain": "INSERT INTO t2 SELECT * FROM t" + " UNION SELECT * FROM t" * N + ";",
    "join-chain": "INSERT INTO t2 SELECT * FROM t" + " JOIN t USING (a)" * N + ";",
    "null-default-casts": "ALTER TABLE t ADD COLUMN c int DEFAULT NULL" + "::int" * N + ";",
    "enum-in-deep-expression": "BEGIN; ALTER TYPE e ADD VALUE 'x'; UPDATE t SET a = " + "||".join(["'x'"] * N) + "; COMMIT;",
}


@pytest.mark.parametrize("case", [
    pytest.param(name, id=name)
    for name in DEEP_IN_RULES
])
def test_deep_nesting_in_rules(tmp_path, capsys, case):
    """Shapes that PostgreSQL's grammar accepts at any depth (left-recursive) reach Python code 10,000 deep."""
    sql = DEEP_IN_RULES[case]
    root = folder(tmp_path, {"002_add_deep.sql": sql})
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    _assert_no_internal_error(files)


# -- unterminated tokens ---------------------------------------------------------------------------
@pytest.mark.parametrize(("sql", "line", "column", "words"), [
    ("SELECT 1;\nSELECT 'abc;\nSELECT 2;\n", 2, 8, "unterminated quoted string"),
    ("SELECT 1;\nSELECT E'abc\\';\n", 2, 8, "unterminated quoted string"),
    ('SELECT 1;\nSELECT "abc;\n', 2, 8, "unterminated quoted identifier"),
    ("SELECT 1;\nDO $$ BEGIN\n  PERFORM 1;\nEND;\n", 2, 4, "unterminated dollar-quoted string"),
    ("SELECT 1;\nDO $body$ BEGIN END $bod$;\n", 2, 4, "unterminated dollar-quoted string"),
    ("SELECT 1; /* open\n comment\n", 1, 11, "unterminated /* comment"),
    ("SELECT 1; /* outer /* inner */ still open\n", 1, 11, "unterminated /* comment"),
    ("SELECT 1;\nSELECT B'0101;\n", 2, 8, "unterminated bit string"),
    ("SELECT 1;\nSELECT U&'d\\0061t;\n", 2, 8, "unterminated quoted string"),
], ids=["quote", "escape-string", "identifier", "dollar", "dollar-tag", "block-comment", "nested-comment",
        "bit-string", "unicode-string"])
def test_unterminated_quotes_dollar_quotes_and_comments(tmp_path, capsys, sql, line, column, words):
    root = folder(tmp_path, {"002_add_unterminated.sql": sql})
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    report = files["002_add_unterminated.sql"]
    assert findings(report, "parse-error") == [("parse-error", line, column)]
    [message] = messages(report)
    assert words in message, message
    assert "\n" not in message


# -- psql and templates ----------------------------------------------------------------------------
@pytest.mark.parametrize(("sql", "line", "what"), [
    ("\\connect app\nCREATE TABLE a (id int);\n", 1, "psql meta-commands"),
    ("SELECT 1;\n\\set ON_ERROR_STOP on\nSELECT 2;\n", 2, "psql meta-commands"),
    ("BEGIN;\n\\i other.sql\nCOMMIT;\n", 2, "psql meta-commands"),
    ("CREATE TABLE ${schema}.users (id int);\n", 1, "Flyway-style placeholders"),
    ("CREATE TABLE {{ .Schema }}.users (id int);\n", 1, "template tags {{ ... }}"),
    ("SELECT 1;\nCREATE TABLE t (id int DEFAULT :'default_id');\n", 2, "psql variables"),
    ("ALTER TABLE t OWNER TO :owner;\n", 1, "psql variables"),
], ids=["connect", "set", "include", "flyway", "go-template", "psql-quoted-variable", "psql-variable"])
def test_psql_and_templated_sql_say_so_with_a_hint(tmp_path, capsys, sql, line, what):
    root = folder(tmp_path, {"002_add_templated.sql": sql})
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    [finding] = [f for f in files["002_add_templated.sql"]["findings"] if f["rule"] == "parse-error"]
    assert finding["line"] == line
    assert finding["message"].startswith("cannot be parsed: looks templated"), finding["message"]
    assert what in finding["message"]
    assert "placeholders" in finding["help"]


def _placeholders_config(tmp_path: Path) -> Path:
    return write(tmp_path / "migration-lint.toml", (
        'placeholders = { schema = "public", table = "orders", "{{ .Index }}" = "orders_total_idx", '
        '":\'owner\'" = "\'app\'" }\n'))


def test_placeholders_setting_substitutes_before_parsing(tmp_path, capsys):
    config = _placeholders_config(tmp_path)
    root = folder(tmp_path, {
        "002_add_index_total.sql": "CREATE INDEX {{ .Index }} ON ${schema}.${table} (total);\n",
        "003_add_comment.sql": "COMMENT ON TABLE ${table} IS :'owner';\n",
        "004_add_unknown.sql": "CREATE TABLE ${unknown}.t (id int);\n",
    })
    code, files, _ = lint(capsys, str(root), "--config", str(config))
    assert code == 1
    assert_intact(files)
    index = files["002_add_index_total.sql"]
    assert_clean_parse(index)
    assert index["statements"][0]["sql"] == "CREATE INDEX orders_total_idx ON public.orders (total)"
    assert [f["rule"] for f in index["findings"]].count("non-concurrent-index") == 1
    assert_clean_parse(files["003_add_comment.sql"])
    assert files["003_add_comment.sql"]["statements"][0]["sql"] == "COMMENT ON TABLE orders IS 'app'"
    [message] = messages(files["004_add_unknown.sql"])
    assert "looks templated" in message


def test_placeholders_keep_positions_of_the_file(tmp_path, capsys):
    config = _placeholders_config(tmp_path)
    sql = "CREATE INDEX ${table}_idx ON ${schema}.${table} (total); CREATE INDEX k ON u (z);\n"
    root = folder(tmp_path, {"002_add_index_total.sql": sql})
    code, files, _ = lint(capsys, str(root), "--config", str(config))
    report = files["002_add_index_total.sql"]
    assert [s["column"] for s in report["statements"]] == [1, sql.index("CREATE INDEX k") + 1]
    assert ("non-concurrent-index", 1, sql.index("u (z)") + 1) in findings(report)


# -- paths: missing, loops, unreadable -----------------------------------------------------------------
def test_path_that_does_not_exist(tmp_path, capsys):
    root = folder(tmp_path, {})
    missing = tmp_path / "nope" / "002_add_nothing.sql"
    code, files, text = lint(capsys, str(root), str(missing), str(tmp_path / "no-such-dir" / "*.sql"))
    assert code == 1
    assert_intact(files)
    assert messages(files["002_add_nothing.sql"]) == ["no such file or directory"]
    assert messages(files["*.sql"]) == ["no file matches this pattern"]
    assert f"{missing}:1:1: error parse-error no such file or directory" in text


def test_only_a_missing_path_exits_1(tmp_path, capsys):
    code = main([str(tmp_path / "nope.sql")])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    assert "nope.sql:1:1: error parse-error no such file or directory" in out


def test_symlink_loops_fifos_and_odd_entries_in_a_directory_walk(tmp_path, capsys):
    """Nothing in a folder can hang or crash the walk: each odd entry is a finding, the rest is linted."""
    root = folder(tmp_path, {"sub/003_add_index_k.sql": "CREATE INDEX k ON t (z);\n"})
    os.symlink("..", root / "sub" / "loop")  # a directory loop: not followed
    os.symlink("004_self.sql", root / "004_self.sql")  # a link to itself
    os.symlink("005_b.sql", root / "005_a.sql")  # a two-link loop
    os.symlink("005_a.sql", root / "005_b.sql")
    os.symlink("nowhere.sql", root / "006_broken.sql")
    os.mkfifo(root / "007_fifo.sql")  # reading it would block forever
    (root / "008_dir.sql").mkdir()  # a directory named like a migration: walked, not read
    write(root / "008_dir.sql" / "001_add_index_l.sql", "CREATE INDEX l ON t (w);\n")
    os.symlink(root / GOOD_NAME, root / "009_link_to_good.sql")  # the same file twice: linted once
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    assert ("non-concurrent-index", 1, 19) in findings(files["003_add_index_k.sql"])
    assert ("non-concurrent-index", 1, 19) in findings(files["001_add_index_l.sql"])
    assert messages(files["004_self.sql"]) == ["symbolic link loop"]
    assert messages(files["005_a.sql"]) == messages(files["005_b.sql"]) == ["symbolic link loop"]
    assert messages(files["006_broken.sql"]) == ["broken symbolic link"]
    assert messages(files["007_fifo.sql"]) == ["not a regular file (a FIFO)"]
    assert "009_link_to_good.sql" not in files, "the real file and a link to it are one migration, named once"
    assert "008_dir.sql" not in files


def test_explicit_symlink_loop_and_broken_link_arguments(tmp_path, capsys):
    root = folder(tmp_path, {})
    os.symlink("002_loop.sql", tmp_path / "002_loop.sql")
    os.symlink("nowhere", tmp_path / "003_broken.sql")
    os.symlink("004_loop_dir", tmp_path / "004_loop_dir")
    code, files, _ = lint(capsys, str(root), str(tmp_path / "002_loop.sql"), str(tmp_path / "003_broken.sql"),
                          str(tmp_path / "004_loop_dir"))
    assert code == 1
    assert_intact(files)
    assert messages(files["002_loop.sql"]) == ["symbolic link loop"]
    assert messages(files["003_broken.sql"]) == ["broken symbolic link"]
    assert messages(files["004_loop_dir"]) == ["symbolic link loop"]


def test_explicit_fifo_argument(tmp_path, capsys):
    root = folder(tmp_path, {})
    fifo = tmp_path / "002_fifo.sql"
    os.mkfifo(fifo)
    code, files, _ = lint(capsys, str(root), str(fifo))
    assert code == 1
    assert_intact(files)
    assert messages(files["002_fifo.sql"]) == ["not a regular file or directory"]


_UNREADABLE_CHILD = r"""
import sys
from migration_lint.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_unreadable_file_and_directory(tmp_path):
    """A file and a folder without read permission are findings; the rest is linted.

    As root, mode 000 does not stop reading: the check then runs in a child process without the
    capabilities that bypass file permissions (`setpriv --bounding-set -dac_override,-dac_read_search`,
    still uid 0, so it can run this Python, which `runuser -u nobody` could not reach under /root).
    """
    root = folder(tmp_path, {"002_add_secret.sql": "SELECT 1;\n", "003_locked/001_add_index_x.sql": GOOD_SQL})
    (root / "002_add_secret.sql").chmod(0)
    (root / "003_locked").chmod(0)
    command = [sys.executable, "-c", _UNREADABLE_CHILD, str(root), "--no-config", "--format", "json"]
    try:
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root and setpriv (util-linux) is not installed")
            command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    finally:
        (root / "002_add_secret.sql").chmod(0o644)
        (root / "003_locked").chmod(0o755)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    if "Operation not permitted" in done.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {done.stderr.strip()}")
    assert done.returncode == 1, done.stderr
    files = {Path(f["path"]).name: f for f in json.loads(done.stdout)["files"]}
    assert_intact(files)
    assert messages(files["002_add_secret.sql"]) == ["cannot read file: Permission denied"]
    assert messages(files["003_locked"]) == ["cannot read directory: Permission denied"]


# -- output safety ---------------------------------------------------------------------------------------
def _unescape_github(text: str) -> str:
    return (text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",")
            .replace("%25", "%"))


def test_github_workflow_commands_are_escaped(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "002_add_index_a,b:c%0Ad%.sql"
    sql = ('CREATE INDEX "i::error::fake" ON "t\n::error file=x.sql::owned\r\n%0A" (x);\n'
           "SELECT 1; -- ::warning::also not a command\n")
    folder(tmp_path, {name: sql})
    main(["m", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    expected = sum(len(f["findings"]) for f in data["files"])
    main(["m", "--format", "github"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == expected, "a finding spans several lines or is missing"
    command = re.compile(r"^::(error|warning|notice) file=([^,:]*),line=(\d+),col=(\d+),endLine=(\d+),"
                         r"endColumn=(\d+),title=([^,:]*)::([^\r\n]*)$")
    seen_paths = set()
    for line in lines:
        match = command.match(line)
        assert match, line
        seen_paths.add(_unescape_github(match.group(2)))
        assert "\r" not in match.group(8) and "\n" not in match.group(8)
    assert f"m/{name}" in seen_paths, seen_paths
    bad = [line for line in lines if name.split(",")[0] in _unescape_github(line)]
    assert any("i::error::fake" in _unescape_github(line) for line in bad)


def test_json_and_sarif_are_valid_utf8_from_any_input(tmp_path, capsys, monkeypatch):
    """Invalid bytes in the file and in its name (lone surrogates in Python) never break JSON or SARIF."""
    monkeypatch.chdir(tmp_path)
    root = folder(tmp_path, {})
    write(root / "002_add_latin.sql", "CREATE TABLE café (id int); -- ü\n".encode("latin-1"))
    os.makedirs(os.fsencode(root), exist_ok=True)
    with open(os.path.join(os.fsencode(root), b"003_add_index_\xff\xfe.sql"), "wb") as handle:
        handle.write(b"CREATE INDEX j ON t (y);\n")
    with open(os.path.join(os.fsencode(root), b"004_add_\xed\xa0\x80_surrogate.sql"), "wb") as handle:
        handle.write(b"SELECT '\xed\xa0\x80';\n")
    for fmt in ("json", "sarif"):
        report = tmp_path / f"report.{fmt}"
        code = main(["m", "--format", fmt, "--output", str(report)])
        out, err = capsys.readouterr()
        assert code == 1 and "Traceback" not in out + err
        raw = report.read_bytes()
        raw.decode("utf-8")  # strict
        data = json.loads(raw)
        json.dumps(data, ensure_ascii=False).encode("utf-8")
        main(["m", "--format", fmt])
        printed = capsys.readouterr().out
        printed.encode("utf-8")
        assert json.loads(printed) == data
    sarif = json.loads((tmp_path / "report.sarif").read_text(encoding="utf-8"))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert "m/003_add_index_%FF%FE.sql" in uris
    assert "m/004_add_%ED%A0%80_surrogate.sql" in uris


def test_stdin_filename_with_lone_surrogates(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"CREATE INDEX i ON t (x);\n")))
    name = os.fsdecode(b"migrations/001_add_\xff.sql")
    for fmt in FORMATS:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"CREATE INDEX i ON t (x);\n")))
        code = main(["-", "--stdin-filename", name, "--format", fmt])
        out, err = capsys.readouterr()
        assert code == 1 and "Traceback" not in out + err
        out.encode("utf-8")


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_text_and_github_reports_survive_file_names_that_are_not_utf8(tmp_path, capsys, monkeypatch, fmt):
    """Written with --output (strict UTF-8), a name with invalid bytes is shown with U+FFFD, not a traceback."""
    monkeypatch.chdir(tmp_path)
    folder(tmp_path, {})
    with open(os.path.join(b"m", b"002_add_index_\xff.sql"), "wb") as handle:
        handle.write(b"CREATE INDEX j ON t (y);\n")
    report = tmp_path / f"report.{fmt}"
    code = main(["m", "--format", fmt, "--output", str(report)])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    assert "002_add_index_\ufffd.sql" in report.read_text(encoding="utf-8")


TERMINAL_ATTACKS = {
    "esc": "\x1b[2J\x1b]0;owned\x07",
    "bell": "\x07",
    "backspace": "safe\x08\x08\x08\x08",
    "bidi": "\u202eevil\u202c",
    "isolate": "\u2066x\u2069",
    "nel": "a\x85b",
    "line-separator": "a\u2028b",
    "carriage-return": "a\rb",
}


def test_terminal_report_has_no_raw_control_characters(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = {}
    for i, (what, attack) in enumerate(TERMINAL_ATTACKS.items(), 2):
        identifier = attack.replace('"', "")
        files[f"{i:03d}_add_index_{what}.sql"] = f'CREATE INDEX "{identifier}" ON "t{identifier}" ("c{identifier}");\n'
    files["090_add_index_\x1b[31m\u202e.sql"] = "CREATE INDEX j ON t (y);\n"
    files["091_add\nfake.sql:1:1: error forged.sql"] = "CREATE INDEX k ON t (z);\n"
    folder(tmp_path, files)
    code = main(["m", "--format", "text", "--color", "never"])
    out, err = capsys.readouterr()
    assert code == 1 and err == ""
    assert not RAW_CONTROLS.search(out), repr(RAW_CONTROLS.search(out).group())
    assert "\u2028" not in out and "\u2029" not in out and "\x85" not in out
    assert not re.search(r"^fake\.sql", out, re.M), "a file name started a line of its own"
    assert "m/091_add\\x0afake.sql" in out
    code = main(["m", "--format", "text", "--color", "always"])
    colored = capsys.readouterr().out
    escapes = set(re.findall(r"\x1b[^m]*m", colored))
    assert escapes <= {"\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[0m"}, escapes
    assert not RAW_CONTROLS.search(re.sub(r"\x1b\[\d+m", "", colored))


def test_github_report_has_no_raw_control_characters(tmp_path, capsys, monkeypatch):
    """The Actions log interprets ANSI sequences: none may come from a migration."""
    monkeypatch.chdir(tmp_path)
    folder(tmp_path, {
        "002_add_index_\x1b[31mred.sql": 'CREATE INDEX "\x1b]0;x\x07\u202e" ON t (y);\n',
    })
    main(["m", "--format", "github"])
    out = capsys.readouterr().out
    assert not RAW_CONTROLS.search(out.replace("\n", "")), repr(out)


def _markdown(paths: list[str]) -> str:
    from migration_lint.config import Config
    from migration_lint.ingest.discover import discover
    from migration_lint.pipeline.engine import Linter
    from migration_lint.report.markdown import render_comment
    from migration_lint.rules.registry import all_rules

    run = Linter(Config(), all_rules()).run(discover(paths).files)
    return render_comment(run).body


def _structure(body: str) -> dict[str, int]:
    return {token: body.count(token) for token in (
        "<details>", "</details>", "<summary>", "</summary>", "<!--", "-->", "```", "\n|",
        "<table", "<script", "<img", "<a ")}


def test_markdown_comment_keeps_its_structure(tmp_path):
    """Injected SQL and file names change the words of the comment, never its structure."""
    attack = "</details></summary><!-- `x` ``` @octocat #123 GH-7 [l](javascript:x) | <img src=x> -->"
    benign = "plain words and more plain words to keep the length similar enough here"
    bodies = {}
    for label, text in (("attack", attack), ("benign", benign)):
        base = tmp_path / label / "m"
        identifier = text.replace('"', "")
        literal = text.replace("'", "''")
        write(base / GOOD_NAME, GOOD_SQL)
        write(base / "002_add_index_x.sql", (
            f'CREATE INDEX "{identifier}" ON "{identifier}" ("{identifier}");\n'
            f"UPDATE t SET note = '{literal}';\n"
            f'DROP TABLE "{identifier}";\n'))
        write(base / ("003_add_" + text.replace("/", "_").replace(" ", "_") + ".sql"), "SELECT 'unterminated;\n")
        bodies[label] = _markdown([str(base)])
    attacked, plain = bodies["attack"], bodies["benign"]
    assert _structure(attacked) == _structure(plain), (_structure(attacked), _structure(plain))
    # a backtick inside an identifier may shift which words of a message look like code, nothing more
    assert attacked.count("<code>") == attacked.count("</code>")
    # GitHub links references in the rendered text, after a non-word character (`_GH-7` is no link)
    # (GitHub links no reference inside a code span: there the text stays as written, copyable)
    rendered = html.unescape(re.sub(r"<code>.*?</code>", "<code></code>", attacked, flags=re.S))
    assert not re.search(r"(?<!\w)@[A-Za-z0-9]", rendered), "a live @mention"
    assert not re.search(r"(?<!\w)#[0-9]", rendered), "a live #123 reference"
    assert not re.search(r"(?<!\w)GH-[0-9]", rendered, re.I), "a live GH-7 reference"
    assert "](javascript" not in attacked
    assert len(attacked) < 65_536


def test_markdown_comment_survives_control_characters_and_bad_names(tmp_path):
    root = folder(tmp_path, {"002_add_index_\x1b[31m\u202e.sql": 'CREATE INDEX "\x07\x08" ON t (y);\n'})
    with open(os.path.join(os.fsencode(root), b"003_add_\xff.sql"), "wb") as handle:
        handle.write(b"SELECT '\xff';\n")
    body = _markdown([str(root)])
    body.encode("utf-8")
    assert not RAW_CONTROLS.search(body.replace("\n", ""))


# -- secrets ---------------------------------------------------------------------------------------
SECRET = "sk_live_51HxYzAbCdEfGhIjKlMnOpQr"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def test_secrets_are_masked_in_the_markdown_comment(tmp_path):
    root = folder(tmp_path, {
        "002_add_integration.sql": f"UPDATE integrations SET config = '{SECRET}';\n"
                                   f"INSERT INTO settings (key, value) VALUES ('gh', '{GITHUB_TOKEN}');\n",
    })
    body = _markdown([str(root)])
    assert "plaintext-secret" in body
    assert SECRET not in body and SECRET[8:] not in body
    assert GITHUB_TOKEN not in body and GITHUB_TOKEN[8:] not in body


@pytest.mark.parametrize("fmt", FORMATS)
def test_secrets_are_masked_in_parse_errors(tmp_path, capsys, fmt):
    root = folder(tmp_path, {"002_add_integration.sql": f"INSERT INTO integrations (config) VALUES ('{SECRET});\n"})
    main([str(root), "--format", fmt])
    out = capsys.readouterr().out
    assert "parse-error" in out
    assert SECRET not in out and SECRET[8:] not in out


UNSCANNED_STRINGS = {
    "comment-on-table": f"COMMENT ON TABLE users IS 'key {SECRET}'",
    "comment-on-column": f"COMMENT ON COLUMN users.api_key IS 'was {SECRET}'",
    "enum-value": f"ALTER TYPE provider ADD VALUE '{SECRET}'",
    "enum-rename": f"ALTER TYPE provider RENAME VALUE 'stripe' TO '{SECRET}'",
    "notify": f"NOTIFY deploys, '{SECRET}'",
    "security-label": f"SECURITY LABEL ON TABLE users IS '{SECRET}'",
    "copy-file": f"COPY users FROM '/tmp/{SECRET}.csv'",
    "load": f"LOAD '{SECRET}'",
}


@pytest.mark.parametrize("case", list(UNSCANNED_STRINGS))
def test_secrets_in_every_string_are_masked(tmp_path, capsys, case):
    root = folder(tmp_path, {"002_add_secret.sql": UNSCANNED_STRINGS[case] + ";\n"})
    for fmt in FORMATS:
        main([str(root), "--format", fmt, "--select", "ALL"])
        out = capsys.readouterr().out
        assert SECRET not in out and SECRET[8:] not in out, fmt


def test_messages_are_one_line(tmp_path, capsys):
    root = folder(tmp_path, {
        "002_add_index_odd.sql": 'CREATE INDEX "idx\nname" ON "line\nbreak" ("col\r\numn");\n'
                                 'ALTER TABLE "a\nb" ADD COLUMN c int NOT NULL;\n',
    })
    code, files, _ = lint(capsys, str(root))
    assert code == 1
    assert_intact(files)
    report = files["002_add_index_odd.sql"]
    assert len(report["findings"]) >= 2
    for finding in report["findings"]:
        assert "\n" not in finding["message"] and "\r" not in finding["message"], finding["message"]


def test_secret_like_file_names_are_reported_as_they_are(tmp_path, capsys, monkeypatch):
    """File names are not masked: the path is how every report (annotations, SARIF, the comment) points
    at the file, and the name is already in the repository for all to see. Secrets inside the file are."""
    monkeypatch.chdir(tmp_path)
    folder(tmp_path, {f"002_add_{GITHUB_TOKEN}.sql": f"INSERT INTO settings (key, value) VALUES ('gh', '{GITHUB_TOKEN}');\n"})
    main(["m", "--format", "json"])
    [report] = [f for f in json.loads(capsys.readouterr().out)["files"] if GITHUB_TOKEN in f["path"]]
    assert report["path"] == f"m/002_add_{GITHUB_TOKEN}.sql"
    assert all(GITHUB_TOKEN not in s["sql"] for s in report["statements"])
    assert all(GITHUB_TOKEN not in f["message"] for f in report["findings"])


# -- no network ------------------------------------------------------------------------------------
def test_a_full_lint_opens_no_network_connection(tmp_path, capsys, monkeypatch):
    attempts: list[str] = []

    def refuse(name):
        def blocked(*args, **kwargs):
            attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise OSError(f"network access attempted: {name}")
        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    root = folder(tmp_path, {
        "002_add_broken.sql": "SELECT (;\n",
        "003_add_role.sql": "CREATE ROLE app LOGIN PASSWORD 'Tr0ub4dor&3-horse-battery';\n"
                            "INSERT INTO hooks (url) VALUES ('https://user:S3cretPassw0rd@example.com/hook');\n",
    })
    for fmt in FORMATS:
        assert main([str(root), "--format", fmt, "--select", "ALL"]) == 1
    assert main(["rules", "--format", "json"]) == 0
    assert main(["explain", "non-concurrent-index"]) == 0
    body = _markdown([str(root)])
    assert "non-concurrent-index" in body
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert attempts == []
