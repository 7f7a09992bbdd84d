"""Which migrations a run lints: all of them, or only those changed since a git revision (`--diff BASE`).

The check command and `review` share this. With a base, the discovered
migrations are narrowed to the ones added, modified or renamed since BASE
(see `ingest.gitdiff`), and the migrations that were deleted since are
reported by `edited-migration`; the engine still replays every earlier
migration of a folder as history.

A shallow clone without BASE (``actions/checkout`` with its default
``fetch-depth: 1``) cannot say what changed. Then every migration is linted
as it is, none marked as changed (so `edited-migration` does not fire on old
migrations), and the caller gets one warning to show. An unknown BASE in a
complete clone is a usage error (most likely a typo).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from migration_lint.ingest import gitdiff
from migration_lint.model import MigrationFile

GitError = gitdiff.GitError


@dataclass
class Scope:
    files: list[MigrationFile]
    gone: list[MigrationFile] = field(default_factory=list)  # deleted since BASE (edited-migration)
    label: str = ""  # "changed since BASE", for the comment
    warning: str = ""  # one warning to show (a shallow clone without BASE)


def is_revision(value: str, cwd: Path | None = None) -> bool:
    """Does `git rev-parse --verify --quiet VALUE^{commit}` find a commit (False when git cannot run)?"""
    if not value or value.startswith("-"):
        return False
    try:
        done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{value}^{{commit}}"], cwd=cwd or Path.cwd(),
                              capture_output=True, text=True, check=False)
    except OSError:
        return False
    return done.returncode == 0


def is_shallow(cwd: Path | None = None) -> bool:
    try:
        done = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=cwd or Path.cwd(),
                              capture_output=True, text=True, check=False)
    except OSError:
        return False
    return done.returncode == 0 and done.stdout.strip() == "true"


def shallow_warning(base: str) -> str:
    return (f"cannot compare with {base}: it is not in this shallow clone, so every migration under the given paths "
            "is checked (none counts as edited); fetch the history to lint only the changed ones "
            "(actions/checkout with fetch-depth: 0, or git fetch --unshallow)")


def changed(base: str | None, files: list[MigrationFile], paths: list[str], config, *, label: str = "") -> Scope:
    """The migrations to lint: all of `files` without a base; raises GitError if BASE cannot be used."""
    if base is None:
        return Scope(files)
    if not is_revision(base) and is_shallow():
        return Scope(files, warning=shallow_warning(base))
    found = gitdiff.changes(base)
    selected = gitdiff.select(files, found)
    gone = gitdiff.deleted(found, paths, include_down=config.include_down, exclude=config.exclude)
    if config.framework != "auto":
        for item in gone:
            item.framework = config.framework
    return Scope(selected, gone, label or f"changed since {base}")


def provider_message(found, consequence: str) -> str:
    """The `unsupported-provider` message: where the provider is declared, and what was not checked."""
    from migration_lint.ingest.discover import _display

    return (f"{_display(found.path)} declares provider = \"{found.value}\" (line {found.line}): migration-lint "
            f"lints PostgreSQL migrations only, so {consequence}")


def unsupported_providers(files: list[MigrationFile], linter) -> tuple[list[MigrationFile], list]:
    """Prisma folders whose datasource is not PostgreSQL: their migrations are left out, and each
    folder gets one report with an `unsupported-provider` finding at the provider's line."""
    from migration_lint.ingest.discover import _display
    from migration_lint.ingest.prisma import Detected, unsupported
    from migration_lint.model import FileReport, Risk

    verdicts: dict[Path, Detected | None] = {}
    kept: list[MigrationFile] = []
    counts: dict[Path, int] = {}
    for file in files:
        if file.framework != "prisma" or file.group is None or file.path is None:
            kept.append(file)
            continue
        if file.group not in verdicts:
            verdicts[file.group] = unsupported(file.group)
        if verdicts[file.group] is None:
            kept.append(file)
        else:
            counts[file.group] = counts.get(file.group, 0) + 1
    reports = []
    for group, count in counts.items():
        found = verdicts[group]
        assert found is not None
        where = _display(found.path)
        message = provider_message(found, f"the {count} migration{'s' if count != 1 else ''} of "
                                          f"{_display(group)} {'were' if count != 1 else 'was'} not checked")
        finding = linter.meta("unsupported-provider", message, found.line,
                              help="Point migration-lint at PostgreSQL migrations only (`exclude` in the configuration), "
                              "or ignore this rule for the folder.")
        report = FileReport(file=MigrationFile(None, where), risk=Risk.HIGH, risk_reason=message)
        report.findings.append(finding)
        if linter.ruleset.reported(finding):
            reports.append(report)
    return kept, reports
