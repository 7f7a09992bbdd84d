"""The trace report: text (the statements side by side with the static analysis, then the lint report)
and JSON (the lint report with a ``trace`` block per statement and one for the run)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from migration_lint.cli.trace.results import TraceResult
from migration_lint.facts.observed import StatementTrace, counts, statement_traces
from migration_lint.report.json import report_dict
from migration_lint.report.sanitize import one_line, terminal
from migration_lint.report.text import render as text_render

if TYPE_CHECKING:  # pragma: no cover - typing only
    from migration_lint.model import RunReport


def step_dict(item: StatementTrace) -> dict[str, Any]:
    """The ``trace`` block of one statement in the JSON report."""
    entry, comparison = item.entry, item.comparison
    locks = [{"relation": rel.relation, "mode": rel.traced, "static": rel.static, "verdict": rel.verdict}
             for rel in comparison.relations]
    out: dict[str, Any] = {
        "status": comparison.status,
        "locks": locks,
        "rewrites": bool(entry.get("rewrites")),
        "static_rewrites": bool(item.report.rewrites),
        "rewritten": list(entry.get("rewritten") or ()),
        "duration_ms": entry.get("duration_ms"),
        "rows": entry.get("rows"),
        "error": entry.get("error"),
        "created": list(entry.get("created") or ()),
        "dropped": list(entry.get("dropped") or ()),
        "observed": entry.get("observed") or None,
        "reason": entry.get("reason") or None,
        "notes": list(entry.get("notes") or ()),
    }
    if comparison.status == "mismatch":
        out["difference"] = comparison.describe()
    return out


def result_dict(result: TraceResult, run: RunReport) -> dict[str, Any]:
    return {
        "server": result.server,
        "mode": result.mode,
        "rows": result.rows,
        "folders": [{"folder": g.folder, "history": g.history, "history_statements": g.history_statements,
                     "seeded": g.seeded, "skipped": g.skipped, "notes": g.notes} for g in result.groups],
        "counts": counts(run),
    }


def render_json(run: RunReport, result: TraceResult) -> str:
    document = report_dict(run)
    for report, entry in zip(run.files, document["files"]):
        traces = {item.report.statement.index: item for item in statement_traces(report)}
        for item, statement in zip(report.statements, entry["statements"]):
            trace = traces.get(item.statement.index)
            statement["trace"] = step_dict(trace) if trace is not None else None
    document["trace"] = result_dict(result, run)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _locks_text(locks: Iterable[tuple[str, str | None]]) -> str:
    shown = [f'{mode} on "{relation}"' for relation, mode in locks if mode]
    return ", ".join(shown) or "none"


def render_text(run: RunReport, result: TraceResult, *, color: bool = False) -> str:
    paint = {"confirmed": "32", "mismatch": "31", "error": "31", "trace_only": "33", "static_only": "33",
             "not_run": "90"}
    out = [result.headline()]
    for group in result.groups:
        where = terminal(group.folder) or "the migrations"
        if group.history:
            out.append(f"  {where}: {len(group.history)} earlier migration{'s' if len(group.history) != 1 else ''} "
                       f"applied first ({group.history_statements} statements)")
        if group.seeded:
            listed = ", ".join(f'"{terminal(name)}" {n}' for name, n in group.seeded.items())
            out.append(f"  seeded: {listed}")
        for name, why in group.skipped.items():
            out.append(f'  not seeded: "{terminal(name)}": {terminal(why)}')
        for note in group.notes:
            out.append(f"  note: {terminal(note)}")
    out.append("")
    for report in run.files:
        items = statement_traces(report)
        if not items and report.file.trace is None:
            continue
        out.append(terminal(report.file.display))
        if not items:
            out.append("  not run: the migration cannot be parsed")
        for item in items:
            stmt, entry, comparison = item.report.statement, item.entry, item.comparison
            status = comparison.status.replace("_", " ")
            if color:
                status = f"\x1b[{paint[comparison.status]}m{status}\x1b[0m"
            duration = f"{entry['duration_ms']:.1f} ms" if entry.get("duration_ms") is not None else ""
            out.append(f"  {stmt.line}:{stmt.column} {terminal(one_line(stmt.sql, 70))} — {status}"
                       + (f", {duration}" if duration else ""))
            if comparison.status == "not_run":
                out.append(f"      {terminal(entry.get('reason') or 'not run')}")
                continue
            error = entry.get("error")
            if error:
                predicted = f" (predicted by {error['predicted_by']})" if error.get("predicted_by") else \
                    " (no check predicted it)"
                out.append(f"      error {error.get('sqlstate')}: {terminal(one_line(error.get('message', ''), 200))}{predicted}")
                continue
            static = [(rel.relation, rel.static) for rel in comparison.relations]
            traced = [(rel.relation, rel.traced) for rel in comparison.relations]
            already = [rel.relation for rel in comparison.relations if rel.verdict == "already held"]
            released = [rel.relation for rel in comparison.relations if rel.verdict == "released"]
            line = f"      locks: static {terminal(_locks_text(static))} · traced {terminal(_locks_text(traced))}"
            if already:
                line += " · already held: " + ", ".join(f'"{terminal(r)}"' for r in already)
            if released:
                line += " · released when the statement ended: " + ", ".join(f'"{terminal(r)}"' for r in released)
            out.append(line)
            if comparison.static_rewrites or comparison.traced_rewrites:
                out.append(f"      rewrite: static {'yes' if comparison.static_rewrites else 'no'} · traced "
                           f"{'yes (' + ', '.join(entry.get('rewritten') or ()) + ')' if comparison.traced_rewrites else 'no'}")
            if comparison.status == "mismatch":
                out.append(f"      mismatch: {terminal(comparison.describe())}")
            for note in entry.get("notes") or ():
                out.append(f"      note: {terminal(one_line(note, 200))}")
        out.append("")
    tally = counts(run)
    out.append(
        f"trace: {tally['statements']} statements: {tally['confirmed']} confirmed, {tally['mismatch']} mismatch, "
        f"{tally['trace_only']} trace only, {tally['static_only']} static only, {tally['error']} error"
        f"{'s' if tally['error'] != 1 else ''} ({tally['predicted_errors']} predicted), {tally['not_run']} not run; "
        f"{tally['total_ms'] / 1000:.2f} s in statements (median {tally['median_ms']:.1f} ms)")
    out.append("")
    return "\n".join(out) + "\n" + text_render(run, color=color, show_statements=False)
