"""A cache of file reports, keyed by everything a report depends on.

A migration's report depends on its own bytes and name, on every migration of its directory that
comes before it (they make the schema model it is judged on), on the configuration, the table
sizes (`--stats`), the rules and the linter's own code. The key of each linted file is a hash
chained over its directory in order (each earlier migration's bytes and name), plus a salt that
covers the rest: the version, the source files of this package, of rule plugins and of pglast
(size and modification time, so an edited checkout is never served stale results), the
configuration, the table sizes and the history switch.

A hit returns the stored report; a miss is linted as usual, after replaying the migrations before
it (hits included) into the schema model, or starting from the schema model the last run stored
when its key (the chain at that point) matches: one new migration after a long history is linted
without replaying the history. Runs where the order carries more than the schema (a
migration not deployed yet: its tables count as empty for the next ones; `trace`) are not cached.

One file per migration directory, under ``$MIGRATION_LINT_CACHE_DIR``, else
``$XDG_CACHE_HOME/migration-lint``, else ``~/.cache/migration-lint``; it holds the entries of the
last run only, so it does not grow. Files are written atomically; one that cannot be read, or was
written by another version, counts as empty. Turn it off with ``--no-cache`` or ``cache = false``.
Entries are pickles, so the directory must be writable by you alone: it is created with mode 0700,
and ``$MIGRATION_LINT_CACHE_DIR`` should not point at a shared folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from migration_lint import __version__
from migration_lint.model import FileReport, MigrationFile

if TYPE_CHECKING:
    from migration_lint.pipeline.engine import Linter
    from migration_lint.pipeline.units import Unit

FORMAT = 1


def default_directory() -> Path:
    explicit = os.environ.get("MIGRATION_LINT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "migration-lint"


def _source_fingerprint(linter: Linter) -> list[tuple[str, int, int]]:
    """Size and modification time of this package's modules and of every rule's module."""
    files = set(Path(__file__).parent.parent.rglob("*.py"))  # the whole migration_lint package
    for cls in linter.registry.values():
        module = sys.modules.get(cls.__module__)
        path = getattr(module, "__file__", None)
        if path:
            files.add(Path(path))
    out = []
    for path in sorted(files):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path), st.st_size, st.st_mtime_ns))
    return out


def _parser_fingerprint() -> list[tuple[str, int, int]]:
    """pglast's files (its version, without importing it: a run served from the cache never parses)."""
    import importlib.util

    spec = importlib.util.find_spec("pglast")
    out = []
    for location in (spec.submodule_search_locations or []) if spec else []:
        try:
            entries = sorted(os.scandir(location), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_file() and entry.name.endswith((".py", ".so", ".pyd")):
                st = entry.stat()
                out.append((entry.path, st.st_size, st.st_mtime_ns))
    return out


def salt(linter: Linter, history: bool) -> bytes:
    config = dataclasses.asdict(linter.config)
    config.pop("source", None)
    parts = (FORMAT, __version__, sys.version_info[:2], _parser_fingerprint(), _source_fingerprint(linter),
             sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in linter.registry.values()),
             repr(sorted(config.items())), pickle.dumps(linter.stats), history)
    return hashlib.sha256(repr(parts).encode()).digest()


def _content(file: MigrationFile) -> bytes | None:
    """The bytes a report depends on besides the history (None: cannot be cached)."""
    if file.path is None or file.trace is not None:
        return None
    from migration_lint.pipeline.load import MAX_FILE_BYTES

    try:
        size = file.size if file.size is not None else file.path.stat().st_size
        if size > MAX_FILE_BYTES:  # reported as too large without being read: never read it here either
            return None
        data = file.path.read_bytes()
    except OSError:
        return None
    if file.framework == "diesel":  # its metadata.toml says whether the migration runs in a transaction
        try:
            data += b"\0metadata.toml\0" + (file.path.parent / "metadata.toml").read_bytes()
        except OSError:
            pass
    meta = (file.display, file.framework, file.name, file.version, file.direction, file.change,
            file.dbmate_no_transaction, str(file.group), file.prisma_version)
    return repr(meta).encode() + b"\0" + hashlib.sha256(data).digest()


