"""Time and peak memory of migration-lint on the largest inputs it accepts and on those it refuses.

Each scenario writes its input into a folder of its own, next to a good migration
(`001_add_index_i.sql`, whose non-concurrent-index finding must survive), and lints the folder
in a child process (`migration-lint DIR --format json --output REPORT --no-cache`), timing it
with the wall clock and reading its own peak RSS with os.wait4. The report is then checked:
every statement linted, or the finding that refuses the file. The targets are the figures
README.md ("Speed and limits") and the size limits promise; they are seconds on a machine like
the one the figures in bench/README.md come from (2 cores), so a busy machine can miss a time
target that a quiet one meets: compare with the load average printed.

Scenarios (--only takes a comma-separated subset):
  over-size-limit   a sparse file one byte over the 8 MiB limit, and a 50 MB migration of real SQL:
                    both refused without being read
  largest-admitted  the densest files under the 8 MiB limit (the most statements, a VALUES list of
                    two million rows, a select list of four million items): refused, because their
                    parse tree is over the 64 MiB limit
  largest-analysed  the same shapes at the largest size whose parse tree is under that limit: linted
  100k-statements   100,000 statements in one file: INSERT, setval, SET, COMMENT and DO statements;
                    ALTER TABLE, CREATE INDEX, UPDATE and DELETE on 50 tables; CREATE TABLE
  long-lines        1 MB lines (34,000 statements, a VALUES list, a string literal, a comment), once
                    in each output format
  20k-files         20,000 one-statement migrations in one folder

The inputs are those of tests/test_robustness.py at full size (the tests lint them smaller).

    python bench/limits.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from speed import CHILD_ENV, ChildFailed, Sample, in_worker, measure, ours_command, precompile, source_stamp

SCENARIOS = ("over-size-limit", "largest-admitted", "largest-analysed", "100k-statements", "long-lines", "20k-files")
GOOD_NAME = "001_add_index_i.sql"
GOOD_SQL = "CREATE INDEX i ON t (x);\n"  # non-concurrent-index at 1:19
MB = 1024 * 1024
FORMATS = ("text", "json", "github", "sarif")


# migration-lint's limits, read in a forked worker (importing the linter here would raise the peak
# RSS every child inherits); workers forked later inherit them
MAX_FILE_BYTES = MAX_TREE_CHARS = 0


def read_limits() -> tuple[int, int]:
    from migration_lint.pipeline.load import MAX_FILE_BYTES
    from migration_lint.syntax.parse import MAX_TREE_CHARS

    return MAX_FILE_BYTES, MAX_TREE_CHARS


# -- inputs ------------------------------------------------------------------------
def fifty_megabytes() -> str:
    block = (
        "CREATE TABLE audit_{n} (id bigint PRIMARY KEY, payload jsonb NOT NULL);\n"
        "INSERT INTO audit_{n} (id, payload) VALUES ({n}, '{{\"k\": \"v\"}}');\n"
        "UPDATE audit_{n} SET payload = '{{}}' WHERE id = {n};\n"
        "CREATE INDEX CONCURRENTLY audit_{n}_payload_idx ON audit_{n} USING gin (payload);\n"
    )
    one = len(block.format(n=100000))
    return "".join(block.format(n=100000 + n) for n in range(50 * MB // one + 1))


# the densest shapes: text of `count` items
DENSE: dict[str, Callable[[int], str]] = {
    "select-many": lambda count: "SELECT 1;\n" * count,
    "values": lambda count: "INSERT INTO t VALUES " + ",".join(["(1)"] * count) + ";\n",
    "select-list": lambda count: "SELECT " + ",".join(["1"] * count) + ";\n",
}


def admitted(name: str) -> int:
    """The most items of a dense shape under the byte limit."""
    return {"select-many": (MAX_FILE_BYTES - 1) // len("SELECT 1;\n"), "values": (MAX_FILE_BYTES - 40) // 4,
            "select-list": (MAX_FILE_BYTES - 20) // 2}[name]

DATA_SHAPES = (
    "INSERT INTO audit_log (id, action) VALUES ({i}, 'create');",
    "SELECT setval('audit_log_id_seq', {i});",
    "SET statement_timeout = '{i}ms';",
    "COMMENT ON TABLE audit_log IS 'batch {i}';",
    "DO $$ BEGIN PERFORM {i}; END $$;",
)
DDL_SHAPES = (
    "ALTER TABLE t{m} ADD COLUMN c{i} bigint;",
    "ALTER TABLE t{m} ALTER COLUMN c{i} DROP DEFAULT;",
    "ALTER TABLE t{m} RENAME COLUMN a{i} TO b{i};",
    "ALTER TABLE t{m} ADD CONSTRAINT f{i} FOREIGN KEY (a{i}) REFERENCES u{m} (id) NOT VALID;",
    "CREATE INDEX CONCURRENTLY i{i} ON t{m} (c{i});",
    "UPDATE t{m} SET c{i} = 0 WHERE id = {i};",
    "DELETE FROM t{m} WHERE id = {i};",
)
MANY: dict[str, Callable[[int], str]] = {
    "data": lambda n: "".join(DATA_SHAPES[i % len(DATA_SHAPES)].format(i=i) + "\n" for i in range(n)),
    "ddl on 50 tables": lambda n: "".join(DDL_SHAPES[i % len(DDL_SHAPES)].format(i=i, m=i % 50) + "\n"
                                          for i in range(n)),
    "create table": lambda n: "".join(f"CREATE TABLE t{i} (id bigint PRIMARY KEY);\n" for i in range(n)),
}
STATEMENTS = 100_000
FILES = 20_000


def long_lines() -> dict[str, str]:
    statements = "".join(f"INSERT INTO t (a) VALUES ({i}); " for i in range(34_000))
    return {
        "002_add_rows.sql": statements + "CREATE INDEX j ON t (y);",
        "003_add_values.sql": "INSERT INTO t (a, b) VALUES " + ",".join(f"({i}, 'v{i}')" for i in range(80_000)) + ";",
        "004_add_literal.sql": "INSERT INTO t (a) VALUES ('" + "x" * 1_000_000 + "');\n",
        "005_add_comment.sql": "SELECT 1; -- " + "y" * 1_000_000,
    }


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    (folder / GOOD_NAME).write_text(GOOD_SQL, encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
    return folder


def largest_analysed(name: str) -> int:
    """The most items of a dense shape whose parse tree (as JSON) is under the tree limit."""
    from pglast import parser

    make = DENSE[name]
    probe = 20_000
    count = int(MAX_TREE_CHARS / (len(parser.parse_sql_json(make(probe))) / probe))
    while len(parser.parse_sql_json(make(count))) > MAX_TREE_CHARS:
        count = int(count * 0.995)
    return count


# in the forked worker: generation never raises this process's peak RSS (children inherit it)
def make_over_limit(work: Path) -> tuple[Path, Path]:
    sparse = work / "over-sparse"
    write_folder(sparse, {})
    with open(sparse / "002_add_huge.sql", "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    real = write_folder(work / "over-50mb", {"002_add_audit_tables.sql": fifty_megabytes()})
    return sparse, real


def make_dense(work: Path, name: str, count: int | None) -> tuple[Path, int]:
    count = count if count is not None else largest_analysed(name)
    folder = write_folder(work / f"{name}-{count}", {f"002_{name}.sql": DENSE[name](count)})
    return folder, count


def make_many(work: Path, name: str) -> Path:
    return write_folder(work / name.replace(" ", "-"), {"002_many.sql": MANY[name](STATEMENTS)})


def make_long_lines(work: Path) -> Path:
    return write_folder(work / "long-lines", long_lines())


def make_files(work: Path) -> Path:
    return write_folder(work / "files", {f"{i:05d}_add_column_c{i}.sql": f"ALTER TABLE t{i % 20} ADD COLUMN c{i} int;\n"
                                         for i in range(2, FILES + 2)})


# -- checks of a report (in the forked worker too: a large report would raise this process's RSS) ---
def reports(path: Path) -> dict[str, dict]:
    return {Path(f["path"]).name: f for f in json.loads(path.read_text(encoding="utf-8"))["files"]}


def problems(report: dict) -> list[str]:
    return [f["message"] for f in report["findings"] if f["rule"] == "parse-error"]


def check_good(files: dict[str, dict]) -> None:
    good = files.get(GOOD_NAME)
    if good is None or not any((f["rule"], f["line"], f["column"]) == ("non-concurrent-index", 1, 19)
                               for f in good["findings"]):
        raise SystemExit(f"the good migration lost its finding: {good}")


def check_refused(report: Path, name: str, words: str) -> str:
    """The file is refused with one finding saying `words`; its message."""
    files = reports(report)
    check_good(files)
    messages = problems(files[name])
    if len(messages) != 1 or words not in messages[0] or files[name]["statements"]:
        raise SystemExit(f"{name}: expected one finding saying {words!r}, got {messages}")
    return messages[0]


def check_linted(report: Path, expected: dict[str, int]) -> None:
    """Each file of `expected` is linted as that many statements, without a parse-error."""
    files = reports(report)
    check_good(files)
    for name, statements in expected.items():
        got = files[name]
        if problems(got) or len(got["statements"]) != statements:
            raise SystemExit(f"{name}: {len(got['statements'])} statements linted, expected {statements}; "
                             f"findings {problems(got)[:3]}")


def check_files(report: Path) -> None:
    files = reports(report)
    check_good(files)
    if len(files) != FILES + 1 or any(len(f["statements"]) != 1 for f in files.values()):
        raise SystemExit(f"20k-files: {len(files)} files reported, expected {FILES + 1}, one statement each")


def check_text(report: Path) -> None:
    longest = max(len(line) for line in report.read_text(encoding="utf-8").splitlines())
    if longest >= 2_000:
        raise SystemExit(f"long-lines: the text report prints a line of {longest:,} characters")


# -- scenarios -----------------------------------------------------------------------
@dataclass
class Row:
    scenario: str
    seconds: float
    rss_mb: float
    target_seconds: float
    target_mb: float | None

    @property
    def verdict(self) -> str:
        ok = self.seconds <= self.target_seconds and (self.target_mb is None or self.rss_mb <= self.target_mb)
        return "pass" if ok else "fail"

    @property
    def target(self) -> str:
        memory = f", ≤ {self.target_mb:,.0f} MB" if self.target_mb is not None else ""
        return f"≤ {self.target_seconds:g} s{memory}"


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.ours = ours_command()
        self.rows: list[Row] = []
        self.notes: list[str] = []

    def selected(self, name: str) -> bool:
        return name in self.args.only

    def lint(self, folder: Path, *extra: str, fmt: str = "json") -> tuple[list[Sample], Path]:
        """`runs` runs of migration-lint on `folder`; the samples and the report of the last one."""
        report = self.work / f"report-{folder.name}.{fmt}"
        cmd = [*self.ours, str(folder), "--format", fmt, "--output", str(report), "--no-cache", "--no-config", *extra]
        samples = [measure(cmd, self.work) for _ in range(self.args.runs)]
        return samples, report

    def row(self, scenario: str, samples: list[Sample], seconds: float, mb: float | None) -> None:
        self.rows.append(Row(scenario, statistics.median(s.seconds for s in samples),
                             statistics.median(s.rss_mb for s in samples), seconds, mb))

    def over_size_limit(self) -> None:
        sparse, real = in_worker(make_over_limit, self.work)
        samples, report = self.lint(sparse)
        in_worker(check_refused, report, "002_add_huge.sql", "too large to lint")
        self.row(f"over-size-limit: sparse file of {MAX_FILE_BYTES + 1:,} bytes", samples, 10, None)
        samples, report = self.lint(real)
        size = (real / "002_add_audit_tables.sql").stat().st_size
        in_worker(check_refused, report, "002_add_audit_tables.sql", "too large to lint")
        self.row(f"over-size-limit: {size / 1e6:.0f} MB of SQL", samples, 30, 1024)

    def largest_admitted(self) -> None:
        for name in DENSE:
            folder, count = in_worker(make_dense, self.work, name, admitted(name))
            samples, report = self.lint(folder)
            message = in_worker(check_refused, report, f"002_{name}.sql", "too large to analyse")
            tree = message.split("takes ", 1)[1].split(" as JSON", 1)[0]
            self.row(f"largest-admitted: {name}, {count:,} items, {(folder / f'002_{name}.sql').stat().st_size / MB:.2f}"
                     f" MiB; tree {tree}", samples, 60, 1536)

    def largest_analysed(self) -> None:
        for name in DENSE:
            folder, count = in_worker(make_dense, self.work, name, None)
            samples, report = self.lint(folder)
            in_worker(check_linted, report, {f"002_{name}.sql": count if name == "select-many" else 1})
            self.row(f"largest-analysed: {name}, {count:,} items, "
                     f"{(folder / f'002_{name}.sql').stat().st_size / MB:.2f} MiB", samples, 60, 1536)

    def many_statements(self) -> None:
        for name in MANY:
            folder = in_worker(make_many, self.work, name)
            samples, report = self.lint(folder)
            in_worker(check_linted, report, {"002_many.sql": STATEMENTS})
            size = (folder / "002_many.sql").stat().st_size / 1e6
            # README.md: "100,000 ordinary statements in one file lint in under 10 s (about 0.7 GB)"
            target = 10 if name == "data" else 60
            self.row(f"100k-statements: {name}, {size:.1f} MB", samples, target, 1536)

    def long_lines(self) -> None:
        folder = in_worker(make_long_lines, self.work)
        runs: list[list[Sample]] = []
        for fmt in FORMATS:
            samples, report = self.lint(folder, fmt=fmt)
            runs.append(samples)
            if fmt == "json":
                in_worker(check_linted, report, {"002_add_rows.sql": 34_001, "003_add_values.sql": 1,
                                                 "004_add_literal.sql": 1, "005_add_comment.sql": 1})
            if fmt == "text":
                in_worker(check_text, report)
        totals = [Sample(sum(r[i].seconds for r in runs), max(r[i].rss_mb for r in runs)) for i in range(self.args.runs)]
        self.row("long-lines: four 1 MB lines, the four formats (s summed, RSS the largest)", totals, 30, None)

    def files(self) -> None:
        folder = in_worker(make_files, self.work)
        samples, report = self.lint(folder)
        in_worker(check_files, report)
        self.row(f"20k-files: {FILES:,} migrations of one statement", samples, 90, 1024)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs of each command; medians are shown (default 1)")
    parser.add_argument("--only", metavar="SCENARIO[,SCENARIO]", help=f"a subset of: {', '.join(SCENARIOS)}")
    parser.add_argument("--keep", action="store_true", help="keep the generated files (their folder is printed)")
    args = parser.parse_args()
    args.only = [s.strip() for s in (args.only or ",".join(SCENARIOS)).split(",") if s.strip()]
    unknown = sorted(set(args.only) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    global MAX_FILE_BYTES, MAX_TREE_CHARS
    MAX_FILE_BYTES, MAX_TREE_CHARS = in_worker(read_limits)
    precompile()
    stamp = source_stamp()
    work = Path(tempfile.mkdtemp(prefix="limits-"))
    CHILD_ENV.update(MIGRATION_LINT_NO_CACHE="1", MIGRATION_LINT_CACHE_DIR=str(work / "cache"),
                     MIGRATION_LINT_NO_CONFIG="1")
    bench = Bench(args, work)
    steps = [("over-size-limit", bench.over_size_limit), ("largest-admitted", bench.largest_admitted),
             ("largest-analysed", bench.largest_analysed), ("100k-statements", bench.many_statements),
             ("long-lines", bench.long_lines), ("20k-files", bench.files)]
    try:
        version = subprocess.run([*bench.ours, "--version"], capture_output=True, text=True,
                                 env=CHILD_ENV).stdout.strip()
        for name, step in steps:
            if bench.selected(name):
                print(f"... {name}", file=sys.stderr, flush=True)
                step()
    except ChildFailed as exc:
        print(f"a child process failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"generated files kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{version}; Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}; "
          f"{args.runs} run{'s' if args.runs > 1 else ''} of each, medians\n")
    print("| scenario | seconds | peak RSS (MB) | target | pass/fail |")
    print("|---|---:|---:|---|---|")
    for row in bench.rows:
        print(f"| {row.scenario} | {row.seconds:.2f} | {row.rss_mb:,.0f} | {row.target} | {row.verdict} |")
    print()
    print(f"- limits: {MAX_FILE_BYTES:,} bytes of file, {MAX_TREE_CHARS // MB} MiB of parse tree as JSON; every run "
          "lints the folder with --no-cache next to a good migration, whose finding is checked")
    for note in bench.notes:
        print(f"- {note}")
    if source_stamp() != stamp:
        print("- WARNING: migration_lint's source files changed during this run, so its rows measure "
              "different code: run again")
    print(f"- peak RSS is each child's own (os.wait4): its largest process when it forks workers; none can "
          f"read below this script's {floor:.0f} MB, which a child inherits as its starting high-water mark")
    return 0


if __name__ == "__main__":
    sys.exit(main())
