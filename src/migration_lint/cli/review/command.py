"""`migration-lint review`: lint a pull request's migrations and keep one comment on it up to date.

It takes the lint options of the check command, plus:

* ``--diff BASE`` (automatic in a pull request: the base commit of the
  pull_request event): lint only the migrations changed since BASE, and report
  migrations on BASE that were edited, renamed or deleted (`edited-migration`);
* ``--no-comment``, ``--token`` (default ``$GITHUB_TOKEN``), ``--repo``,
  ``--pr``.

The comment lifecycle: the comment starts with a hidden marker
(``<!-- migration-lint:comment -->``); every run lists the pull request's
comments (all pages) and edits the one with the marker, or creates it if
there is none. A pull request whose migrations are all fixed gets the short
"no findings" version. A pull request that changes no migration gets no new
comment.

Where the comment cannot be posted (a pull request from a fork gets a
read-only token; 401, 403, 404; the API unreachable), the report still goes to
the job summary (``$GITHUB_STEP_SUMMARY``, always written when set) and to
workflow annotations, a ``::warning::`` says why there is no comment, and the
exit status is the lint result. Server errors and rate limits are retried with
a bounded backoff (`RETRY`); a comment rejected as invalid or too long (422)
is shrunk and sent once more. The token is never printed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from migration_lint.cli.common import EXIT_USAGE, UsageError, _check_parser, _err, build_linter, emit, exit_code, use_color

DEFAULT_API_URL = "https://api.github.com"
SUMMARY_BUDGET = 1_000_000  # the job summary takes up to 1 MiB per step
TIMEOUT = 20  # seconds per HTTP request
PER_PAGE = 100  # comments per page when looking for ours


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of a GitHub API call that failed with 5xx, a rate limit or a network error."""

    attempts: int = 4  # tries per call (the first one included)
    base_delay: float = 2.0  # seconds before the first retry; doubled for each next one
    max_delay: float = 30.0  # the longest single wait; a longer Retry-After or rate-limit reset gives up
    max_total_wait: float = 60.0  # the whole review never waits longer than this in total


#: the retry policy (tests make it instant)
RETRY = RetryPolicy()
_sleep: Callable[[float], None] = time.sleep


class CommentError(Exception):
    """The comment could not be posted; the message says why (never the token)."""


# -- the GitHub Actions context ---------------------------------------------------------------------
@dataclass
class GitHubContext:
    token: str | None = None
    repo: str | None = None
    pr: int | None = None
    api_url: str = DEFAULT_API_URL
    base_sha: str | None = None
    base_ref: str | None = None
    fork: bool = False
    run_url: str = ""
    in_actions: bool = False


def _event(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def github_context(args, env=os.environ) -> GitHubContext:
    event = _event(env.get("GITHUB_EVENT_PATH"))
    pull = event.get("pull_request") if isinstance(event.get("pull_request"), dict) else {}
    issue = event.get("issue") if isinstance(event.get("issue"), dict) else {}
    number = (pull.get("number") or event.get("number")) if pull else None
    if number is None and issue.get("pull_request"):  # issue_comment on a pull request
        number = issue.get("number")
    base = pull.get("base") or {}
    head = pull.get("head") or {}
    base_repo = (base.get("repo") or {}).get("full_name")
    head_repo = (head.get("repo") or {}).get("full_name")
    repository = env.get("GITHUB_REPOSITORY") or (event.get("repository") or {}).get("full_name")
    server, run_id = env.get("GITHUB_SERVER_URL"), env.get("GITHUB_RUN_ID")
    context = GitHubContext(
        token=args.token or env.get("GITHUB_TOKEN") or None,
        repo=args.repo or repository,
        pr=args.pr if args.pr is not None else (int(number) if isinstance(number, int) or str(number).isdigit() else None),
        api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        base_sha=base.get("sha"),
        base_ref=base.get("ref"),
        fork=bool(base_repo and head_repo and base_repo != head_repo),
        run_url=f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}" if server and repository and run_id else "",
        in_actions=env.get("GITHUB_ACTIONS") == "true",
    )
    return context


