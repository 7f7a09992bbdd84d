"""The pull-request comment (and job summary) in GitHub-flavoured Markdown.

This module prepares the data; ``templates/comment.md.j2`` lays it out.
Everything taken from a migration (SQL, paths, identifiers inside messages)
goes through :func:`inert` or :func:`code`, so that it cannot change the
structure of the comment (tables, ``<details>``, HTML comments, code spans)
or notify anybody (``@mentions``, ``#123`` references).

The comment must stay under GitHub's 65,536-character limit. It degrades in
steps until it fits: ``full`` (every statement, every finding with its help)
→ ``compact`` (only the risky statements, help shortened) → ``summary`` (one
block per migration, findings without help, no statement tables) → ``list``
(one line per migration, as many as fit, and a note saying how many were
left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from markupsafe import Markup

from migration_lint import __version__
from migration_lint.model import FileReport, Finding, Risk, RunReport, Severity, StatementReport
from migration_lint.report.sanitize import one_line, terminal, utf8
from migration_lint.report.words import impact
from migration_lint.rules.base import CHECKLIST_ITEMS

MARKER = "<!-- migration-lint:comment -->"
GITHUB_LIMIT = 65_536  # characters in an issue comment body
BUDGET = GITHUB_LIMIT - 1_536  # a margin for characters GitHub may count differently
LEVELS = ("full", "compact", "summary", "list")

SQL_EXCERPT = 80
PATH_LIMIT = 240
TEXT_LIMIT = 1_200
COMPACT_TEXT_LIMIT = 300
COMPACT_STATEMENTS = 25
SUMMARY_FINDINGS = 10
QUIET_NAMES = 40

_RISK_ICON = {Risk.HIGH: "🔴", Risk.MEDIUM: "🟠", Risk.LOW: "🟢"}
_SEVERITY_ICON = {Severity.ERROR: "🛑", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}

# -- the sanitiser -----------------------------------------------------------------------------------
# Every character that can open or close Markdown or HTML structure becomes a named entity: it still
# reads the same, but it is text. `@` and `#` get a zero-width joiner after them, which breaks
# @mentions and #123 / GH-123 references (GitHub matches them on the rendered text, where entities are
# already decoded, so an entity alone would not be enough). No entity has `#` followed by digits.
# `"`, `'`, `(`, `)` and `:` stay: nothing from a migration is put in an attribute or a link, and a
# link cannot open without `[`.
_ENTITIES = {ord(ch): f"&{name};" for ch, name in {
    "&": "amp", "<": "lt", ">": "gt", "`": "grave", "*": "ast", "_": "lowbar", "[": "lsqb", "]": "rsqb",
    "|": "vert", "\\": "bsol", "$": "dollar", "~": "#x7E",
}.items()}
# Inside <code> GitHub links no mention and no reference, and a zero-width character there would be
# copied with the code (Prisma rejects `@@index` with one, error P1012): `@` and `#` are plain entities.
_CODE_ENTITIES = dict(_ENTITIES)
_CODE_ENTITIES[ord("@")] = "&commat;"
_CODE_ENTITIES[ord("#")] = "&num;"
_ENTITIES[ord("@")] = "@&zwj;"
_ENTITIES[ord("#")] = "#&zwj;"
_GH_REFERENCE = re.compile(r"\b(gh)-(?=\d)", re.I)
_CODE_SPAN = re.compile(r"`([^`]+)`")
_BLANK_LINES = re.compile(r"\n{3,}")


def _escape(text: str) -> str:
    text = terminal(utf8(text)).replace("\n", " ").replace("\t", " ")
    text = _GH_REFERENCE.sub(lambda m: m.group(1) + "\u2060-", text)
    return text.translate(_ENTITIES).replace("\u2060", "&zwj;")


def _escape_code(text: str) -> str:
    """`_escape` for the content of <code>: the same entities, but no zero-width character."""
    text = terminal(utf8(text)).replace("\n", " ").replace("\t", " ").translate(_CODE_ENTITIES)
    return _GH_REFERENCE.sub(lambda m: m.group(1) + "&#x2D;", text)


def inert(text: str, limit: int = TEXT_LIMIT) -> Markup:
    """Text from a migration as inert Markdown: one line, no structure, no mentions, no references.

    Every character that could open or close Markdown or HTML (`<`, `>`, `&`, backticks, `*`, `_`,
    `[`, `]`, `|`, `\\`, `~`, `$`) becomes a named entity, `@` and `#` are followed by a zero-width
    joiner, control characters and bidi overrides are shown escaped, white space runs become one
    space, and the text is cut at `limit` characters (before escaping) with an ellipsis.
    """
    return Markup(_escape(one_line(str(text), limit)))


def code(text: str, limit: int = SQL_EXCERPT) -> Markup:
    """Inline code whose content cannot end the code span: ``<code>`` with escaped content."""
    return Markup("<code>") + Markup(_escape_code(one_line(str(text), limit))) + Markup("</code>")


def rich(text: str, limit: int = TEXT_LIMIT) -> Markup:
    """A rule's message or help: its `code spans` become <code>, everything else is inert text.

    Identifiers inside the message come from the migration; a backtick inside one can only shift
    which parts look like code, never let anything out (every part is escaped).
    """
    text = one_line(str(text), limit)
    if limit and text.endswith("…") and text.count("`") % 2:
        head, _, tail = text.rpartition("`")  # a code span cut in the middle: keep it closed
        text = head + "`" + tail[:-1] + "`…"
    out = Markup("")
    position = 0
    for match in _CODE_SPAN.finditer(text):
        out += Markup(_escape(text[position:match.start()]))
        out += Markup("<code>") + Markup(_escape_code(match.group(1))) + Markup("</code>")
        position = match.end()
    out += Markup(_escape(text[position:]))
    return out


def safe_url(url: str) -> str:
    """An http(s) URL that cannot break out of a Markdown link ("" if it is not one)."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return quote(url, safe=":/?#&=%+,;~.-_@!$*'")


