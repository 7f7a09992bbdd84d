"""Time and peak memory of migration-lint side by side with squawk, from one paired run.

Installs squawk-cli into a temporary virtual environment (unless --squawk names a
binary), then runs each scenario's commands in alternation (A, B, A, B, ...; after one
untimed warm-up) as separate processes, timing each with the wall clock and reading its
own peak RSS with os.wait4. Reports medians and the median of the per-round ratios as a
Markdown table; every time target is a ratio to a reference run in the same rounds.

Scenarios (--only takes a comma-separated subset):
  corpus          the whole corpus, JSON output, vs squawk on exactly the same files
  peak-rss        peak RSS of that corpus run (squawk's as a reference)
  small-file      one small migration vs `python -c "import pglast"` (squawk shown too)
  40k-statements  one file of 40,000 real corpus statements, vs squawk
  growth          2,500 / 10,000 / 40,000 statements: time per statement and RSS growth
  history         2,000 generated Prisma migrations: whole directory vs last migration,
                  and Schema.apply calls counted in-process (one replay, not one per file)

    python bench/speed.py --runs 7
"""

from __future__ import annotations

import argparse
import bisect
import concurrent.futures
import datetime
import importlib.util
import json
import multiprocessing
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from squawk_venv import SQUAWK_VERSION, squawk_binary

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

SCENARIOS = ("corpus", "peak-rss", "small-file", "40k-statements", "growth", "history")
SMALL_FILE = Path("umami-software__umami") / "11_add_segment" / "migration.sql"
BIG = 40_000
GROWTH = (2_500, 10_000, 40_000)  # 1x, 4x, 16x
HISTORY_MIGRATIONS = 2_000

# Children compile bytecode like a user's install does: the environment of this shell
# sets PYTHONDONTWRITEBYTECODE, which would make every child recompile from source.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class ChildFailed(Exception):
    pass


@dataclass
class Sample:
    seconds: float
    rss_mb: float  # peak resident set size of that one child


@dataclass
class Row:
    scenario: str
    ours: str
    reference: str
    ratio: str
    target: str
    verdict: str


