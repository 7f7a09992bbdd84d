"""`migration-lint --fix`: fixes applied to the files, previewed with --diff, unsafe ones only when asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration_lint.cli import main


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([*argv, "--no-config", "--no-cache"])
    out, err = capsys.readouterr()
    return code, out, err


def prisma(tmp_path: Path, sql: str) -> Path:
    root = tmp_path / "prisma" / "migrations"
    write(root / "migration_lock.toml", 'provider = "postgresql"\n')
    write(root / "20240101000000_init" / "migration.sql", 'CREATE TABLE "Post" ("id" TEXT NOT NULL, "authorId" TEXT);\n')
    write(root / "20240301000000_add_post_index" / "migration.sql", sql)
    return root


def test_fix_diff_shows_the_change_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "m" / "001_add_index.sql", 'CREATE INDEX "Post_authorId_idx" ON "Post" ("authorId");\n')
    code, out, err = run(["m", "--fix", "--diff"], capsys)
    assert code == 1
    assert out == ("--- a/m/001_add_index.sql\n+++ b/m/001_add_index.sql\n@@ -1 +1 @@\n"
                   '-CREATE INDEX "Post_authorId_idx" ON "Post" ("authorId");\n'
                   '+CREATE INDEX CONCURRENTLY "Post_authorId_idx" ON "Post" ("authorId");\n')
    assert "1 fix would change 1 file" in err
    assert path.read_text() == 'CREATE INDEX "Post_authorId_idx" ON "Post" ("authorId");\n'
    assert not list(tmp_path.glob("migration-lint-fix-*"))


def test_fix_writes_the_files_and_reports_what_is_left(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "m" / "001_add_index.sql",
                 '\ufeffCREATE INDEX "Post_authorId_idx" ON "Post" ("authorId");\r\nDROP INDEX a, b;\r\n')
    code, out, err = run(["m", "--fix", "--format", "json"], capsys)
    assert path.read_bytes() == ('\ufeffCREATE INDEX CONCURRENTLY "Post_authorId_idx" ON "Post" ("authorId");\r\n'
                                 "DROP INDEX a, b;\r\n").encode()  # BOM and line ends kept
    left = [(f["rule"], f["line"]) for f in json.loads(out)["files"][0]["findings"]]
    assert left == [("non-concurrent-index", 2), ("non-concurrent-index", 2)]  # two indexes: no CONCURRENTLY form
    assert code == 1 and "applied 1 fix to 1 file" in err
    code, _, err = run(["m", "--fix"], capsys)
    assert "applied 0 fixes to 0 files" in err


def test_unsafe_fixes_move_statements_into_new_migrations(tmp_path, capsys, monkeypatch):
    """Prisma before 7.4 runs a migration.sql as one transaction: CONCURRENTLY needs a migration of its own,
    one per statement, after this one and before the next."""
    monkeypatch.chdir(tmp_path)
    root = prisma(tmp_path, 'ALTER TABLE "Post" ADD COLUMN "title" TEXT;\n'
                            'CREATE INDEX "Post_authorId_idx" ON "Post" ("authorId");\n'
                            'DROP INDEX "Post_old_idx";\n')
    write(root / "20240302000000_add_tags" / "migration.sql", 'ALTER TABLE "Post" ADD COLUMN "tags" TEXT;\n')
    argv = ["prisma/migrations", "--prisma-version", "6.0", "--select", "non-concurrent-index,concurrently-in-transaction"]
    code, _, err = run([*argv, "--fix"], capsys)
    assert code == 1 and "applied 0 fixes to 0 files; 2 more with --unsafe-fixes" in err
    code, out, err = run([*argv, "--fix", "--unsafe-fixes"], capsys)
    assert code == 0 and "applied 2 fixes to 3 files" in err
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert folders == ["20240101000000_init", "20240301000000_add_post_index",
                       "20240301000001_add_post_index_concurrently", "20240301000002_add_post_index_concurrently",
                       "20240302000000_add_tags"]
    assert (root / "20240301000000_add_post_index" / "migration.sql").read_text() == 'ALTER TABLE "Post" ADD COLUMN "title" TEXT;\n'
    assert (root / folders[2] / "migration.sql").read_text() == 'CREATE INDEX CONCURRENTLY "Post_authorId_idx" ON "Post" ("authorId");\n'
    assert (root / folders[3] / "migration.sql").read_text() == 'DROP INDEX CONCURRENTLY "Post_old_idx";\n'
    code, out, _ = run(argv, capsys)
    assert code == 0 and "no findings" in out


def test_no_room_for_a_new_migration_means_no_fix(tmp_path, capsys, monkeypatch):
    """golang-migrate with sequential versions: nothing fits between 000002 and 000003."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "db" / "000002_add_index.up.sql", "ALTER TABLE t ADD COLUMN c int;\nCREATE INDEX i ON t (a);\n")
    write(tmp_path / "db" / "000003_add_more.up.sql", "ALTER TABLE t ADD COLUMN d int;\n")
    code, _, err = run(["db", "--fix", "--unsafe-fixes", "--select", "non-concurrent-index"], capsys)
    assert code == 1 and "applied 0 fixes to 0 files" in err


