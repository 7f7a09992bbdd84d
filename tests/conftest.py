from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pg_fixtures import pg_db, pg_server, pg_servers  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path_factory):
    """Tests never pick up a developer's configuration, colour settings or report cache; each test lints
    afresh (tests/test_cache.py turns the cache on, in a directory of its own)."""
    monkeypatch.setenv("MIGRATION_LINT_NO_CONFIG", "1")
    monkeypatch.setenv("MIGRATION_LINT_NO_CACHE", "1")
    monkeypatch.setenv("MIGRATION_LINT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the shared corpus is missing at {CORPUS}")
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return CORPUS


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite the golden output files in tests/golden/")


@pytest.fixture
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def schema_applies(monkeypatch) -> list[str]:
    """The migration of every statement applied to a schema model (replayed or linted), in order."""
    from migration_lint.facts.schema import Schema

    applied: list[str] = []
    original = Schema.apply

    def apply(self, node_type, node, migration):
        applied.append(migration)
        return original(self, node_type, node, migration)

    monkeypatch.setattr(Schema, "apply", apply)
    return applied


@pytest.fixture
def whole_reads(monkeypatch) -> list[Path]:
    """Every file read whole (`Path.read_bytes` / `Path.read_text`), in order; the head read to recognise
    a file's layout (at most 64 KiB, `discover.read_head`) is not a whole read."""
    reads: list[Path] = []
    read_bytes, read_text = Path.read_bytes, Path.read_text

    def recording_bytes(self):
        reads.append(Path(self))
        return read_bytes(self)

    def recording_text(self, *args, **kwargs):
        reads.append(Path(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", recording_bytes)
    monkeypatch.setattr(Path, "read_text", recording_text)
    return reads


@pytest.fixture
def python_steps():
    """`count(run)`: how many lines of migration-lint's own code `run()` executes (sys.settrace line
    events, loop iterations included). An operation count that does not depend on the machine's speed
    or load; run the linter in this process (`--jobs 1`), forked workers are not traced."""
    import migration_lint

    package = os.path.dirname(migration_lint.__file__) + os.sep

    def count(run) -> int:
        steps = 0

        def lines(frame, event, arg):
            nonlocal steps
            if event == "line":
                steps += 1
            return lines

        def calls(frame, event, arg):
            return lines if frame.f_code.co_filename.startswith(package) else None

        previous = sys.gettrace()
        sys.settrace(calls)
        try:
            run()
        finally:
            sys.settrace(previous)
        return steps

    return count
