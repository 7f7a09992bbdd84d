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
from migration_lint.model import Edit, Fix, MigrationFile, RunReport, Severity

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
            copy.prisma_version = item.prisma_version
            self.files.append(copy)
        self.groups = {work: real for real, work in groups.items()}
        self.created: set[Path] = set()  # the migrations fixes made in this run

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
        self.created.add(path)
        if item.direction != "up":
            return
        if item.group is not None:
            # the same folder as the files it follows, spelled the same way: it is linted with their history
            same = next((f.group for f in self.files if f.group is not None and f.group.resolve() == item.group.resolve()),
                        None)
            item.group = same or item.group
            item.prisma_version = next((f.prisma_version for f in self.files if f.group == item.group), None)
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
            candidates: list[tuple[Severity, str, Fix]] = []
            outcome.unsafe_left = 0
            for report in outcome.run.files:
                for finding in report.findings:
                    if finding.fix is None or report.file.path is None:
                        continue
                    if report.file.path.resolve() in space.created and any(e.path for e in finding.fix.edits):
                        continue  # a migration a fix made never splits again: no chain of new migrations
                    if finding.fix.safe or unsafe:
                        candidates.append((finding.severity, str(report.file.path.resolve()), finding.fix))
                    else:
                        outcome.unsafe_left += 1
            changed = 0
            for group in by_severity(candidates):
                changed = _apply(choose(group, {}), space, outcome, boms)
                if changed:
                    break
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


def by_severity(candidates: list[tuple[Severity, str, Fix]]) -> list[list[tuple[str, Fix]]]:
    """The fixes grouped by their findings' severity, most severe first. A round applies one group only:
    fixing an error often settles the warnings and notes about the same statement (CONCURRENTLY needs no
    lock_timeout), so those are fixed in a later round if they are still found."""
    ranks = sorted({severity.rank for severity, _, _ in candidates}, reverse=True)
    return [[(where, fix) for severity, where, fix in candidates if severity.rank == rank] for rank in ranks]


def _apply(chosen: list[tuple[str, Fix]], space: _Workspace, outcome: Outcome, boms: set[Path]) -> int:
    """Write the edits of the chosen fixes (which do not overlap), all of a file's edits at once since their
    positions refer to the file as linted. A fix is skipped whole when a file it edits cannot be read or a file
    it creates exists. Returns the number of fixes applied."""
    texts: dict[Path, str | None] = {}
    per_file: dict[Path, list[Edit]] = {}
    applied = 0
    for where, fix in chosen:
        edits: dict[Path, list[Edit]] = {}
        for e in fix.edits:
            edits.setdefault(Path(e.path).resolve() if e.path else Path(where), []).append(e)
        usable = True
        for path, changes in edits.items():
            if any(e.path is not None for e in changes):
                # a file this fix creates; one that exists was made by a fix of this round: the fix is made
                # again next round, with another name
                usable = usable and not path.exists() and path not in per_file
                continue
            if path not in texts:
                current = _read(path)
                texts[path] = None if current is None else current[0]
                if current is not None and current[1]:
                    boms.add(path)
            usable = usable and texts[path] is not None
        if not usable:
            continue
        applied += 1
        for path, changes in edits.items():
            per_file.setdefault(path, []).extend(changes)
    for path, changes in per_file.items():
        old = texts.get(path)
        text = apply_edits(old or "", changes)
        if path not in outcome.originals:
            outcome.originals[path] = old
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes((("\ufeff" if path in boms else "") + text).encode("utf-8"))
        except OSError as exc:
            outcome.problems.append(f"cannot write {_shown(space.to_real(path))}: {exc.strerror or exc}")
            continue
        space.add(path, "")
    return applied
