"""`--diff BASE` on a real temporary git repository: added, modified, renamed and deleted migrations."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fake_github import FakeGitHub

from migration_lint.cli import main
from migration_lint.cli.review import github
from migration_lint.ingest import gitdiff

MIGRATIONS = "prisma/migrations"
BASE_FILES = {
    "20260101000000_init": 'CREATE TABLE "Client" (id text PRIMARY KEY, name text);\n',
    "20260102000000_add_check_name_not_null": (
        'ALTER TABLE "Client" ADD CONSTRAINT "Client_name_not_null" CHECK ("name" IS NOT NULL) NOT VALID;\n'),
    "20260102100000_validate_check_name_not_null": 'ALTER TABLE "Client" VALIDATE CONSTRAINT "Client_name_not_null";\n',
    "20260103000000_create_audit": 'CREATE TABLE "Audit" (id bigint PRIMARY KEY);\n',
    "20260104000000_create_note": 'CREATE TABLE "Note" (id bigint PRIMARY KEY, body text NOT NULL);\n',
    "20260105000000_create_tag": 'CREATE TABLE "Tag" (id bigint PRIMARY KEY);\n',
}
ADDED = "20260201000000_set_name_not_null"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def path_of(folder: str) -> str:
    return f"{MIGRATIONS}/{folder}/migration.sql"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """main: six migrations; feature (checked out): one added, one modified, one renamed, one deleted."""
    for key, value in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
                       "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": "/dev/null",
                       "GIT_CONFIG_NOSYSTEM": "1"}.items():
        monkeypatch.setenv(key, value)
    for key in ("GITHUB_EVENT_PATH", "GITHUB_TOKEN", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(key, raising=False)
    root = tmp_path / "shop"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / MIGRATIONS).mkdir(parents=True)
    (root / MIGRATIONS / "migration_lock.toml").write_text('provider = "postgresql"\n')
    (root / "queries").mkdir()
    (root / "queries" / "report.sql").write_text("SELECT 1;\n")
    for folder, sql in BASE_FILES.items():
        (root / MIGRATIONS / folder).mkdir()
        (root / path_of(folder)).write_text(sql)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    (root / MIGRATIONS / ADDED).mkdir()
    (root / path_of(ADDED)).write_text('ALTER TABLE "Client" ALTER COLUMN "name" SET NOT NULL;\n')
    (root / path_of("20260103000000_create_audit")).write_text('CREATE TABLE "Audit" (id bigint PRIMARY KEY, at timestamptz);\n')
    git(root, "mv", f"{MIGRATIONS}/20260104000000_create_note", f"{MIGRATIONS}/20260104000000_create_notes")
    git(root, "rm", "-q", "-r", f"{MIGRATIONS}/20260105000000_create_tag")
    git(root, "rm", "-q", "queries/report.sql")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "feature")
    monkeypatch.chdir(root)
    return root


def lint_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["review", MIGRATIONS, "--no-comment", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def findings(report: dict, rule: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == rule]


def test_changes_since_base(repo):
    by_path = {str(c.path.relative_to(repo)): c for c in gitdiff.changes("main")}
    assert by_path[path_of(ADDED)].status == "added"
    assert by_path[path_of("20260103000000_create_audit")].status == "modified"
    renamed = by_path[path_of("20260104000000_create_notes")]
    assert renamed.status == "renamed" and renamed.old_path == repo / path_of("20260104000000_create_note")
    assert by_path[path_of("20260105000000_create_tag")].status == "deleted"
    assert by_path["queries/report.sql"].status == "deleted"
    assert path_of("20260101000000_init") not in by_path


def test_review_lints_only_the_changed_migrations(repo, capsys):
    code, report = lint_json(capsys, "--diff", "main")
    assert code == 1
    files = {f["path"]: f for f in report["files"]}
    assert sorted(files) == sorted([
        path_of("20260103000000_create_audit"), path_of("20260104000000_create_notes"), path_of(ADDED),
        path_of("20260105000000_create_tag"),
    ])
    assert findings(files[path_of(ADDED)], "edited-migration") == []
    modified = findings(files[path_of("20260103000000_create_audit")], "edited-migration")
    assert len(modified) == 1 and modified[0]["severity"] == "error" and "edited" in modified[0]["message"]
    assert "another name" in findings(files[path_of("20260104000000_create_notes")], "edited-migration")[0]["message"]
    deleted = files[path_of("20260105000000_create_tag")]
    assert [f["rule"] for f in deleted["findings"]] == ["edited-migration"]
    assert deleted["risk"] == "HIGH" and "deleted" in deleted["findings"][0]["message"]
    assert "queries/report.sql" not in files  # not under the linted paths


def test_the_full_history_still_feeds_the_schema_model(repo, capsys):
    """The unchanged earlier migrations are replayed: the validated CHECK makes SET NOT NULL cheap."""
    _, report = lint_json(capsys, "--diff", "main")
    added = next(f for f in report["files"] if f["path"] == path_of(ADDED))
    assert findings(added, "set-not-null") == []
    _, report = lint_json(capsys, "--diff", "main", "--no-history")
    added = next(f for f in report["files"] if f["path"] == path_of(ADDED))
    assert len(findings(added, "set-not-null")) == 1


def test_edited_migration_never_fires_without_diff(repo, capsys):
    main([MIGRATIONS, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert all(f["rule"] != "edited-migration" for r in report["files"] for f in r["findings"])
    _, report = lint_json(capsys)  # review without --diff and outside a pull request
    assert len(report["files"]) == 6
    assert all(f["rule"] != "edited-migration" for r in report["files"] for f in r["findings"])


def test_uncommitted_and_untracked_migrations_count(repo, capsys):
    (repo / MIGRATIONS / "20260301000000_create_label").mkdir()
    (repo / path_of("20260301000000_create_label")).write_text('CREATE TABLE "Label" (id bigint PRIMARY KEY);\n')
    (repo / path_of("20260101000000_init")).write_text('CREATE TABLE "Client" (id text PRIMARY KEY, name text, x int);\n')
    _, report = lint_json(capsys, "--diff", "main")
    files = {f["path"]: f for f in report["files"]}
    assert path_of("20260301000000_create_label") in files
    assert findings(files[path_of("20260301000000_create_label")], "edited-migration") == []
    assert len(findings(files[path_of("20260101000000_init")], "edited-migration")) == 1


def test_diff_against_a_commit_and_the_merge_base(repo, capsys):
    base = git(repo, "rev-parse", "main")
    git(repo, "checkout", "-q", "main")
    (repo / MIGRATIONS / "20260110000000_create_other").mkdir()
    (repo / path_of("20260110000000_create_other")).write_text('CREATE TABLE "Other" (id bigint PRIMARY KEY);\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "main moves on")
    git(repo, "checkout", "-q", "feature")
    # main moved on: the comparison is with the merge base, so main's new migration is not "deleted" here
    _, report = lint_json(capsys, "--diff", "main")
    assert path_of("20260110000000_create_other") not in {f["path"] for f in report["files"]}
    _, by_sha = lint_json(capsys, "--diff", base)
    assert {f["path"] for f in by_sha["files"]} == {f["path"] for f in report["files"]}


def test_flyway_repeatable_migrations_may_be_edited(repo, capsys):
    db = repo / "db" / "migration"
    db.mkdir(parents=True)
    (db / "V1__create_users.sql").write_text("CREATE TABLE users (id bigint PRIMARY KEY);\n")
    (db / "R__users_view.sql").write_text("CREATE OR REPLACE VIEW active_users AS SELECT id FROM users;\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "flyway")
    base = git(repo, "rev-parse", "HEAD")
    (db / "R__users_view.sql").write_text("CREATE OR REPLACE VIEW active_users AS SELECT id FROM users WHERE id > 0;\n")
    (db / "V1__create_users.sql").write_text("CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
    main(["review", "db/migration", "--no-comment", "--format", "json", "--diff", base])
    report = json.loads(capsys.readouterr().out)
    edited = {f["path"]: [x["rule"] for x in f["findings"]] for f in report["files"]}
    assert "edited-migration" not in edited["db/migration/R__users_view.sql"]
    assert "edited-migration" in edited["db/migration/V1__create_users.sql"]


def test_ignoring_the_rule_hides_deleted_migrations_too(repo, capsys):
    _, report = lint_json(capsys, "--diff", "main", "--ignore", "edited-migration")
    paths = {f["path"] for f in report["files"]}
    assert path_of("20260105000000_create_tag") not in paths
    assert all(f["rule"] != "edited-migration" for r in report["files"] for f in r["findings"])


def test_unknown_base_is_a_usage_error(repo, capsys):
    assert main(["review", MIGRATIONS, "--no-comment", "--diff", "no-such-branch"]) == 2
    assert "unknown revision 'no-such-branch'" in capsys.readouterr().err


def test_not_a_repository(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    assert main(["review", "m", "--no-comment", "--diff", "main"]) == 2
    assert "git" in capsys.readouterr().err


# -- in a pull request: the diff base comes from the event ------------------------------------------
@pytest.fixture
def pull_request(repo, monkeypatch):
    server = FakeGitHub(token="ghs_test").start()
    monkeypatch.setattr(github, "RETRY", github.RetryPolicy(base_delay=0.0))
    base = git(repo, "rev-parse", "main")
    event = {"number": 7, "pull_request": {"number": 7, "base": {"ref": "main", "sha": base}, "head": {"ref": "feature"}}}
    (repo.parent / "event.json").write_text(json.dumps(event))
    for key, value in {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": server.url, "GITHUB_TOKEN": "ghs_test",
                       "GITHUB_REPOSITORY": "acme/shop", "GITHUB_EVENT_PATH": str(repo.parent / "event.json"),
                       "GITHUB_STEP_SUMMARY": str(repo.parent / "summary.md")}.items():
        monkeypatch.setenv(key, value)
    yield server, base
    server.stop()


def test_pull_request_diff_is_automatic(pull_request, capsys):
    server, base = pull_request
    assert main(["review", MIGRATIONS]) == 1
    (comment,) = server.comments
    body = comment["body"]
    assert f"4 migrations checked (changed since main ({base[:7]}))" in body
    assert "20260101000000&lowbar;init" not in body
    assert "edited-migration" in body and "Deleted since the base branch." in body
    assert "Migrations already applied stay unchanged" in body  # the checklist item


def test_pull_request_summary_and_no_diff(pull_request, repo, capsys):
    server, _ = pull_request
    main(["review", MIGRATIONS, "--no-diff"])
    assert "6 migrations checked:" in server.comments[0]["body"]
    assert "edited-migration" not in server.comments[0]["body"]
    assert "6 migrations checked" in (repo.parent / "summary.md").read_text()


def test_pull_request_without_migration_changes_gets_no_comment(pull_request, repo, capsys):
    server, _ = pull_request
    git(repo, "checkout", "-q", "main")
    git(repo, "checkout", "-q", "-b", "docs-only")
    (repo / "README.md").write_text("docs\n")
    assert main(["review", MIGRATIONS]) == 0
    assert server.comments == [] and server.writes() == []
    assert "no migration changed" in capsys.readouterr().err


def test_pull_request_base_missing_falls_back_to_every_migration(pull_request, repo, capsys, monkeypatch):
    server, _ = pull_request
    event = {"number": 7, "pull_request": {"number": 7, "base": {"ref": "main", "sha": "f" * 40}}}
    (repo.parent / "event.json").write_text(json.dumps(event))
    assert main(["review", MIGRATIONS]) == 0  # no error among the six migrations
    out = capsys.readouterr().out
    assert "::warning::migration-lint cannot compare with the base branch" in out and "fetch-depth: 0" in out
    assert "6 migrations checked:" in server.comments[0]["body"]


# -- the check command: `migration-lint PATH --diff BASE` --------------------------------------------
def check_json(capsys, *args: str) -> tuple[int, dict, str]:
    code = main([MIGRATIONS, "--format", "json", *args])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_check_diff_lints_only_the_changed_migrations(repo, capsys):
    code, report, _ = check_json(capsys, "--diff", "main")
    paths = sorted(r["path"] for r in report["files"])
    assert paths == sorted([path_of(ADDED), path_of("20260103000000_create_audit"),
                            path_of("20260104000000_create_notes"), path_of("20260105000000_create_tag")])
    assert code == 1  # edited-migration on the modified, renamed and deleted ones
    by_path = {r["path"]: r for r in report["files"]}
    assert findings(by_path[path_of("20260105000000_create_tag")], "edited-migration")
    # the history still comes from the whole folder: the validated CHECK makes SET NOT NULL cheap
    added = by_path[path_of(ADDED)]
    assert not any(f["rule"] == "set-not-null" for f in added["findings"]), added["findings"]


def test_check_diff_value_that_is_a_path_is_a_path(repo, capsys, monkeypatch):
    # `--diff PATH --fix`: PATH is not a revision, so --diff has no value (the fix preview)
    code = main(["--diff", MIGRATIONS, "--fix"])
    captured = capsys.readouterr()
    assert code in (0, 1) and "would change" in captured.err
    assert "unknown revision" not in captured.err


def test_check_diff_without_fix_or_base_is_a_usage_error(repo, capsys):
    assert main(["--diff", MIGRATIONS]) == 2
    assert "give --fix too" in capsys.readouterr().err


def test_check_diff_unknown_base_is_a_usage_error(repo, capsys):
    assert main([MIGRATIONS, "--diff", "no-such-branch"]) == 2
    err = capsys.readouterr().err
    assert "unknown revision 'no-such-branch'" in err and "Traceback" not in err


def test_check_diff_nothing_changed(repo, capsys):
    assert main([MIGRATIONS, "--diff", "HEAD"]) == 0
    assert "no migration changed since HEAD" in capsys.readouterr().err


@pytest.fixture
def shallow(repo, tmp_path, monkeypatch):
    """A clone of feature with one commit: main (the base) is not in it."""
    base = git(repo, "rev-parse", "main")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{repo}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"
    monkeypatch.chdir(clone)
    return clone, base


def test_check_diff_in_a_shallow_clone_warns_once_and_lints_everything(shallow, capsys):
    _, base = shallow
    code, report, err = check_json(capsys, "--diff", base)
    assert err.count("warning:") == 1 and "shallow clone" in err and "fetch-depth: 0" in err
    assert len(report["files"]) == 6
    assert not any(f["rule"] == "edited-migration" for r in report["files"] for f in r["findings"])
    assert code == 0


def test_review_diff_in_a_shallow_clone_warns_once(shallow, capsys):
    _, base = shallow
    code = main(["review", MIGRATIONS, "--no-comment", "--format", "json", "--diff", base])
    out = capsys.readouterr().out
    assert out.count("::warning::") == 1 and "shallow clone" in out
    report = json.loads(out[out.index("\n") + 1:])
    assert len(report["files"]) == 6 and code == 0
