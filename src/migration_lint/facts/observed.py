"""What a traced run observed (``MigrationFile.trace``: one entry per statement, from
`migration-lint trace`) compared with the static analysis: per relation and per statement,
*confirmed*, *mismatch*, *trace only*, *static only*, *error* or *not run*."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migration_lint.facts.locks import STRENGTH

if TYPE_CHECKING:
    from migration_lint.model import FileReport, RunReport

STATUSES = ("confirmed", "mismatch", "trace_only", "static_only", "error", "not_run")


@dataclass
class RelationVerdict:
    relation: str
    static: str | None
    traced: str | None
    verdict: str  # confirmed, already held, not exercised, released, mismatch, trace only, static only


@dataclass
class Comparison:
    status: str
    relations: list[RelationVerdict] = field(default_factory=list)
    static_rewrites: bool = False
    traced_rewrites: bool = False

    @property
    def rewrite_differs(self) -> bool:
        return self.static_rewrites != self.traced_rewrites

    def describe(self) -> str:
        """The differences in words (for the finding and the reports)."""
        parts = []
        for rel in self.relations:
            if rel.verdict == "mismatch":
                parts.append(f'"{rel.relation}": the model says {rel.static}, PostgreSQL took {rel.traced}')
            elif rel.verdict == "trace only":
                parts.append(f'PostgreSQL also took {rel.traced} on "{rel.relation}"')
            elif rel.verdict == "static only":
                parts.append(f'the model lists {rel.static} on "{rel.relation}", the trace saw none')
            elif rel.verdict == "not exercised":
                parts.append(f'{rel.static} on "{rel.relation}" comes from the foreign key check of each written '
                             "key, and no written row needed one here")
        if self.rewrite_differs:
            parts.append("the model says it rewrites the table, PostgreSQL did not" if self.static_rewrites
                         else "PostgreSQL rewrote it (a new relfilenode), the model says it does not")
        return "; ".join(parts)


def _get(entry: Any, key: str, default: Any = None) -> Any:
    if isinstance(entry, Mapping):
        return entry.get(key, default)
    return getattr(entry, key, default)


def _key(name: str) -> str:
    return name[7:] if name.startswith("public.") else name


def _static_locks(static: Any) -> tuple[dict[str, str], set[str]]:
    """The strongest mode claimed per relation, and the relations whose claimed locks all end with the
    statement (not at commit)."""
    out: dict[str, str] = {}
    kept: set[str] = set()
    for lock in _get(static, "locks", ()) or ():
        relation, mode = _get(lock, "relation"), _get(lock, "mode")
        if relation not in out or STRENGTH.get(mode, 0) > STRENGTH.get(out[relation], 0):
            out[relation] = mode
        if _get(lock, "until_commit", True):
            kept.add(relation)
    return out, set(out) - kept


def compare(entry: Any, static: Any) -> Comparison:
    """Compare one statement's trace (a ``MigrationFile.trace`` entry) with the static model's claim.

    `static` is anything with ``locks`` (``relation``/``mode``), ``rewrites`` and ``known``: the lock
    model's Effect or the report's StatementReport.
    """
    if _get(entry, "error"):
        return Comparison("error")
    if not _get(entry, "ran", True):
        return Comparison("not_run")
    known = bool(_get(static, "known", True))
    claimed, brief = _static_locks(static)
    # read after the statement, inside its transaction: a lock released when the statement ends is gone
    after_statement = _get(entry, "observed") != "session"
    traced = dict(_get(entry, "locks") or {})
    held = {_key(k): set(v) for k, v in (_get(entry, "held") or {}).items()}
    written = _get(entry, "rows")
    traced_rewrites = bool(_get(entry, "rewrites", False))
    static_rewrites = bool(_get(static, "rewrites", False))
    result = Comparison("confirmed", static_rewrites=static_rewrites, traced_rewrites=traced_rewrites)

    by_key = {_key(name): name for name in traced}
    bare: dict[str, list[str]] = {}
    for name in traced:
        bare.setdefault(name.rsplit(".", 1)[-1], []).append(name)
    used: set[str] = set()
    for relation, mode in claimed.items():
        name = by_key.get(_key(relation))
        if name is None and "." not in relation and len(bare.get(relation, ())) == 1:
            name = bare[relation][0]  # the statement relied on search_path; the trace names the schema
        if name is not None and name in used:
            name = None
        taken = traced.get(name) if name is not None else None
        if name is not None:
            used.add(name)
        already = mode in held.get(_key(relation), set()) or (name is not None and mode in held.get(_key(name), set()))
        if not known:
            verdict = "trace only" if taken else "static only"
        elif mode == "RowShareLock" and written is not None and taken in (None, "AccessShareLock"):
            # a data statement's ROW SHARE comes from the foreign key check, which runs only for the rows whose
            # key it writes (not for NULL keys, not for an update or upsert that leaves the key as it was)
            verdict = "not exercised"
        elif taken == mode:
            verdict = "confirmed"
        elif taken is None and relation in brief and after_statement:
            verdict = "released"
        elif taken is None:
            verdict = "already held" if already else "static only"
        elif already and STRENGTH[taken] < STRENGTH[mode]:
            verdict = "already held"  # it asked for a mode its transaction had; a weaker one was new
        else:
            verdict = "mismatch"
        result.relations.append(RelationVerdict(relation, mode, taken, verdict))
    for name, mode in traced.items():
        if name not in used:
            result.relations.append(RelationVerdict(name, None, mode, "trace only"))

    verdicts = {rel.verdict for rel in result.relations}
    if not known:
        result.status = "trace_only"
    elif "mismatch" in verdicts or result.rewrite_differs or {"trace only", "static only"} <= verdicts:
        result.status = "mismatch"
    elif "trace only" in verdicts:
        result.status = "trace_only"
    elif verdicts & {"static only", "not exercised"}:
        result.status = "static_only"
    return result


def predicted_by(error: Mapping[str, Any] | None, findings: Iterable[Any], registry: Mapping[str, Any]) -> str | None:
    """The rule whose finding on the statement predicted this failure (its `predicts` names the SQLSTATE, or
    the finding's message does), if any."""
    if not error:
        return None
    code = str(error.get("sqlstate") or "")
    for finding in findings:
        rule = registry.get(finding.rule)
        if (code and rule is not None and code in rule.predicts) or (code and f"SQLSTATE {code}" in finding.message):
            return finding.rule
    return None


@dataclass
class StatementTrace:
    """One statement of a report with its trace and the comparison, ready for the reporters."""

    report: Any  # StatementReport
    entry: Mapping[str, Any]
    comparison: Comparison


def statement_traces(report: FileReport) -> list[StatementTrace]:
    """The report's statements that were traced, with their trace entries. A trace runs the statements of the
    file (a DO block as one): entry `index` counts those, not the statements a DO block runs."""
    entries = {e.get("index"): e for e in report.file.trace or () if isinstance(e, Mapping)}
    out = []
    for position, item in enumerate(i for i in report.statements if i.statement.parent is None):
        entry = entries.get(position)
        if entry is None:
            continue
        out.append(StatementTrace(item, entry, compare(entry, item)))
    return out


def counts(run: RunReport) -> dict[str, Any]:
    """Statuses over the whole run, with the total and median duration of the statements that ran."""
    tally: dict[str, Any] = {status: 0 for status in STATUSES}
    durations: list[float] = []
    predicted = 0
    for report in run.files:
        for item in statement_traces(report):
            tally[item.comparison.status] += 1
            if item.entry.get("error") and item.entry["error"].get("predicted_by"):
                predicted += 1
            if item.entry.get("duration_ms") is not None:
                durations.append(float(item.entry["duration_ms"]))
    tally["statements"] = sum(tally[s] for s in STATUSES)
    tally["predicted_errors"] = predicted
    tally["total_ms"] = round(sum(durations), 3)
    tally["median_ms"] = round(statistics.median(durations), 3) if durations else 0.0
    return tally
