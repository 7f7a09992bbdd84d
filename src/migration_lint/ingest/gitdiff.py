"""`--diff BASE`: which migrations changed since BASE, from git (no dependency: `git` in a subprocess).

Only the migrations added, modified or renamed since BASE are linted; the
engine still replays the unchanged earlier migrations of their folder into the
schema model. A migration that exists on BASE and was modified, renamed or
deleted is marked on ``MigrationFile.change``, which the `edited-migration`
rule reports.

The comparison is between the merge base of BASE and HEAD and the working
tree (committed, staged and unstaged changes, and untracked files), so that
it means the same in a pull request (BASE is the base branch) and locally
before a commit. When the merge base cannot be found (a shallow clone) but
BASE itself is present, BASE is compared directly: in a pull request's merge
checkout, BASE is the merge commit's first parent, so that is the same
comparison.
"""

from __future__ import annotations

import fnmatch
import glob
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from migration_lint.model import FileReport, MigrationFile, Risk

STATUS = {"A": "added", "C": "added", "M": "modified", "T": "modified", "U": "modified", "R": "renamed", "D": "deleted"}


class GitError(Exception):
    """git is missing, this is not a repository, or BASE is unknown."""


@dataclass
class Change:
    status: str  # added, modified, renamed, deleted
    path: Path  # absolute; the new path of a rename
    old_path: Path | None = None  # the path on BASE of a rename


def _git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                              errors="surrogateescape", check=False)
    except FileNotFoundError:
        raise GitError("--diff needs git, which is not installed") from None
    if done.returncode != 0:
        message = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        raise GitError(f"git {args[0]} failed: {message}")
    return done.stdout


def repository_root(cwd: Path | None = None) -> Path:
    cwd = cwd or Path.cwd()
    return Path(_git(["rev-parse", "--show-toplevel"], cwd).strip()).resolve()


def comparison_base(base: str, cwd: Path | None = None) -> str:
    """The commit to compare with: the merge base of BASE and HEAD, or BASE itself in a shallow clone."""
    cwd = cwd or Path.cwd()
    if base.startswith("-"):
        raise GitError(f"--diff: {base!r} is not a git revision")
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], cwd)
    except GitError:
        raise GitError(
            f"--diff: unknown revision {base!r}; in a shallow clone fetch the base branch first "
            "(actions/checkout with fetch-depth: 0)"
        ) from None
    try:
        return _git(["merge-base", base, "HEAD"], cwd).strip()
    except GitError:
        return _git(["rev-parse", "--verify", f"{base}^{{commit}}"], cwd).strip()


def changes(base: str, cwd: Path | None = None) -> list[Change]:
    """Every file changed between BASE (its merge base with HEAD) and the working tree."""
    cwd = cwd or Path.cwd()
    root = repository_root(cwd)
    since = comparison_base(base, cwd)
    out = _git(["-c", "core.quotePath=false", "diff", "--name-status", "-M", "-z", "--no-ext-diff", since, "--"], cwd)
    fields = out.split("\0")
    result: list[Change] = []
    i = 0
    while i < len(fields) and fields[i]:
        code = fields[i][0]
        status = STATUS.get(code)
        if code in "RC":
            old, new = fields[i + 1], fields[i + 2]
            i += 3
            if status == "renamed":
                result.append(Change(status, root / new, root / old))
            else:
                result.append(Change("added", root / new))
            continue
        path = fields[i + 1]
        i += 2
        if status is not None:
            result.append(Change(status, root / path))
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], cwd)
    for path in untracked.split("\0"):
        if path:
            result.append(Change("added", root / path))
    return result


def _key(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def select(files: list[MigrationFile], found: list[Change]) -> list[MigrationFile]:
    """The discovered migrations that were added, modified or renamed, with `change` set."""
    by_path = {_key(c.path): c for c in found if c.status != "deleted"}
    selected = []
    for file in files:
        if file.path is None:
            continue
        change = by_path.get(_key(file.path))
        if change is not None:
            file.change = change.status
            selected.append(file)
    return selected


def _within(path: Path, args: list[str]) -> bool:
    """Would `path` have been found under one of the command-line paths (directories, files, globs)?"""
    for raw in args:
        if raw == "-":
            continue
        if any(ch in raw for ch in "*?["):
            pattern = str(Path(raw).absolute())
            if fnmatch.fnmatch(str(path), pattern) or any(fnmatch.fnmatch(str(parent), pattern) for parent in path.parents):
                return True
            continue
        target = _key(Path(raw))
        if path == target or target in path.parents:
            return True
    return False


def deleted(found: list[Change], args: list[str], *, include_down: bool = False, exclude: list[str] | None = None) -> list[MigrationFile]:
    """Migrations that existed on BASE under the linted paths and are gone (deleted, not renamed)."""
    from migration_lint.ingest.discover import _display, _excluded, classify

    patterns: list[re.Pattern[str] | None] = [None for _ in exclude or []]
    if exclude and hasattr(glob, "translate"):
        patterns = [re.compile(glob.translate(p, recursive=True)) for p in exclude]
    out = []
    for change in found:
        if change.status != "deleted" or not change.path.name.lower().endswith(".sql"):
            continue
        path = change.path
        if not _within(path, args):
            continue
        if exclude and _excluded(path, exclude, patterns):
            continue
        item = classify(path, head="")
        if item.direction == "down" and not include_down:
            continue
        item.path = None
        item.display = _display(path)
        item.name = None  # the name rules have nothing to say about a file that is gone
        item.text = ""
        item.change = "deleted"
        out.append(item)
    return out


def deleted_reports(linter, files: list[MigrationFile]) -> list[FileReport]:
    """A report per deleted migration with the `edited-migration` finding (none if that rule is off)."""
    reports = []
    for file in files:
        report = linter.lint_file(file)
        report.findings = [f for f in report.findings if f.rule == "edited-migration"]
        if not report.findings:
            continue
        report.statements = []
        report.risk, report.risk_reason = Risk.HIGH, report.findings[0].message
        reports.append(report)
    return reports

