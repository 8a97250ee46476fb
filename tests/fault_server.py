"""A loopback OpenAI-compatible server that misbehaves on purpose (fault injection only: the
real-model tests use `transformers serve`)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultServer:
    """mode: 'ok' (valid drafts), '500', 'slow', 'garbage', 'flaky' (500 twice, then ok).

    `refuse` maps a response_format type ("json_schema", "json_object", "text" for none) to the
    HTTP status this server refuses it with, as real servers do in different ways. `bodies` holds
    every request's JSON; `max_in_flight` the most requests it served at once."""

    def __init__(
        self,
        mode: str = "ok",
        reply: str | None = None,
        delay: float = 5.0,
        refuse: dict[str, int] | None = None,
        finish_reason: str = "stop",
        models: list[str] | None = None,
    ):
        self.mode = mode
        self.reply = reply
        self.delay = delay
        self.refuse = refuse or {}
        self.finish_reason = finish_reason
        self.models = models or ["fault-model"]
        self.requests = 0
        self.bodies: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
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
                            {
                                "object": "list",
                                "data": [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in outer.models],
                            }
                        ).encode(),
                    )
                else:
                    self._send(404, b"{}")

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(n) or b"{}")
                except ValueError:
                    body = {}
                with outer._lock:
                    outer.requests += 1
                    outer.bodies.append(body)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                outer.auth_headers.append(self.headers.get("Authorization", ""))
                try:
                    self._answer(body)
                finally:
                    with outer._lock:
                        outer.in_flight -= 1

            def _answer(self, body: dict):
                kind = (body.get("response_format") or {}).get("type", "text")
                if kind in outer.refuse:
                    return self._send(outer.refuse[kind], json.dumps({"error": {"message": f"{kind} is not supported"}}).encode())
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
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": outer.finish_reason}],
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
