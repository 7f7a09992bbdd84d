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

import os
import sys

from migration_lint.cli.common import EXIT_USAGE, UsageError, _check_parser, _err, build_linter, emit, exit_code, use_color
from migration_lint.cli.review.context import GitHubContext, github_context
from migration_lint.cli.review.github import CommentError, post_comment, post_suggestions, redact

SUMMARY_BUDGET = 1_000_000  # the job summary takes up to 1 MiB per step


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
    group.add_argument("--no-suggestions", action="store_true",
                       help="do not post the fixes as inline ```suggestion review comments on the changed lines")
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

    output = render(fmt, run, color=use_color(args, fmt), registry=registry, quiet=args.quiet)
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
                problem = redact(str(exc), context.token)
            if problem is None and not args.no_suggestions:
                _suggest(run, context)
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
    from migration_lint.cli import scope as scoping
    from migration_lint.ingest import gitdiff
    from migration_lint.ingest.discover import discover

    paths = [p for p in args.paths if p != "-"]
    if "-" in args.paths:
        raise UsageError("review lints files, not standard input (-)")
    found = discover(paths, include_down=config.include_down, framework=config.framework, exclude=config.exclude)
    from migration_lint.ingest.prisma import assign_versions

    assign_versions(found.files)  # the configuration's version, when it sets one, still wins
    label = ""
    if base is not None and context.base_sha == base and context.base_ref:
        label = f"changed since {context.base_ref} ({base[:7]})"
    candidates, unsupported = scoping.unsupported_providers(found.files, linter)
    chosen = scoping.changed(base, candidates, paths, config, label=label)
    if chosen.warning:
        _annotate("warning", "migration-lint " + chosen.warning)
        base = None
    files, gone, scope = chosen.files, chosen.gone, chosen.label
    run = linter.run(files, history=not args.no_history)
    if gone:
        run.files.extend(gitdiff.deleted_reports(linter, gone))
    run.files.extend(unsupported)
    for path, message in found.problems:
        run.files.append(linter.problem_report(path, message))
    if not run.files:
        _err("no migration changed since " + base if base is not None else "no migration files found")
    return run, scope


def _suggest(run, context: GitHubContext) -> None:
    """The fixes as inline suggestions; a failure is a warning only (the comment is the report)."""
    from migration_lint.ingest.gitdiff import GitError, repository_root

    try:
        root = repository_root()
    except GitError:
        root = None
    try:
        done = post_suggestions(run, context, root)
    except CommentError as exc:
        problem = redact(str(exc), context.token)
        if context.fork:
            problem += " (this pull request comes from a fork: its workflow token is read-only)"
        _annotate("warning", f"migration-lint posted no inline suggestions: {problem}. The fixes are in the comment.")
        return
    if done:
        _err(done)


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
