"""Replicate's HTTP API over a synchronous httpx client (providers run inside RQ work horses).

Every call shares one rule set: timeouts, connection errors, 408, 429 and 5xx are transient and
retried with exponential backoff (429 honours Retry-After), up to `max_retries`, then raised as
TransientProviderError; any other 4xx is permanent and raised at once with the API's own message.
Waiting for a prediction or training polls with backoff and calls `checkpoint` at least once a
second; with REPLICATE_WEBHOOK_URL set, every job asks Replicate to POST its completion there, and
the wait between polls is a wait for that delivery (services/jobs/replicate_webhooks/mailbox.py),
which is taken exactly as a poll's answer would be. Whatever makes us stop waiting (cancellation,
our deadline, an error) cancels the remote job first, since nobody would collect its output.
Outputs are streamed to disk under a size cap.

A create retried after a read timeout may leave a duplicate prediction behind (the API has no
idempotency key); it runs to completion unclaimed. Connection errors, 429s and 5xx are safe.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from services.jobs.media_types import PermanentProviderError, TransientProviderError
from services.jobs.replicate_webhooks.mailbox import Mailbox

log = logging.getLogger(__name__)

TERMINAL_STATES = frozenset({"succeeded", "failed", "canceled", "aborted"})
# Retry-After beyond this is treated as this: a worker should not sit idle for an hour.
RETRY_AFTER_CAP_S = 120.0
# How many attempts a best-effort cancel gets; it must not hold up the job that is stopping.
CANCEL_RETRIES = 2
# Only the end matters to a waiting step; "start", "output" and "logs" would be a request each.
WEBHOOK_EVENTS = ["completed"]
_MODEL_REF = re.compile(r"^(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)(?::(?P<version>[\w.-]+))?$")

Checkpoint = Callable[[], None]


def no_checkpoint() -> None:
    return None


@dataclass(frozen=True)
class ModelRef:
    owner: str
    name: str
    version: str | None = None

    @property
    def model(self) -> str:
        return f"{self.owner}/{self.name}"

    @classmethod
    def parse(cls, ref: str) -> ModelRef:
        match = _MODEL_REF.match(ref.strip())
        if not match:
            raise PermanentProviderError(f"not a Replicate model ref (owner/name[:version]): {ref!r}")
        return cls(match["owner"], match["name"], match["version"])


@dataclass(frozen=True)
class ClientOptions:
    token: str
    base_url: str = "https://api.replicate.com"
    timeout_s: float = 30.0
    max_wait_s: float = 1800.0
    poll_initial_s: float = 1.0
    poll_max_s: float = 10.0
    max_retries: int = 5
    max_output_bytes: int = 512 * 1024 * 1024
    # First retry delay after a transient error without Retry-After; doubles per attempt.
    retry_initial_s: float = 0.5
    retry_max_s: float = 30.0
    # Where Replicate POSTs a job's completion (the gateway's /api/webhooks/replicate); None: poll only.
    webhook_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> ClientOptions:
        token = settings.replicate_api_token.get_secret_value() if settings.replicate_api_token else ""
        if not token.strip():
            raise PermanentProviderError("replicate provider needs REPLICATE_API_TOKEN")
        return cls(
            token=token.strip(),
            base_url=settings.replicate_base_url,
            timeout_s=settings.replicate_timeout_s,
            max_wait_s=settings.replicate_max_wait_s,
            poll_initial_s=settings.replicate_poll_initial_s,
            poll_max_s=max(settings.replicate_poll_max_s, settings.replicate_poll_initial_s),
            max_retries=settings.replicate_max_retries,
            max_output_bytes=settings.replicate_max_output_bytes,
            webhook_url=settings.replicate_webhook_url,
        )


class ReplicateHTTPError(PermanentProviderError):
    """A 4xx the API meant: bad input, bad token, no credit, no such model or prediction."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class _Transient(Exception):
    def __init__(self, problem: str, retry_after: float | None = None):
        super().__init__(problem)
        self.retry_after = retry_after


