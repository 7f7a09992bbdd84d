"""Compare migration-lint's findings with squawk's on the same files, rule by rule.

Installs squawk-cli into a temporary virtual environment (unless --squawk names a
binary), lints the same up-migrations with both tools, maps squawk's rules to ours
where they check the same thing, and counts per pair: found by both (same file,
same statement), only by squawk, only by migration-lint. With --examples N it
prints N sample statements of each disagreement, to explain the differences.

    python bench/compare_squawk.py ../shared/corpus --examples 3
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from squawk_venv import squawk_binary

from migration_lint.cli import main as lint_main

# squawk rule → migration-lint rule checking the same pattern
PAIRS = {
    "require-concurrent-index-creation": "non-concurrent-index",
    "require-concurrent-index-deletion": "non-concurrent-index",
    "adding-required-field": "not-null-without-default",
    "adding-not-nullable-field": "set-not-null",
    "ban-drop-column": "drop-without-backup",
    "ban-drop-table": "drop-without-backup",
    "ban-drop-database": "drop-without-backup",
    "ban-truncate-cascade": "drop-without-backup",
    "ban-concurrent-index-creation-in-transaction": "concurrently-in-transaction",
    "adding-foreign-key-constraint": "constraint-not-valid",
    "constraint-missing-not-valid": "constraint-not-valid",
    "changing-column-type": "alter-column-type",
    "adding-field-with-default": "add-column-rewrite",
    "adding-serial-primary-key-field": "unique-without-index",
    "disallowed-unique-constraint": "unique-without-index",
    "renaming-column": "rename-column",
    "renaming-table": "rename-table",
    "prefer-bigint-over-int": "prefer-bigint-pk",
    "prefer-bigint-over-smallint": "prefer-bigint-pk",
    "prefer-identity": "prefer-bigint-pk",
    "prefer-text-field": "prefer-text",
    "prefer-timestamp-tz": "prefer-timestamptz",
    "ban-drop-view": "drop-object",
    "renaming-object": "rename-object",
    "ban-alter-domain-with-add-constraint": "constraint-not-valid",
    "ban-char-field": "ban-char",
    "prefer-robust-stmts": "missing-idempotency-guard",
    "require-lock-timeout": "missing-lock-timeout",
    "transaction-nesting": "nested-begin",
}


def run_squawk(binary: str, files: list[str]) -> list[dict]:
    results: list[dict] = []
    for start in range(0, len(files), 200):  # keep the command line short
        chunk = files[start:start + 200]
        proc = subprocess.run([binary, "--reporter", "json", *chunk], capture_output=True, text=True)
        try:
            results.extend(json.loads(proc.stdout or "[]"))
        except ValueError:
            for path in chunk:  # one unparseable file can abort a chunk: retry one by one
                single = subprocess.run([binary, "--reporter", "json", path], capture_output=True, text=True)
                try:
                    results.extend(json.loads(single.stdout or "[]"))
                except ValueError:
                    pass
    return results


def run_ours(paths: list[str]) -> dict:
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
    out.close()
    os.environ["MIGRATION_LINT_NO_CONFIG"] = "1"
    lint_main([*paths, "--format", "json", "--output", out.name, "--select", "ALL"])
    data = json.loads(Path(out.name).read_text())
    os.unlink(out.name)
    return data


def statement_index(file_report: dict, line: int) -> int | None:
    for index, stmt in enumerate(file_report["statements"]):
        if stmt["line"] <= line <= stmt["end_line"]:
            return index
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--squawk", help="an existing squawk binary (default: install squawk-cli into a temp venv)")
    parser.add_argument("--examples", type=int, default=0, help="sample disagreements to print per rule pair")
    args = parser.parse_args()

    ours = run_ours(args.paths)
    by_path = {str(Path(f["path"]).resolve()): f for f in ours["files"]}
    binary, tmp = squawk_binary(args.squawk or shutil.which("squawk"))
    try:
        theirs = run_squawk(binary, sorted(by_path))
    finally:
        if tmp is not None:
            tmp.cleanup()

    # (our rule, file, statement index) sets
    ours_hits: dict[str, set[tuple[str, int]]] = collections.defaultdict(set)
    for path, report in by_path.items():
        for finding in report["findings"]:
            index = statement_index(report, finding["line"])
            if index is not None:
                ours_hits[finding["rule"]].add((path, index))
    squawk_hits: dict[str, set[tuple[str, int]]] = collections.defaultdict(set)
    unmapped = collections.Counter()
    for item in theirs:
        rule = PAIRS.get(item["rule_name"])
        path = str(Path(item["file"]).resolve())
        report = by_path.get(path)
        if rule is None:
            unmapped[item["rule_name"]] += 1
            continue
        if report is None:
            continue
        index = statement_index(report, item["line"] + 1)  # squawk lines are 0-based
        if index is not None:
            squawk_hits[rule].add((path, index))

    print(f"{len(by_path)} files; squawk findings: {len(theirs)}; migration-lint findings: "
          f"{sum(len(f['findings']) for f in ours['files'])}")
    print(f"{'migration-lint rule':<28} {'both':>6} {'squawk only':>12} {'ours only':>10}")
    for rule in sorted(set(PAIRS.values())):
        both = ours_hits[rule] & squawk_hits[rule]
        only_squawk = squawk_hits[rule] - ours_hits[rule]
        only_ours = ours_hits[rule] - squawk_hits[rule]
        print(f"{rule:<28} {len(both):>6} {len(only_squawk):>12} {len(only_ours):>10}")
        for label, sample in (("squawk only", only_squawk), ("ours only", only_ours)):
            for path, index in sorted(sample)[: args.examples]:
                stmt = by_path[path]["statements"][index]
                sql = " ".join(stmt["sql"].split())[:110]
                print(f"    {label}: {Path(path).parent.name}/{Path(path).name}:{stmt['line']}: {sql}")
    print("squawk rules without a counterpart:", ", ".join(f"{k} ({v})" for k, v in unmapped.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
