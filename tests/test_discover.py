"""Discovery: layouts, names, order, down migrations, bad paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migration_lint.ingest.discover import classify, discover


def touch(path: Path, text: str = "SELECT 1;\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(("relative", "text", "framework", "name", "version"), [
    ("prisma/migrations/20240101000000_add_x_to_y/migration.sql", "", "prisma", "add_x_to_y", "20240101000000"),
    ("migrations/2019-02-26-002946_create_user/up.sql", "", "diesel", "create_user", "2019-02-26-002946"),
    ("migrations/2026-03-12-181649-0000_add_person_search_indexes/up.sql", "", "diesel", "add_person_search_indexes", "2026-03-12-181649-0000"),
    ("db/migration/V1_2__Create_users.sql", "", "flyway", "Create_users", "1.2"),
    ("db/migration/R__refresh_views.sql", "", "flyway", "refresh_views", "~repeatable"),
    ("migrations/000012_add_index.up.sql", "", "golang-migrate", "add_index", "000012"),
    ("supabase/migrations/20240101000000_create_profiles.sql", "", "supabase", "create_profiles", "20240101000000"),
    ("db/migrations/20240101000000_create_users.sql", "-- migrate:up\nSELECT 1;\n-- migrate:down\n", "dbmate", "create_users", "20240101000000"),
    ("drizzle/0003_add_users.sql", "CREATE TABLE a();\n--> statement-breakpoint\nSELECT 1;", "drizzle", "add_users", "0003"),
    ("sql/042_create_users.sql", "", "plain", "create_users", "042"),
    ("sql/create_users.sql", "", "plain", "create_users", None),
])
def test_classify(tmp_path, relative, text, framework, name, version):
    path = touch(tmp_path / relative, text or "SELECT 1;\n")
    item = classify(path)
    assert (item.framework, item.name, item.version) == (framework, name, version)


def test_drizzle_journal_marks_the_folder(tmp_path):
    touch(tmp_path / "drizzle" / "meta" / "_journal.json", "{}")
    path = touch(tmp_path / "drizzle" / "0000_init.sql", "CREATE TABLE a (id int);\n")
    assert classify(path).framework == "drizzle"


def test_dbmate_transaction_false(tmp_path):
    path = touch(tmp_path / "db" / "migrations" / "20240101000000_idx.sql", "-- migrate:up transaction:false\nSELECT 1;\n")
    item = classify(path)
    assert item.framework == "dbmate" and item.dbmate_no_transaction


def test_versions_sort_numerically_and_groups_stay_apart(tmp_path):
    for name in ("V10__c.sql", "V2__b.sql", "V1__a.sql", "V1.1__a2.sql", "R__views.sql"):
        touch(tmp_path / "db" / name)
    touch(tmp_path / "other" / "001_x.sql")
    result = discover([str(tmp_path)])
    names = [Path(f.display).name for f in result.files]
    assert names == ["V1__a.sql", "V1.1__a2.sql", "V2__b.sql", "V10__c.sql", "R__views.sql", "001_x.sql"]
    assert result.problems == []


def test_down_migrations_are_skipped_unless_asked(tmp_path):
    touch(tmp_path / "m" / "0001_a.up.sql")
    touch(tmp_path / "m" / "0001_a.down.sql")
    touch(tmp_path / "d" / "2019-01-01-000000_x" / "up.sql")
    touch(tmp_path / "d" / "2019-01-01-000000_x" / "down.sql")
    assert sorted(Path(f.display).name for f in discover([str(tmp_path)]).files) == ["0001_a.up.sql", "up.sql"]
    assert len(discover([str(tmp_path)], include_down=True).files) == 4
    # a down file named explicitly is linted
    assert len(discover([str(tmp_path / "m" / "0001_a.down.sql")]).files) == 1


def test_hidden_and_vendor_directories_are_skipped(tmp_path):
    touch(tmp_path / "node_modules" / "pkg" / "x.sql")
    touch(tmp_path / ".git" / "x.sql")
    touch(tmp_path / "m" / "001_a.sql")
    assert [Path(f.display).name for f in discover([str(tmp_path)]).files] == ["001_a.sql"]


def test_symlink_loop_and_broken_link(tmp_path):
    touch(tmp_path / "m" / "001_a.sql")
    os.symlink(tmp_path / "m", tmp_path / "m" / "loop")
    os.symlink(tmp_path / "missing.sql", tmp_path / "broken.sql")
    result = discover([str(tmp_path / "m"), str(tmp_path / "broken.sql")])
    assert [Path(f.display).name for f in result.files] == ["001_a.sql"]
    assert result.problems == [(str(tmp_path / "broken.sql"), "broken symbolic link")]


def test_same_file_twice_is_linted_once(tmp_path):
    path = touch(tmp_path / "m" / "001_a.sql")
    assert len(discover([str(path), str(tmp_path / "m"), str(tmp_path / "m" / "*.sql")]).files) == 1


def test_missing_path_and_empty_glob(tmp_path):
    result = discover([str(tmp_path / "nope"), str(tmp_path / "*.nothing")])
    assert result.files == []
    assert [message for _, message in result.problems] == ["no such file or directory", "no file matches this pattern"]


def test_exclude(tmp_path):
    touch(tmp_path / "m" / "001_a.sql")
    touch(tmp_path / "m" / "seed" / "seed.sql")
    result = discover([str(tmp_path / "m")], exclude=["**/seed/*.sql"])
    assert [Path(f.display).name for f in result.files] == ["001_a.sql"]


def test_diesel_versions_with_and_without_dashes_sort_by_time(tmp_path):
    for folder in ("2020-07-14-113112_b", "20170428154714_a", "2026-03-12-181649-0000_c"):
        touch(tmp_path / "migrations" / folder / "up.sql")
    names = [f.name for f in discover([str(tmp_path / "migrations")]).files]
    assert names == ["a", "b", "c"]