@pytest.mark.parametrize("argv, message", [
    (["m", "--diff"], "--diff without BASE shows the changes --fix would make"),
    (["m", "--unsafe-fixes"], "--unsafe-fixes needs --fix"),
    (["-", "--fix"], "it cannot fix standard input"),
])
def test_fix_option_errors(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "m" / "001_x.sql", "SELECT 1;\n")
    monkeypatch.setattr("sys.stdin", open(tmp_path / "m" / "001_x.sql"))
    code, _, err = run(argv, capsys)
    assert code == 2 and message in err


CHANGE = ('-- add a column\n'
          'ALTER TABLE "Post" ADD COLUMN "title" TEXT;\n'
          'ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"(id);\n'
          'ALTER TABLE "Post" ADD CHECK (id > 0);\n'
          'ALTER TABLE "Post" ALTER COLUMN email SET NOT NULL;\n'
          'ALTER TABLE "Post" ADD CONSTRAINT "Post_email_key" UNIQUE (email);\n')


def test_several_fixes_of_one_file_apply_together(tmp_path, capsys, monkeypatch):
    """lock_timeout at the top (above the statement's own comment), NOT VALID + VALIDATE, the NOT NULL recipe,
    the unique index built concurrently: each edit at its place in the file as linted. Naming the unnamed
    CHECK (so that VALIDATE can name it) is unsafe: a later migration may refer to it by the name it had."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "m" / "001_init.sql", 'CREATE TABLE "Post" (id int, "authorId" int, email text);\n')
    path = write(tmp_path / "m" / "002_change.sql", CHANGE)
    code, out, err = run(["m", "--fix", "--diff"], capsys)
    assert out == (
        "--- a/m/002_change.sql\n+++ b/m/002_change.sql\n@@ -1,6 +1,12 @@\n"
        "+SET lock_timeout = '5s';\n"
        " -- add a column\n"
        ' ALTER TABLE "Post" ADD COLUMN "title" TEXT;\n'
        '-ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"(id);\n'
        '+ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"(id) NOT VALID;\n'
        '+ALTER TABLE "Post" VALIDATE CONSTRAINT "Post_authorId_fkey";\n'
        ' ALTER TABLE "Post" ADD CHECK (id > 0);\n'
        '+ALTER TABLE "Post" ADD CONSTRAINT "Post_email_not_null" CHECK (email IS NOT NULL) NOT VALID;\n'
        '+ALTER TABLE "Post" VALIDATE CONSTRAINT "Post_email_not_null";\n'
        ' ALTER TABLE "Post" ALTER COLUMN email SET NOT NULL;\n'
        '-ALTER TABLE "Post" ADD CONSTRAINT "Post_email_key" UNIQUE (email);\n'
        '+ALTER TABLE "Post" DROP CONSTRAINT "Post_email_not_null";\n'
        '+CREATE UNIQUE INDEX CONCURRENTLY "Post_email_key" ON "Post" (email);\n'
        '+ALTER TABLE "Post" ADD CONSTRAINT "Post_email_key" UNIQUE USING INDEX "Post_email_key";\n')
    assert "4 fixes would change 1 file; 1 more with --unsafe-fixes" in err
    code, out, err = run(["m", "--fix", "--unsafe-fixes", "--format", "json"], capsys)
    assert "applied 5 fixes to 1 file" in err
    assert 'ALTER TABLE "Post" ADD CONSTRAINT "Post_id_check" CHECK (id > 0) NOT VALID;\n' \
           'ALTER TABLE "Post" VALIDATE CONSTRAINT "Post_id_check";\n' in path.read_text()
    fixed = {f["rule"] for f in json.loads(out)["files"][1]["findings"]}
    assert not fixed & {"missing-lock-timeout", "constraint-not-valid", "set-not-null", "unique-without-index"}


def test_lock_timeout_goes_after_the_tools_directives(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "db" / "migrations" / "20240101000000_init.sql",
          "-- migrate:up\nCREATE TABLE t (id int);\n-- migrate:down\nDROP TABLE t;\n")
    path = write(tmp_path / "db" / "migrations" / "20240201000000_add_c.sql",
                 "-- migrate:up\n-- add c\nALTER TABLE t ADD COLUMN c int;\n\n-- migrate:down\nALTER TABLE t DROP COLUMN c;\n")
    code, _, err = run(["db/migrations", "--fix", "--select", "missing-lock-timeout"], capsys)
    assert code == 0 and "applied 1 fix to 1 file" in err
    assert path.read_text() == ("-- migrate:up\nSET lock_timeout = '5s';\n-- add c\nALTER TABLE t ADD COLUMN c int;\n\n"
                                "-- migrate:down\nALTER TABLE t DROP COLUMN c;\n")


def test_drizzle_lock_timeout_is_a_statement_of_its_own(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "drizzle" / "meta" / "_journal.json", json.dumps({"entries": [
        {"idx": 0, "tag": "0000_init", "when": 1}, {"idx": 1, "tag": "0001_add_c", "when": 2}]}))
    write(tmp_path / "drizzle" / "0000_init.sql", "CREATE TABLE t (id int);\n")
    path = write(tmp_path / "drizzle" / "0001_add_c.sql", "ALTER TABLE t ADD COLUMN c int;\n")
    code, _, err = run(["drizzle", "--fix", "--select", "missing-lock-timeout"], capsys)
    assert "applied 1 fix to 1 file" in err
    assert path.read_text() == "SET lock_timeout = '5s';\n--> statement-breakpoint\nALTER TABLE t ADD COLUMN c int;\n"


def test_not_null_recipe_in_a_transactional_migration_moves_the_rest(tmp_path, capsys, monkeypatch):
    """Prisma runs the file in one transaction: VALIDATE must commit apart from ADD CONSTRAINT … NOT VALID to
    let writes through, so it and what follows it go into a migration of their own."""
    monkeypatch.chdir(tmp_path)
    root = prisma(tmp_path, 'ALTER TABLE "Post" ALTER COLUMN "authorId" SET NOT NULL;\n')
    argv = ["prisma/migrations", "--prisma-version", "6.0", "--select", "set-not-null"]
    code, _, err = run([*argv, "--fix"], capsys)
    assert "applied 0 fixes to 0 files; 1 more with --unsafe-fixes" in err
    code, _, err = run([*argv, "--fix", "--unsafe-fixes"], capsys)
    assert code == 0 and "applied 1 fix to 2 files" in err
    assert (root / "20240301000000_add_post_index" / "migration.sql").read_text() == (
        'ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_not_null" CHECK ("authorId" IS NOT NULL) NOT VALID;\n')
    assert (root / "20240301000001_add_post_index_set_not_null" / "migration.sql").read_text() == (
        'ALTER TABLE "Post" VALIDATE CONSTRAINT "Post_authorId_not_null";\n'
        'ALTER TABLE "Post" ALTER COLUMN "authorId" SET NOT NULL;\n'
        'ALTER TABLE "Post" DROP CONSTRAINT "Post_authorId_not_null";\n')


def test_no_fix_where_the_author_must_decide(tmp_path, capsys, monkeypatch):
    """The file's own BEGIN … COMMIT, a statement with several commands, a DO block: no fix is offered."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "m" / "001_init.sql", "CREATE TABLE t (id int, e text);\n")
    write(tmp_path / "m" / "002_x.sql", "BEGIN;\nALTER TABLE t ALTER COLUMN e SET NOT NULL;\nCOMMIT;\n"
                                        "ALTER TABLE t ADD UNIQUE (e), ADD COLUMN f int;\n"
                                        "DO $$ BEGIN ALTER TABLE t ALTER COLUMN id SET NOT NULL; END $$;\n")
    code, out, err = run(["m", "--fix", "--diff", "--unsafe-fixes", "--select", "set-not-null,unique-without-index"], capsys)
    assert out == "" and "0 fixes would change 0 files" in err