# -- the data the template shows -------------------------------------------------------------------
@dataclass
class StatementView:
    line: int
    sql: Markup
    lock: Markup
    work: str
    estimate: Markup
    risk: str
    icon: str
    reason: Markup


@dataclass
class FindingView:
    severity: str
    icon: str
    rule: str
    url: str
    line: int
    message: Markup
    help: Markup


@dataclass
class FileView:
    path: Markup
    risk: str
    icon: str
    reason: Markup
    quiet: bool
    change: str
    counts: dict[str, int]
    rules: list[Markup] = field(default_factory=list)
    statements: list[StatementView] = field(default_factory=list)
    hidden_statements: int = 0
    low_statements: int = 0
    findings: list[FindingView] = field(default_factory=list)
    hidden_findings: int = 0


def lock_words(mode: str) -> str:
    """`AccessExclusiveLock` → `ACCESS EXCLUSIVE`."""
    name = mode[:-4] if mode.endswith("Lock") else mode
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).upper()


def _blocks(item: StatementReport) -> str:
    return impact(item)


def _statement_view(item: StatementReport) -> StatementView:
    stmt = item.statement
    locks = Markup(", ").join(Markup(lock_words(lock.mode)) + Markup(" on ") + code(lock.relation, 63) for lock in item.locks)
    blocks = inert(_blocks(item), 300)
    lock = (locks + Markup(": ") + blocks) if item.locks and item.known else blocks
    work = ", ".join(w for w, on in (("rewrite", item.rewrites), ("scan", item.scans)) if on) or "—"
    estimate = inert(item.estimate.get("text", ""), 120) if isinstance(item.estimate, dict) else Markup("")
    reason = inert(item.risk_reason, 200) if item.risk is not Risk.LOW else Markup("")
    return StatementView(stmt.line, code(stmt.sql), lock, work, estimate, item.risk.value, _RISK_ICON[item.risk], reason)


def _finding_view(finding: Finding, text_limit: int, with_help: bool) -> FindingView:
    return FindingView(
        severity=finding.severity.value,
        icon=_SEVERITY_ICON[finding.severity],
        rule=inert(finding.rule, 80),
        url=safe_url(finding.url),
        line=finding.line,
        message=rich(finding.message, text_limit),
        help=rich(finding.help, text_limit) if with_help and finding.help else Markup(""),
    )


def _counts(report: FileReport) -> dict[str, int]:
    counts = {"error": 0, "warning": 0, "info": 0}
    for finding in report.findings:
        counts[finding.severity.value] += 1
    return counts


