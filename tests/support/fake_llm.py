"""A real HTTP server on a free local port that speaks the OpenAI chat-completions API
(POST /v1/chat/completions with Bearer auth), for tests of the assistant.

Tests script its answers (`answer(...)`: taken in order, the last one repeating) and read the
requests it received (`requests`). A wrong or missing key gets OpenAI's 401."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_REPLY = "A reply from the fake language model."


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def completion(content: str, model: str = "fake-model") -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def reply(content: str) -> Answer:
    return Answer(body=json.dumps(completion(content)).encode())


def json_reply(value) -> Answer:
    return reply(json.dumps(value))


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    body = {"error": {"message": message, "type": "fake_error", "code": None}}
    return Answer(status=status, body=json.dumps(body).encode(), headers=headers or {})


def slow(delay_s: float, then: Answer | None = None) -> Answer:
    then = then or reply(DEFAULT_REPLY)
    return Answer(then.status, then.body, then.headers, delay_s)


# An answer may also be a function of the request body (the parsed JSON) returning an Answer.
Scripted = Answer | Callable[[dict], Answer]


@dataclass
class Request:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict


class FakeLLM:
    def __init__(self, api_key: str):
        self.api_key = api_key
        self.requests: list[Request] = []
        self._answers: list[Scripted] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-llm", daemon=True)

    @property
    def url(self) -> str:
        """The base URL, as LLM_BASE_URL takes it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def answer(self, *answers: Scripted) -> None:
        """Answer the next requests with these, in order; the last one for every request after."""
        with self._lock:
            self._answers = list(answers)

    def reset(self) -> None:
        """Forget requests and answers, and let any slow answer still waiting finish at once."""
        with self._lock:
            self.requests.clear()
            self._answers = []
            self._release.set()
            self._release = threading.Event()

    def _next(self, body: dict) -> tuple[Answer, threading.Event]:
        with self._lock:
            scripted = self._answers.pop(0) if len(self._answers) > 1 else next(iter(self._answers), None)
            release = self._release
        if scripted is None:
            return reply(DEFAULT_REPLY), release
        return (scripted(body) if callable(scripted) else scripted), release

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the http.server name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"unparsed": raw.decode(errors="replace")}
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.requests.append(Request(self.path, headers, body))
                if self.path != "/v1/chat/completions":
                    return self._send(error(404, f"no route {self.path}"))
                if headers.get("authorization") != f"Bearer {fake.api_key}":
                    return self._send(error(401, "Incorrect API key provided."))
                answer, release = fake._next(body)
                if answer.delay_s:
                    release.wait(answer.delay_s)
                self._send(answer)

            def _send(self, answer: Answer) -> None:
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer.body)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: what a slow answer is for

            def log_message(self, format, *args):  # noqa: A002 - the http.server signature
                pass

        return Handler
