"""A minimal LSP client over a subprocess's stdio (JSON-RPC with Content-Length framing), for the tests."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from typing import Any

TIMEOUT = 60.0  # seconds: only a guard against a hung server, never part of an assertion


class Client:
    def __init__(self, argv: list[str], **kwargs: Any) -> None:
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.pending: list[dict[str, Any]] = []
        self.next_id = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self.messages.put(json.loads(body))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def _next(self) -> dict[str, Any]:
        try:
            message = self.messages.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError("the language server did not answer in time") from None
        if message is None:
            stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
            raise AssertionError(f"the language server closed its output:\n{stderr}")
        return message

    def wait_for(self, predicate) -> dict[str, Any]:
        """The first message (kept or new) that matches; the others are kept for later."""
        for message in self.pending:
            if predicate(message):
                self.pending.remove(message)
                return message
        while True:
            message = self._next()
            if message.get("method") in ("workspace/configuration", "client/registerCapability",
                                         "window/workDoneProgress/create") and "id" in message:
                self.send({"id": message["id"], "result": None})
                continue
            if predicate(message):
                return message
            self.pending.append(message)

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        ident = self.next_id
        self.send({"id": ident, "method": method, "params": params})
        answer = self.wait_for(lambda m: m.get("id") == ident and "method" not in m)
        assert "error" not in answer, answer["error"]
        return answer.get("result")

    def diagnostics(self, uri: str, version: int | None = None) -> list[dict[str, Any]]:
        """The next diagnostics published for `uri` (of that document version, when given)."""
        message = self.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                and m["params"]["uri"] == uri
                                and (version is None or m["params"].get("version") == version))
        return message["params"]["diagnostics"]

    def close(self) -> int:
        try:
            return self.process.wait(timeout=TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()
