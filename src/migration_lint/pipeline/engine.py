"""The lint pipeline: files → statements → facts → rules → findings → risk.

`Linter.run(files)` lints migrations in order. Migrations of one directory
share one schema model that is replayed statement by statement, so every
migration is judged knowing what the earlier ones created; earlier
migrations of the directory that are not being linted are replayed first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from migration_lint.config import Config, effective_severity, rule_options
from migration_lint.facts.context import Context, Timeouts, Transaction, implicit_transaction
from migration_lint.facts.locks import Model, Settings
from migration_lint.facts.schema import Schema
from migration_lint.ingest.source import decode
from migration_lint.model import FileReport, Finding, Lock, MigrationFile, Risk, RunReport, Severity, StatementReport
from migration_lint.risk.levels import file_risk, statement_risk
from migration_lint.rules.base import Rule
from migration_lint.syntax import ast
from migration_lint.syntax.directives import Directives, collect
from migration_lint.syntax.parse import Parsed, parse

# The parse tree of a file takes about 400 times its size in memory: beyond this, a file is reported, not
# parsed (the largest migration of the shared corpus is 33 kB; a schema dump of several MB is not a migration).
MAX_FILE_BYTES = 8 * 1024 * 1024

# Statements that can hold other statements (data-modifying WITH is caught by its withClause).
_EMBEDS_STATEMENTS = frozenset({"SelectStmt", "ExplainStmt", "PrepareStmt", "CreateTableAsStmt", "CopyStmt", "RuleStmt"})

# Where a nested node type can occur: statements are only walked when they can hold a wanted node.
# A nested target missing here makes every statement walked (always correct, only slower).
_CONTAINERS = {
    "ColumnDef": {"CreateStmt", "AlterTableStmt", "CompositeTypeStmt", "CreateForeignTableStmt", "ViewStmt",
                  "CreateTableAsStmt"},
    "Constraint": {"CreateStmt", "AlterTableStmt", "CreateForeignTableStmt", "CreateDomainStmt", "AlterDomainStmt"},
}


@dataclass
class Step:
    index: int | None  # position in the files being linted; None: an earlier migration, only replayed
    file: MigrationFile


@dataclass
class Unit:
    """The files of one directory, linted and replayed in order on one schema model."""

    key: Path | None
    steps: list[Step] = field(default_factory=list)
    schema: bytes | None = None  # the schema model to start from (pickled, from the cache), else empty
    save_as: bytes | None = None  # when set, keep the schema model after the last step in `final` (pickled)
    final: bytes | None = None


def file_identity(file: MigrationFile) -> tuple:
    """The same file whatever path names it (a symbolic link, `./a` and `a`)."""
    if file.path is None:
        return ("text", id(file))
    try:
        st = file.path.stat()
        return (st.st_dev, st.st_ino)
    except OSError:
        return ("path", str(file.path))


def drop_trees(reports: Iterable[FileReport]) -> None:
    """Forget the parse trees of finished reports (reporters never read them)."""
    for report in reports:
        for item in report.statements:
            item.statement.node = {}
            item.statement.__dict__.pop("_secrets", None)


@dataclass
class Loaded:
    parsed: Parsed | None
    error: Finding | None = None


@dataclass
class RuleSet:
    rules: list[Rule]
    by_target: dict[str, list[Rule]] = field(default_factory=dict)
    migration_rules: list[Rule] = field(default_factory=list)
    severities: dict[str, Severity] = field(default_factory=dict)
    known_ids: set[str] = field(default_factory=set)


def build_ruleset(config: Config, registry: dict[str, type[Rule]]) -> RuleSet:
    selected = config.select
    chosen: list[Rule] = []
    for rule_id, cls in registry.items():
        if selected is not None and "ALL" not in selected and rule_id not in selected:
            continue
        if selected is None and not cls.enabled_by_default:
            continue
        if rule_id in config.ignore:
            continue
        chosen.append(cls(rule_options(config, cls)))
    ruleset = RuleSet(chosen, known_ids=set(registry))
    for rule in chosen:
        ruleset.severities[rule.id] = effective_severity(config, rule)
        for target in rule.targets:
            if target == "Migration":
                ruleset.migration_rules.append(rule)
            else:
                ruleset.by_target.setdefault(target, []).append(rule)
    return ruleset


def _apply_placeholders(text: str, placeholders: dict[str, str]) -> tuple[str, list[tuple[int, int, int, int]]]:
    """Substitute placeholders (`schema` means `${schema}`; a key with `$ { } :` is used as written).

    Returns the new text and the edits that map its offsets back to the file's.
    """
    import re

    if not placeholders:
        return text, []
    tokens = {(key if any(ch in key for ch in "${}:") else "${" + key + "}"): value for key, value in placeholders.items()}
    pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
    out: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    last = shift = 0
    for match in pattern.finditer(text):
        value = tokens[match.group()]
        out.append(text[last:match.start()])
        out.append(value)
        edits.append((match.start() + shift, len(value), match.start(), len(match.group())))
        shift += len(value) - len(match.group())
        last = match.end()
    out.append(text[last:])
    return "".join(out), edits


class Linter:
    def __init__(self, config: Config, registry: dict[str, type[Rule]], stats=None,
                 new_paths: set[Path] | None = None) -> None:
        self.config = config
        # migrations not deployed anywhere yet (--new, or added in the pull request): their tables are empty
        self.new_paths = {p.resolve() for p in new_paths or ()}
        self.stats = stats  # estimate.Stats: table sizes make the risk size-aware
        self.registry = registry
        self.ruleset = build_ruleset(config, registry)
        self.docs_base = config.docs_url
        self._urls: dict[str, str] = {}
        # node types some rule wants below the top of a statement, and the statements that can hold them
        top = {t for t in self.ruleset.by_target if t.endswith("Stmt")}
        nested = set(self.ruleset.by_target) - top
        self._walk_always = any(t not in _CONTAINERS for t in nested)
        self._walk_in = set().union(*(_CONTAINERS[t] for t in nested if t in _CONTAINERS)) if nested else set()
        self._nested_statements = bool(top)

    # -- loading -----------------------------------------------------------
    def load(self, file: MigrationFile) -> Loaded:
        text = file.text
        if text is None and file.data is not None:  # bytes read from stdin
            text, decode_error = decode(file.data)
            if decode_error:
                return self._decode_failure(text, decode_error)
        elif text is None:
            try:
                size = file.path.stat().st_size if file.path else 0
                if size > MAX_FILE_BYTES:
                    return Loaded(None, self._meta("parse-error", f"file is too large to lint ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})"))
                data = file.path.read_bytes() if file.path else b""
            except OSError as exc:
                return Loaded(None, self._meta("parse-error", f"cannot read file: {exc.strerror or exc}"))
            text, decode_error = decode(data)
            if decode_error:
                return self._decode_failure(text, decode_error)
        if len(text) > MAX_FILE_BYTES:
            return Loaded(None, self._meta("parse-error", f"file is too large to lint ({len(text):,} characters; the limit is {MAX_FILE_BYTES:,} bytes)"))
        source = None
        if file.framework == "dbmate":
            text = _dbmate_up_section(text)
        if self.config.placeholders:
            from migration_lint.ingest.source import MappedSource

            original = text
            text, edits = _apply_placeholders(text, self.config.placeholders)
            if edits:
                source = MappedSource(text, original, edits)
        parsed = parse(text, source=source)
        if parsed.failure is not None:
            from migration_lint.facts.secrets import redact_text

            failure = parsed.failure
            # the parser quotes the SQL near the error: never a secret
            message = redact_text(failure.message)
            return Loaded(parsed, self._meta("parse-error", message, failure.line, failure.column, help=failure.hint))
        return Loaded(parsed)

    def _decode_failure(self, text: str, decode_error: str) -> Loaded:
        from migration_lint.ingest.source import Source

        pos = Source(text).position(max(0, text.find("\ufffd")))
        return Loaded(None, self._meta("parse-error", f"cannot be decoded as UTF-8: {decode_error}", pos.line, pos.column,
                                       help="Save the file as UTF-8; PostgreSQL migration tools read migrations as UTF-8."))

    def _meta(self, rule_id: str, message: str, line: int = 1, column: int = 1, help: str = "") -> Finding:
        rule = self.registry.get(rule_id)
        severity = self.ruleset.severities.get(rule_id, rule.severity if rule else Severity.ERROR)
        return Finding(rule_id, severity, line, column, line, column + 1, message, help,
                       self._url(rule_id), None, rule.risk if rule else None)

    def _url(self, rule_id: str) -> str:
        url = self._urls.get(rule_id)
        if url is None:
            rule = self.registry.get(rule_id)
            if rule is None:
                url = ""
            elif self.docs_base:
                url = self.docs_base.rstrip("/") + f"/{rule_id}.md"
            else:
                url = rule.url()
            self._urls[rule_id] = url
        return url

    # -- running -----------------------------------------------------------
    def run(self, files: list[MigrationFile], *, history: bool = True, jobs: int | None = 1,
            walked: Iterable[Path] = (), keep_trees: bool = True, cache=None) -> RunReport:
        """Lint `files` (reports in the same order). Files of one directory share a schema model, fed in
        order by the files linted and by the directory's other migrations (replayed, each exactly once).

        `jobs`: processes to use (None: one per CPU when the run is large enough to gain from it). The
        report is the same whatever `jobs` is; parallel runs drop the parse trees (`Statement.node`) from
        the reports they return, and so does any run with `keep_trees=False` (memory: the trees are
        most of it, and reporters never read them). `walked`: directories whose every migration is in
        `files` (discovery searched them whole), so their history needs no second search. `cache`
        (a `cache.Cache`): reports found there are not linted again (they come without trees too).
        """
        units = self.plan(files, history=history, walked=walked)
        from migration_lint.pipeline import parallel

        done: dict[int, FileReport] = {}
        todo = units
        if cache is not None:
            found, todo = cache.lookup(files, units)
            done.update(found)
        workers = parallel.workers(jobs, todo)
        pickled: dict[int, bytes] = {}
        if workers > 1:
            todo = parallel.split(todo, workers, self)
            done.update(parallel.run_units(self, files, todo, workers, pickled if cache is not None else None))
        else:
            for unit in todo:
                reports = self.run_unit(files, unit)
                if not keep_trees or cache is not None:
                    drop_trees(reports.values())
                done.update(reports)
        if cache is not None:
            cache.store(units, done, todo, pickled)
        return RunReport([done[i] for i in range(len(files))])

    def plan(self, files: list[MigrationFile], *, history: bool = True, walked: Iterable[Path] = ()) -> list["Unit"]:
        """One unit of work per directory: its files to lint, each after the directory's earlier
        migrations that are not linted (replayed into the schema model)."""
        units: dict[Path | None, Unit] = {}
        groups: dict[Path, Path] = {}
        for index, file in enumerate(files):
            key = None
            if file.group is not None:
                key = groups.get(file.group)
                if key is None:
                    try:
                        key = groups[file.group] = file.group.resolve()
                    except (OSError, RuntimeError):
                        key = groups[file.group] = file.group.absolute()
            unit = units.get(key)
            if unit is None:
                unit = units[key] = Unit(key)
            unit.steps.append(Step(index, file))
        if history:
            # excluded files are not linted but still made the schema: then the directory is searched again
            complete = tuple(walked) if not self.config.exclude else ()
            for unit in units.values():
                if unit.key is not None and not any(unit.key == root or root in unit.key.parents for root in complete):
                    self._add_history(unit)
        return list(units.values())

    def _add_history(self, unit: "Unit") -> None:
        """Put the directory's migrations that are not linted before the linted ones they precede."""
        from migration_lint.ingest.discover import _sort_key, discover

        linted = [step for step in unit.steps if step.file.path is not None]
        if not linted:
            return
        assert unit.key is not None
        keys = {file_identity(step.file) for step in linted}
        orders = {id(step): _sort_key(step.file) for step in linted}
        last = max(orders.values())
        earlier = []
        for other in discover([str(unit.key)], framework=None).files:
            if other.path is None or other.direction != "up":
                continue
            order = _sort_key(other)
            if order < last and file_identity(other) not in keys:
                earlier.append((order, other))
        if not earlier:
            return
        earlier.sort(key=lambda pair: pair[0])
        steps: list[Step] = []
        position = 0
        for step in unit.steps:
            order = orders.get(id(step))
            if order is not None:
                while position < len(earlier) and earlier[position][0] < order:
                    steps.append(Step(None, earlier[position][1]))
                    position += 1
            steps.append(step)
        unit.steps = steps

    def run_unit(self, files: list[MigrationFile], unit: "Unit") -> dict[int, FileReport]:
        """Lint the files of one unit in order (replaying the others); reports by their index in `files`."""
        schema = Schema()
        if unit.schema is not None:
            import pickle

            try:
                schema = pickle.loads(unit.schema)
            except Exception:  # noqa: BLE001 - a damaged snapshot: start empty, as without a cache
                schema = Schema()
            if not isinstance(schema, Schema):
                schema = Schema()
        undeployed: set[str] = set()
        reports: dict[int, FileReport] = {}
        for step in unit.steps:
            file = step.file
            if step.index is None:
                self._replay(file, schema)
                continue
            try:
                reports[step.index] = self.lint_file(file, schema, new_tables=undeployed, is_new=self.is_new(file))
            except (Exception, RecursionError) as exc:  # a bug must cost one file's report, not the run
                failed = FileReport(file=file, risk=Risk.HIGH, error=f"internal error: {type(exc).__name__}")
                failed.risk_reason = "the file could not be analysed (internal error)"
                failed.findings.append(self._meta(
                    "parse-error", f"cannot be analysed: internal error {type(exc).__name__}: {exc}"[:300]))
                reports[step.index] = failed
        if unit.save_as is not None:
            import pickle

            try:
                unit.final = pickle.dumps(schema, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - not storable: the next run replays
                unit.final = None
        return reports

    def is_new(self, file: MigrationFile) -> bool:
        """Not deployed anywhere yet: added in this pull request, or named with --new."""
        if getattr(file, "change", None) == "added":
            return True
        return bool(self.new_paths) and file.path is not None and file.path.resolve() in self.new_paths

    def _replay(self, other: MigrationFile, schema: Schema) -> None:
        """Apply a migration that is not linted to the schema model."""
        try:
            loaded = self.load(other)
            if loaded.parsed is None or loaded.error is not None:
                return
            for stmt in loaded.parsed.statements:
                schema.apply(stmt.node_type, stmt.node, other.display)
        except (Exception, RecursionError):  # history is best effort: a file that cannot be read adds nothing
            return

    def lint_file(self, file: MigrationFile, schema: Schema | None = None, *, new_tables: set[str] | None = None,
                  is_new: bool = False) -> FileReport:
        """Lint one migration. `new_tables`: tables created by earlier undeployed migrations (they are
        empty); when `is_new`, this migration's own tables are added to it for the ones that follow."""
        schema = schema if schema is not None else Schema()
        report = FileReport(file=file)
        loaded = self.load(file)
        if loaded.error is not None:
            if loaded.error.rule in self.ruleset.severities:
                report.findings.append(loaded.error)
            report.error = loaded.error.message
            report.risk, report.risk_reason = Risk.HIGH, "the file cannot be analysed: " + loaded.error.message
            return report
        parsed = loaded.parsed
        assert parsed is not None
        statements = parsed.statements
        directives = collect(parsed.comments, statements)
        ctx = Context(file, parsed.source, statements, self.config, schema, directives)
        if new_tables:
            ctx.new_tables = set(new_tables)
        created = self._facts(ctx)
        if is_new and new_tables is not None:
            new_tables |= created

        severities = self.ruleset.severities
        by_target = self.ruleset.by_target
        findings: list[Finding] = []
        migration = file.display
        model = Model(Settings(pg_version=self.config.pg_version, timezone_utc=self.config.timezone_utc), schema)
        for stmt in statements:
            ctx.index = stmt.index
            # the lock model sees the schema as it stands before the statement
            ctx.effects.append(model.effect(stmt.node_type, stmt.node))
            rules = by_target.get(stmt.node_type)
            if rules:
                self._dispatch(rules, stmt.node, ctx, findings, severities)
            if (self._walk_always or stmt.node_type in self._walk_in
                    or (self._nested_statements and (stmt.node_type in _EMBEDS_STATEMENTS or "withClause" in stmt.node))):
                for node_type, node in ast.walk(stmt.node):
                    nested = by_target.get(node_type)
                    if nested:
                        self._dispatch(nested, node, ctx, findings, severities)
            schema.apply(stmt.node_type, stmt.node, migration)
        ctx.index = 0
        for rule in self.ruleset.migration_rules:
            ctx._rule, ctx._severity, ctx._url = rule, severities[rule.id], self._url(rule.id)
            try:
                findings.extend(rule.check_migration(ctx))
            except Exception as exc:  # a broken rule must not hide the other findings
                findings.append(self._meta("parse-error", f"internal error in rule {rule.id}: {type(exc).__name__}: {exc}"))

        findings.extend(self._apply_suppressions(directives, findings))
        from migration_lint.facts.secrets import scrub

        scrub(statements, findings)  # no report shows a recognised secret, whichever rules ran
        for finding in findings:  # one line each: identifiers and literals can hold line breaks
            if not finding.message.isprintable():
                finding.message = _printable(finding.message)
        selected = self.ruleset.severities
        report.findings = sorted(
            (f for f in findings if not f.suppressed and (f.rule in selected or f.rule not in self.registry)),
            key=Finding.sort_key,
        )

        per_statement: dict[int, list[Finding]] = {}
        for finding in findings:
            if finding.statement is not None:
                per_statement.setdefault(finding.statement, []).append(finding)
        risks = []
        for stmt in statements:
            effect = ctx.effects[stmt.index]
            targets = [t for t in effect.targets]
            on_new = bool(targets) and all(ctx.created_here[stmt.index].__contains__(t) or t in ctx.new_tables for t in targets)
            stmt_findings = per_statement.get(stmt.index, [])
            risk, reason = statement_risk(stmt, effect, stmt_findings, on_new)
            estimate = None
            if self.stats is not None and not on_new:
                from migration_lint.risk.estimate import estimate as estimate_duration
                from migration_lint.risk.estimate import sized_risk

                estimate = estimate_duration(stmt, effect, self.stats)
                decided_by_finding = any(f.risk is Risk.HIGH and not f.suppressed for f in stmt_findings)
                if estimate is not None and not decided_by_finding:
                    sized = sized_risk(effect, estimate, risk)
                    if sized is not None:
                        risk, reason = sized
            risks.append((risk, reason))
            report.statements.append(
                StatementReport(
                    statement=stmt,
                    locks=[_lock(l) for l in effect.locks],
                    blocks=effect.blocked(),
                    rewrites=effect.rewrites,
                    scans=effect.scans,
                    risk=risk,
                    risk_reason=reason,
                    known=effect.known,
                    in_transaction=ctx.transactions[stmt.index].active,
                    estimate=estimate,
                )
            )
        report.risk, report.risk_reason = file_risk(risks, report.findings)
        return report

    def _dispatch(self, rules: list[Rule], node: dict, ctx: Context, out: list[Finding], severities: dict[str, Severity]) -> None:
        for rule in rules:
            ctx._rule, ctx._severity, ctx._url = rule, severities[rule.id], self._url(rule.id)
            try:
                out.extend(rule.check(node, ctx))
            except Exception as exc:  # a broken rule must not hide the other findings
                out.append(ctx.finding(ctx.statement, f"internal error in rule {rule.id}: {type(exc).__name__}: {exc}"))

    # -- facts -------------------------------------------------------------
    def _facts(self, ctx: Context) -> set[str]:
        """Transactions, timeouts and tables created before each statement; returns all tables created."""
        statements = ctx.statements
        implicit = ctx.implicit = implicit_transaction(ctx.file, statements, self.config)
        created = ctx.created_here
        depth = 0
        timeouts = Timeouts()
        for stmt in statements:
            node_type, node = stmt.node_type, stmt.node
            ctx.timeouts.append(Timeouts(timeouts.lock_timeout, timeouts.statement_timeout))
            if node_type == "TransactionStmt":
                kind = node.get("kind", "")
                if kind in ("TRANS_STMT_BEGIN", "TRANS_STMT_START"):
                    ctx.transactions.append(Transaction(True, True, "inside BEGIN … COMMIT"))
                    depth += 1
                elif kind in ("TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK", "TRANS_STMT_PREPARE"):
                    ctx.transactions.append(Transaction(depth > 0 or bool(implicit), depth > 0, "inside BEGIN … COMMIT" if depth else implicit))
                    depth = max(0, depth - 1)
                else:
                    ctx.transactions.append(Transaction(depth > 0 or bool(implicit), depth > 0, "inside BEGIN … COMMIT" if depth else implicit))
            elif depth > 0:
                ctx.transactions.append(Transaction(True, True, "inside BEGIN … COMMIT"))
            elif implicit:
                ctx.transactions.append(Transaction(True, False, implicit))
            else:
                ctx.transactions.append(Transaction(False, False, ""))
            if node_type in ("CreateStmt", "CreateTableAsStmt") or (node_type == "SelectStmt" and node.get("intoClause")):
                rel = node.get("relation") or (node.get("into") or node.get("intoClause") or {}).get("rel")
                if rel:
                    created.create(ast.table_key(ast.relation_name(rel)), stmt.index)
            elif node_type == "RenameStmt" and node.get("renameType") == "OBJECT_TABLE":
                old = ast.table_key(ast.relation_name(node.get("relation")))
                if created.remove(old, stmt.index):
                    created.create(node.get("newname", ""), stmt.index)
            elif node_type == "VariableSetStmt":
                name = (node.get("name") or "").lower()
                if name == "lock_timeout":
                    timeouts.lock_timeout = node.get("kind") != "VAR_RESET" and not _is_zero(node)
                elif name == "statement_timeout":
                    timeouts.statement_timeout = node.get("kind") != "VAR_RESET" and not _is_zero(node)
        return created.all()

    def _apply_suppressions(self, directives: Directives, findings: list[Finding]) -> list[Finding]:
        """Mark suppressed findings; return findings about the suppressions themselves."""
        extra: list[Finding] = []
        known = self.ruleset.known_ids
        for suppression in directives.suppressions:
            unused: list[str] = []
            for rule_id in suppression.rules:
                if rule_id not in known:
                    extra.append(self._suppression_finding(suppression, f"suppression names unknown rule `{rule_id}`"))
                    continue
                used = False
                for finding in findings:
                    if finding.rule != rule_id or finding.rule == "invalid-suppression":
                        continue
                    if suppression.file_level or finding.statement == suppression.statement:
                        if suppression.reason:
                            finding.suppressed = True
                        used = True
                if not used:
                    unused.append(rule_id)
            if not suppression.rules:
                extra.append(self._suppression_finding(suppression, "suppression names no rule"))
            elif not suppression.reason:
                extra.append(self._suppression_finding(
                    suppression, "suppression without a reason does not count: add `-- <why this is safe>`"))
            elif unused:
                where = "in this file" if suppression.file_level else "on this statement"
                extra.append(self._suppression_finding(
                    suppression, f"suppression of {', '.join(unused)} suppresses nothing {where}"))
        for line, column, message in directives.malformed:
            finding = self._meta("invalid-suppression", message, line, column)
            extra.append(finding)
        return extra

    def _suppression_finding(self, suppression, message: str) -> Finding:
        finding = self._meta("invalid-suppression", message, suppression.line, suppression.column)
        finding.end_column = max(finding.end_column, suppression.end_column)
        return finding


def _printable(text: str) -> str:
    """Control characters (line breaks included) shown escaped, so a message stays on one line."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _is_zero(node: dict) -> bool:
    for arg in node.get("args") or ():
        value = ast.const_value(arg)
        if value in (0, "0", "0s", "0ms"):
            return True
    return False


def _lock(relation_lock) -> Lock:
    return Lock(relation_lock.relation, relation_lock.mode)


def _dbmate_up_section(text: str) -> str:
    """Only the `-- migrate:up` part of a dbmate file; the rest is blanked (positions are kept)."""
    import re

    match = re.search(r"^--\s*migrate:down\b", text, re.M)
    if not match:
        return text
    tail = text[match.start():]
    return text[: match.start()] + re.sub(r"[^\r\n]", " ", tail)


def lint_text(text: str, config: Config | None = None, *, name: str = "<sql>", framework: str = "plain",
              migration: str | None = None, registry: dict[str, type[Rule]] | None = None) -> FileReport:
    """Lint SQL text (used by tests and `-` for stdin)."""
    from migration_lint.rules.registry import all_rules

    config = config or Config()
    linter = Linter(config, registry or all_rules())
    file = MigrationFile(None, name, framework, migration, None, None, text=text)
    return linter.lint_file(file)


def iter_findings(reports: Iterable[FileReport]) -> Iterable[Finding]:
    for report in reports:
        yield from report.findings