def test_reports_carry_the_fixes(tmp_path, capsys, monkeypatch):
    """JSON gives each fix with its edits; SARIF as `fixes` (a created migration is an artifact of its own,
    named like the linted file); the text report says which fixes --fix applies and which need --unsafe-fixes."""
    monkeypatch.chdir(tmp_path)
    prisma(tmp_path, 'CREATE INDEX "Post_authorId_idx" ON "Post" ("authorId");\n'
                     'ALTER TABLE "Post" ADD CONSTRAINT "Post_id_key" UNIQUE ("id");\n')
    argv = ["prisma/migrations", "--prisma-version", "6.0", "--select", "non-concurrent-index"]
    _, out, _ = run([*argv, "--format", "json"], capsys)
    [finding] = json.loads(out)["files"][1]["findings"]
    fix = finding["fix"]
    assert fix["safe"] is False and "migration of its own" in fix["title"]
    created = "prisma/migrations/20240301000001_add_post_index_concurrently/migration.sql"
    assert fix["edits"] == [
        {"line": 1, "column": 1, "end_line": 2, "end_column": 1, "text": ""},
        {"path": created, "line": 1, "column": 1, "end_line": 1, "end_column": 1,
         "text": 'CREATE INDEX CONCURRENTLY "Post_authorId_idx" ON "Post" ("authorId");\n'},
    ]
    _, out, _ = run([*argv, "--format", "sarif"], capsys)
    [result] = json.loads(out)["runs"][0]["results"]
    [sarif_fix] = result["fixes"]
    assert sarif_fix["description"]["text"].endswith("(unsafe: review before applying)")
    assert sarif_fix["properties"] == {"safe": False}
    assert [c["artifactLocation"]["uri"] for c in sarif_fix["artifactChanges"]] == [
        "prisma/migrations/20240301000000_add_post_index/migration.sql", created]
    assert sarif_fix["artifactChanges"][1]["replacements"] == [{
        "deletedRegion": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
        "insertedContent": {"text": 'CREATE INDEX CONCURRENTLY "Post_authorId_idx" ON "Post" ("authorId");\n'}}]
    _, out, _ = run(argv, capsys)
    assert "    fix ([~] --fix --unsafe-fixes): Build the index concurrently, in a migration of its own" in out
    assert out.rstrip().endswith("[~] 1 more with --fix --unsafe-fixes (they move statements or change "
                                 "transactions: review them)")
    _, out, _ = run(["prisma/migrations", "--select", "non-concurrent-index"], capsys)  # Prisma 7.4+: in place
    assert "    fix ([*] --fix): Build the index concurrently\n" in out and out.rstrip().endswith("[*] 1 fixable with --fix")
