"""The language server over stdio (pygls): diagnostics, hover and code actions for SQL migrations.

Positions: the linter's are 1-based lines and columns in characters; the protocol's are 0-based, with
columns in the position encoding agreed with the client (UTF-16 unless it offers another), converted by
the document's position codec.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument

from migration_lint import __version__
from migration_lint.cli.lsp.analysis import Analyzer, hover_markdown, statement_at
from migration_lint.ingest.discover import excluded
from migration_lint.ingest.source import Source
from migration_lint.model import Edit, FileReport, Finding, Fix, Severity

SOURCE = "migration-lint"
# seconds an edit waits for the next one before it is linted (typing lints once per pause, not per key);
# the client may set `debounce` in its initialization options
DEBOUNCE = 0.15
FIX_ALL = types.CodeActionKind.SourceFixAll.value + ".migration-lint"

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


@dataclass
class _Linted:
    version: int | None
    report: FileReport
    lines: list[str]  # the text linted, as the document's lines (positions refer to it)
    source: Source


class MigrationLintServer(LanguageServer):
    def __init__(self, config_file: Path | None = None, use_config: bool = True) -> None:
        super().__init__("migration-lint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.config_file = config_file
        self.use_config = use_config
        self.analyzers: dict[tuple[str, int], Analyzer] = {}
        self.linted: dict[str, _Linted] = {}
        self.config_errors: set[str] = set()
        self.debounce = DEBOUNCE

    def warn_once(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        if message not in self.config_errors:
            self.config_errors.add(message)
            self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    # -- configuration ---------------------------------------------------------
    def analyzer_for(self, path: Path | None) -> Analyzer:
        """The analyzer of the configuration that applies to `path` (the nearest one, as for `check`)."""
        from migration_lint.config import Config, ConfigError, check_rule_ids, find_config, load_config
        from migration_lint.pipeline.engine import Linter
        from migration_lint.rules.registry import all_rules

        found: Path | None = None
        if self.config_file is not None:
            found = self.config_file
        elif self.use_config:
            import os

            if not os.environ.get("MIGRATION_LINT_NO_CONFIG"):
                found = find_config(path.parent if path is not None else None)
        try:
            stamp = found.stat().st_mtime_ns if found is not None else 0
        except OSError:
            stamp = -1
        key = (str(found or ""), stamp)
        analyzer = self.analyzers.get(key)
        if analyzer is not None:
            return analyzer
        registry = all_rules()
        stats = None
        try:
            config = load_config(found, search=False) if found is not None else Config()
            check_rule_ids(config, set(registry))
        except (ConfigError, ValueError) as exc:
            self.warn_once(f"migration-lint: {exc}; using the default configuration")
            config = Config()
        if config.stats:
            from migration_lint.risk.estimate import StatsError, load_stats

            try:
                stats = load_stats(Path(config.stats))
            except StatsError as exc:  # the message names the file; linting goes on without sizes
                self.warn_once(f"migration-lint: table sizes not used: {exc}", types.MessageType.Warning)
        analyzer = self.analyzers[key] = Analyzer(Linter(config, registry, stats=stats))
        return analyzer

    # -- linting ---------------------------------------------------------------
    def lint(self, uri: str) -> None:
        document = self.workspace.get_text_document(uri)
        path = _path_of(document)
        if not _is_sql(document, path):
            return
        analyzer = self.analyzer_for(path)
        if path is not None and excluded(path, analyzer.config.exclude):
            self.linted.pop(uri, None)  # `exclude` in the configuration: not a migration to lint
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[], version=document.version))
            return
        report = self.unsupported(analyzer, path, document) or analyzer.lint(
            path, document.source, name=Path(document.filename or "buffer.sql").name, buffers=self.buffers(uri))
        lines = _lines(document.source)
        linted = self.linted[uri] = _Linted(document.version, report, lines, Source(document.source))
        diagnostics = [self.diagnostic(linted, f) for f in report.findings]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=document.version))

    def buffers(self, uri: str) -> dict[Path, str]:
        """The other open SQL documents with a file, by resolved path: the history is read from them."""
        open_documents: dict[Path, str] = {}
        for other_uri, document in list(self.workspace.text_documents.items()):
            path = _path_of(document) if other_uri != uri else None
            if path is not None and path.suffix.lower() == ".sql":
                try:
                    open_documents[path.resolve()] = document.source
                except (OSError, RuntimeError):
                    continue
        return open_documents

    def unsupported(self, analyzer: Analyzer, path: Path | None, document: TextDocument) -> FileReport | None:
        """A Prisma migration whose datasource is not PostgreSQL: one finding, at the top (as `check` gives it)."""
        if path is None:
            return None
        file = analyzer.migration_file(path, document.source)
        if file.framework != "prisma" or file.group is None:
            return None
        from migration_lint.cli.scope import provider_message
        from migration_lint.ingest.prisma import unsupported

        found = unsupported(file.group)
        if found is None:
            return None
        report = FileReport(file=file)
        if "unsupported-provider" in analyzer.linter.ruleset.severities:
            report.findings.append(analyzer.linter.meta(
                "unsupported-provider", provider_message(found, "this migration is not checked")))
        return report

    def schedule(self, uri: str, version: int | None) -> asyncio.Future[None] | None:
        """Lint `uri` after a pause in the edits: only when no newer change came meanwhile."""
        async def later() -> None:
            await asyncio.sleep(self.debounce)
            document = self.workspace.text_documents.get(uri)
            if document is not None and document.version == version:
                self.lint(uri)

        if self.debounce <= 0:
            self.lint(uri)
            return None
        return asyncio.ensure_future(later())

    def relint_folder(self, saved: str) -> None:
        """After a save, the open migrations of the same folder: their history may have changed."""
        linted = self.linted.get(saved)
        if linted is None or linted.report.file.group is None:
            return
        group = linted.report.file.group
        for uri, other in list(self.linted.items()):
            if uri != saved and other.report.file.group == group:
                self.lint(uri)

    def diagnostic(self, linted: _Linted, finding: Finding) -> types.Diagnostic:
        message = finding.message + (f"\n{finding.help}" if finding.help else "")
        return types.Diagnostic(
            range=self.range(linted, finding.line, finding.column, finding.end_line, finding.end_column),
            severity=_SEVERITY[finding.severity],
            code=finding.rule,
            code_description=types.CodeDescription(href=finding.url) if finding.url else None,
            source=SOURCE,
            message=message,
        )

    def range(self, linted: _Linted, line: int, column: int, end_line: int, end_column: int) -> types.Range:
        codec = self.workspace.position_codec
        start = codec.position_to_client_units(linted.lines, _server_position(linted.source, line, column))
        end = codec.position_to_client_units(linted.lines, _server_position(linted.source, end_line, end_column))
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Range(start=start, end=end)

    # -- hover -----------------------------------------------------------------
    def hover(self, params: types.HoverParams) -> types.Hover | None:
        linted = self.linted.get(params.text_document.uri)
        if linted is None:
            return None
        document = self.workspace.get_text_document(params.text_document.uri)
        if document.version != linted.version:
            self.lint(params.text_document.uri)
            linted = self.linted[params.text_document.uri]
        at = document.position_codec.position_from_client_units(linted.lines, params.position)
        item = statement_at(linted.report, at.line + 1, at.character + 1)
        if item is None:
            return None
        stmt = item.statement
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=hover_markdown(linted.report, item)),
            range=self.range(linted, stmt.line, stmt.column, stmt.end_line, stmt.end_column),
        )

    # -- code actions ----------------------------------------------------------
    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        linted = self.linted.get(uri)
        if linted is None:
            return []
        only = params.context.only
        document = self.workspace.get_text_document(uri)
        fix_all = [] if only and not any(FIX_ALL.startswith(kind) for kind in only) else self.fix_all_action(document)
        if only and not any(types.CodeActionKind.QuickFix.value.startswith(kind) for kind in only):
            return fix_all
        if document.version != linted.version:
            return fix_all  # the findings' positions refer to another text: the next lint brings fresh actions
        wanted = self._server_range(document, linted.lines, params.range)
        actions = []
        for finding in linted.report.findings:
            if finding.fix is None or not _overlaps(finding, wanted):
                continue
            edit = self.workspace_edit(document, linted, finding.fix)
            if edit is None:
                continue
            actions.append(types.CodeAction(
                title=finding.fix.title + ("" if finding.fix.safe else " (unsafe)"),
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[self.diagnostic(linted, finding)],
                is_preferred=finding.fix.safe,
                edit=edit,
            ))
        return actions + fix_all

    def fix_all_action(self, document: TextDocument) -> list[types.CodeAction]:
        """`source.fixAll.migration-lint`: every safe fix within the document, as one edit of the whole text
        (what `--fix` would write to it; editors run it on save when asked to)."""
        path = _path_of(document)
        if not _is_sql(document, path):
            return []
        analyzer = self.analyzer_for(path)
        if path is not None and excluded(path, analyzer.config.exclude):
            return []
        fixed = analyzer.fix_all(path, document.source, name=Path(document.filename or "buffer.sql").name,
                                 buffers=self.buffers(document.uri))
        if fixed is None:
            return []
        lines = _lines(document.source)
        end = types.Position(line=len(lines), character=0)
        if lines and not lines[-1].endswith(("\n", "\r")):
            end = types.Position(line=len(lines) - 1,
                                 character=self.workspace.position_codec.client_num_units(lines[-1]))
        whole = types.Range(start=types.Position(line=0, character=0), end=end)
        edit = types.TextEdit(range=whole, new_text=fixed)
        return [types.CodeAction(
            title="migration-lint: apply every safe fix",
            kind=FIX_ALL,
            edit=types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=document.version),
                edits=[edit])]) if self._document_changes() else types.WorkspaceEdit(changes={document.uri: [edit]}),
        )]

    def _document_changes(self) -> bool:
        caps = self.client_capabilities.workspace
        workspace_edit = caps.workspace_edit if caps is not None else None
        return bool(workspace_edit and workspace_edit.document_changes)

    def _server_range(self, document: TextDocument, lines: list[str], rng: types.Range) -> tuple[int, int, int, int]:
        codec = document.position_codec
        start = codec.position_from_client_units(lines, rng.start)
        end = codec.position_from_client_units(lines, rng.end)
        return (start.line + 1, start.character + 1, end.line + 1, end.character + 1)

    def workspace_edit(self, document: TextDocument, linted: _Linted, fix: Fix) -> types.WorkspaceEdit | None:
        here: list[Edit] = [e for e in fix.edits if e.path is None]
        created: dict[str, list[Edit]] = {}
        for e in fix.edits:
            if e.path is not None:
                created.setdefault(str(Path(e.path).resolve()), []).append(e)
        caps = self.client_capabilities.workspace
        workspace_edit = caps.workspace_edit if caps is not None else None
        document_changes = self._document_changes()
        can_create = bool(workspace_edit and workspace_edit.resource_operations
                          and types.ResourceOperationKind.Create in workspace_edit.resource_operations)
        text_edits = [types.TextEdit(range=self.range(linted, e.line, e.column, e.end_line, e.end_column),
                                     new_text=e.text) for e in here]
        if created and not (document_changes and can_create):
            return None  # the client cannot create the new migration this fix needs
        if not document_changes:
            return types.WorkspaceEdit(changes={document.uri: text_edits})
        changes: list[Any] = []
        if text_edits:
            changes.append(types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=linted.version),
                edits=text_edits))
        for path, edits in created.items():
            uri = from_fs_path(path)
            if uri is None:
                return None
            changes.append(types.CreateFile(uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False)))
            start = types.Position(line=0, character=0)
            changes.append(types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                edits=[types.TextEdit(range=types.Range(start=start, end=start), new_text="".join(e.text for e in edits))]))
        return types.WorkspaceEdit(document_changes=changes)


def _lines(text: str) -> list[str]:
    """The lines as the protocol counts them (and the linter): broken at \\n, \\r\\n and a lone \\r only, unlike
    str.splitlines (which also breaks at form feeds and U+2028)."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def _path_of(document: TextDocument) -> Path | None:
    if not document.uri.startswith("file:"):
        return None
    path = to_fs_path(document.uri)
    return Path(path) if path else None


