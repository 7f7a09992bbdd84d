"""The requires-newer-postgres rule proved against real servers.

Every case of tests/rules/requires-newer-postgres.yaml that fires says so with `postgres: rejects`:
on a server of the configured pg_version, after the case's history, the statements before the
flagged one run and the flagged one is rejected (a syntax error, an unknown function or type, an
unsupported feature or option); on a server of `supported_from` the whole case runs. A case with
`postgres: runs` (must not fire) runs on the configured version. Each case gets a fresh database.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from casefile import load_cases
from pg_fixtures import PG_VERSIONS, _drop_database

from migration_lint.syntax.parse import parse

RULE = "requires-newer-postgres"
CASES = load_cases(RULE)
PROVEN = [case for case in CASES if case.get("postgres")]

pytestmark = pytest.mark.postgres


def _statements(sql: str) -> list[Any]:
    parsed = parse(sql)
    assert parsed.failure is None, parsed.failure
    return parsed.statements


def _history(case: dict[str, Any]) -> list[str]:
    return [stmt.sql for entry in case.get("history") or () for stmt in _statements(entry)]


def _run(server: Any, statements: list[str], flagged: int | None = None) -> tuple[int, Exception] | None:
    """Run the statements (autocommit) in a fresh database; the first that fails and its error, else None."""
    import psycopg

    name = f"t_rnp_{secrets.token_hex(5)}"
    with server.connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with server.connect(dbname=name) as conn:
            for number, statement in enumerate(statements):
                try:
                    conn.execute(statement)
                except psycopg.Error as exc:
                    return number, exc
        return None
    finally:
        _drop_database(server, name)


def test_every_case_that_fires_is_proved() -> None:
    for case in CASES:
        if case["expect"]:
            assert case.get("postgres") == "rejects" and case.get("supported_from") in PG_VERSIONS, case["name"]
        assert case.get("postgres") in (None, "rejects", "runs"), case["name"]
        assert case.get("postgres") is None or (case.get("config") or {}).get("pg_version") in PG_VERSIONS, case["name"]


@pytest.mark.parametrize("case", PROVEN, ids=[case["name"] for case in PROVEN])
def test_postgres_agrees(case: dict[str, Any], pg_servers: Any) -> None:
    import psycopg

    version = case["config"]["pg_version"]
    history = _history(case)
    statements = _statements(case["sql"])
    if case["postgres"] == "runs":
        outcome = _run(pg_servers(version), history + [s.sql for s in statements])
        assert outcome is None, f"PostgreSQL {version} rejected statement {outcome and outcome[0]}: {outcome and outcome[1]}"
        return

    first_line = int(case["expect"][0].split(":")[0])
    flagged = next(i for i, s in enumerate(statements) if s.line <= first_line <= s.end_line)
    outcome = _run(pg_servers(version), history + [s.sql for s in statements[: flagged + 1]])
    assert outcome is not None, f"PostgreSQL {version} ran {statements[flagged].sql!r}"
    failed, error = outcome
    assert failed == len(history) + flagged, f"statement {failed} failed instead of the flagged one: {error}"
    rejected = (psycopg.errors.SyntaxError, psycopg.errors.UndefinedFunction, psycopg.errors.UndefinedObject,
                psycopg.errors.FeatureNotSupported, psycopg.errors.InvalidParameterValue)
    assert isinstance(error, rejected), f"{type(error).__name__}: {error}"

    newer = case["supported_from"]
    outcome = _run(pg_servers(newer), history + [s.sql for s in statements])
    if outcome is not None and "compression method lz4 not supported" in str(outcome[1]):
        pytest.skip(f"this PostgreSQL {newer} server was built without lz4 (PostgreSQL {version} rejected the "
                    f"statement: {str(error).splitlines()[0]})")
    assert outcome is None, f"PostgreSQL {newer} rejected statement {outcome and outcome[0]}: {outcome and outcome[1]}"