def is_quiet(report: FileReport) -> bool:
    """Nothing to say: no finding and no statement above LOW."""
    return not report.findings and report.risk is Risk.LOW


def file_view(report: FileReport, level: str) -> FileView:
    view = FileView(
        path=code(report.file.display, PATH_LIMIT),
        risk=report.risk.value,
        icon=_RISK_ICON[report.risk],
        reason=rich(report.risk_reason, 300),
        quiet=is_quiet(report),
        change=report.file.change or "",
        counts=_counts(report),
        rules=[inert(rule, 80) for rule in sorted({f.rule for f in report.findings})],
    )
    if level == "full":
        view.statements = [_statement_view(s) for s in report.statements]
        view.findings = [_finding_view(f, TEXT_LIMIT, True) for f in report.findings]
    elif level == "compact":
        risky = [s for s in report.statements if s.risk is not Risk.LOW]
        view.low_statements = len(report.statements) - len(risky)
        view.statements = [_statement_view(s) for s in risky[:COMPACT_STATEMENTS]]
        view.hidden_statements = max(0, len(risky) - COMPACT_STATEMENTS)
        view.findings = [_finding_view(f, COMPACT_TEXT_LIMIT, True) for f in report.findings]
    elif level == "summary":
        view.findings = [_finding_view(f, COMPACT_TEXT_LIMIT, False) for f in report.findings[:SUMMARY_FINDINGS]]
        view.hidden_findings = max(0, len(report.findings) - SUMMARY_FINDINGS)
    return view


@dataclass
class TraceView:
    """One traced migration in the comment's trace section (``migration-lint review --trace``)."""

    path: Markup
    counts: dict[str, int]
    time: str
    events: list[Markup] = field(default_factory=list)  # failures and mismatches, one line each


TRACE_EVENTS = 20  # failure and mismatch lines in the trace section at most


def trace_views(run: RunReport, level: str) -> tuple[list[TraceView], int]:
    """The traced migrations (none without a trace), and how many event lines were left out."""
    from migration_lint.facts.observed import STATUSES, statement_traces

    views: list[TraceView] = []
    budget = TRACE_EVENTS if level in ("full", "compact") else 0
    hidden = 0
    for report in run.files:
        if report.file.trace is None:
            continue
        items = statement_traces(report)
        counts = {status: 0 for status in STATUSES}
        total = 0.0
        events: list[Markup] = []
        for item in items:
            counts[item.comparison.status] += 1
            total += float(item.entry.get("duration_ms") or 0.0)
            line = item.report.statement.line
            error = item.entry.get("error")
            if error:
                predicted = error.get("predicted_by")
                tail = (Markup(", as ") + inert(predicted, 80) + Markup(" predicted")) if predicted else Markup(
                    ", and no check predicted it")
                events.append(Markup(f"🛑 line {line}: fails with SQLSTATE ") + inert(error.get("sqlstate") or "?", 10)
                              + Markup(": ") + inert(error.get("message") or "", 200) + tail)
            elif item.comparison.status == "mismatch":
                events.append(Markup(f"⚠️ line {line}: ") + inert(item.comparison.describe(), 300))
        shown = events[:budget]
        hidden += len(events) - len(shown)
        budget -= len(shown)
        views.append(TraceView(code(report.file.display, PATH_LIMIT), counts,
                               f"{total:.0f} ms" if total >= 10 else f"{total:.1f} ms", shown))
    return views, hidden


def checklist(run: RunReport, registry: dict | None = None) -> list[str]:
    """Checklist items the rules that fired ask for (their `checklist`), each once, in CHECKLIST_ITEMS' order."""
    if registry is None:
        from migration_lint.rules.registry import all_rules

        registry = all_rules()
    fired = {f.rule for r in run.files for f in r.findings}
    keys = {key for rule_id in fired if rule_id in registry for key in registry[rule_id].checklist}
    return [text for key, text in CHECKLIST_ITEMS.items() if key in keys]


def rule_links(run: RunReport) -> list[tuple[Markup, str]]:
    seen: dict[str, str] = {}
    for report in run.files:
        for finding in report.findings:
            if finding.rule not in seen:
                seen[finding.rule] = safe_url(finding.url)
    return [(inert(rule, 80), url) for rule, url in sorted(seen.items())]


