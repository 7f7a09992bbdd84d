"""The lint pipeline over a set of files: files → statements → facts → rules → findings → risk.

`Linter.run(files)` lints migrations in order. Migrations of one directory share one schema model
that is replayed statement by statement, so every migration is judged knowing what the earlier ones
created; earlier migrations of the directory that are not being linted are replayed first (each
once). One file's stages are in `lint.py`; the rules and their dispatch in `ruleset.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from migration_lint.config import Config
from migration_lint.facts.schema import Schema
from migration_lint.model import FileReport, MigrationFile, Risk, RunReport
from migration_lint.pipeline import lint
from migration_lint.pipeline.ruleset import build_ruleset
from migration_lint.pipeline.units import Step, Unit, drop_trees, file_identity
from migration_lint.rules.base import Rule
from migration_lint.syntax.plpgsql import expand_all


class Linter:
    def __init__(self, config: Config, registry: dict[str, type[Rule]], stats=None,
                 new_paths: set[Path] | None = None) -> None:
        self.config = config
        # migrations not deployed anywhere yet (--new, or added in the pull request): their tables are empty
        self.new_paths = {p.resolve() for p in new_paths or ()}
        self.stats = stats  # estimate.Stats: table sizes make the risk size-aware
        self.registry = registry
        self.ruleset = build_ruleset(config, registry)

    def meta(self, rule_id: str, message: str, line: int = 1, column: int = 1, help: str = ""):
        """A finding the pipeline makes itself (parse-error, invalid-suppression, …)."""
        return self.ruleset.meta(rule_id, message, line, column, help)

    def problem_report(self, path: str, message: str) -> FileReport:
        """The report of a path that could not be linted at all (missing, unreadable, a loop of links)."""
        report = FileReport(file=MigrationFile(None, path), risk=Risk.HIGH, risk_reason=message, error=message)
        report.findings.append(self.meta("parse-error", message))
        return report

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

    def plan(self, files: list[MigrationFile], *, history: bool = True, walked: Iterable[Path] = ()) -> list[Unit]:
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

    def _add_history(self, unit: Unit) -> None:
        """Put the directory's migrations that are not linted before the linted ones they precede."""
        from migration_lint.ingest.discover import _sort_key, discover

        # stdin named with --stdin-filename takes the place of that file: the ones before it are history
        linted = [step for step in unit.steps if step.file.path is not None or step.file.stands_for is not None]
        if not linted:
            return
        assert unit.key is not None
        keys = {file_identity(step.file) for step in linted}
        keys.update(file_identity(MigrationFile(step.file.stands_for, "")) for step in linted if step.file.stands_for)
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
            before = orders.get(id(step))
            if before is not None:
                while position < len(earlier) and earlier[position][0] < before:
                    steps.append(Step(None, earlier[position][1]))
                    position += 1
            steps.append(step)
        unit.steps = steps

    def run_unit(self, files: list[MigrationFile], unit: Unit) -> dict[int, FileReport]:
        """Lint the files of one unit in order (replaying the others); reports by their index in `files`."""
        schema = Schema()
        if unit.schema is not None:
            import pickle

            try:
                schema = pickle.loads(unit.schema)
            except Exception:
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
                failed.findings.append(self.ruleset.internal_error("the analysis of the file", exc))
                reports[step.index] = failed
        if unit.save_as is not None:
            import pickle

            try:
                unit.final = pickle.dumps(schema, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
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
            loaded = lint.load_file(other, self.config)
            if loaded.parsed is None or loaded.error is not None:
                return
            statements, _ = expand_all(loaded.parsed.statements, loaded.parsed.source)
            for stmt in statements:
                schema.apply(stmt.node_type, stmt.node, other.display)
        except (Exception, RecursionError):  # history is best effort: a file that cannot be read adds nothing
            return

    def lint_file(self, file: MigrationFile, schema: Schema | None = None, *, new_tables: set[str] | None = None,
                  is_new: bool = False) -> FileReport:
        """Lint one migration. `new_tables`: tables created by earlier undeployed migrations (they are
        empty); when `is_new`, this migration's own tables are added to it for the ones that follow."""
        return lint.lint_file(file, schema if schema is not None else Schema(), self.ruleset, self.config,
                              stats=self.stats, new_tables=new_tables, is_new=is_new)


def lint_text(text: str, config: Config | None = None, *, name: str = "<sql>", framework: str = "plain",
              migration: str | None = None, registry: dict[str, type[Rule]] | None = None) -> FileReport:
    """Lint SQL text (used by tests and `-` for stdin)."""
    from migration_lint.rules.registry import all_rules

    config = config or Config()
    linter = Linter(config, registry or all_rules())
    file = MigrationFile(None, name, framework, migration, None, None, text=text)
    return linter.lint_file(file)

