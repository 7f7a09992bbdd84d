"""What the language server knows, without the protocol: lint an editor buffer with its folder's history,
the statement under a position, and the hover text of a statement.

A buffer is linted in place of its file on disk, after the migrations of its folder that come before it
(replayed into the schema model, like `migration-lint check`). Replaying the history is most of the work of
a lint and it changes rarely, so the schema model it makes is kept per folder, keyed by each earlier
migration's (path, modification time, size): while the history is unchanged, an edit re-lints the edited
buffer only. When migrations are added after the ones the model was made from, the longest known prefix is
taken and only the new ones are replayed. An earlier migration open in the editor is replayed from its buffer,
saved or not (keyed by its text, not its file).
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from migration_lint.facts.locks import blocks, blocks_ddl
from migration_lint.facts.schema import Schema
from migration_lint.model import FileReport, Finding, MigrationFile, Risk, StatementReport
from migration_lint.pipeline.engine import Linter
from migration_lint.pipeline.units import drop_trees, file_identity
from migration_lint.report.words import impact, lock_name

# schema models kept per folder (one per distinct history: files of a folder have different prefixes)
HISTORIES_PER_FOLDER = 8

Fingerprint = tuple[str, int, int]  # resolved path, mtime (ns), size; for an open buffer: path, -2, hash of its text
Buffers = dict[Path, str]  # open documents by resolved path: their text, saved or not


@dataclass
class _Snapshot:
    key: tuple[Fingerprint, ...]
    schema: bytes  # the pickled schema model after replaying `key` in order


@dataclass
class _Folder:
    snapshots: OrderedDict[tuple[Fingerprint, ...], _Snapshot] = field(default_factory=OrderedDict)


@dataclass
class Counters:
    """Work done, for tests and the server's log: migrations replayed and buffers linted."""

    replayed: int = 0
    linted: int = 0
    history_hits: int = 0