def _is_transient(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _api_message(response: httpx.Response) -> str:
    """The API's own words: problem-details JSON ({"title", "detail"}), else the body's start."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = [str(body[key]) for key in ("title", "detail") if body.get(key)]
        if parts:
            return f"{response.status_code} " + ": ".join(parts)
    text = response.text.strip()[:300]
    return f"{response.status_code} {text or response.reason_phrase}"


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S)


def logs_percent(logs: str | None) -> float | None:
    """The last progress percentage a model printed (tqdm-style "42%|####"), as 0..1."""
    if not logs:
        return None
    found = re.findall(r"(\d{1,3}(?:\.\d+)?)\s?%", logs[-4000:])
    for value in reversed(found):
        pct = float(value)
        if 0 <= pct <= 100:
            return pct / 100
    return None


def output_urls(output: Any) -> list[str]:
    """A prediction's output as the URLs of its files: one URL or a list of them."""
    items = output if isinstance(output, list) else [output]
    urls = [item for item in items if isinstance(item, str) and item.startswith(("https://", "http://"))]
    if not urls:
        raise PermanentProviderError(f"replicate returned no output file (output: {str(output)[:200]})")
    return urls


class ReplicateClient:
    def __init__(
        self,
        options: ClientOptions,
        *,
        transport: httpx.BaseTransport | None = None,
        mailbox: Mailbox | None = None,
    ):
        self.options = options
        # Where the jobs service hands over webhook deliveries; None: every wait only polls.
        self.mailbox = mailbox if options.webhook_url else None
        self._api = httpx.Client(
            base_url=options.base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {options.token}", "User-Agent": "zapcut-adgen"},
            timeout=options.timeout_s,
            transport=transport,
        )
        # Output files live on another host (replicate.delivery): our token must not travel there.
        self._files = httpx.Client(timeout=options.timeout_s, follow_redirects=True, transport=transport)

    def close(self) -> None:
        self._api.close()
        self._files.close()

    def __enter__(self) -> ReplicateClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- one call, with the shared retry rules ---------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        json: dict | None = None,
        checkpoint: Checkpoint = no_checkpoint,
        max_retries: int | None = None,
    ) -> dict:
        retries = self.options.max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            try:
                return self._call_once(method, path, json)
            except _Transient as exc:
                if attempt >= retries:
                    raise TransientProviderError(
                        f"replicate {method} {path}: {exc} (gave up after {attempt + 1} attempts)"
                    ) from None
                delay = exc.retry_after if exc.retry_after is not None else self._backoff(attempt)
                log.warning("replicate %s %s: %s; retrying in %.1fs", method, path, exc, delay)
                self.sleep(delay, checkpoint)
                attempt += 1

    def _call_once(self, method: str, path: str, json: dict | None) -> dict:
        try:
            response = self._api.request(method, path, json=json)
        except httpx.TimeoutException:
            raise _Transient(f"no answer within {self.options.timeout_s:g}s") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection error: {exc!r}") from None
        if response.status_code >= 400:
            message = _api_message(response)
            if _is_transient(response.status_code):
                raise _Transient(message, _retry_after_s(response))
            raise ReplicateHTTPError(response.status_code, f"replicate {method} {path}: {message}")
        try:
            return response.json()
        except ValueError:
            raise _Transient(f"{response.status_code} with a body that is not JSON") from None

    def _backoff(self, attempt: int) -> float:
        delay = min(self.options.retry_max_s, self.options.retry_initial_s * 2**attempt)
        return delay * (1 + 0.25 * random.random())  # noqa: S311 - jitter, not security

    @staticmethod
    def sleep(seconds: float, checkpoint: Checkpoint = no_checkpoint) -> None:
        """Sleep in slices of at most a second, calling checkpoint between them."""
        deadline = time.monotonic() + seconds
        while True:
            checkpoint()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 1.0))

    # --- predictions -----------------------------------------------------------------------------

    def create_prediction(
        self, model: str | ModelRef, input: dict, *, checkpoint: Checkpoint = no_checkpoint
    ) -> dict:
        ref = model if isinstance(model, ModelRef) else ModelRef.parse(model)
        body: dict[str, Any] = {"input": input, **self._webhook()}
        if ref.version:
            body["version"] = ref.version
            return self.call("POST", "/v1/predictions", json=body, checkpoint=checkpoint)
        # An official model, run at its current version without naming one.
        return self.call(
            "POST", f"/v1/models/{ref.owner}/{ref.name}/predictions", json=body, checkpoint=checkpoint
        )

    # --- trainings and models --------------------------------------------------------------------

    def create_training(
        self, trainer: ModelRef, destination: str, input: dict, *, checkpoint: Checkpoint = no_checkpoint
    ) -> dict:
        if not trainer.version:
            raise PermanentProviderError(f"a training needs a trainer version: {trainer.model}")
        body: dict[str, Any] = {"destination": destination, "input": input, **self._webhook()}
        path = f"/v1/models/{trainer.owner}/{trainer.name}/versions/{trainer.version}/trainings"
        return self.call("POST", path, json=body, checkpoint=checkpoint)

    def _webhook(self) -> dict[str, Any]:
        if not self.options.webhook_url:
            return {}
        return {"webhook": self.options.webhook_url, "webhook_events_filter": WEBHOOK_EVENTS}

    def get_training(self, training_id: str, *, checkpoint: Checkpoint = no_checkpoint) -> dict:
        return self.call("GET", f"/v1/trainings/{training_id}", checkpoint=checkpoint)

    def get_model(self, owner: str, name: str) -> dict | None:
        """The model, or None when it does not exist (404)."""
        try:
            return self.call("GET", f"/v1/models/{owner}/{name}")
        except ReplicateHTTPError as exc:
            if exc.status == 404:
                return None
            raise

    def create_model(self, owner: str, name: str, *, visibility: str, hardware: str, **extra: Any) -> dict:
        body = {"owner": owner, "name": name, "visibility": visibility, "hardware": hardware, **extra}
        return self.call("POST", "/v1/models", json=body)

    # --- waiting ---------------------------------------------------------------------------------

    def wait(
        self,
        job: dict,
        *,
        kind: str = "predictions",
        checkpoint: Checkpoint = no_checkpoint,
        on_update: Callable[[dict], None] = lambda job: None,
        max_wait_s: float | None = None,
    ) -> dict:
        """Poll a prediction (or, with kind="trainings", a training) until it ends, and return it
        when it succeeded. Failed -> PermanentProviderError with its error; canceled or aborted at
        Replicate without us asking -> PermanentProviderError (our own cancellation arrives as
        Cancelled from checkpoint and propagates as that); past max_wait_s -> cancelled there and
        PermanentProviderError. Leaving early for any reason cancels the remote job."""
        noun = kind.rstrip("s")
        job_id = job["id"]
        max_wait_s = self.options.max_wait_s if max_wait_s is None else max_wait_s
        try:
            job, timed_out = self._poll(job, kind, checkpoint, on_update, max_wait_s)
        except BaseException:  # Cancelled, our own errors, the work horse's timeout alike
            self._cancel_quietly(kind, job_id)
            raise
        if timed_out:
            self._cancel_quietly(kind, job_id)
            raise PermanentProviderError(
                f"replicate {noun} {job_id} timed out after {max_wait_s:g}s "
                f"(still {job.get('status')}); cancelled it"
            )
        status = job.get("status")
        if status == "succeeded":
            return job
        if status == "failed":
            raise PermanentProviderError(
                f"replicate {noun} {job_id} failed: {job.get('error') or 'no message'}"
            )
        raise PermanentProviderError(f"replicate {noun} {job_id} was {status} at Replicate")

    def _poll(
        self, job: dict, kind: str, checkpoint: Checkpoint, on_update, max_wait_s: float
    ) -> tuple[dict, bool]:
        started = time.monotonic()
        delay = self.options.poll_initial_s
        job_id = job["id"]
        awaited = self.mailbox is not None and self.mailbox.expect(job_id, max_wait_s)
        try:
            on_update(job)
            while job.get("status") not in TERMINAL_STATES:
                left = max_wait_s - (time.monotonic() - started)
                if left <= 0:
                    return job, True
                delivered = self._sleep_until_delivery(job_id, min(delay, left), checkpoint, awaited)
                if delivered is not None:
                    noun, status = kind.rstrip("s"), delivered.get("status")
                    log.info("replicate: %s %s is %s (webhook)", noun, job_id, status)
                    job = delivered
                else:
                    delay = min(delay * 2, self.options.poll_max_s)
                    job = self.call("GET", f"/v1/{kind}/{job_id}", checkpoint=checkpoint)
                on_update(job)
            return job, False
        finally:
            if awaited and self.mailbox is not None:
                self.mailbox.forget(job_id)

    def _sleep_until_delivery(
        self, job_id: str, seconds: float, checkpoint: Checkpoint, awaited: bool
    ) -> dict | None:
        """The job as its webhook delivered it, if one arrives within `seconds`; None after them.
        Calls checkpoint at least once a second, as sleep does."""
        if not awaited or self.mailbox is None:
            self.sleep(seconds, checkpoint)
            return None
        deadline = time.monotonic() + seconds
        while True:
            checkpoint()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            delivered = self.mailbox.take(job_id, left)
            if delivered is not None and delivered.get("id") == job_id:
                return delivered

    def _cancel_quietly(self, kind: str, job_id: str) -> None:
        try:
            self.call("POST", f"/v1/{kind}/{job_id}/cancel", max_retries=CANCEL_RETRIES)
            log.info("replicate: cancelled %s %s", kind.rstrip("s"), job_id)
        except Exception as exc:  # the job is stopping anyway; Replicate ends it after 30 minutes
            log.warning("replicate: could not cancel %s %s: %s", kind.rstrip("s"), job_id, exc)

    # --- outputs ---------------------------------------------------------------------------------

    def download(self, url: str, dest: Path, *, checkpoint: Checkpoint = no_checkpoint) -> Path:
        """Stream one output file to `dest` (via a .part file, so `dest` is whole or absent)."""
        attempt = 0
        while True:
            try:
                return self._download_once(url, dest, checkpoint)
            except _Transient as exc:
                if attempt >= self.options.max_retries:
                    raise TransientProviderError(f"replicate output download: {exc}") from None
                delay = exc.retry_after if exc.retry_after is not None else self._backoff(attempt)
                log.warning("replicate output download: %s; retrying in %.1fs", exc, delay)
                self.sleep(delay, checkpoint)
                attempt += 1

    def _download_once(self, url: str, dest: Path, checkpoint: Checkpoint) -> Path:
        cap = self.options.max_output_bytes
        part = dest.with_name(dest.name + ".part")
        # The API's own files (api.replicate.com/v1/files/...) need the token; delivery URLs don't.
        same_host = urlsplit(url).netloc == urlsplit(str(self._api.base_url)).netloc
        headers = {"Authorization": self._api.headers["Authorization"]} if same_host else {}
        try:
            with self._files.stream("GET", url, headers=headers) as response:
                if response.status_code >= 400:
                    response.read()
                    message = f"GET output: {_api_message(response)}"
                    if _is_transient(response.status_code):
                        raise _Transient(message, _retry_after_s(response))
                    raise PermanentProviderError(f"replicate output {message} (outputs expire after an hour)")
                length = response.headers.get("content-length")
                if length and length.isdigit() and int(length) > cap:
                    raise PermanentProviderError(
                        f"replicate output is {int(length)} bytes, over the {cap} cap"
                    )
                written = 0
                last_check = time.monotonic()
                with part.open("wb") as file:
                    for chunk in response.iter_bytes(1024 * 1024):
                        written += len(chunk)
                        if written > cap:
                            raise PermanentProviderError(f"replicate output is over the {cap} byte cap")
                        file.write(chunk)
                        if time.monotonic() - last_check >= 1.0:
                            checkpoint()
                            last_check = time.monotonic()
            part.replace(dest)
            return dest
        except httpx.TimeoutException:
            raise _Transient(f"no data within {self.options.timeout_s:g}s") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection error: {exc!r}") from None
        finally:
            part.unlink(missing_ok=True)
