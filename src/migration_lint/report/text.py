"""The terminal report: ``path:line:col severity rule-id message`` then the help and the fix, if any: ``[*]``
for one `--fix` applies, ``[~]`` for one only `--fix --unsafe-fixes` applies (it needs a review).

At the end, the number of findings per rule (when there are any) and the one-line summary. `quiet`
keeps only the finding lines and the summary line (long histories: what needs attention, nothing else).
"""

from __future__ import annotations

from migration_lint.model import Risk, RunReport, Severity
from migration_lint.report.sanitize import one_line, terminal_line
from migration_lint.report.words import impact

_COLORS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36",
           Risk.HIGH: "31", Risk.MEDIUM: "33", Risk.LOW: "32"}


def _paint(text: str, key, color: bool) -> str:
    return f"\x1b[{_COLORS[key]}m{text}\x1b[0m" if color else text


def render(run: RunReport, *, color: bool = False, show_statements: bool = True, quiet: bool = False) -> str:
    out: list[str] = []
    per_rule: dict[str, dict[Severity, int]] = {}
    for report in run.files:
        path = terminal_line(report.file.display)
        for finding in report.findings:
            severity = _paint(finding.severity.value, finding.severity, color)
            out.append(f"{path}:{finding.line}:{finding.column}: {severity} {finding.rule} {terminal_line(finding.message)}")
            counts_of = per_rule.setdefault(finding.rule, {})
            counts_of[finding.severity] = counts_of.get(finding.severity, 0) + 1
            if finding.help and not quiet:
                out.append(f"    help: {terminal_line(finding.help)}")
            if finding.fix is not None and not quiet:
                mark = "[*] --fix" if finding.fix.safe else "[~] --fix --unsafe-fixes"
                out.append(f"    fix ({mark}): {terminal_line(finding.fix.title)}")
        if quiet:
            continue
        if show_statements:
            for item in report.statements:
                if item.risk is Risk.LOW:
                    continue
                stmt = item.statement
                locks = ", ".join(f"{lock.mode} on {lock.relation}" for lock in item.locks) if item.known else ""
                risk = _paint(item.risk.value, item.risk, color)
                estimate = item.estimate.get("text", "") if isinstance(item.estimate, dict) else ""
                detail = "; ".join(filter(None, [terminal_line(locks), terminal_line(impact(item)), terminal_line(estimate)]))
                out.append(f"{path}:{stmt.line}:{stmt.column}: risk {risk} {terminal_line(one_line(stmt.sql, 60))} — {detail}")
        if report.findings or any(s.risk is not Risk.LOW for s in report.statements):
            out.append(f"{path}: migration risk {_paint(report.risk.value, report.risk, color)} ({terminal_line(report.risk_reason)})")
            out.append("")
    if per_rule and not quiet:
        out.extend(_per_rule(per_rule))
    counts = run.counts()
    total = sum(counts.values())
    summary = (f"{len(run.files)} file{'s' if len(run.files) != 1 else ''} checked, "
               f"{counts['error']} error{'s' if counts['error'] != 1 else ''}, "
               f"{counts['warning']} warning{'s' if counts['warning'] != 1 else ''}, {counts['info']} info; "
               f"overall risk {_paint(run.risk.value, run.risk, color)}")
    if total == 0 and run.risk is Risk.LOW:
        summary = f"{len(run.files)} file{'s' if len(run.files) != 1 else ''} checked, no findings; overall risk {_paint(run.risk.value, run.risk, color)}"
    out.append(summary)
    safe = sum(1 for r in run.files for f in r.findings if f.fix is not None and f.fix.safe)
    unsafe = sum(1 for r in run.files for f in r.findings if f.fix is not None and not f.fix.safe)
    if (safe or unsafe) and not quiet:
        parts = [f"[*] {safe} fixable with --fix"] if safe else []
        if unsafe:
            parts.append(f"[~] {unsafe} more with --fix --unsafe-fixes (they move statements or change "
                         "transactions: review them)")
        out.append("; ".join(parts))
    return "\n".join(out) + "\n"


def _per_rule(per_rule: dict[str, dict[Severity, int]]) -> list[str]:
    """``findings per rule:`` then one line per rule, the most frequent first: count, id, severities."""
    rows = sorted(per_rule.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    width = max(len(rule) for rule in per_rule)
    lines = ["findings per rule:"]
    for rule, by_severity in rows:
        kinds = ", ".join(f"{n} {s.value}" for s, n in sorted(by_severity.items(), key=lambda i: -i[0].rank))
        lines.append(f"  {sum(by_severity.values()):>5}  {rule:<{width}}  ({kinds})")
    lines.append("")
    return lines