class Analyzer:
    """Lints buffers with one configuration; keeps the replayed history of each folder."""

    def __init__(self, linter: Linter) -> None:
        self.linter = linter
        self.config = linter.config
        self.folders: dict[Path, _Folder] = {}
        self.prisma_versions: dict[Path, str | None] = {}  # folder -> the version of its nearest package.json
        self.counters = Counters()

    # -- files -------------------------------------------------------------
    def migration_file(self, path: Path | None, text: str, name: str = "<buffer>") -> MigrationFile:
        """The buffer as a migration: framework, folder and order from its path (as discovery would)."""
        if path is None:
            return MigrationFile(None, name, "plain", text=text)
        from migration_lint.ingest.discover import classify

        item = classify(path, head=text[:65536])
        item.text = text
        if self.config.framework not in (None, "auto"):
            item.framework = self.config.framework
        if item.framework == "prisma" and item.group is not None:  # (the configuration's version still wins)
            if item.group not in self.prisma_versions:
                from migration_lint.ingest.prisma import assign_versions

                assign_versions([item])
                self.prisma_versions[item.group] = item.prisma_version
            item.prisma_version = self.prisma_versions[item.group]
        return item

    def history(self, file: MigrationFile, buffers: Buffers | None = None) -> list[MigrationFile]:
        """The up migrations of the file's folder that come before it (what `check` replays); those open in
        `buffers` carry the buffer's text."""
        if file.path is None or file.group is None or file.direction != "up":
            return []
        from migration_lint.ingest.discover import _sort_key, discover

        own = file_identity(file)
        order = _sort_key(file)
        earlier = []
        for other in discover([str(file.group)], framework=None).files:
            if other.path is None or other.direction != "up" or file_identity(other) == own:
                continue
            other_order = _sort_key(other)
            if other_order < order:
                if buffers:
                    text = buffers.get(_resolved(other.path))
                    if text is not None:
                        other.text = text
                earlier.append((other_order, other))
        earlier.sort(key=lambda pair: pair[0])
        return [other for _, other in earlier]

    # -- history -------------------------------------------------------------
    def schema_before(self, file: MigrationFile, buffers: Buffers | None = None) -> Schema:
        """A fresh schema model of the migrations before `file` (the caller may change it)."""
        earlier = self.history(file, buffers)
        if not earlier:
            return Schema()
        assert file.group is not None
        prints = [_fingerprint(other) for other in earlier]
        key = tuple(prints)
        folder = self.folders.setdefault(_resolved(file.group), _Folder())
        snapshot = folder.snapshots.get(key)
        if snapshot is not None:
            folder.snapshots.move_to_end(key)
            self.counters.history_hits += 1
            return _load(snapshot.schema)
        start, schema = 0, Schema()
        for known in folder.snapshots.values():  # the longest history already replayed that this one extends
            if start < len(known.key) <= len(key) and key[: len(known.key)] == known.key:
                start, schema = len(known.key), _load(known.schema)
        for other in earlier[start:]:
            self.counters.replayed += 1
            self.linter._replay(other, schema)
        try:
            data = pickle.dumps(schema, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # a model that cannot be kept is replayed again next time
            return schema
        folder.snapshots[key] = _Snapshot(key, data)
        while len(folder.snapshots) > HISTORIES_PER_FOLDER:
            folder.snapshots.popitem(last=False)
        return _load(data)

    def forget(self, folder: Path | None = None) -> None:
        """Drop the kept histories (of one folder, or all)."""
        if folder is None:
            self.folders.clear()
        else:
            self.folders.pop(_resolved(folder), None)

    # -- lint ----------------------------------------------------------------
    def lint(self, path: Path | None, text: str, name: str = "<buffer>", buffers: Buffers | None = None) -> FileReport:
        """Lint the buffer `text` as the file at `path` (None: a buffer without a file, linted alone), after the
        earlier migrations of its folder (from `buffers` where open, else from disk)."""
        file = self.migration_file(path, text, name)
        schema = self.schema_before(file, buffers)
        self.counters.linted += 1
        try:
            report = self.linter.lint_file(file, schema, is_new=self.linter.is_new(file))
        except (Exception, RecursionError) as exc:  # a bug costs the buffer's diagnostics, not the server
            report = FileReport(file=file, risk=Risk.HIGH, error=f"internal error: {type(exc).__name__}")
            report.risk_reason = "the file could not be analysed (internal error)"
            report.findings.append(self.linter.ruleset.internal_error("the analysis of the file", exc))
        drop_trees([report])
        return report

    def fix_all(self, path: Path | None, text: str, name: str = "<buffer>", buffers: Buffers | None = None) -> str | None:
        """The buffer with its safe fixes applied that stay within it, in rounds like `--fix` (most severe
        findings first, linted again after each round); None when there is nothing to fix."""
        from migration_lint.cli.fix import MAX_ROUNDS, by_severity
        from migration_lint.ingest.edits import apply_edits, choose

        current = text
        for _ in range(MAX_ROUNDS):
            report = self.lint(path, current, name, buffers)
            candidates = [(f.severity, "", f.fix) for f in report.findings
                          if f.fix is not None and f.fix.safe and not any(e.path for e in f.fix.edits)]
            chosen = next((picked for group in by_severity(candidates) if (picked := choose(group, {}))), [])
            if not chosen:
                break
            current = apply_edits(current, [e for _, fix in chosen for e in fix.edits])
        return current if current != text else None


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _fingerprint(file: MigrationFile) -> Fingerprint:
    assert file.path is not None
    path = _resolved(file.path)
    if file.text is not None:  # an open buffer
        return (str(path), -2, hash(file.text))
    try:
        st = path.stat()
        return (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return (str(path), -1, -1)


def _load(data: bytes) -> Schema:
    schema = pickle.loads(data)  # written by this process only
    assert isinstance(schema, Schema)
    return schema


# -- positions and hover -------------------------------------------------------
def statement_at(report: FileReport, line: int, column: int) -> StatementReport | None:
    """The statement at a 1-based (line, column), its `;` included; the innermost one (a statement run by a DO
    block rather than the block)."""
    best: StatementReport | None = None
    for item in report.statements:
        stmt = item.statement
        if (stmt.line, stmt.column) <= (line, column) <= (stmt.end_line, stmt.end_column):
            if best is None or (stmt.line, stmt.column) >= (best.statement.line, best.statement.column):
                best = item
    return best


def findings_of(report: FileReport, item: StatementReport) -> list[Finding]:
    return [f for f in report.findings if f.statement == item.statement.index]


def _relation(name: str) -> str:
    return name.replace("`", "'")


def hover_markdown(report: FileReport, item: StatementReport) -> str:
    """The statement's locks, what they block, rewrite and scan, and its risk, in Markdown."""
    stmt = item.statement
    kind = stmt.kind or stmt.node_type
    out = [f"**{kind}** — risk **{item.risk.value}**" + (f": {item.risk_reason}" if item.risk_reason else ""), ""]
    if not item.known:
        out.append("Locks unknown: this statement is not in the lock model.")
    elif not item.locks:
        out.append("Takes no lock on an existing table.")
    else:
        out.append("| Lock | Relation | Blocks |")
        out.append("|---|---|---|")
        for lock in item.locks:
            blocked = blocks(lock.mode)
            what = " and ".join(blocked) if blocked else ("other schema changes" if blocks_ddl(lock.mode) else "nothing")
            out.append(f"| {lock_name(lock.mode)} | `{_relation(lock.relation)}` | {what} |")
        out.append("")
        blocked = item.blocks
        if blocked:
            sessions = {"reads": "SELECT", "writes": "INSERT, UPDATE, DELETE"}
            out.append("Blocks " + " and ".join(f"{b} ({sessions[b]})" for b in blocked) + ": " + impact(item) + ".")
        else:
            out.append(impact(item)[:1].upper() + impact(item)[1:] + ".")
    out.append("")
    out.append(f"- Rewrites the table: {'yes' if item.rewrites else 'no'}")
    out.append(f"- Scans the table: {'yes' if item.scans else 'no'}")
    out.append(f"- Runs in a transaction block: {'yes' if item.in_transaction else 'no'}")
    estimate = item.estimate.get("text") if isinstance(item.estimate, dict) else None
    if estimate:
        out.append(f"- Estimate: {estimate}")
    findings = findings_of(report, item)
    if findings:
        out.append("")
        for finding in findings:
            rule = f"[{finding.rule}]({finding.url})" if finding.url else f"`{finding.rule}`"
            out.append(f"- {finding.severity.value} {rule}: {finding.message}")
    return "\n".join(out).rstrip() + "\n"