class Cache:
    def __init__(self, directory: Path, linter: Linter, history: bool) -> None:
        self.directory = directory / f"v{FORMAT}"
        self.salt = salt(linter, history)
        self.linter = linter
        self.writable = True
        self._keys: dict[int, bytes] = {}  # file index → key (files that can be stored)
        self._stored: dict[Path, dict[bytes, bytes]] = {}  # unit key → entries read
        self._snapshots: dict[Path, tuple[bytes, bytes]] = {}  # unit key → (key, pickled schema model) read
        self.hits = 0

    def _path(self, unit_key: Path) -> Path:
        return self.directory / (hashlib.sha256(str(unit_key).encode()).hexdigest()[:32] + ".pickle")

    def _read(self, unit_key: Path) -> dict:
        try:
            with open(self._path(unit_key), "rb") as handle:
                data = pickle.load(handle)
            if (isinstance(data, dict) and data.get("format") == FORMAT and data.get("salt") == self.salt
                    and isinstance(data.get("entries"), dict)):
                return data
        except Exception:
            pass
        return {}

    def lookup(self, files: list[MigrationFile], units: list[Unit]) -> tuple[dict[int, FileReport], list[Unit]]:
        """Reports found in the cache, and the units left to lint (hits turned into replays)."""
        from migration_lint.pipeline.units import Step, Unit

        found: dict[int, FileReport] = {}
        todo: list[Unit] = []
        for unit in units:
            linted = [step for step in unit.steps if step.index is not None]
            if unit.key is None or any(self.linter.is_new(step.file) for step in linted):
                todo.append(unit)
                continue
            data = self._read(unit.key)
            stored = data.get("entries", {})
            snapshot = data.get("schema")
            chain = hashlib.sha256(self.salt)
            misses: set[int] = set()
            after: list[bytes] = []  # the chain after each step: the key of the schema model at that point
            for step in unit.steps:
                content = _content(step.file)
                if content is None:
                    chain.update(b"\0unreadable\0" + str(step.file.path).encode())
                else:
                    chain.update(content)
                after.append(chain.digest())
                if step.index is None:
                    continue
                if content is None:
                    misses.add(step.index)
                    continue
                key = after[-1]
                self._keys[step.index] = key
                blob = stored.get(key)
                report = None
                if blob is not None:
                    try:
                        report = pickle.loads(blob)
                    except Exception:
                        report = None
                if isinstance(report, FileReport):
                    report.file = step.file
                    found[step.index] = report
                    self.hits += 1
                else:
                    misses.add(step.index)
            self._stored[unit.key] = stored
            if isinstance(snapshot, tuple) and len(snapshot) == 2:
                self._snapshots[unit.key] = snapshot
            if not misses:
                continue
            steps = [step if step.index is None or step.index in misses else Step(None, step.file) for step in unit.steps]
            last = max(n for n, step in enumerate(steps) if step.index is not None)
            first = min(n for n, step in enumerate(steps) if step.index is not None)
            rest = Unit(unit.key, steps[: last + 1], save_as=after[last])
            # the schema model stored by an earlier run at a point before the first miss spares replaying
            # everything up to there (one new migration in a long history: no replay at all)
            if snapshot and isinstance(snapshot, tuple) and snapshot[0] in after[:first]:
                start = after.index(snapshot[0], 0, first)
                rest.steps, rest.schema = rest.steps[start + 1:], snapshot[1]
            todo.append(rest)
        return found, todo

    def store(self, units: list[Unit], reports: dict[int, FileReport], linted: Iterable[Unit] = (),
              pickled: dict[int, bytes] | None = None) -> None:
        """Write each directory's entries (the hits kept, the files just linted added) and the schema model
        after the last file linted (`linted`: the units that ran; `pickled`: reports a worker already
        pickled without their file)."""
        if not self.writable:
            return
        snapshots: dict[Path, tuple[bytes, bytes]] = {}
        for unit in linted:
            if unit.key is not None and unit.save_as is not None and unit.final is not None:
                snapshots[unit.key] = (unit.save_as, unit.final)
        for unit in units:
            if unit.key is None or unit.key not in self._stored:
                continue
            stored = self._stored[unit.key]
            entries: dict[bytes, bytes] = {}
            snapshot = snapshots.get(unit.key)
            fresh = snapshot is not None and snapshot != self._snapshots.get(unit.key)
            snapshot = snapshot or self._snapshots.get(unit.key)
            for step in unit.steps:
                key = self._keys.get(step.index) if step.index is not None else None
                if key is None:
                    continue
                if key in stored:
                    entries[key] = stored[key]
                    continue
                if step.index not in reports:
                    continue
                if pickled and step.index in pickled:
                    entries[key] = pickled[step.index]
                    fresh = True
                    continue
                report = reports[step.index]
                file, report.file = report.file, None  # type: ignore[assignment]  # the caller's; stored without it
                try:
                    entries[key] = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
                    fresh = True
                except Exception:
                    pass
                finally:
                    report.file = file
            if fresh:
                # keep other entries too (a single-file run must not evict the directory's), within a bound
                room = max(200, 2 * len(unit.steps)) - len(entries)
                for key, blob in stored.items():
                    if room <= 0:
                        break
                    if key not in entries:
                        entries[key] = blob
                        room -= 1
                self._write(unit.key, entries, snapshot)

    def _write(self, unit_key: Path, entries: dict[bytes, bytes], snapshot: tuple[bytes, bytes] | None) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump({"format": FORMAT, "salt": self.salt, "entries": entries, "schema": snapshot},
                                handle, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temp, self._path(unit_key))
            except BaseException:
                try:
                    os.unlink(temp)
                except OSError:
                    pass
                raise
        except OSError:  # a read-only or full disk: run without a cache
            self.writable = False
