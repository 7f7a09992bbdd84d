"""Lint units of work (one directory each, see `engine.Linter.plan`) in several processes.

Worker processes are forked after the rules are loaded, so they start in about a millisecond and
share the parent's imports; each gets unit numbers and sends back finished reports (parse trees
dropped: reporters never read them). Without `fork` (Windows, macOS' default), or for a run too
small to gain from it, everything runs in this process. The reports are the same either way: a
test compares the JSON of both on real migrations.

A directory larger than its share of the work is split into consecutive chunks; the worker of a
later chunk first replays the migrations before it into its schema model (parsing is about a
fifth of linting), so every file is judged on the same schema as in one process.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from migration_lint.model import FileReport, MigrationFile

if TYPE_CHECKING:
    from migration_lint.pipeline.engine import Linter
    from migration_lint.pipeline.units import Unit

# Below this much SQL (bytes), forking costs more than it saves.
MIN_PARALLEL_BYTES = 256 * 1024

_work: tuple[Linter, list[MigrationFile], list[Unit]] | None = None  # inherited by forked workers


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _fork_available() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _size(file: MigrationFile) -> int:
    if file.size is not None:  # known from discovery
        return file.size
    if file.text is not None:
        return len(file.text)
    if file.data is not None:
        return len(file.data)
    try:
        return file.path.stat().st_size if file.path is not None else 0
    except OSError:
        return 0


def workers(jobs: int | None, units: list[Unit]) -> int:
    """How many processes to use: `jobs` if given (1 = this process), else one per CPU for a large run."""
    if jobs is not None and jobs <= 1:
        return 1
    if jobs is None:
        total = sum(_size(step.file) for unit in units for step in unit.steps if step.index is not None)
        if total < MIN_PARALLEL_BYTES:
            return 1
        jobs = cpu_count()
    if not _fork_available():
        return 1
    return max(1, min(jobs, sum(1 for unit in units for step in unit.steps if step.index is not None)))


def split(units: list[Unit], workers: int, linter: Linter) -> list[Unit]:
    """Split directories larger than a worker's share into consecutive chunks (at most one per worker)."""
    from migration_lint.pipeline.units import Step, Unit

    costs = [sum(_size(step.file) for step in unit.steps if step.index is not None) for unit in units]
    share = max(1, sum(costs) // workers)
    out: list[Unit] = []
    for unit, cost in zip(units, costs):
        linted = [step for step in unit.steps if step.index is not None]
        if (cost <= share or len(linted) < 2 or unit.key is None
                or any(linter.is_new(step.file) for step in linted)):  # new tables flow from file to file
            out.append(unit)
            continue
        chunks = min(workers, -(-cost // share))
        target = cost / chunks
        made = 0
        done = 0
        history: list[Step] = []  # everything before the current chunk, replayed by its worker
        current: list[Step] = []
        for step in unit.steps:
            current.append(step)
            if step.index is None:
                continue
            done += _size(step.file)
            if made < chunks - 1 and done >= target * (made + 1):
                out.append(Unit(unit.key, history + current, schema=unit.schema))  # each starts where the unit does
                made += 1
                history = history + [Step(None, s.file) for s in current]
                current = []
        if any(step.index is not None for step in current):
            out.append(Unit(unit.key, history + current, schema=unit.schema, save_as=unit.save_as))
    return out


def _run(number: int) -> tuple[dict[int, bytes], bytes | None]:
    """Lint one unit; each report pickled on its own (without its file), so the parent can keep the bytes
    for the cache instead of pickling the report again."""
    import pickle

    assert _work is not None
    linter, files, units = _work
    from migration_lint.pipeline.units import drop_trees

    unit = units[number]
    reports = linter.run_unit(files, unit)
    drop_trees(reports.values())  # the parse trees stay here: reporters never read them
    out = {}
    for index, report in reports.items():
        report.file = None  # type: ignore[assignment]  # the parent has it
        out[index] = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
    return out, unit.final


def _here(linter: Linter, files: list[MigrationFile], unit: Unit) -> dict[int, FileReport]:
    """A unit linted in this process, its reports like a worker's (no parse trees)."""
    from migration_lint.pipeline.units import drop_trees

    reports = linter.run_unit(files, unit)
    drop_trees(reports.values())
    return reports


def run_units(linter: Linter, files: list[MigrationFile], units: list[Unit], jobs: int,
              blobs: dict[int, bytes] | None = None) -> dict[int, FileReport]:
    """Reports of every linted file by index, the units spread over `jobs` forked processes (`blobs`, if
    given, receives each report as the worker pickled it)."""
    import multiprocessing
    import pickle
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _work
    order = sorted(range(len(units)), key=lambda n: -sum(_size(s.file) for s in units[n].steps))
    done: dict[int, FileReport] = {}
    _work = (linter, files, units)
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            pending = {number: pool.submit(_run, number) for number in order}
            for number, future in pending.items():
                try:
                    pickled, units[number].final = future.result()
                    for index, blob in pickled.items():
                        report = pickle.loads(blob)
                        report.file = files[index]
                        done[index] = report
                    if blobs is not None:
                        blobs.update(pickled)
                except BrokenProcessPool:
                    raise
                except Exception:
                    done.update(_here(linter, files, units[number]))
    except (BrokenProcessPool, OSError):  # a worker died (out of memory, killed): finish in this process
        for number in order:
            if not all(step.index in done for step in units[number].steps if step.index is not None):
                done.update(_here(linter, files, units[number]))
    finally:
        _work = None
    return done
