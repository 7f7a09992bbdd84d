"""`migration-lint review` against a local fake of the GitHub REST API (tests/fake_github.py).

The comment lifecycle (create, update, clean), finding it again on a later page, the fork case
(403: job summary and annotations instead), retries of 5xx and rate limits, the 422 shrink, the
exit code, and that the token never shows; plus the SARIF shape code scanning expects.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_github import FakeGitHub

from migration_lint.cli import main
from migration_lint.cli.review import command as review
from migration_lint.cli.review import github
from migration_lint.report.markdown import MARKER

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "ghs_s3cr3tT0kenV4lue"

BAD = 'ALTER TABLE "ClientKpi" ADD COLUMN "companySize" integer NOT NULL;\nCREATE INDEX "ClientKpi_companySize_idx" ON "ClientKpi"("companySize");\n'
WORSE = BAD + 'ALTER TABLE "Client" ALTER COLUMN "currency" SET NOT NULL;\n'
GOOD = 'CREATE TABLE "Audit" (id bigint PRIMARY KEY, note text);\n'


@pytest.fixture
def fake():
    server = FakeGitHub(token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def waits(monkeypatch):
    recorded: list[float] = []
    monkeypatch.setattr(github, "RETRY", github.RetryPolicy(attempts=4, base_delay=0.5, max_delay=10.0, max_total_wait=20.0))
    monkeypatch.setattr(github, "_sleep", recorded.append)
    return recorded


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A Prisma project with one migration (bad by default), as the working directory."""
    folder = tmp_path / "prisma" / "migrations"
    (folder / "20260101090000_init").mkdir(parents=True)
    (folder / "20260101090000_init" / "migration.sql").write_text(
        'CREATE TABLE "Client" (id text PRIMARY KEY, currency text);\n'
        'CREATE TABLE "ClientKpi" (id text PRIMARY KEY, "clientId" text NOT NULL);\n', encoding="utf-8")
    (folder / "20260301120000_add_company_size_to_client_kpi").mkdir()
    (folder / "migration_lock.toml").write_text('provider = "postgresql"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    write(tmp_path, BAD)
    return tmp_path


def write(root: Path, sql: str) -> None:
    path = root / "prisma" / "migrations" / "20260301120000_add_company_size_to_client_kpi" / "migration.sql"
    path.write_text(sql, encoding="utf-8")


@pytest.fixture
def actions(fake, project, monkeypatch, waits):
    """The GitHub Actions environment of a pull_request run, pointed at the fake API."""
    event = {"number": 7, "pull_request": {"number": 7, "base": {"ref": "main", "sha": "a" * 40, "repo": {"full_name": "acme/shop"}},
                                            "head": {"ref": "feature", "sha": "b" * 40, "repo": {"full_name": "acme/shop"}}},
             "repository": {"full_name": "acme/shop"}}
    event_path = project / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": fake.url,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "42",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_STEP_SUMMARY": str(project / "summary.md"),
        "GITHUB_OUTPUT": str(project / "output.txt"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def run_review(*extra: str) -> int:
    return main(["review", "prisma/migrations", "--no-diff", *extra])


def outputs(project: Path) -> dict[str, str]:
    text = (project / "output.txt").read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in text.splitlines() if line)


# -- the comment lifecycle -------------------------------------------------------------------------
def test_first_run_creates_one_comment_with_the_marker(actions, fake, project, capsys):
    assert run_review() == 1
    out, err = capsys.readouterr()
    assert len(fake.comments) == 1
    body = fake.comments[0]["body"]
    assert body.startswith(MARKER + "\n")
    assert "### 🔴 migration-lint: risk HIGH" in body
    assert "not-null-without-default" in body and "Reviewer checklist" in body
    assert "created the pull request comment" in err
    assert "::error file=prisma/migrations/20260301120000_add_company_size_to_client_kpi/migration.sql" in out
    summary = (project / "summary.md").read_text(encoding="utf-8")
    assert "migration-lint: risk HIGH" in summary and MARKER not in summary
    values = outputs(project)
    assert values["risk"] == "HIGH" and values["error-count"] == "2"
    assert values["comment-url"].endswith(f"#issuecomment-{fake.comments[0]['id']}")
    assert [r.method for r in fake.writes()] == ["POST"]


def test_second_run_updates_the_same_comment(actions, fake, project):
    assert run_review() == 1
    first = fake.comments[0]["id"]
    write(project, WORSE)
    assert run_review() == 1
    assert len(fake.comments) == 1 and fake.comments[0]["id"] == first
    assert [r.method for r in fake.writes()] == ["POST", "PATCH"]
    assert "set-not-null" in fake.comments[0]["body"]


def test_an_unchanged_report_is_not_rewritten(actions, fake, project, capsys):
    run_review()
    run_review()
    assert len(fake.comments) == 1
    assert [r.method for r in fake.writes()] == ["POST"]
    assert "up to date" in capsys.readouterr().err


def test_after_the_fix_the_comment_says_so(actions, fake, project):
    assert run_review() == 1
    write(project, GOOD)
    assert run_review() == 0
    assert len(fake.comments) == 1
    body = fake.comments[0]["body"]
    assert body.startswith(MARKER)
    assert "no findings, risk LOW" in body
    assert "not-null-without-default" not in body
    assert outputs(project)["risk"] == "LOW"


def test_the_marker_is_found_on_a_later_page(actions, fake, project):
    for i in range(104):
        fake.add_comment(f"looks good {i}")
    fake.add_comment(f"> quoting the bot: {MARKER} is not ours")
    ours = fake.add_comment(MARKER + "\nold report", login="github-actions[bot]")
    fake.add_comment("one more after it")
    assert run_review() == 1
    assert [r.method for r in fake.writes()] == ["PATCH"]
    assert fake.writes()[0].path.endswith(f"/issues/comments/{ours['id']}")
    assert len(fake.marked()) == 1 and "old report" not in ours["body"]
    pages = [r.query.get("page", ["1"])[0] for r in fake.requests if r.path.endswith("/issues/7/comments") and r.method == "GET"]
    assert pages == ["1", "2"]


def test_the_bot_login_does_not_matter(actions, fake, project):
    """A comment made with another token (a personal access token, another app) is still ours."""
    ours = fake.add_comment(MARKER + "\nold", login="release-bot")
    run_review()
    assert [r.method for r in fake.writes()] == ["PATCH"] and ours["body"] != MARKER + "\nold"


def test_no_comment_flag_makes_no_api_call(actions, fake, project):
    assert run_review("--no-comment") == 1
    assert fake.requests == []
    assert "risk HIGH" in (project / "summary.md").read_text(encoding="utf-8")
    assert outputs(project)["comment-url"] == ""


def test_outside_a_pull_request_no_comment(actions, fake, project, monkeypatch, capsys):
    (project / "event.json").write_text(json.dumps({"ref": "refs/heads/main"}), encoding="utf-8")
    assert run_review() == 1
    assert fake.requests == []
    assert "not a pull request" in capsys.readouterr().err


def test_github_enterprise_base_url(project, monkeypatch, waits):
    server = FakeGitHub(token=TOKEN, prefix="/api/v3").start()
    try:
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        assert run_review("--repo", "acme/shop", "--pr", "7") == 1
        assert len(server.comments) == 1
    finally:
        server.stop()


# -- faults ----------------------------------------------------------------------------------------
def test_fork_read_only_token_falls_back_to_summary_and_annotations(actions, fake, project, capsys):
    event = json.loads((project / "event.json").read_text())
    event["pull_request"]["head"]["repo"]["full_name"] = "contributor/shop"
    (project / "event.json").write_text(json.dumps(event))
    fake.read_only = True
    code = run_review("--format", "text")
    out, err = capsys.readouterr()
    assert code == 1  # the lint result, not the API failure
    assert fake.comments == []
    warning = [line for line in out.splitlines() if line.startswith("::warning::")]
    assert len(warning) == 1 and "posted no pull request comment" in warning[0] and "403" in warning[0]
    assert "fork" in warning[0]
    assert any(line.startswith("::error file=prisma/migrations/") for line in out.splitlines())
    summary = (project / "summary.md").read_text(encoding="utf-8")
    assert "not-null-without-default" in summary and "Reviewer checklist" in summary


def test_api_failure_does_not_change_the_exit_code(actions, fake, project):
    fake.read_only = True
    assert run_review("--fail-on", "never") == 0
    write(project, GOOD)
    assert run_review() == 0


def test_missing_pull_request_404(actions, fake, project, capsys):
    fake.fail("GET", "/pulls/7", 404, body={"message": "Not Found"})
    assert run_review() == 1
    out = capsys.readouterr().out
    assert "::warning::migration-lint posted no pull request comment" in out and "404" in out
    assert fake.writes() == []


def test_server_errors_are_retried(actions, fake, project, waits):
    fake.fail("GET", "/repos/acme/shop", 500)
    fake.fail("POST", "/issues/7/comments", 502, times=2)
    assert run_review() == 1
    assert len(fake.comments) == 1
    assert waits == [0.5, 0.5, 1.0]  # one retry of the GET, two of the POST (doubling)
    assert [r.status for r in fake.writes()] == [502, 502, 201]


def test_a_create_that_failed_but_was_stored_is_not_duplicated(actions, fake, project, waits):
    """A 502 after GitHub stored the comment: the retry finds it and edits it instead of posting again."""
    original = fake._answer

    def stored_then_502(request):
        status, headers, payload = original(request)
        if request.method == "POST" and not getattr(stored_then_502, "done", False):
            stored_then_502.done = True
            return 502, {}, {"message": "Bad Gateway"}
        return status, headers, payload

    fake._answer = stored_then_502
    assert run_review() == 1
    assert len(fake.comments) == 1
    assert [r.method for r in fake.writes()] == ["POST", "PATCH"]


def test_persistent_server_errors_give_up_within_the_budget(actions, fake, project, waits, capsys):
    fake.fail("GET", "/pulls/7", 503, times=100)
    assert run_review() == 1
    assert len(waits) == github.RETRY.attempts - 1
    assert sum(waits) <= github.RETRY.max_total_wait
    assert "kept failing while reading the pull request (503" in capsys.readouterr().out


def test_rate_limit_with_retry_after_is_waited_for(actions, fake, project, waits):
    fake.fail("GET", "/issues/7/comments", 403, headers={"Retry-After": "3", "X-RateLimit-Remaining": "0"},
              body={"message": "API rate limit exceeded for installation"})
    assert run_review() == 1
    assert waits == [3.0]
    assert len(fake.comments) == 1


def test_secondary_rate_limit_429(actions, fake, project, waits):
    fake.fail("POST", "/issues/7/comments", 429, headers={"Retry-After": "2"}, body={"message": "secondary rate limit"})
    assert run_review() == 1
    assert waits == [2.0] and len(fake.comments) == 1


def test_a_rate_limit_longer_than_the_budget_is_not_waited_for(actions, fake, project, waits, capsys):
    fake.fail("GET", "/repos/acme/shop", 403, headers={"Retry-After": "3600", "X-RateLimit-Remaining": "0"},
              body={"message": "API rate limit exceeded"})
    assert run_review() == 1
    assert waits == []
    assert "rate-limited" in capsys.readouterr().out


def test_422_shrinks_the_comment_and_retries_once(actions, fake, project, capsys):
    fake.fail("POST", "/issues/7/comments", 422, body={"message": "Validation Failed", "errors": [
        {"resource": "IssueComment", "field": "body", "code": "custom", "message": "body is too long"}]})
    assert run_review() == 1
    posts = [r for r in fake.writes() if r.method == "POST"]
    assert [r.status for r in posts] == [422, 201]
    assert "one summary per migration" in posts[1].body["body"]
    assert "Safe alternative" in posts[0].body["body"] and "Safe alternative" not in posts[1].body["body"]
    assert len(fake.comments) == 1
    assert "sending a shorter one" in capsys.readouterr().err


def test_422_twice_gives_up_after_one_retry(actions, fake, project, capsys):
    fake.fail("POST", "/issues/7/comments", 422, times=5)
    assert run_review() == 1
    assert [r.status for r in fake.writes()] == [422, 422]
    assert "422" in capsys.readouterr().out


def test_bad_token_401(actions, fake, project, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_wrong")
    assert run_review() == 1
    out = capsys.readouterr().out
    assert "401" in out and "ghs_wrong" not in out


def test_unreachable_api(actions, fake, project, monkeypatch, waits, capsys):
    fake.stop()
    assert run_review() == 1
    out = capsys.readouterr().out
    assert "cannot reach the GitHub API" in out or "kept failing" in out
    assert sum(waits) <= github.RETRY.max_total_wait


def test_the_token_never_appears(actions, fake, project, capsys, caplog):
    """Not in stdout, stderr, the job summary, the outputs or the logs, whatever happens."""
    caplog.set_level(logging.DEBUG)
    fake.fail("GET", "/repos/acme/shop", 500, body={"message": f"echoing the header: token {TOKEN}"})
    fake.fail("GET", "/pulls/7", 403, body={"message": f"Resource not accessible by integration ({TOKEN})"})
    run_review()
    fake.fail("POST", "/issues/7/comments", 422, body={"message": f"Validation Failed for {TOKEN}"})
    run_review("--token", TOKEN)
    fake.read_only = True
    run_review("--format", "github")
    out, err = capsys.readouterr()
    for text in (out, err, (project / "summary.md").read_text(), (project / "output.txt").read_text(), caplog.text):
        assert TOKEN not in text
    assert "***" in out  # the echoed token was redacted, and the run went on
    assert TOKEN not in review._parser().format_help()


def test_exit_code_is_the_check_commands(actions, fake, project, capsys):
    for fail_on in ("error", "warning", "info", "never"):
        expected = main(["prisma/migrations", "--fail-on", fail_on, "--format", "json"])
        assert run_review("--fail-on", fail_on) == expected
    write(project, GOOD)
    assert run_review() == main(["prisma/migrations", "--format", "json"]) == 0


def test_usage_errors_exit_2(actions, capsys):
    assert main(["review"]) == 2
    assert main(["review", "prisma/migrations", "--repo", "no-slash"]) == 2
    assert main(["review", "prisma/migrations", "--diff", "does-not-exist"]) == 2  # not a git repository


def test_review_lints_like_check(actions, fake, project, capsys):
    """Same options, same findings: the JSON report of review equals check's."""
    main(["prisma/migrations", "--format", "json", "--ignore", "migration-name"])
    check = capsys.readouterr().out
    run_review("--format", "json", "--ignore", "migration-name", "--no-comment")
    assert capsys.readouterr().out == check


def test_linting_never_imports_the_github_client():
    code = (
        "import sys\n"
        "from migration_lint.cli import main\n"
        "main(['examples/prisma/migrations', '--format', 'json'])\n"
        "main(['review', 'examples/prisma/migrations', '--no-comment', '--format', 'json'])\n"
        "assert 'github' not in sys.modules, 'github imported'\n"
        "assert 'requests' not in sys.modules, 'requests imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr


# -- SARIF for github/codeql-action/upload-sarif ---------------------------------------------------
def test_sarif_has_the_shape_code_scanning_expects(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    main(["examples/prisma/migrations", "--format", "sarif"])
    document = json.loads(capsys.readouterr().out)
    assert document["version"] == "2.1.0"
    assert document["$schema"].endswith("sarif-2.1.0.json")
    (run,) = document["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "migration-lint" and driver["version"]
    rules = driver["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert rule["helpUri"].startswith("https://") and rule["helpUri"].endswith(f"/rules/{rule['id']}.md")
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert run["results"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("none", "note", "warning", "error")
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert not uri.startswith("/") and "\\" not in uri and (ROOT / uri).is_file()
        region = physical["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (region["endLine"], region["endColumn"]) > (region["startLine"], region["startColumn"])


def test_sarif_for_a_file_that_cannot_be_found(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main(["missing/migrations", "--format", "sarif"])
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    (result,) = run["results"]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "parse-error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


# -- inline suggestions ----------------------------------------------------------------------------
MIGRATION = "prisma/migrations/20260301120000_add_company_size_to_client_kpi/migration.sql"


def _suggestions(fake: FakeGitHub) -> list[dict]:
    return [c for c in fake.review_comments if c["body"].startswith("<!-- migration-lint:suggestion")]


def test_fixes_become_one_review_of_suggestions(actions, fake, project, capsys):
    fake.add_file(MIGRATION, BAD)
    assert run_review() == 1
    err = capsys.readouterr().err
    assert len(fake.reviews) == 1 and fake.reviews[0]["body"].startswith("migration-lint suggests 2 fixes")
    by_line = {c["line"]: c for c in _suggestions(fake)}
    assert sorted(by_line) == [1, 2]
    # lock_timeout goes above line 1: the suggestion replaces line 1 by two lines
    assert by_line[1]["path"] == MIGRATION and by_line[1]["side"] == "RIGHT" and "start_line" not in by_line[1]
    assert ("```suggestion\nSET lock_timeout = '5s';\nALTER TABLE \"ClientKpi\" ADD COLUMN \"companySize\" integer "
            "NOT NULL;\n```") in by_line[1]["body"]
    assert ('```suggestion\nCREATE INDEX CONCURRENTLY "ClientKpi_companySize_idx" ON "ClientKpi"("companySize");\n```'
            in by_line[2]["body"])
    assert "/rules/non-concurrent-index.md" in by_line[2]["body"]
    assert "suggested 2 fixes" in err

    # a second run with the same findings posts nothing new
    assert run_review() == 1
    assert len(fake.reviews) == 1 and len(_suggestions(fake)) == 2
    assert "the suggested fixes are up to date" in capsys.readouterr().err

    # once the index is fixed, its suggestion is deleted; the other stays
    fixed = BAD.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY")
    write(project, fixed)
    fake.files.clear()
    fake.add_file(MIGRATION, fixed)
    run_review()
    assert [c["line"] for c in _suggestions(fake)] == [1] and len(fake.reviews) == 1
    assert "removed 1 outdated suggestion" in capsys.readouterr().err


def test_no_suggestion_outside_the_diff_or_for_a_new_migration(actions, fake, project, capsys):
    """Lines the pull request did not touch cannot take a comment; a fix that creates a migration cannot be a
    suggestion (Prisma 6 runs the file in one transaction: CONCURRENTLY moves to a migration of its own)."""
    fake.files.append({"filename": MIGRATION, "status": "modified", "patch": "@@ -2,1 +2,1 @@\n-x\n+y"})
    assert run_review("--select", "missing-lock-timeout,non-concurrent-index", "--prisma-version", "6.0") == 1
    assert not fake.reviews and not _suggestions(fake)
    assert [r for r in fake.review_writes()] == []


def test_suggestions_on_a_read_only_token_are_a_warning(actions, fake, project, capsys):
    fake.add_file(MIGRATION, BAD)
    assert run_review() == 1
    fake.read_only = True
    write(project, BAD.replace("integer", "bigint"))
    fake.files.clear()
    fake.add_file(MIGRATION, BAD.replace("integer", "bigint"))
    assert run_review() == 1  # the comment cannot be updated either: the existing fallback
    out = capsys.readouterr().out
    assert "posted no pull request comment" in out


def test_a_failing_review_post_does_not_fail_the_run(actions, fake, project, capsys):
    fake.add_file(MIGRATION, BAD)
    fake.fail("POST", "/reviews", 403, body={"message": "Resource not accessible by integration"})
    assert run_review() == 1
    out = capsys.readouterr().out
    assert "::warning::migration-lint posted no inline suggestions" in out and len(fake.comments) == 1


def test_no_suggestions_flag(actions, fake, project):
    fake.add_file(MIGRATION, BAD)
    run_review("--no-suggestions")
    assert not fake.reviews and not [r for r in fake.requests if "/pulls/7/" in r.path]


def test_commentable_lines_follow_the_hunks():
    from migration_lint.cli.review.suggestions import Suggestion, commentable, in_diff

    patch = "@@ -1,3 +1,4 @@\n ctx\n-old\n+new\n+added\n ctx2\n\\ No newline at end of file\n@@ -10,1 +11,2 @@\n x\n+y"
    lines = commentable(patch)
    assert lines == {1: 1, 2: 1, 3: 1, 4: 1, 11: 2, 12: 2}
    def s(a, b):
        return Suggestion("f.sql", a, b, "r", "t", True, "")
    diff = {"f.sql": lines}
    assert in_diff(s(2, 4), diff) and not in_diff(s(4, 11), diff) and not in_diff(s(5, 5), diff)
    assert not in_diff(s(1, 1), {"other.sql": lines})


def test_a_statement_on_several_lines_is_one_multi_line_suggestion(actions, fake, project, capsys):
    sql = 'CREATE INDEX "ClientKpi_companySize_idx"\n    ON "ClientKpi"("clientId");\n'
    write(project, sql)
    fake.add_file(MIGRATION, sql)
    run_review("--select", "non-concurrent-index")
    [comment] = _suggestions(fake)
    assert comment["line"] == 1 and "start_line" not in comment  # CONCURRENTLY goes into line 1 only
    assert '```suggestion\nCREATE INDEX CONCURRENTLY "ClientKpi_companySize_idx"\n```' in comment["body"]


def test_a_fix_replacing_several_lines_is_a_multi_line_suggestion(actions, fake, project):
    sql = 'ALTER TABLE "Client"\n    ALTER COLUMN "currency" SET NOT NULL;\n'
    write(project, sql)
    fake.add_file(MIGRATION, sql)
    run_review("--select", "set-not-null")
    [comment] = _suggestions(fake)
    assert (comment["start_line"], comment["line"], comment["start_side"]) == (1, 2, "RIGHT")
    assert ('```suggestion\nALTER TABLE "Client" ADD CONSTRAINT "Client_currency_not_null" CHECK (currency IS NOT NULL) '
            'NOT VALID;\n') in comment["body"]
    assert 'ALTER TABLE "Client" DROP CONSTRAINT "Client_currency_not_null";\n```' in comment["body"]
