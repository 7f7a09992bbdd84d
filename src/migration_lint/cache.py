"""A cache of file reports, keyed by everything a report depends on.

A migration's report depends on its own bytes and name, on every migration of its directory that
comes before it (they make the schema model it is judged on), on the configuration, the table
sizes (`--stats`), the rules and the linter's own code. The key of each linted file is a hash
chained over its directory in order (each earlier migration's bytes, name and whether it is
linted), plus a salt that covers the rest: the version, the source files of this package and of
rule plugins (size and modification time, so an edited checkout is never served stale results),
pglast's version, the configuration, the table sizes and the history switch.

A hit returns the stored report; a miss is linted as usual, after replaying the migrations before
it (hits included) into the schema model. Runs where the order carries more than the schema (a
migration not deployed yet: its tables count as empty for the next ones; `trace`) are not cached.

One file per migration directory, under ``$MIGRATION_LINT_CACHE_DIR``, else
``$XDG_CACHE_HOME/migration-lint``, else ``~/.cache/migration-lint``; it holds the entries of the
last run only, so it does not grow. Files are written atomically; one that cannot be read, or was
written by another version, counts as empty. Turn it off with ``--no-cache`` or ``cache = false``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .model import FileReport, MigrationFile

if TYPE_CHECKING:
    from .engine import Linter, Unit

FORMAT = 1


def default_directory() -> Path:
    explicit = os.environ.get("MIGRATION_LINT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "migration-lint"


def _source_fingerprint(linter: "Linter") -> list[tuple[str, int, int]]:
    """Size and modification time of this package's modules and of every rule's module."""
    files = set(Path(__file__).parent.rglob("*.py"))
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


def salt(linter: "Linter", history: bool) -> bytes:
    import pglast

    config = dataclasses.asdict(linter.config)
    config.pop("source", None)
    parts = (FORMAT, __version__, sys.version_info[:2], pglast.__version__, _source_fingerprint(linter),
             sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in linter.registry.values()),
             repr(sorted(config.items())), pickle.dumps(linter.stats), history)
    return hashlib.sha256(repr(parts).encode()).digest()


def _content(file: MigrationFile) -> bytes | None:
    """The bytes a report depends on besides the history (None: cannot be cached)."""
    if file.path is None or file.trace is not None:
        return None
    try:
        data = file.path.read_bytes()
    except OSError:
        return None
    if file.framework == "diesel":  # its metadata.toml says whether the migration runs in a transaction
        try:
            data += b"\0metadata.toml\0" + (file.path.parent / "metadata.toml").read_bytes()
        except OSError:
            pass
    meta = (file.display, file.framework, file.name, file.version, file.direction, file.change,
            file.dbmate_no_transaction, str(file.group))
    return repr(meta).encode() + b"\0" + hashlib.sha256(data).digest()


class Cache:
    def __init__(self, directory: Path, linter: "Linter", history: bool) -> None:
        self.directory = directory / f"v{FORMAT}"
        self.salt = salt(linter, history)
        self.linter = linter
        self.writable = True
        self._keys: dict[int, bytes] = {}  # file index → key (files that can be stored)
        self._stored: dict[Path, dict[bytes, bytes]] = {}  # unit key → entries found (hits)
        self.hits = 0

    def _path(self, unit_key: Path) -> Path:
        return self.directory / (hashlib.sha256(str(unit_key).encode()).hexdigest()[:32] + ".pickle")

    def _read(self, unit_key: Path) -> dict[bytes, bytes]:
        try:
            with open(self._path(unit_key), "rb") as handle:
                data = pickle.load(handle)
            if isinstance(data, dict) and data.get("format") == FORMAT and data.get("salt") == self.salt:
                return data["entries"]
        except Exception:  # noqa: BLE001 - missing, truncated or foreign: an empty cache
            pass
        return {}

    def lookup(self, files: list[MigrationFile], units: list["Unit"]) -> tuple[dict[int, FileReport], list["Unit"]]:
        """Reports found in the cache, and the units left to lint (hits turned into replays)."""
        from .engine import Step, Unit

        found: dict[int, FileReport] = {}
        todo: list[Unit] = []
        for unit in units:
            linted = [step for step in unit.steps if step.index is not None]
            if unit.key is None or any(self.linter.is_new(step.file) for step in linted):
                todo.append(unit)
                continue
            stored = self._read(unit.key)
            chain = hashlib.sha256(self.salt)
            misses: set[int] = set()
            for step in unit.steps:
                content = _content(step.file)
                if content is None:
                    if step.index is not None:
                        misses.add(step.index)
                    chain.update(b"\0unreadable\0" + str(step.file.path).encode())
                    continue
                chain.update(content)
                if step.index is None:
                    continue
                key = chain.digest()
                self._keys[step.index] = key
                blob = stored.get(key)
                report = None
                if blob is not None:
                    try:
                        report = pickle.loads(blob)
                    except Exception:  # noqa: BLE001 - a damaged entry is a miss
                        report = None
                if isinstance(report, FileReport):
                    report.file = step.file
                    found[step.index] = report
                    self.hits += 1
                else:
                    misses.add(step.index)
            self._stored[unit.key] = stored
            if not misses:
                continue
            steps = [step if step.index is None or step.index in misses else Step(None, step.file) for step in unit.steps]
            last = max(n for n, step in enumerate(steps) if step.index is not None)
            todo.append(Unit(unit.key, steps[: last + 1]))
        return found, todo

    def store(self, units: list["Unit"], reports: dict[int, FileReport]) -> None:
        """Write each directory's entries: the hits kept, the files just linted added."""
        if not self.writable:
            return
        for unit in units:
            if unit.key is None:
                continue
            stored = self._stored.get(unit.key, {})
            entries: dict[bytes, bytes] = {}
            fresh = False
            for step in unit.steps:
                key = self._keys.get(step.index) if step.index is not None else None
                if key is None:
                    continue
                if key in stored:
                    entries[key] = stored[key]
                    continue
                if step.index not in reports:
                    continue
                report = reports[step.index]
                file, report.file = report.file, None  # the file is the caller's; stored without it
                try:
                    entries[key] = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
                    fresh = True
                except Exception:  # noqa: BLE001 - not storable: linted again next time
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
                self._write(unit.key, entries)

    def _write(self, unit_key: Path, entries: dict[bytes, bytes]) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump({"format": FORMAT, "salt": self.salt, "entries": entries}, handle,
                                protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temp, self._path(unit_key))
            except BaseException:
                try:
                    os.unlink(temp)
                except OSError:
                    pass
                raise
        except OSError:  # a read-only or full disk: run without a cache
            self.writable = False
