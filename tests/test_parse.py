"""Parsing: statement positions, comments, encodings, line endings, failures."""

from __future__ import annotations

from migration_lint.ingest.source import Source, decode
from migration_lint.syntax.parse import parse, statement_kind


def test_positions_kinds_and_sql():
    parsed = parse("-- header\nBEGIN;\nCREATE UNIQUE INDEX CONCURRENTLY i ON t (a);\n  SET lock_timeout = '2s';\n\nCOMMIT;\n")
    assert [(s.kind, s.line, s.column, s.end_line, s.end_column) for s in parsed.statements] == [
        ("BEGIN", 2, 1, 2, 6),
        ("CREATE UNIQUE INDEX", 3, 1, 3, 44),
        ("SET", 4, 3, 4, 26),
        ("COMMIT", 6, 1, 6, 7),
    ]
    assert parsed.statements[1].sql == "CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)"
    assert [c.text for c in parsed.comments] == ["header"]


def test_multibyte_text_columns_count_characters():
    parsed = parse("-- café ☕\nCREATE TABLE \"Ünïcode\" (\"naïve\" int);\nCREATE INDEX i ON \"Ünïcode\" (\"naïve\");")
    second = parsed.statements[1]
    assert (second.line, second.column) == (3, 1)
    relation = second.node["relation"]
    assert parsed.source.position_of_byte(relation["location"]).column == 19


def test_bom_crlf_and_lone_cr():
    text, error = decode(b"\xef\xbb\xbfSELECT 1;\r\nSELECT 2;\rSELECT 3;\n")
    assert error is None and not text.startswith("\ufeff")
    parsed = parse(text)
    assert [(s.line, s.column) for s in parsed.statements] == [(1, 1), (2, 1), (3, 1)]


def test_invalid_utf8_is_reported_with_the_offset():
    text, error = decode(b"SELECT 1;\n-- caf\xe9\n")
    assert error == "invalid UTF-8 byte 0xe9 at byte offset 16"
    assert "\ufffd" in text


def test_comments_between_and_inside_statements():
    sql = ("CREATE TABLE a (id int); -- trailing\n/* block /* nested */ */\n"
           "ALTER TABLE a -- migration-lint: ignore x -- inside\n  ADD COLUMN b int;\n")
    parsed = parse(sql)
    assert [(c.text, c.line) for c in parsed.comments] == [
        ("trailing", 1), ("block /* nested */", 2), ("migration-lint: ignore x -- inside", 3)]


def test_dollar_quotes_and_begin_atomic_are_one_statement():
    sql = ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
           "DO $$ BEGIN PERFORM 1; END $$;\n")
    parsed = parse(sql)
    assert [s.kind for s in parsed.statements] == ["CREATE FUNCTION", "DO"]


def test_failure_line_and_column():
    parsed = parse("SELECT 1;\n\nCREATE TABLE (id int);\n")
    assert parsed.failure is not None
    assert (parsed.failure.line, parsed.failure.column) == (3, 14)
    assert parsed.statements == []


def test_templated_sql_is_recognised():
    assert "looks templated" in parse("ALTER TABLE ${schema}.users ADD COLUMN x int;").failure.message
    assert "looks templated" in parse("\\set ON_ERROR_STOP on\nSELECT 1;").failure.message
    assert "looks templated" not in parse("SELECT 1 +;").failure.message


def test_empty_and_comment_only():
    assert parse("").statements == [] and parse("").failure is None
    assert parse("  \n-- nothing\n/* x */\n").statements == []


def test_statement_kind():
    assert statement_kind("create or replace function f()") == "CREATE OR REPLACE FUNCTION"
    assert statement_kind("ALTER TABLE user ADD COLUMN x int") == "ALTER TABLE"
    assert statement_kind("INSERT INTO x VALUES (1)") == "INSERT"
    assert statement_kind("COMMENT ON COLUMN a.b IS 'x'") == "COMMENT ON COLUMN"
    assert statement_kind("REFRESH MATERIALIZED VIEW CONCURRENTLY m") == "REFRESH MATERIALIZED VIEW"
    assert statement_kind("start transaction") == "START TRANSACTION"


def test_source_line_table():
    source = Source("a\r\nb\rc\nd")
    assert source.line_count == 4
    assert [source.line_text(i) for i in range(1, 5)] == ["a", "b", "c", "d"]
    assert source.position(len("a\r\nb\r")) == source.position(5)
    assert (source.position(5).line, source.position(5).column) == (3, 1)
