"""The GitHub Actions context of a review: repository, pull request, base commit, token, fork or not."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "https://api.github.com"

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
    pull: dict[str, Any] = event["pull_request"] if isinstance(event.get("pull_request"), dict) else {}
    issue: dict[str, Any] = event["issue"] if isinstance(event.get("issue"), dict) else {}
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
        pr=args.pr if args.pr is not None else (int(str(number)) if isinstance(number, int) or str(number).isdigit() else None),
        api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        base_sha=base.get("sha"),
        base_ref=base.get("ref"),
        fork=bool(base_repo and head_repo and base_repo != head_repo),
        run_url=f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}" if server and repository and run_id else "",
        in_actions=env.get("GITHUB_ACTIONS") == "true",
    )
    return context