# -- running children --------------------------------------------------------------
def measure(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Sample:
    """Run one child, stdout to /dev/null; its wall time and its own peak RSS (wait4 rusage).

    Linux carries the high-water mark of the memory a child starts from through exec, and
    subprocess starts children with vfork, so a child's ru_maxrss is at least this process's
    peak RSS: everything memory-hungry here runs in a forked worker (in_worker) instead.
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd, env=env or CHILD_ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if proc.returncode not in (0, 1):  # 1 = findings, normal for both tools
            err.seek(0)
            raise ChildFailed(f"exit code {proc.returncode}: {_show(cmd)}\n"
                              + err.read().decode("utf-8", "replace")[-4000:])
    return Sample(seconds, usage.ru_maxrss / 1024)  # ru_maxrss is KiB on Linux


def paired(commands: list[list[str]], runs: int, cwd: Path, *, warmup: bool = True,
           envs: list[dict[str, str] | None] | None = None) -> list[list[Sample]]:
    """Each command `runs` times, in alternation A, B, A, B...; one list of samples per command."""
    envs = envs or [None] * len(commands)
    if warmup:
        for cmd, env in zip(commands, envs):
            measure(cmd, cwd, env)
    samples: list[list[Sample]] = [[] for _ in commands]
    for _ in range(runs):
        for cmd, env, out in zip(commands, envs, samples):
            out.append(measure(cmd, cwd, env))
    return samples


def in_worker(fn, *args):
    """fn(*args) in a forked process, so the memory it needs never raises this one's peak RSS."""
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(fn, *args).result()


def _show(cmd: list[str]) -> str:
    shown = " ".join(cmd[:6])
    return shown + (f" ... ({len(cmd) - 6} more arguments)" if len(cmd) > 6 else "")


def median_time(samples: list[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


def median_rss(samples: list[Sample]) -> float:
    return statistics.median(s.rss_mb for s in samples)


def ratio_of(a: list[Sample], b: list[Sample], key=lambda s: s.seconds) -> float:
    """Median of the per-round ratios a/b (each pair ran back to back)."""
    return statistics.median(key(x) / key(y) for x, y in zip(a, b))


def verdict(value: float, limit: float) -> str:
    return "pass" if value <= limit else "fail"


def ours_command() -> list[str]:
    """The console script installed with this interpreter (not a version-manager shim), else -m."""
    script = shutil.which("migration-lint", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "migration_lint"]


def lint_json(ours: list[str], target: Path, cwd: Path, extra: list[str]) -> dict:
    """migration-lint's JSON report of `target` (to learn which files it lints, or to check a run)."""
    with tempfile.TemporaryDirectory(prefix="speed-report-") as tmp:
        out = Path(tmp) / "report.json"
        proc = subprocess.run([*ours, str(target), "--format", "json", "--output", str(out), *extra],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd, env=CHILD_ENV)
        if proc.returncode not in (0, 1):
            raise ChildFailed(f"exit code {proc.returncode}: migration-lint {target}\n{proc.stderr[-4000:]}")
        return json.loads(out.read_text(encoding="utf-8"))


def source_stamp() -> list[tuple[str, int, int]]:
    """Size and modification time of migration_lint's modules: did the code change during the run?"""
    root = Path(importlib.util.find_spec("migration_lint").submodule_search_locations[0])
    return [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*.py"))]


def precompile() -> None:
    """Bytecode for migration_lint and pglast, as a user's pip install leaves it."""
    dirs = [spec.submodule_search_locations[0] for spec in map(importlib.util.find_spec, ("migration_lint", "pglast"))]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *dirs], check=True, env=CHILD_ENV,
                   stdout=subprocess.DEVNULL)


# -- in the worker: the corpus listing and generated inputs -----------------------------
def top_level(entry: dict) -> int:
    """The statements of a file's JSON report that the file itself holds (not those a DO block runs)."""
    return sum(1 for stmt in entry.get("statements") or () if "parent" not in stmt)


def corpus_listing(ours: list[str], corpus: Path, cwd: Path, extra: list[str]) -> tuple[list[str], list[str], int]:
    """The files migration-lint lints in the corpus (absolute), those not found on disk, its statement count."""
    report = lint_json(ours, corpus, cwd, extra)
    files = [str((cwd / entry["path"]).resolve()) for entry in report["files"]]
    missing = [f for f in files if not Path(f).is_file()]
    return [f for f in files if f not in missing], missing, sum(top_level(e) for e in report["files"])


META = re.compile(r"^\s*\\", re.M)


def statement_pool(corpus: Path) -> list[str]:
    """Real statements of the corpus, each valid on its own and when followed by `;\\n`.

    Every .sql file (sorted paths) split with pglast's parser; files that do not parse are
    skipped, and so are statements with CONCURRENTLY, transaction control or psql
    meta-commands. The order is then shuffled with a fixed seed, so the first 2,500 are a
    sample of the whole corpus rather than its first few repositories.
    """
    from pglast import parser

    pool: list[str] = []
    for path in sorted(corpus.rglob("*.sql"), key=lambda p: p.relative_to(corpus).as_posix()):
        try:
            statements = parser.split(path.read_text(encoding="utf-8"), with_parser=True)
        except Exception:  # undecodable or unparseable file
            continue
        for sql in statements:
            if "concurrently" in sql.lower() or META.search(sql):
                continue
            try:  # a trailing line comment would swallow the `;` and the next statement
                stmts = json.loads(parser.parse_sql_json(sql + ";\nSELECT 1;\n"))["stmts"]
            except Exception:
                continue
            if len(stmts) != 2 or "TransactionStmt" in stmts[0]["stmt"] or "SelectStmt" not in stmts[1]["stmt"]:
                continue
            pool.append(sql)
    random.Random(20260101).shuffle(pool)
    return _parse_as_whole(pool)


def _parse_as_whole(pool: list[str]) -> list[str]:
    """Drop statements until the concatenation parses as one script with one statement each."""
    from pglast import parser

    while True:
        starts, offset = [], 0
        for sql in pool:
            starts.append(offset)
            offset += len(sql) + 2
        text = "".join(sql + ";\n" for sql in pool)
        try:
            count = len(json.loads(parser.parse_sql_json(text))["stmts"])
        except parser.ParseError as exc:  # args: (message, character offset)
            at = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
            del pool[max(bisect.bisect_right(starts, at) - 1, 0)]
            continue
        if count != len(pool):
            raise SystemExit(f"generated SQL has {count} statements, expected {len(pool)}")
        return pool


def write_statements(pool: list[str], n: int, path: Path) -> Path:
    """The first n statements of the pool, cycling; checked to parse as n statements."""
    from pglast import parser

    from migration_lint.pipeline import load as loading

    text = "".join(pool[i % len(pool)] + ";\n" for i in range(n))
    count = len(json.loads(parser.parse_sql_json(text))["stmts"])
    if count != n:
        raise SystemExit(f"{path.name}: {count} statements parsed, expected {n}")
    size, limit = len(text.encode("utf-8")), loading.MAX_FILE_BYTES
    if size > limit:  # migration-lint would only report "too large" without linting it
        raise SystemExit(f"{path.name}: {size:,} bytes, over migration-lint's {limit:,}-byte limit")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def statement_files(corpus: Path, sizes: list[int], folder: Path, ours: list[str], cwd: Path,
                    extra: list[str]) -> tuple[int, dict[int, Path]]:
    """Files of each size from one pool, each checked by linting it (that run is also a warm-up).

    Each file is alone in its folder: migration-lint replays a plain file's earlier siblings.
    """
    pool = statement_pool(corpus)
    files: dict[int, Path] = {}
    for n in sizes:
        path = write_statements(pool, n, folder / f"statements_{n}" / "big.sql")
        [entry] = lint_json(ours, path, cwd, extra)["files"]
        linted = top_level(entry)
        if entry.get("error") or linted != n:
            raise SystemExit(f"migration-lint did not lint {path.name} as {n} statements: "
                             f"{linted} statements, error {entry.get('error')!r}")
        files[n] = path
    return len(pool), files


def write_history(root: Path, count: int) -> tuple[Path, Path, int]:
    """A Prisma migrations folder: each migration creates a table or alters an earlier one."""
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "migration_lock.toml").write_text('provider = "postgresql"\n', encoding="utf-8")
    base = datetime.datetime(2026, 1, 1)
    tables: list[str] = []
    statements = 0
    last = migrations
    for i in range(count):
        stamp = (base + datetime.timedelta(minutes=i)).strftime("%Y%m%d%H%M%S")
        if i % 4 == 0:
            table = f"t{i:04d}"
            tables.append(table)
            name, sql = f"create_{table}", [
                f'-- CreateTable\nCREATE TABLE "{table}" ("id" SERIAL PRIMARY KEY, "name" TEXT);',
                f'-- CreateIndex\nCREATE INDEX "{table}_name_idx" ON "{table}" ("name");',
            ]
        elif i % 4 == 2:
            table = tables[(i * 7919) % len(tables)]
            name, sql = f"index_{table}", [f'-- CreateIndex\nCREATE INDEX "i{i:04d}" ON "{table}" ("name", "id");']
        else:
            table = tables[(i * 7919) % len(tables)]
            name, sql = f"alter_{table}", [f'-- AlterTable\nALTER TABLE "{table}" ADD COLUMN "c{i}" INTEGER;']
        last = migrations / f"{stamp}_{name}"
        last.mkdir()
        (last / "migration.sql").write_text("\n\n".join(sql) + "\n", encoding="utf-8")
        statements += len(sql)
    return migrations, last / "migration.sql", statements


def count_schema_apply(argv: list[str]) -> tuple[int, int, int, int]:
    """Run the CLI in-process with Schema.apply counted: (calls, exit code, files, statements reported).

    The counter is in shared memory, so the calls of the workers migration-lint forks count too.
    """
    import migration_lint.cli as cli
    import migration_lint.facts.schema as schema

    os.environ.update({k: v for k, v in CHILD_ENV.items() if k.startswith("MIGRATION_LINT_")})
    calls = multiprocessing.get_context("fork").Value("q", 0)
    original = schema.Schema.apply

    def counting(self, *args, **kwargs):
        with calls.get_lock():
            calls.value += 1
        return original(self, *args, **kwargs)

    with tempfile.TemporaryDirectory(prefix="speed-report-") as tmp:
        out = Path(tmp) / "report.json"
        schema.Schema.apply = counting
        try:
            code = cli.main([*argv, "--format", "json", "--output", str(out), "--no-config"])
        finally:
            schema.Schema.apply = original
        files = json.loads(out.read_text(encoding="utf-8"))["files"] if out.exists() else []
    return calls.value, code, len(files), sum(top_level(f) for f in files)


# -- scenarios -----------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, squawk: str) -> None:
        self.args = args
        self.work = work  # cwd of every child: no configuration file above it
        self.squawk = squawk
        self.ours = ours_command()
        helptext = subprocess.run([*self.ours, "--help"], capture_output=True, text=True, env=CHILD_ENV).stdout
        self.no_cache = ["--no-cache"] if "--no-cache" in helptext else []  # every run stays cold
        self.one_job = ["--jobs", "1"] if "--jobs" in helptext else []  # in-process: no forked workers
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self._files: dict[int, Path] | None = None

    def selected(self, *names: str) -> bool:
        return any(name in self.args.only for name in names)

    def statements_file(self, n: int) -> Path:
        if self._files is None:
            sizes = sorted({BIG} if not self.selected("growth") else {BIG, *GROWTH})
            size, self._files = in_worker(statement_files, self.args.corpus, sizes, self.work / "generated",
                                          self.ours, self.work, self.no_cache)
            self.notes.append(f"generated files: from a pool of {size:,} corpus statements (shuffled with a fixed "
                              f"seed, cycled to length); each checked to lint as that many statements")
        return self._files[n]

    def corpus(self) -> None:
        corpus = self.args.corpus
        files, missing, statements = in_worker(corpus_listing, self.ours, corpus, self.work, self.no_cache)
        if missing:
            self.notes.append(f"corpus: {len(missing)} reported paths are not files, left out for squawk: {missing[:3]}")
        ours = [*self.ours, str(corpus), "--format", "json", *self.no_cache]
        theirs = [self.squawk, "--reporter", "json", *files]
        if sum(len(a) + 1 for a in theirs) > os.sysconf("SC_ARG_MAX") // 2:
            raise SystemExit(f"corpus: {len(files)} files do not fit on one squawk command line")
        a, b = paired([ours, theirs], self.args.runs, self.work)
        self.notes.append(f"corpus: {len(files):,} files, {statements:,} statements (as migration-lint counts them); "
                          "squawk gets the same file list"
                          + ("; migration-lint runs with --no-cache" if self.no_cache else "")
                          + ("; its peak RSS is that of its largest process when it forks workers (--jobs)"
                             if self.one_job else ""))
        if self.selected("corpus"):
            r = ratio_of(a, b)
            self.rows.append(Row("corpus", f"{median_time(a):.3f}", f"{median_time(b):.3f}", f"{r:.2f}", "≤ 1.0",
                                 verdict(r, 1.0)))
        if self.selected("corpus") and self.one_job:  # the same run in one process: what the workers buy
            c, d = paired([[*ours, *self.one_job], theirs], self.args.runs, self.work)
            self.rows.append(Row("corpus, one process (--jobs 1)", f"{median_time(c):.3f}", f"{median_time(d):.3f}",
                                 f"{ratio_of(c, d):.2f}", "—", "info"))
        if self.selected("corpus") and self.no_cache:  # nothing changed since the last run: the report cache
            warm_env = {k: v for k, v in CHILD_ENV.items() if k != "MIGRATION_LINT_NO_CACHE"}
            warm_env["MIGRATION_LINT_CACHE_DIR"] = str(self.work / "warm-cache")
            warm = [arg for arg in ours if arg != "--no-cache"]
            c, d = paired([warm, theirs], self.args.runs, self.work, envs=[warm_env, None])  # warm-up fills it
            self.rows.append(Row("corpus, warm report cache", f"{median_time(c):.3f}", f"{median_time(d):.3f}",
                                 f"{ratio_of(c, d):.2f}", "—", "info"))
        if self.selected("peak-rss"):
            rss = median_rss(a)
            r = ratio_of(a, b, key=lambda s: s.rss_mb)
            self.rows.append(Row("peak-rss, corpus (MB, not s)", f"{rss:.1f}", f"{median_rss(b):.1f}", f"{r:.2f}",
                                 "≤ 150 MB", verdict(rss, 150.0)))

    def small_file(self) -> None:
        path = self.args.small_file
        if not path.is_file():
            raise SystemExit(f"small-file: {path} not found (--small-file)")
        ours = [*self.ours, str(path)]
        reference = [sys.executable, "-c", "import pglast"]
        a, b, c = paired([ours, reference, [self.squawk, str(path)]], self.args.runs, self.work)
        r = ratio_of(a, b)
        self.rows.append(Row("small-file vs `import pglast`", f"{median_time(a):.3f}", f"{median_time(b):.3f}",
                             f"{r:.2f}", "≤ 2.0", verdict(r, 2.0)))
        self.rows.append(Row("small-file vs squawk", f"{median_time(a):.3f}", f"{median_time(c):.3f}",
                             f"{ratio_of(a, c):.2f}", "—", "info"))

    def big_file(self) -> None:
        path = self.statements_file(BIG)
        ours = [*self.ours, str(path), "--format", "json", *self.no_cache]
        theirs = [self.squawk, "--reporter", "json", str(path)]
        measure(theirs, self.work)  # squawk's warm-up; migration-lint's was the check run
        a, b = paired([ours, theirs], self.args.runs, self.work, warmup=False)
        r = ratio_of(a, b)
        self.notes.append(f"40k-statements: {path.stat().st_size / 1e6:.1f} MB; peak RSS migration-lint "
                          f"{median_rss(a):.0f} MB, squawk {median_rss(b):.0f} MB")
        self.rows.append(Row(f"{BIG // 1000}k-statements", f"{median_time(a):.3f}", f"{median_time(b):.3f}",
                             f"{r:.2f}", "≤ 1.5", verdict(r, 1.5)))

    def growth(self) -> None:
        paths = [self.statements_file(n) for n in GROWTH]
        commands = [[*self.ours, str(p), "--format", "json", *self.no_cache] for p in paths]
        samples = paired(commands, self.args.runs, self.work, warmup=False)  # the check runs warmed up
        base, base_n = samples[0], GROWTH[0]
        for n, got in zip(GROWTH, samples):
            per_stmt = statistics.median((x.seconds / n) / (y.seconds / base_n) for x, y in zip(got, base))
            rss = statistics.median(x.rss_mb / y.rss_mb for x, y in zip(got, base))
            last = n == GROWTH[-1]
            self.rows.append(Row(
                f"growth {n // base_n}× ({n:,} stmts): s; ms/stmt, peak RSS; time/stmt vs 1×",
                f"{median_time(got):.3f}",
                f"{median_time(got) / n * 1e3:.3f} ms/stmt, {median_rss(got):.0f} MB ({rss:.2f}× 1×)",
                f"{per_stmt:.2f}",
                "≤ 1.3" if last else "—",
                verdict(per_stmt, 1.3) if last else "info",
            ))

    def history(self) -> None:
        migrations, last, statements = write_history(self.work / "history", HISTORY_MIGRATIONS)
        whole = [*self.ours, str(migrations), *self.no_cache]
        single = [*self.ours, str(last), *self.no_cache]
        a, b = paired([whole, single], self.args.runs, self.work)
        r = ratio_of(a, b)
        self.rows.append(Row(f"history: whole dir ({HISTORY_MIGRATIONS:,} migrations) vs last one only",
                             f"{median_time(a):.3f}", f"{median_time(b):.3f}", f"{r:.2f}", "—", "info"))
        calls, code, files, linted = in_worker(count_schema_apply, [str(migrations), *self.no_cache, *self.one_job])
        calls_last, code_last, _, _ = in_worker(count_schema_apply, [str(last), *self.no_cache, *self.one_job])
        if code not in (0, 1) or code_last not in (0, 1):
            raise ChildFailed(f"history: in-process migration-lint exited {code} / {code_last}")
        label = " (--jobs 1)" if self.one_job else ""
        self.rows.append(Row(f"history: Schema.apply calls, whole dir{label} (count, not s)", f"{calls:,}",
                             f"{statements:,} stmts", f"{calls / statements:.2f}", "≤ 1.00", verdict(calls, statements)))
        if self.one_job:  # as the timed run: migration-lint decides how many workers to fork
            forked, code_forked, _, _ = in_worker(count_schema_apply, [str(migrations), *self.no_cache])
            if code_forked not in (0, 1):
                raise ChildFailed(f"history: in-process migration-lint exited {code_forked}")
            self.rows.append(Row("history: Schema.apply calls, whole dir, default --jobs (count, not s)",
                                 f"{forked:,}", f"{statements:,} stmts", f"{forked / statements:.2f}", "—", "info"))
        self.notes.append(f"history: {statements:,} statements generated, {linted:,} in migration-lint's report "
                          f"({files:,} files); linting only the last migration calls Schema.apply "
                          f"{calls_last:,} times (the replay of the earlier ones, then its own)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each command (default 7)")
    parser.add_argument("--only", metavar="SCENARIO[,SCENARIO]", help=f"a subset of: {', '.join(SCENARIOS)}")
    parser.add_argument("--squawk", help="an existing squawk binary (default: install squawk-cli into a temp venv)")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus",
                        help="migration corpus (default: ../shared/corpus from the repository root)")
    parser.add_argument("--small-file", type=Path, help=f"the small migration (default: CORPUS/{SMALL_FILE.as_posix()})")
    parser.add_argument("--keep", action="store_true", help="keep the generated files (their folder is printed)")
    args = parser.parse_args()
    args.only = [s.strip() for s in (args.only or ",".join(SCENARIOS)).split(",") if s.strip()]
    unknown = sorted(set(args.only) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.corpus = args.corpus.resolve()
    args.small_file = (args.small_file or args.corpus / SMALL_FILE).resolve()

    precompile()
    stamp = source_stamp()
    work = Path(tempfile.mkdtemp(prefix="speed-"))
    # No result cache: --no-cache when the CLI has it, and these in case (never the user's cache folder)
    CHILD_ENV.update(MIGRATION_LINT_NO_CACHE="1", MIGRATION_LINT_CACHE_DIR=str(work / "cache"))
    binary, venv = squawk_binary(args.squawk)
    try:
        bench = Bench(args, work, binary)
        version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
        ours_version = subprocess.run([*bench.ours, "--version"], capture_output=True, text=True,
                                      env=CHILD_ENV).stdout.strip()
        steps = [("corpus", bench.corpus, ("corpus", "peak-rss")), ("small-file", bench.small_file, ("small-file",)),
                 ("40k-statements", bench.big_file, ("40k-statements",)), ("growth", bench.growth, ("growth",)),
                 ("history", bench.history, ("history",))]
        for label, step, names in steps:
            if bench.selected(*names):
                print(f"... {label}", file=sys.stderr, flush=True)
                step()
    except ChildFailed as exc:
        print(f"a child process failed: {exc}", file=sys.stderr)
        return 2
    finally:
        if venv is not None:
            venv.cleanup()
        if args.keep:
            print(f"generated files kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{ours_version} vs {version or 'squawk ' + SQUAWK_VERSION}; Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load}; {args.runs} paired runs: medians, and the median of "
          f"the per-run ratios\n")
    print("| scenario | ours (median s) | reference (median s) | ratio | target | pass/fail |")
    print("|---|---:|---:|---:|---|---|")
    for row in bench.rows:
        print(f"| {row.scenario} | {row.ours} | {row.reference} | {row.ratio} | {row.target} | {row.verdict} |")
    print()
    for note in bench.notes:
        print(f"- {note}")
    if source_stamp() != stamp:
        print("- WARNING: migration_lint's source files changed during this run, so its rows measure "
              "different code: run again")
    print(f"- peak RSS is each child's own (os.wait4); none can read below this script's {floor:.0f} MB, "
          "which a child inherits as its starting high-water mark")
    return 0


if __name__ == "__main__":
    sys.exit(main())
