"""The pull-request comment on GitHub (PyGithub, imported only to post): find the one with our marker
and edit it, or create it; server errors and rate limits retried with a bounded backoff; a comment
rejected as too long or invalid shrunk and sent once more; the token never printed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from migration_lint.cli.common import _err
from migration_lint.cli.review.context import GitHubContext

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

    assert context.token is not None  # checked before posting
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
            _err(redact(f"GitHub rejected the comment (422: {_message(exc)}); sending a shorter one", context.token))
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


def redact(text: str, token: str | None) -> str:
    """The text with the token masked."""
    return text.replace(token, "***") if token else text


def post_suggestions(run, context: GitHubContext, root) -> str:
    """Post the fixes as inline ```suggestion comments (one review), delete the outdated ones. Returns what
    was done, for the log. Raises CommentError."""
    from github import GithubException

    from migration_lint.cli.review import suggestions as sg

    budget = _Budget(RETRY.max_total_wait)
    wanted = sg.suggestions(run, root)
    try:
        gh = _github(context)
        repo = _call(lambda: gh.get_repo(context.repo), budget, "reading the repository")
        pull = _call(lambda: repo.get_pull(context.pr), budget, "reading the pull request")
        posted = _call(lambda: [c for c in pull.get_review_comments() if sg.key_of(c.body or "")], budget,
                       "listing the review comments")
        if not wanted and not posted:
            return ""
        diff: dict[str, dict[int, int]] = {}
        if wanted:
            diff = _call(lambda: {f.filename: sg.commentable(f.patch) for f in pull.get_files()}, budget,
                         "listing the changed files")
        todo = sg.plan(wanted, diff, posted)
        for comment in todo.delete:
            _call(comment.delete, budget, "deleting an outdated suggestion")
        if todo.create:
            count = len(todo.create)
            body = (f"migration-lint suggests {count} fix{'es' if count != 1 else ''} for the migrations "
                    "(the pull request comment has the full report).")
            _call(lambda: pull.create_review(body=body, event="COMMENT", comments=[s.comment() for s in todo.create]),
                  budget, "posting the suggestions")
        if not todo.create and not todo.delete:
            return "the suggested fixes are up to date" if todo.kept else ""
        parts = [f"suggested {len(todo.create)} fix{'es' if len(todo.create) != 1 else ''}"] if todo.create else []
        if todo.delete:
            parts.append(f"removed {len(todo.delete)} outdated suggestion{'s' if len(todo.delete) != 1 else ''}")
        return ", ".join(parts)
    except CommentError:
        raise
    except GithubException as exc:
        raise CommentError(_describe(exc, "posting the suggestions")) from None
    except Exception as exc:
        if _transient(exc):
            raise CommentError(_describe(exc, "posting the suggestions", gave_up=True)) from None
        raise CommentError(f"the GitHub client failed: {type(exc).__name__}") from None
