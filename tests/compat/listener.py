"""A loopback HTTP server that receives callbacks, as a business's server would.

It records every POST (path and JSON body) and answers with what its script
for that path says next: a status, a JSON reply, or a delay (a receiver that
times out). Without a script it answers ``{"ResultCode": 0, "ResultDesc":
"Accepted"}``, as Daraja's docs ask businesses to.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


class Reply(NamedTuple):
    """One scripted answer: wait ``delay_s``, then answer ``status`` with ``body``."""

    status: int = 200
    body: Any = ACCEPTED
    delay_s: float = 0.0


class Received(NamedTuple):
    """A callback as it arrived."""

    path: str
    body: Any
    at: float


class Listener:
    """Callback receiver on 127.0.0.1, in a thread of its own."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self.condition = threading.Condition()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                reply = listener._next(self.path)
                with listener.condition:
                    listener.received.append(Received(self.path, body, time.monotonic()))
                    listener.condition.notify_all()
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                data = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the sender gave up waiting (a timeout we scripted)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        """The URL of ``path`` on this listener."""
        return self.base + path

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` with ``replies``, in order."""
        with self.condition:
            self.scripts[path].extend(replies)

    def _next(self, path: str) -> Reply:
        with self.condition:
            queue = self.scripts.get(path)
            return queue.popleft() if queue else Reply()

    def bodies(self, path: str) -> list[Any]:
        """Everything received on ``path`` so far."""
        with self.condition:
            return [item.body for item in self.received if item.path == path]

    def wait(self, path: str, count: int = 1, timeout_s: float = 15.0) -> list[Any]:
        """The first ``count`` bodies received on ``path``; AssertionError after the timeout."""
        deadline = time.monotonic() + timeout_s
        with self.condition:
            while True:
                found = [item.body for item in self.received if item.path == path]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} callback(s) to {path} expected, got {found}")
                self.condition.wait(left)

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
