"""A loopback OpenAI-compatible server that misbehaves on purpose (fault injection only: the
real-model tests use `transformers serve`)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultServer:
    """mode: 'ok' (valid drafts), '500', 'slow', 'garbage', 'flaky' (500 twice, then ok)."""

    def __init__(self, mode: str = "ok", reply: str | None = None, delay: float = 5.0):
        self.mode = mode
        self.reply = reply
        self.delay = delay
        self.requests = 0
        self.auth_headers: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output clean
                pass

            def _send(self, code: int, body: bytes, ctype: str = "application/json"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                if self.path.endswith("/models"):
                    self._send(
                        200,
                        json.dumps(
                            {"object": "list", "data": [{"id": "fault-model", "object": "model", "created": 0, "owned_by": "test"}]}
                        ).encode(),
                    )
                else:
                    self._send(404, b"{}")

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                self.rfile.read(n)
                outer.requests += 1
                outer.auth_headers.append(self.headers.get("Authorization", ""))
                mode = outer.mode
                if mode == "flaky":
                    mode = "500" if outer.requests <= 2 else "ok"
                if mode == "500":
                    return self._send(500, b'{"error": {"message": "boom"}}')
                if mode == "slow":
                    time.sleep(outer.delay)
                if mode == "garbage":
                    return self._send(200, b"this is {not json")
                content = outer.reply if outer.reply is not None else "{}"
                body = {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "fault-model",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
                self._send(200, json.dumps(body).encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
