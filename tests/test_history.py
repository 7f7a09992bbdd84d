"""Earlier migrations of a folder are replayed into the schema model."""

from __future__ import annotations

import json
from pathlib import Path

from migration_lint.cli import main


def _folder(tmp_path: Path) -> Path:
    root = tmp_path / "prisma" / "migrations"
    (root / "20240101000000_create_client").mkdir(parents=True)
    (root / "20240101000000_create_client" / "migration.sql").write_text(
        'CREATE TABLE "Client" ("id" TEXT NOT NULL, "size" INTEGER, "name" VARCHAR(50));\n'
        'ALTER TABLE "Client" ADD CONSTRAINT "Client_size_not_null" CHECK ("size" IS NOT NULL) NOT VALID;\n')
    (root / "20240201000000_validate_client_size").mkdir()
    (root / "20240201000000_validate_client_size" / "migration.sql").write_text(
        'ALTER TABLE "Client" VALIDATE CONSTRAINT "Client_size_not_null";\n')
    (root / "20240301000000_make_client_size_required").mkdir()
    (root / "20240301000000_make_client_size_required" / "migration.sql").write_text(
        'ALTER TABLE "Client" ALTER COLUMN "size" SET NOT NULL;\n'
        'ALTER TABLE "Client" ALTER COLUMN "name" TYPE VARCHAR(100);\n')
    return root


def _lint(args, capsys):
    main(args + ["--format", "json", "--select", "set-not-null,alter-column-type,non-concurrent-index"])
    return json.loads(capsys.readouterr().out)


def test_a_single_file_is_judged_with_the_earlier_migrations(tmp_path, capsys):
    root = _folder(tmp_path)
    target = str(root / "20240301000000_make_client_size_required" / "migration.sql")
    data = _lint([target], capsys)
    [file] = data["files"]
    assert file["findings"] == []
    set_not_null, widen = file["statements"]
    assert set_not_null["scans"] is False and set_not_null["risk"] == "LOW"
    assert widen["rewrites"] is False and widen["risk"] == "LOW"


def test_without_history_the_verdict_is_conservative(tmp_path, capsys):
    root = _folder(tmp_path)
    target = str(root / "20240301000000_make_client_size_required" / "migration.sql")
    data = _lint([target, "--no-history"], capsys)
    [file] = data["files"]
    assert [f["rule"] for f in file["findings"]] == ["set-not-null", "alter-column-type"]
    assert file["statements"][0]["scans"] is True and file["risk"] == "HIGH"
    assert file["statements"][1]["rewrites"] is True


def test_the_whole_folder_replays_in_order(tmp_path, capsys):
    data = _lint([str(_folder(tmp_path))], capsys)
    assert [f["migration"] for f in data["files"]] == ["create_client", "validate_client_size", "make_client_size_required"]
    assert data["files"][2]["findings"] == []


def test_tables_of_undeployed_migrations_count_as_empty(tmp_path, capsys):
    root = tmp_path / "prisma" / "migrations"
    (root / "20240101000000_create_user").mkdir(parents=True)
    (root / "20240101000000_create_user" / "migration.sql").write_text('CREATE TABLE "User" ("id" TEXT NOT NULL);\n')
    (root / "20240601000000_create_post").mkdir()
    (root / "20240601000000_create_post" / "migration.sql").write_text('CREATE TABLE "Post" ("id" TEXT NOT NULL, "authorId" TEXT);\n')
    (root / "20240602000000_add_index_author_id_post").mkdir()
    third = root / "20240602000000_add_index_author_id_post" / "migration.sql"
    third.write_text('CREATE INDEX "Post_authorId_idx" ON "Post"("authorId");\nCREATE INDEX "User_id_idx" ON "User"("id");\n')
    deployed = _lint([str(root)], capsys)
    assert [f["line"] for f in deployed["files"][2]["findings"]] == [1, 2]
    pending = _lint([str(root), "--new", str(root / "20240601000000_create_post"), "--new", str(third)], capsys)
    # "Post" is created by a migration of the same pull request: empty, so its index is fine; "User" is deployed
    assert [f["line"] for f in pending["files"][2]["findings"]] == [2]
    assert pending["files"][2]["statements"][0]["risk"] == "LOW"


def test_files_between_the_linted_ones_are_replayed_too(tmp_path, capsys):
    """Linting the first and the last migration: the one in between (not linted) still feeds the schema
    model before the last one."""
    root = _folder(tmp_path)
    first = str(root / "20240101000000_create_client" / "migration.sql")
    last = str(root / "20240301000000_make_client_size_required" / "migration.sql")
    data = _lint([first, last], capsys)
    _, required = data["files"]
    set_not_null, _ = required["statements"]
    assert set_not_null["scans"] is False, "the VALIDATE of the middle migration was not replayed"
    assert required["findings"] == []


def _many(tmp_path: Path, count: int) -> Path:
    root = tmp_path / "migrations"
    for n in range(count):
        folder = root / f"2024010100{n:04d}_create_t{n}"
        folder.mkdir(parents=True)
        sql = f'CREATE TABLE "t{n}" ("id" SERIAL PRIMARY KEY);\n'
        if n:
            sql += f'ALTER TABLE "t{n - 1}" ADD COLUMN "c{n}" INTEGER;\n'
        (folder / "migration.sql").write_text(sql)
    (root / "migration_lock.toml").write_text('provider = "postgresql"\n')
    return root


def test_a_folder_costs_one_replay(tmp_path, capsys, schema_applies):
    """Every statement of the folder is applied to the schema model once, in one or two processes;
    linting only the last migration replays each earlier one once."""
    root = _many(tmp_path, 60)
    applied = schema_applies
    assert main([str(root), "--format", "json", "--jobs", "1"]) in (0, 1)
    assert len(applied) == 60 * 2 - 1
    assert len(set(applied)) == 60
    applied.clear()
    last = sorted(root.glob("*/migration.sql"))[-1]
    assert main([str(last), "--format", "json"]) in (0, 1)
    assert len(applied) == 60 * 2 - 1