# -- arguments -------------------------------------------------------------------------------------
def _parser():
    parser = _check_parser()
    parser.prog = "migration-lint review"
    parser.description = ("Lint a pull request's migrations and create or update one comment on it "
                          "(GitHub Actions), with the job summary and annotations as a fallback.")
    parser.epilog = ("In a pull_request workflow the repository, pull request and diff base come from the "
                     "environment. Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or configuration error.")
    group = parser.add_argument_group("review")
    group.add_argument("--diff", metavar="BASE", help="lint only migrations changed since BASE (default in a pull request: its base commit)")
    group.add_argument("--no-diff", action="store_true", help="lint every migration under PATH, even in a pull request")
    group.add_argument("--no-comment", action="store_true", help="do not comment on the pull request (job summary and outputs only)")
    group.add_argument("--token", metavar="TOKEN", help="GitHub token (default: $GITHUB_TOKEN); never printed")
    group.add_argument("--repo", metavar="OWNER/NAME", help="repository (default: $GITHUB_REPOSITORY)")
    group.add_argument("--pr", type=int, metavar="NUMBER", help="pull request number (default: from $GITHUB_EVENT_PATH)")
    group.add_argument("--trace", action="store_true",
                       help="also run the migrations on a disposable PostgreSQL server (`migration-lint trace`) and "
                       "add what it saw to the comment")
    group.add_argument("--trace-rows", type=int, default=0, metavar="N",
                       help="with --trace: seed every existing table with N rows first (default 0)")
    return parser


# -- the command -----------------------------------------------------------------------------------
def cmd_review(argv: list[str]) -> int:
    try:
        return _review(argv)
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE


def _review(argv: list[str]) -> int:
    from migration_lint.config import ConfigError
    from migration_lint.ingest.gitdiff import GitError
    from migration_lint.risk.estimate import StatsError
    from migration_lint.rules.registry import RegistryError

    args = _parser().parse_args(argv)
    if not args.paths:
        raise UsageError("no path given: try `migration-lint review prisma/migrations/`; see --help")
    if args.repo is not None and args.repo.count("/") != 1:
        raise UsageError(f"--repo must be OWNER/NAME, not {args.repo!r}")
    context = github_context(args)
    try:
        linter, config, registry = build_linter(args)
    except (ConfigError, RegistryError, StatsError) as exc:
        _err(str(exc))
        return EXIT_USAGE

    base = args.diff
    automatic = False
    if base is None and not args.no_diff and context.base_sha:
        base, automatic = context.base_sha, True
    try:
        run, scope = _lint(args, linter, config, registry, base, context)
    except GitError as exc:
        if not automatic:
            _err(str(exc))
            return EXIT_USAGE
        _annotate("warning", f"migration-lint cannot compare with the base branch ({exc}); every migration under the "
                             "given paths is checked")
        run, scope = _lint(args, linter, config, registry, None, context)

    trace_note = ""
    if args.trace:
        from migration_lint.cli.trace.command import TraceError, TraceOptions, retrace

        if args.trace_rows < 0:
            raise UsageError("--trace-rows must be 0 or more")
        try:
            run, traced = retrace(run, linter, TraceOptions(rows=args.trace_rows, history=not args.no_history))
        except TraceError as exc:
            _err(str(exc))
            return EXIT_USAGE
        trace_note = traced.headline()

    fmt = args.format or ("github" if context.in_actions else "text")
    from migration_lint.report import render

    output = render(fmt, run, color=use_color(args, fmt), registry=registry)
    if not emit(output, args):
        return EXIT_USAGE

    from migration_lint.report.markdown import render_comment

    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        summary = render_comment(run, budget=SUMMARY_BUDGET, marker=False, scope=scope, trace_note=trace_note).body
        _append(summary_path, summary + "\n")

    comment_url = ""
    if not args.no_comment:
        problem = None
        if not context.pr:
            _err("not a pull request (no pull_request event in $GITHUB_EVENT_PATH and no --pr): no comment posted")
        elif not context.repo:
            problem = "the repository is unknown (no $GITHUB_REPOSITORY and no --repo)"
        elif not context.token:
            problem = "there is no token (the `token` input, --token or $GITHUB_TOKEN)"
        else:
            try:
                result = post_comment(run, context, scope=scope, trace_note=trace_note)
                comment_url = result.url
                done = {"skipped": "no migration changed: no comment posted",
                        "unchanged": "the pull request comment is up to date"}.get(result.action, f"{result.action} the pull request comment")
                _err(done + (f": {result.url}" if result.url and result.action != "skipped" else ""))
            except CommentError as exc:
                problem = _redact(str(exc), context.token)
        if problem:
            if context.fork:
                problem += " (this pull request comes from a fork: its workflow token is read-only)"
            where = "the job summary and the annotations" if summary_path else "the annotations"
            _annotate("warning", f"migration-lint posted no pull request comment: {problem}. The report is in {where}.")
            if fmt != "github" or args.output:
                from migration_lint.report.github import render as annotations

                sys.stdout.write(annotations(run))
                sys.stdout.flush()

    outputs_path = os.environ.get("GITHUB_OUTPUT")
    if outputs_path:
        counts = run.counts()
        _append(outputs_path, f"risk={run.risk.value}\nerror-count={counts['error']}\nwarning-count={counts['warning']}\n"
                              f"info-count={counts['info']}\ncomment-url={comment_url}\n")
    return exit_code(run, config.fail_on)


