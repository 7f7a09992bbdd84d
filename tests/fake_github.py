"""A local stand-in for the GitHub REST API, as much of it as `migration-lint review` uses.

Endpoints: GET /repos/{owner}/{repo}, GET /repos/{owner}/{repo}/pulls/{n},
GET /repos/{owner}/{repo}/issues/{n}/comments (paginated with `per_page`/`page`
and Link headers, like GitHub), POST the same path, PATCH
/repos/{owner}/{repo}/issues/comments/{id}. A body longer than 65,536
characters is refused with 422, like GitHub does. Reviews: GET
/repos/{owner}/{repo}/pulls/{n}/files (`files`: the pull request's diff),
GET /repos/{owner}/{repo}/pulls/{n}/comments (`review_comments`), POST
/repos/{owner}/{repo}/pulls/{n}/reviews (a comment on a line outside the diff
is refused with 422, like GitHub) and DELETE /repos/{owner}/{repo}/pulls/comments/{id}.

Faults: `read_only = True` answers writes with 403 "Resource not accessible by
integration" (a fork's token); `fail(method, path_fragment, status, times,
headers, body)` queues failures for matching requests (404, 422, 500/502, rate
limits with X-RateLimit-Remaining: 0 or Retry-After).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BODY_LIMIT = 65_536


@dataclass
class Fault:
    method: str
    fragment: str
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0


class FakeGitHub:
    def __init__(self, repo: str = "acme/shop", pr: int = 7, token: str = "ghs_faketoken", base_sha: str = "0" * 40,
                 prefix: str = "") -> None:
        self.prefix = prefix  # "/api/v3" for GitHub Enterprise Server
        self.repo = repo
        self.pr = pr
        self.token = token
        self.base_sha = base_sha
        self.comments: list[dict[str, Any]] = []
        self.files: list[dict[str, Any]] = []  # {"filename", "status", "patch"}
        self.review_comments: list[dict[str, Any]] = []
        self.reviews: list[dict[str, Any]] = []
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.read_only = False
        self._next_id = 1000
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                fake._dispatch(self)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        """The API base URL (GITHUB_API_URL)."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    # -- test helpers ----------------------------------------------------------------------------
    def add_comment(self, body: str, login: str = "someone") -> dict[str, Any]:
        with self._lock:
            return self._store(body, login)

    def fail(self, method: str, fragment: str, status: int, times: int = 1, headers: dict[str, str] | None = None,
             body: dict[str, Any] | None = None) -> None:
        self.faults.append(Fault(method, fragment, status, times, headers or {}, body))

    def writes(self) -> list[Request]:
        """The writes to the pull request's conversation (the migration-lint comment)."""
        return [r for r in self.requests if r.method in ("POST", "PATCH") and "/issues/" in r.path]

    def review_writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in ("POST", "DELETE") and "/pulls/" in r.path]

    def add_file(self, filename: str, text: str) -> None:
        """A file the pull request adds, whole (its patch is every line, added)."""
        lines = text.splitlines()
        self.files.append({"filename": filename, "status": "added",
                           "patch": f"@@ -0,0 +1,{len(lines)} @@\n" + "\n".join("+" + line for line in lines)})

    def marked(self, marker: str = "<!-- migration-lint:comment -->") -> list[dict[str, Any]]:
        return [c for c in self.comments if c["body"].startswith(marker)]

    # -- the API ---------------------------------------------------------------------------------
    def _store(self, body: str, login: str) -> dict[str, Any]:
        self._next_id += 1
        number = self._next_id
        comment = {"id": number, "body": body, "user": {"login": login, "id": 1, "type": "User"}}
        self.comments.append(comment)
        return comment

    def _comment_json(self, comment: dict[str, Any]) -> dict[str, Any]:
        base = f"{self.url}/repos/{self.repo}"
        return {
            **comment,
            "url": f"{base}/issues/comments/{comment['id']}",
            "html_url": f"https://github.example/{self.repo}/pull/{self.pr}#issuecomment-{comment['id']}",
            "issue_url": f"{base}/issues/{self.pr}",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = parts.path
        if self.prefix:
            path = path[len(self.prefix):] if path.startswith(self.prefix + "/") else "/not-under-the-prefix"
        request = Request(handler.command, path, parse_qs(parts.query), {k.lower(): v for k, v in handler.headers.items()}, body)
        with self._lock:
            self.requests.append(request)
            status, headers, payload = self._answer(request)
        request.status = status
        data = json.dumps(payload).encode() if payload is not None else b""
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, request: Request) -> tuple[int, dict[str, str], Any]:
        auth = request.headers.get("authorization", "")
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return 401, {}, {"message": "Bad credentials"}
        for fault in self.faults:
            if fault.times > 0 and fault.method == request.method and fault.fragment in request.path:
                fault.times -= 1
                return fault.status, fault.headers, fault.body or {"message": f"fault {fault.status}"}
        owner_repo = re.escape(self.repo)
        path = request.path
        if request.method == "GET" and re.fullmatch(f"/repos/{owner_repo}", path):
            return 200, {}, {"id": 1, "name": self.repo.split("/")[1], "full_name": self.repo,
                             "url": f"{self.url}/repos/{self.repo}", "html_url": f"https://github.example/{self.repo}",
                             "owner": {"login": self.repo.split("/")[0], "id": 2, "type": "Organization"}}
        match = re.fullmatch(f"/repos/{owner_repo}/pulls/(\\d+)", path)
        if request.method == "GET" and match:
            if int(match.group(1)) != self.pr:
                return 404, {}, {"message": "Not Found"}
            base = f"{self.url}/repos/{self.repo}"
            return 200, {}, {"id": 77, "number": self.pr, "state": "open", "url": f"{base}/pulls/{self.pr}",
                             "issue_url": f"{base}/issues/{self.pr}", "comments_url": f"{base}/issues/{self.pr}/comments",
                             "base": {"ref": "main", "sha": self.base_sha}, "head": {"ref": "feature", "sha": "1" * 40}}
        match = re.fullmatch(f"/repos/{owner_repo}/issues/(\\d+)/comments", path)
        if match and int(match.group(1)) != self.pr:
            return 404, {}, {"message": "Not Found"}
        if match and request.method == "GET":
            per_page = int((request.query.get("per_page") or ["30"])[0])
            page = int((request.query.get("page") or ["1"])[0])
            items = self.comments[(page - 1) * per_page: page * per_page]
            last = max(1, -(-len(self.comments) // per_page))
            link = f"{self.url}{path}?per_page={per_page}&page="  # absolute, like GitHub's
            links = []
            if page < last:
                links += [f'<{link}{page + 1}>; rel="next"', f'<{link}{last}>; rel="last"']
            if page > 1:
                links += [f'<{link}1>; rel="first"', f'<{link}{page - 1}>; rel="prev"']
            return 200, ({"Link": ", ".join(links)} if links else {}), [self._comment_json(c) for c in items]
        if match and request.method == "POST":
            if self.read_only:
                return 403, {}, {"message": "Resource not accessible by integration"}
            text = (request.body or {}).get("body", "")
            if len(text) > BODY_LIMIT:
                return 422, {}, {"message": "Validation Failed", "errors": [
                    {"resource": "IssueComment", "code": "custom", "field": "body",
                     "message": f"body is too long (maximum is {BODY_LIMIT} characters)"}]}
            return 201, {}, self._comment_json(self._store(text, "github-actions[bot]"))
        match = re.fullmatch(f"/repos/{owner_repo}/issues/comments/(\\d+)", path)
        if match and request.method == "PATCH":
            if self.read_only:
                return 403, {}, {"message": "Resource not accessible by integration"}
            text = (request.body or {}).get("body", "")
            if len(text) > BODY_LIMIT:
                return 422, {}, {"message": "Validation Failed"}
            for comment in self.comments:
                if comment["id"] == int(match.group(1)):
                    comment["body"] = text
                    return 200, {}, self._comment_json(comment)
            return 404, {}, {"message": "Not Found"}
        answer = self._review_api(request, owner_repo)
        if answer is not None:
            return answer
        return 404, {}, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}

    def _right_lines(self, filename: str) -> set[int]:
        lines: set[int] = set()
        for item in self.files:
            if item["filename"] != filename:
                continue
            current = 0
            for row in item.get("patch", "").splitlines():
                match = re.match(r"@@ -\d+(?:,\d+)? \+(\d+)", row)
                if match:
                    current = int(match.group(1))
                elif row[:1] in (" ", "+"):
                    lines.add(current)
                    current += 1
        return lines

    def _review_comment_json(self, comment: dict[str, Any]) -> dict[str, Any]:
        base = f"{self.url}/repos/{self.repo}"
        return {**comment, "url": f"{base}/pulls/comments/{comment['id']}",
                "html_url": f"https://github.example/{self.repo}/pull/{self.pr}#discussion_r{comment['id']}",
                "pull_request_url": f"{base}/pulls/{self.pr}", "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z", "user": {"login": "github-actions[bot]", "id": 1, "type": "Bot"}}

    def _review_api(self, request: Request, owner_repo: str) -> tuple[int, dict[str, str], Any] | None:
        path = request.path
        match = re.fullmatch(f"/repos/{owner_repo}/pulls/(\\d+)/(files|comments|reviews)", path)
        if match and int(match.group(1)) != self.pr:
            return 404, {}, {"message": "Not Found"}
        if match and request.method == "GET" and match.group(2) == "files":
            return 200, {}, [{"sha": "2" * 40, "additions": 1, "deletions": 0, "changes": 1, **f} for f in self.files]
        if match and request.method == "GET" and match.group(2) == "comments":
            return 200, {}, [self._review_comment_json(c) for c in self.review_comments]
        if match and request.method == "POST" and match.group(2) == "reviews":
            if self.read_only:
                return 403, {}, {"message": "Resource not accessible by integration"}
            body = request.body or {}
            for comment in body.get("comments", []):
                wanted = range(comment.get("start_line", comment["line"]), comment["line"] + 1)
                if not set(wanted) <= self._right_lines(comment["path"]):
                    return 422, {}, {"message": "Unprocessable Entity", "errors": [
                        "Line could not be resolved"]}
            self._next_id += 1
            review = {"id": self._next_id, "body": body.get("body", ""), "state": "COMMENTED",
                      "commit_id": "1" * 40, "user": {"login": "github-actions[bot]", "id": 1, "type": "Bot"},
                      "html_url": f"https://github.example/{self.repo}/pull/{self.pr}#pullrequestreview-{self._next_id}",
                      "submitted_at": "2026-01-01T00:00:00Z"}
            self.reviews.append(review)
            for comment in body.get("comments", []):
                self._next_id += 1
                self.review_comments.append({"id": self._next_id, "pull_request_review_id": review["id"], **comment})
            return 200, {}, review
        match = re.fullmatch(f"/repos/{owner_repo}/pulls/comments/(\\d+)", path)
        if match and request.method == "DELETE":
            if self.read_only:
                return 403, {}, {"message": "Resource not accessible by integration"}
            before = len(self.review_comments)
            self.review_comments = [c for c in self.review_comments if c["id"] != int(match.group(1))]
            return (204, {}, None) if len(self.review_comments) < before else (404, {}, {"message": "Not Found"})
        return None
