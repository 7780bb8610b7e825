"""A local HTTP server that speaks the parts of Replicate's API the replicate provider uses.

It is a real server (Starlette under uvicorn, in a background thread, on a free 127.0.0.1 port):
Bearer auth (401 on a wrong token), predictions created by version or by official model, polled
through starting -> processing -> succeeded | failed | canceled, cancel, trainings, models, and
output files served from the same server (like replicate.delivery, without auth). Tests script it
through the FakeReplicate object: per-model outcomes (`script`), one-off HTTP faults (`fail_next`:
429 with Retry-After, 5xx, 4xx) and slow answers (`delay_next`), and read what was sent in
`requests`.

Webhooks as Replicate sends them: a prediction or training created with `webhook` (and "completed"
in its `webhook_events_filter`, or no filter) runs to its scripted end by itself after
`webhook_after_s`, without being polled, and its final JSON is POSTed to the webhook URL signed with
WEBHOOK_SECRET the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature), retried
with backoff on a non-2xx answer or a connection error, keeping its webhook-id and signing each
attempt anew. `webhook_mode = "drop"` loses every delivery (the job still ends); `deliveries` records
each attempt; `signed()` makes a delivery by hand, for tests that forge or replay one.

Use the `fake_replicate` fixture (import it into the test module): a fresh state per test on a
server shared by the module.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

TOKEN = "r8_fake_test_token"
TERMINAL = {"succeeded", "failed", "canceled", "aborted"}
# The account's signing secret, as GET /v1/webhooks/default/secret would give it.
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"fake-replicate-webhook-signing-key").decode()
# Attempts per delivery (Replicate retries a terminal event's delivery with backoff).
WEBHOOK_ATTEMPTS = 4


@dataclass
class Script:
    """How predictions (or trainings) of one model behave."""

    polls: int = 2  # GETs answered "processing" before the outcome shows
    outcome: str = "succeeded"  # succeeded | failed | canceled | never
    error: str = "prediction failed"
    # File name(s) under the served directory (turned into URLs), or any JSON for the output.
    output: Any = None


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int = 500
    times: int = 1
    retry_after: str | None = None
    delay_s: float = 0.0
    body: dict | None = None


@dataclass
class Delivery:
    """One attempt at delivering a webhook."""

    url: str
    webhook_id: str
    job_id: str
    attempt: int
    status: int  # the answer's status; 0 when the connection failed
    body: Any = None


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    status: int = 0  # what the gate answered (a fault or 401); 0 when the route handled it
    at: float = field(default_factory=time.monotonic)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def _problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"title": title, "detail": detail, "status": status, **extra}, status_code=status)


class FakeReplicate:
    def __init__(self, files_dir: Path):
        self.files_dir = files_dir
        self.token = TOKEN
        self.base_url = ""
        self.files_url = ""
        self._lock = threading.Lock()
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/v1/predictions", self._create_by_version, methods=["POST"]),
                Route("/v1/models/{owner}/{name}/predictions", self._create_by_model, methods=["POST"]),
                Route("/v1/predictions/{id}", self._get_prediction, methods=["GET"]),
                Route("/v1/predictions/{id}/cancel", self._cancel_prediction, methods=["POST"]),
                Route(
                    "/v1/models/{owner}/{name}/versions/{version}/trainings",
                    self._create_training,
                    methods=["POST"],
                ),
                Route("/v1/trainings/{id}", self._get_training, methods=["GET"]),
                Route("/v1/trainings/{id}/cancel", self._cancel_training, methods=["POST"]),
                Route("/v1/models", self._create_model, methods=["POST"]),
                Route("/v1/models/{owner}/{name}", self._get_model, methods=["GET"]),
                Route("/files/{name}", self._file, methods=["GET"]),
            ]
        )

    # --- what tests call -------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.requests: list[Recorded] = []
            self.predictions: dict[str, dict] = {}
            self.trainings: dict[str, dict] = {}
            self.models: dict[str, dict] = {}
            self.versions: dict[str, str] = {}  # version id -> "owner/name"
            self.scripts: dict[str, Script] = {}
            self.faults: list[Fault] = []
            self.default_output: Any = None
            self._polls: dict[str, int] = {}
            self.webhook_mode = "deliver"  # or "drop": the job ends, its delivery never comes
            self.webhook_after_s = 0.3  # how long a job with a webhook runs before it ends
            self.webhook_retry_s = 0.2  # first delay between delivery attempts, doubling
            self.webhook_attempts = WEBHOOK_ATTEMPTS
            self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task] = getattr(self, "_tasks", set())

    def script(self, model: str, **fields: Any) -> None:
        """Behaviour of predictions/trainings of "owner/name[:version]" (a version is registered)."""
        name, _, version = model.partition(":")
        self.scripts[name] = Script(**fields)
        if version:
            self.versions[version] = name

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        body: dict | None = None,
    ) -> None:
        """Answer the next `times` matching requests with `status` (and this problem body)."""
        self.faults.append(Fault(method, path_prefix, status, times, retry_after, body=body))

    def delay_next(self, method: str, path_prefix: str, seconds: float, *, times: int = 1) -> None:
        self.faults.append(Fault(method, path_prefix, status=0, times=times, delay_s=seconds))

    def add_model(self, model: str, *, latest_version: str | None = None, visibility: str = "public") -> None:
        owner, name = model.split("/")
        self.models[model] = self._model_json(owner, name, visibility, latest_version)
        if latest_version:
            self.versions[latest_version] = model

    def url(self, file_name: str) -> str:
        return f"{self.files_url}/files/{file_name}"

    def calls(self, method: str, path: str = "", *, exact: bool = False) -> list[Recorded]:
        """Requests received with this method and path (or path prefix)."""
        return [
            r
            for r in self.requests
            if r.method == method and (r.path == path if exact else r.path.startswith(path))
        ]

    def signed(
        self,
        job: dict | bytes,
        *,
        secret: str = WEBHOOK_SECRET,
        webhook_id: str | None = None,
        timestamp: datetime | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A delivery of `job` (or these exact bytes) signed as Replicate signs it."""
        body = job if isinstance(job, bytes) else json.dumps(job).encode()
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        timestamp = timestamp or datetime.now(UTC)
        signature = Webhook(secret).sign(webhook_id, timestamp, body.decode())
        return body, {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
        }

    def finish(self, job_id: str) -> dict:
        """Run a prediction or training to its scripted end now (no delivery); its final JSON."""
        with self._lock:
            job = self.predictions.get(job_id) or self.trainings[job_id]
            for _ in range(100):
                if job["status"] in TERMINAL:
                    break
                self._advance(job)
            return dict(job)

    def job(self, job_id: str) -> dict:
        with self._lock:
            return dict(self.predictions.get(job_id) or self.trainings[job_id])

    # --- webhooks --------------------------------------------------------------------------------

    def _schedule_webhook(self, job: dict) -> None:
        events = job.get("webhook_events_filter") or ["start", "output", "logs", "completed"]
        if job.get("webhook") and "completed" in events:
            task = asyncio.get_running_loop().create_task(self._run_and_deliver(job["id"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_and_deliver(self, job_id: str) -> None:
        await asyncio.sleep(self.webhook_after_s)
        job = self.finish(job_id)
        if job["status"] not in TERMINAL or self.webhook_mode == "drop":
            return
        body, webhook_id, delay = json.dumps(job).encode(), f"msg_{uuid.uuid4().hex}", self.webhook_retry_s
        async with httpx.AsyncClient(timeout=10) as client:
            for attempt in range(1, self.webhook_attempts + 1):
                _, headers = self.signed(body, webhook_id=webhook_id)
                try:
                    reply = await client.post(job["webhook"], content=body, headers=headers)
                    status, answer = reply.status_code, reply.text
                except httpx.HTTPError:
                    status, answer = 0, None
                self.deliveries.append(Delivery(job["webhook"], webhook_id, job_id, attempt, status, answer))
                if 200 <= status < 300:
                    return
                await asyncio.sleep(delay)
                delay *= 2

    # --- plumbing shared by every route ----------------------------------------------------------

    async def _gate(self, request: Request, *, auth: bool = True) -> Response | None:
        try:
            body = await request.json() if request.method == "POST" else None
        except ValueError:
            body = None
        record = Recorded(request.method, request.url.path, dict(request.headers), body)
        with self._lock:
            self.requests.append(record)
            fault = next(
                (
                    f
                    for f in self.faults
                    if f.times > 0
                    and f.method == request.method
                    and request.url.path.startswith(f.path_prefix)
                ),
                None,
            )
            if fault:
                fault.times -= 1
        if fault and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        elif fault:
            record.status = fault.status
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            titles = {429: "Request was throttled", 422: "Input validation failed"}
            return JSONResponse(
                fault.body
                or {
                    "title": titles.get(fault.status, "Scripted fault"),
                    "detail": "scripted",
                    "status": fault.status,
                },
                status_code=fault.status,
                headers=headers,
            )
        if auth and request.headers.get("authorization") != f"Bearer {self.token}":
            record.status = 401
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        request.state.record = record
        request.state.body = body
        return None

    def _output(self, script: Script) -> Any:
        output = script.output if script.output is not None else self.default_output
        if isinstance(output, str):
            return self.url(output)
        if isinstance(output, list):
            return [self.url(item) for item in output]
        return output

    def _advance(self, job: dict) -> None:
        """One poll's worth of progress, following the model's script."""
        if job["status"] in TERMINAL:
            return
        script = self.scripts.get(job["model"], Script())
        seen = self._polls[job["id"]] = self._polls.get(job["id"], 0) + 1
        if seen <= script.polls or script.outcome == "never":
            job["status"] = "processing"
            job["started_at"] = job["started_at"] or _now()
            pct = min(99, round(100 * seen / max(script.polls + 1, 1)))
            job["logs"] = (job["logs"] or "") + f"step {seen}: {pct}%|####| \n"
            return
        job["status"] = script.outcome
        job["completed_at"] = _now()
        if script.outcome == "succeeded":
            job["output"] = self._output(script)
        elif script.outcome == "failed":
            job["error"] = script.error

    def _new_job(self, kind: str, model: str, version: str | None, body: dict) -> dict:
        job_id = uuid.uuid4().hex[:26]
        job = {
            "id": job_id,
            "model": model,
            "version": version,
            "input": body["input"],
            "logs": "",
            "output": None,
            "error": None,
            "status": "starting",
            "created_at": _now(),
            "started_at": None,
            "completed_at": None,
            "urls": {
                "get": f"{self.base_url}/v1/{kind}/{job_id}",
                "cancel": f"{self.base_url}/v1/{kind}/{job_id}/cancel",
            },
            "metrics": {},
        }
        for key in ("webhook", "webhook_events_filter", "destination"):
            if key in body:
                job[key] = body[key]
        return job

    @staticmethod
    def _model_json(owner: str, name: str, visibility: str, version: str | None) -> dict:
        return {
            "url": f"https://replicate.com/{owner}/{name}",
            "owner": owner,
            "name": name,
            "description": None,
            "visibility": visibility,
            "latest_version": {"id": version} if version else None,
        }

    # --- routes ----------------------------------------------------------------------------------

    def _check_input(self, body: Any) -> Response | None:
        if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
            return _problem(422, "Input validation failed", "input is required and must be an object")
        return None

    async def _create_by_version(self, request: Request) -> Response:
        if refused := await self._gate(request):
            return refused
        body = request.state.body
        if refused := self._check_input(body):
            return refused
        model = self.versions.get(body.get("version") or "")
        if model is None:
            return _problem(422, "Invalid version or not permitted", "The specified version does not exist")
        with self._lock:
            job = self._new_job("predictions", model, body["version"], body)
            self.predictions[job["id"]] = job
        self._schedule_webhook(job)
        return JSONResponse(job, status_code=201)

    async def _create_by_model(self, request: Request) -> Response:
        if refused := await self._gate(request):
            return refused
        body = request.state.body
        if refused := self._check_input(body):
            return refused
        model = f"{request.path_params['owner']}/{request.path_params['name']}"
        with self._lock:
            job = self._new_job("predictions", model, None, body)
            self.predictions[job["id"]] = job
        self._schedule_webhook(job)
        return JSONResponse(job, status_code=201)

    async def _get(self, request: Request, jobs: dict[str, dict]) -> Response:
        if refused := await self._gate(request):
            return refused
        with self._lock:
            job = jobs.get(request.path_params["id"])
            if job is None:
                return _problem(404, "Not found", "The requested resource could not be found.")
            self._advance(job)
            return JSONResponse(dict(job))

    async def _cancel(self, request: Request, jobs: dict[str, dict]) -> Response:
        if refused := await self._gate(request):
            return refused
        with self._lock:
            job = jobs.get(request.path_params["id"])
            if job is None:
                return _problem(404, "Not found", "The requested resource could not be found.")
            if job["status"] not in TERMINAL:
                job["status"] = "canceled"
                job["completed_at"] = _now()
            return JSONResponse(dict(job))

    async def _get_prediction(self, request: Request) -> Response:
        return await self._get(request, self.predictions)

    async def _cancel_prediction(self, request: Request) -> Response:
        return await self._cancel(request, self.predictions)

    async def _get_training(self, request: Request) -> Response:
        return await self._get(request, self.trainings)

    async def _cancel_training(self, request: Request) -> Response:
        return await self._cancel(request, self.trainings)

    async def _create_training(self, request: Request) -> Response:
        if refused := await self._gate(request):
            return refused
        body = request.state.body
        if refused := self._check_input(body):
            return refused
        destination = body.get("destination", "")
        if destination not in self.models:
            return _problem(404, "Not found", f"The destination model {destination} does not exist.")
        model = f"{request.path_params['owner']}/{request.path_params['name']}"
        if self.versions.get(request.path_params["version"]) != model:
            return _problem(404, "Not found", "The requested resource could not be found.")
        with self._lock:
            job = self._new_job("trainings", model, request.path_params["version"], body)
            self.trainings[job["id"]] = job
        self._schedule_webhook(job)
        return JSONResponse(job, status_code=201)

    async def _get_model(self, request: Request) -> Response:
        if refused := await self._gate(request):
            return refused
        model = self.models.get(f"{request.path_params['owner']}/{request.path_params['name']}")
        if model is None:
            return _problem(404, "Not found", "The requested resource could not be found.")
        return JSONResponse(model)

    async def _create_model(self, request: Request) -> Response:
        if refused := await self._gate(request):
            return refused
        body = request.state.body or {}
        missing = [key for key in ("owner", "name", "visibility", "hardware") if not body.get(key)]
        if missing:
            return _problem(422, "Input validation failed", f"missing: {', '.join(missing)}")
        key = f"{body['owner']}/{body['name']}"
        with self._lock:
            if key in self.models:
                return _problem(409, "Conflict", "A model with that name and owner already exists.")
            self.models[key] = self._model_json(body["owner"], body["name"], body["visibility"], None)
            return JSONResponse(self.models[key], status_code=201)

    async def _file(self, request: Request) -> Response:
        if refused := await self._gate(request, auth=False):
            return refused
        path = self.files_dir / Path(request.path_params["name"]).name
        if not path.is_file():
            return _problem(404, "Not found", "output expired")
        return FileResponse(path)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class _ServerThread:
    """One uvicorn server on two ports: the API's, and the file host's (as replicate.delivery is
    another host than api.replicate.com, so the client must not send its token there)."""

    def __init__(self, app):
        self.sockets = [_free_socket(), _free_socket()]
        self.api_port, self.files_port = (sock.getsockname()[1] for sock in self.sockets)
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": self.sockets}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("fake Replicate server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()


@contextlib.contextmanager
def running_fake_replicate(files_dir: Path) -> Iterator[FakeReplicate]:
    fake = FakeReplicate(files_dir)
    server = _ServerThread(fake.app)
    server.start()
    fake.base_url = f"http://127.0.0.1:{server.api_port}"
    fake.files_url = f"http://127.0.0.1:{server.files_port}"
    try:
        yield fake
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fake_replicate_server(tmp_path_factory):
    with running_fake_replicate(tmp_path_factory.mktemp("replicate-files")) as fake:
        yield fake


@pytest.fixture
def fake_replicate(fake_replicate_server):
    fake_replicate_server.reset()
    return fake_replicate_server