def _is_sql(document: TextDocument, path: Path | None) -> bool:
    if path is not None:
        return path.suffix.lower() == ".sql"
    return document.language_id in ("sql", "pgsql", "postgres", "postgresql")


def _server_position(source: Source, line: int, column: int) -> types.Position:
    """1-based (line, column in characters, past the end of a line meaning the next ones, as edits are applied)
    → 0-based, within the text."""
    text = source.text
    offset = len(text) if line > source.line_count else min(source.line_start(line) + max(column, 1) - 1, len(text))
    position = source.position(offset)
    return types.Position(line=position.line - 1, character=position.column - 1)


def _overlaps(finding: Finding, wanted: tuple[int, int, int, int]) -> bool:
    line, column, end_line, end_column = wanted
    start, end = (finding.line, finding.column), (finding.end_line, finding.end_column)
    return start <= (end_line, end_column) and (line, column) <= end


def build(config_file: Path | None = None, use_config: bool = True) -> MigrationLintServer:
    server = MigrationLintServer(config_file, use_config)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: MigrationLintServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.lint(params.text_document.uri)

    @server.feature(types.INITIALIZE)
    def initialize(ls: MigrationLintServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict) and isinstance(options.get("debounce"), (int, float)):
            ls.debounce = max(0.0, float(options["debounce"]))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: MigrationLintServer, params: types.DidChangeTextDocumentParams) -> None:
        future = ls.schedule(params.text_document.uri, params.text_document.version)
        if future is not None:
            await future

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: MigrationLintServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.lint(params.text_document.uri)
        ls.relint_folder(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: MigrationLintServer, params: types.DidCloseTextDocumentParams) -> None:
        if ls.linted.pop(params.text_document.uri, None) is not None:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: MigrationLintServer, params: types.HoverParams) -> types.Hover | None:
        return ls.hover(params)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL]))
    def code_action(ls: MigrationLintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return ls.code_actions(params)

    return server


def serve(config_file: Path | None = None, use_config: bool = True) -> None:
    build(config_file, use_config).start_io()