def _headline(run: RunReport) -> tuple[Markup, Markup]:
    """The overall risk's reason and the migration it comes from."""
    for report in run.files:
        if report.risk is run.risk:
            return rich(report.risk_reason, 300), code(report.file.display, PATH_LIMIT)
    return Markup("nothing was checked"), Markup("")


def is_clean(run: RunReport) -> bool:
    return all(is_quiet(r) for r in run.files)


# -- rendering -------------------------------------------------------------------------------------
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("migration_lint.report", "templates"),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=True,  # anything not prepared here is HTML-escaped, never raw
    )


@dataclass
class Rendered:
    body: str
    level: str  # full, compact, summary, list or clean


def _render(run: RunReport, level: str, *, marker: bool, scope: str, details_url: str, shown: int | None = None,
            trace_note: str = "") -> str:
    counts = run.counts()
    quiet = [r for r in run.files if is_quiet(r)]
    loud = [r for r in run.files if not is_quiet(r)]
    files = [file_view(r, level) for r in (run.files if level in ("full",) else loud)]
    omitted = 0
    if level == "list":
        shown = len(loud) if shown is None else shown
        omitted = len(loud) - shown
        files = files[:shown]
    reason, where = _headline(run)
    estimates = any(isinstance(s.estimate, dict) for r in run.files for s in r.statements)
    traces, hidden_events = trace_views(run, level)
    template = _environment().get_template("comment.md.j2")
    body = template.render(
        marker=Markup(MARKER) if marker else "",
        level=level,
        clean=is_clean(run),
        risk=run.risk.value,
        risk_icon=_RISK_ICON[run.risk],
        reason=reason,
        where=where,
        files=files,
        total=len(run.files),
        quiet=[code(r.file.display, PATH_LIMIT) for r in quiet[:QUIET_NAMES]],
        quiet_count=len(quiet),
        hidden_quiet=max(0, len(quiet) - QUIET_NAMES),
        omitted=omitted,
        counts=counts,
        estimates=estimates,
        checklist=[Markup(rich(item, 0)) for item in checklist(run)],
        rules=rule_links(run),
        scope=inert(scope, 200) if scope else "",
        details_url=safe_url(details_url),
        version=__version__,
        traces=traces,
        trace_note=inert(trace_note, 300) if trace_note else "",
        hidden_trace_events=hidden_events,
    )
    return _BLANK_LINES.sub("\n\n", body).lstrip("\n")


def render_comment(run: RunReport, *, budget: int = BUDGET, start: str = "full", marker: bool = True,
                   scope: str = "", details_url: str = "", trace_note: str = "") -> Rendered:
    """The comment body at the most detailed level (from `start` down) that fits in `budget` characters.

    `scope` says which migrations were checked (e.g. "changed since main (abc1234)"); `details_url`
    links to where the full report is (the workflow run's job summary). Migrations that carry a trace
    (``review --trace``) get a trace section; `trace_note` says where and how they were traced.
    """
    extra: dict[str, Any] = {"trace_note": trace_note}
    if is_clean(run):
        return Rendered(_render(run, "clean", marker=marker, scope=scope, details_url=details_url, **extra), "clean")
    levels = LEVELS[LEVELS.index(start):] if start in LEVELS else LEVELS
    for level in levels[:-1]:
        body = _render(run, level, marker=marker, scope=scope, details_url=details_url, **extra)
        if len(body) <= budget:
            return Rendered(body, level)
    # the list: as many migrations as fit (binary search on the number shown)
    loud = sum(1 for r in run.files if not is_quiet(r))
    low, high = 0, loud
    best = _render(run, "list", marker=marker, scope=scope, details_url=details_url, shown=0, **extra)
    while low <= high:
        middle = (low + high) // 2
        body = _render(run, "list", marker=marker, scope=scope, details_url=details_url, shown=middle, **extra)
        if len(body) <= budget:
            best, low = body, middle + 1
        else:
            high = middle - 1
    if len(best) > budget:  # cannot happen with the caps above; never fail because of size
        note = "\n\n… (cut: the report is too long for a comment)\n"
        best = best[: budget - len(note)] + note
    return Rendered(best, "list")


def render(run: RunReport, **options: Any) -> str:
    """The Markdown report (no marker), e.g. for the job summary."""
    options.setdefault("marker", False)
    return render_comment(run, **options).body
