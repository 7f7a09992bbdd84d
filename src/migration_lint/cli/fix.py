"""`migration-lint PATH --fix`: apply the fixes of the findings, lint again, repeat until nothing changes.

Safe fixes only unless `--unsafe-fixes`. Each round applies the fixes that do not overlap, writes the
files (new migrations included, so the next round's fixes see them), and lints again. `--diff` runs the
same rounds on a scratch copy of the migration folders and shows the changes as a unified diff.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from migration_lint.ingest.discover import _sort_key, classify
from migration_lint.ingest.edits import apply_edits, choose, unified_diff
from migration_lint.ingest.source import decode
from migration_lint.model import Edit, Fix, MigrationFile, RunReport

MAX_ROUNDS = 8  # a chain of fixes that each need the previous one stops after this many rounds


@dataclass
class Outcome:
    run: RunReport  # the report of the files as they are after the last round
    originals: dict[Path, str | None] = field(default_factory=dict)  # every file changed, as it was (None: new)
    finals: dict[Path, str] = field(default_factory=dict)  # and as it is now
    applied: int = 0
    unsafe_left: int = 0  # unsafe fixes not applied (without --unsafe-fixes)
    problems: list[str] = field(default_factory=list)

    def diff(self) -> str:
        return "".join(unified_diff(_shown(p), self.originals[p], self.finals[p]) for p in sorted(self.finals)
                       if self.originals[p] != self.finals[p])


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read(path: Path) -> tuple[str, bool] | None:
    """The file's text and whether it starts with a byte order mark; None if unreadable or not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    text, error = decode(data)
    return None if error else (text, data.startswith(b"\xef\xbb\xbf"))


class _Workspace:
    """The files being fixed: the real ones, or copies in a scratch folder (`real` maps back)."""

    def __init__(self, files: list[MigrationFile], scratch: Path | None) -> None:
        self.real: dict[Path, Path] = {}  # work path → real path
        self.files: list[MigrationFile] = []
        groups: dict[Path, Path] = {}
        for item in files:
            assert item.path is not None
            path = item.path.resolve()
            if scratch is None:
                self.real[path] = path
                self.files.append(item)
                continue
            group = (item.group or item.path.parent).resolve()
            if group not in groups:
                groups[group] = scratch / str(len(groups)) / group.name
                shutil.copytree(group, groups[group], symlinks=True, dirs_exist_ok=True)
            work = groups[group] / path.relative_to(group) if path.is_relative_to(group) else groups[group] / path.name
            self.real[work] = path
            copy = classify(work)
            copy.display = item.display
            copy.framework = item.framework
            self.files.append(copy)
        self.groups = {work: real for real, work in groups.items()}

    def to_real(self, work: Path) -> Path:
        if work in self.real:
            return self.real[work]
        for copy, group in self.groups.items():
            if work.is_relative_to(copy):
                return group / work.relative_to(copy)
        return work

    def add(self, path: Path, framework: str) -> None:
        """A migration a fix created: linted from the next round on (down migrations are not)."""
        if path.suffix != ".sql" or any(f.path is not None and f.path.resolve() == path for f in self.files):
            return
        item = classify(path)
        if item.direction != "up":
            return
        real = self.to_real(path)
        item.display = _shown(real)
        self.real[path] = real
        self.files.append(item)
        self.files.sort(key=_sort_key)


def fix(files: list[MigrationFile], lint: Callable[[list[MigrationFile]], RunReport], *, unsafe: bool,
        preview: bool = False) -> Outcome:
    """Fix `files` (linted by `lint`) until no fix applies. With `preview`, on a scratch copy."""
    scratch = Path(tempfile.mkdtemp(prefix="migration-lint-fix-")) if preview else None
    try:
        space = _Workspace(files, scratch)
        outcome = Outcome(run=lint(space.files))
        boms: set[Path] = set()
        for _ in range(MAX_ROUNDS):
            candidates: list[tuple[str, Fix]] = []
            outcome.unsafe_left = 0
            for report in outcome.run.files:
                for finding in report.findings:
                    if finding.fix is None or report.file.path is None:
                        continue
                    if finding.fix.safe or unsafe:
                        candidates.append((str(report.file.path.resolve()), finding.fix))
                    else:
                        outcome.unsafe_left += 1
            chosen = choose(candidates, {})
            changed = 0
            for where, chosen_fix in chosen:
                if _apply(chosen_fix, Path(where), space, outcome, boms):
                    changed += 1
            if not changed:
                break
            outcome.applied += changed
            outcome.run = lint(space.files)
        for work in list(outcome.originals):
            current = _read(work)
            outcome.finals[work] = current[0] if current else ""
        # report in the real files' names
        outcome.originals = {space.to_real(p): t for p, t in outcome.originals.items()}
        outcome.finals = {space.to_real(p): t for p, t in outcome.finals.items()}
        return outcome
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _apply(fix: Fix, where: Path, space: _Workspace, outcome: Outcome, boms: set[Path]) -> bool:
    """Write one fix's edits (all or none): False when a file it edits cannot be read, or one it creates exists."""
    edits: dict[Path, list[Edit]] = {}
    for e in fix.edits:
        edits.setdefault(Path(e.path).resolve() if e.path else where, []).append(e)
    texts: dict[Path, str] = {}
    for path, changes in edits.items():
        creates = any(e.path is not None for e in changes)
        if creates:
            if path.exists():
                return False  # made by a fix of this round: the fix is made again next round, with another name
            texts[path] = apply_edits("", changes)
            continue
        current = _read(path)
        if current is None:
            return False
        if current[1]:
            boms.add(path)
        texts[path] = apply_edits(current[0], changes)
    for path, text in texts.items():
        if path not in outcome.originals:
            current = _read(path) if path.exists() else None
            outcome.originals[path] = current[0] if current else None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes((("\ufeff" if path in boms else "") + text).encode("utf-8"))
        except OSError as exc:
            outcome.problems.append(f"cannot write {_shown(space.to_real(path))}: {exc.strerror or exc}")
            return False
        space.add(path, "")
    return True