def _lint(args, linter, config, registry, base: str | None, context: GitHubContext):
    """Discover (and with a base, select) the migrations and lint them; returns the run and its scope."""
    from migration_lint.ingest import gitdiff
    from migration_lint.ingest.discover import discover
    from migration_lint.model import MigrationFile

    paths = [p for p in args.paths if p != "-"]
    if "-" in args.paths:
        raise UsageError("review lints files, not standard input (-)")
    found = discover(paths, include_down=config.include_down, framework=config.framework, exclude=config.exclude)
    files = found.files
    gone: list[MigrationFile] = []
    scope = ""
    if base is not None:
        changes = gitdiff.changes(base)
        files = gitdiff.select(files, changes)
        gone = gitdiff.deleted(changes, paths, include_down=config.include_down, exclude=config.exclude)
        if config.framework != "auto":
            for item in gone:
                item.framework = config.framework
        if context.base_sha == base and context.base_ref:
            scope = f"changed since {context.base_ref} ({base[:7]})"
        else:
            scope = f"changed since {base}"
    run = linter.run(files, history=not args.no_history)
    if gone:
        run.files.extend(gitdiff.deleted_reports(linter, gone))
    for path, message in found.problems:
        run.files.append(linter.problem_report(path, message))
    if not run.files:
        _err("no migration changed since " + base if base is not None else "no migration files found")
    return run, scope


def _append(path: str, text: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        _err(f"cannot write {path}: {exc.strerror}")


def _annotate(level: str, message: str) -> None:
    from migration_lint.report.github import escape_data

    sys.stdout.write(f"::{level}::{escape_data(message)}\n")
    sys.stdout.flush()


def _redact(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


# -- the comment -----------------------------------------------------------------------------------
@dataclass
class CommentResult:
    action: str  # created, updated, unchanged, skipped
    url: str = ""
    level: str = ""


@dataclass
class _Budget:
    remaining: float
    waits: list[float] = field(default_factory=list)


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _headers(exc: BaseException) -> dict[str, str]:
    headers = getattr(exc, "headers", None) or {}
    return {str(k).lower(): str(v) for k, v in dict(headers).items()}


def _message(exc: BaseException) -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        text = str(data.get("message") or "")
        errors = data.get("errors")
        if isinstance(errors, list):
            details = [str(e.get("message") or e.get("code") or "") for e in errors if isinstance(e, dict)]
            text = "; ".join(filter(None, [text, *details]))
        return " ".join(text.split())[:300]
    return ""


def _rate_limit_wait(exc: BaseException) -> float | None:
    """Seconds to wait for a rate limit (None if the failure is not one)."""
    status = _status(exc)
    if status not in (403, 429):
        return None
    headers = _headers(exc)
    message = _message(exc).lower()
    limited = status == 429 or "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message
    if not limited:
        return None
    if headers.get("retry-after", "").strip().isdigit():
        return float(headers["retry-after"].strip())
    reset = headers.get("x-ratelimit-reset", "").strip()
    if reset.isdigit() and headers.get("x-ratelimit-remaining") == "0":
        return max(0.0, int(reset) - time.time()) + 1.0
    return 60.0  # a secondary rate limit without a hint: GitHub asks for at least a minute


def _transient(exc: BaseException) -> bool:
    import requests

    status = _status(exc)
    if status is not None:
        return status >= 500
    return isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout))


def _call(fn: Callable[[], Any], budget: _Budget, what: str, before_retry: Callable[[], None] | None = None) -> Any:
    """`fn()` with the retry policy: 5xx, rate limits and network errors are retried within the budget."""
    policy = RETRY
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as exc:  # PyGithub and requests exceptions
            attempt += 1
            wait = _rate_limit_wait(exc)
            limited = wait is not None
            if wait is None:
                if not _transient(exc):
                    raise
                wait = policy.base_delay * (2 ** (attempt - 1))
            if attempt >= policy.attempts:
                raise CommentError(_describe(exc, what, gave_up=True)) from None
            if limited and (wait > policy.max_delay or wait > budget.remaining):
                raise CommentError(f"rate-limited by the GitHub API while {what}; the limit resets in about "
                                   f"{int(wait)} s, longer than this run waits") from None
            wait = max(0.0, min(wait, policy.max_delay))
            if wait > budget.remaining:
                raise CommentError(_describe(exc, what, gave_up=True)) from None
            budget.remaining -= wait
            budget.waits.append(wait)
            _err(f"GitHub API {_status(exc) or type(exc).__name__} while {what}; retrying in {wait:g} s")
            _sleep(wait)
            if before_retry is not None:
                before_retry()


def _describe(exc: BaseException, what: str, gave_up: bool = False) -> str:
    status = _status(exc)
    message = _message(exc)
    detail = f": {message}" if message else ""
    if status is None:
        return f"cannot reach the GitHub API while {what}: {type(exc).__name__}"
    if gave_up:
        return f"the GitHub API kept failing while {what} ({status}{detail})"
    if status == 401:
        return f"the token was rejected (401{detail})"
    if status == 403:
        return (f"the token is not allowed to comment on this pull request (403{detail}): a pull request from a "
                "fork gets a read-only token, and the workflow needs `permissions: pull-requests: write`")
    if status == 404:
        return f"the repository or pull request was not found with this token (404{detail})"
    if status == 422:
        return f"GitHub rejected the comment (422{detail})"
    return f"the GitHub API failed while {what} ({status}{detail})"


def find_comment(pull) -> Any:
    """The first comment with the marker, looking through every page of the pull request's comments."""
    from migration_lint.report.markdown import MARKER

    for comment in pull.get_issue_comments():
        if (comment.body or "").lstrip().startswith(MARKER):
            return comment
    return None


def _github(context: GitHubContext):
    from github import Auth, Github

    return Github(auth=Auth.Token(context.token), base_url=context.api_url, timeout=TIMEOUT, per_page=PER_PAGE,
                  retry=0, seconds_between_requests=None, seconds_between_writes=None)


def post_comment(run, context: GitHubContext, *, scope: str = "", trace_note: str = "") -> CommentResult:
    """Create or update the pull request's migration-lint comment. Raises CommentError."""
    from github import GithubException

    from migration_lint.report.markdown import BUDGET, LEVELS, render_comment

    budget = _Budget(RETRY.max_total_wait)
    try:
        gh = _github(context)
        repo = _call(lambda: gh.get_repo(context.repo), budget, "reading the repository")
        pull = _call(lambda: repo.get_pull(context.pr), budget, "reading the pull request")
        existing = _call(lambda: find_comment(pull), budget, "listing the comments")
        rendered = render_comment(run, scope=scope, details_url=context.run_url, trace_note=trace_note)
        if existing is None and not run.files:
            return CommentResult("skipped", level=rendered.level)
        if existing is not None and existing.body == rendered.body:
            return CommentResult("unchanged", existing.html_url or "", rendered.level)
        state = {"comment": existing}

        def send(body: str):
            comment = state["comment"]
            if comment is None:
                return pull.create_issue_comment(body)
            comment.edit(body)
            return comment

        def refresh():  # a create that failed with 5xx may still have been stored: look again first
            if state["comment"] is None:
                try:
                    state["comment"] = find_comment(pull)
                except Exception:  # the retry itself will report a persisting failure
                    pass

        what = "updating the comment" if existing is not None else "creating the comment"
        try:
            comment = _call(lambda: send(rendered.body), budget, what, refresh)
        except GithubException as exc:
            if _status(exc) != 422:
                raise
            start = "summary" if LEVELS.index(rendered.level if rendered.level in LEVELS else "full") < LEVELS.index("summary") else "list"
            smaller = render_comment(run, scope=scope, details_url=context.run_url, start=start,
                                     budget=BUDGET if start == "summary" else BUDGET // 2, trace_note=trace_note)
            _err(_redact(f"GitHub rejected the comment (422: {_message(exc)}); sending a shorter one", context.token))
            rendered = smaller
            comment = _call(lambda: send(rendered.body), budget, what, refresh)
        action = "updated" if existing is not None or state["comment"] is not None else "created"
        return CommentResult(action, getattr(comment, "html_url", "") or "", rendered.level)
    except CommentError:
        raise
    except GithubException as exc:
        raise CommentError(_describe(exc, "commenting")) from None
    except Exception as exc:  # network errors and anything else the client raises
        if _transient(exc):
            raise CommentError(_describe(exc, "commenting", gave_up=True)) from None
        raise CommentError(f"the GitHub client failed: {type(exc).__name__}") from None
