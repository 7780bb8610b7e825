"""A client for an OpenAI-compatible chat-completions API (OpenAI, Ollama, vLLM, llama.cpp, ...).

Failures become the errors a caller can act on: no answer in time, unreachable, or 5xx after the
retries is UNAVAILABLE ("assistant unavailable: ..."); 429 is RESOURCE_EXHAUSTED with the
provider's Retry-After; a refused key or a rejected request is UNAVAILABLE too, since only the
operator can fix it. Provider messages are passed on clipped and with the API key scrubbed.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.accounts.config import Settings
from services.common.errors import ResourceExhausted, Unavailable
from services.common.logging import redact

log = logging.getLogger(__name__)

# The gateway recognises this prefix and shows the message instead of "accounts service unavailable".
ASSISTANT_UNAVAILABLE = "assistant unavailable"
MAX_ATTEMPTS = 3
# 408 and 409 are what some providers answer to a request they could not take right now.
TRANSIENT_STATUSES = {408, 409, 500, 502, 503, 504}
PROVIDER_MESSAGE_CHARS = 300
CONNECT_TIMEOUT_S = 10.0


class _Transient(Exception):
    """A failure worth trying again (timeout, connection, 5xx); its text ends up in the 503."""


class _Rejected(Exception):
    """A 4xx other than 401/403/429: the provider did not accept this request as sent."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


@dataclass
class ChatCompletions:
    client: httpx.AsyncClient
    base_url: str
    api_key: str
    model: str
    timeout_s: float
    max_tokens: int
    temperature: float

    async def complete(
        self, messages: list[dict], *, json_object: bool = False, budget_s: float | None = None
    ) -> str:
        """The assistant's text for the conversation `messages`, within LLM_TIMEOUT_S (or the
        caller's shorter budget) for all attempts together. `json_object` asks for JSON mode and
        falls back to a plain request for a server that rejects response_format."""
        budget = self.timeout_s if budget_s is None else max(0.1, min(self.timeout_s, budget_s))
        try:
            async with asyncio.timeout(budget):
                try:
                    return await self._with_retries(messages, json_object)
                except _Rejected:
                    if not json_object:
                        raise
                    log.info("the language model rejected response_format; asking again without it")
                    return await self._with_retries(messages, False)
        except TimeoutError:
            log.warning("the language model did not answer within %.1f s", budget)
            raise Unavailable(
                f"{ASSISTANT_UNAVAILABLE}: the language model did not answer within {budget:g} s"
            ) from None
        except _Transient as exc:
            raise Unavailable(f"{ASSISTANT_UNAVAILABLE}: {exc}") from None
        except _Rejected as exc:
            log.error("the language model rejected the request: %s", exc)
            raise Unavailable(
                f"{ASSISTANT_UNAVAILABLE}: the language model rejected the request ({exc})"
            ) from None

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _with_retries(self, messages: list[dict], json_object: bool) -> str:
        body = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        if json_object:
            body["response_format"] = {"type": "json_object"}
        retrying = AsyncRetrying(
            stop=stop_after_attempt(MAX_ATTEMPTS),
            wait=wait_exponential(multiplier=0.5, max=4),
            retry=retry_if_exception_type(_Transient),
            before_sleep=lambda state: log.warning(
                "language model attempt %d failed (%s); trying again",
                state.attempt_number,
                state.outcome.exception() if state.outcome else "?",
            ),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._post(body)
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    async def _post(self, body: dict) -> str:
        try:
            response = await self.client.post(
                f"{self.base_url}/chat/completions",
                json=body,
                headers={"Authorization": f"Bearer {self.api_key}"},
            )
        except httpx.TimeoutException:
            raise _Transient("the language model did not answer in time") from None
        except httpx.TransportError as exc:
            raise _Transient(f"cannot reach the language model ({type(exc).__name__})") from None
        status = response.status_code
        if status == 429:
            log.warning("the language model is rate limiting: %s", self._provider_message(response))
            raise ResourceExhausted(
                "assistant busy: the language model is limiting requests; try again later",
                retry_after_s=_retry_after_s(response),
            )
        if status in TRANSIENT_STATUSES or status >= 500:
            raise _Transient(f"the language model answered HTTP {status}: {self._provider_message(response)}")
        if status in (401, 403):
            log.error(
                "the language model refused the key in LLM_API_KEY (HTTP %d): %s",
                status,
                self._provider_message(response),
            )
            raise Unavailable(
                f"{ASSISTANT_UNAVAILABLE}: the language model refused the configured LLM_API_KEY "
                f"(HTTP {status}); the operator must fix it"
            )
        if status >= 400:
            raise _Rejected(status, self._provider_message(response))
        return self._content(response)

    def _content(self, response: httpx.Response) -> str:
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, LookupError, TypeError):
            content = None
        if not isinstance(content, str):
            log.error("the language model's answer has no message: %.300s", response.text)
            raise Unavailable(f"{ASSISTANT_UNAVAILABLE}: the language model's answer had no message")
        return content

    def _provider_message(self, response: httpx.Response) -> str:
        """The provider's own words (OpenAI's {"error": {"message"}} or the body), short and with
        the key scrubbed: some providers echo part of a refused key back."""
        try:
            error = response.json().get("error")
            text = error.get("message") if isinstance(error, dict) else error
        except (ValueError, AttributeError):
            text = None
        text = str(text) if text else response.text or response.reason_phrase
        text = redact(" ".join(text.split()), [self.api_key])
        return text[:PROVIDER_MESSAGE_CHARS]


def _retry_after_s(response: httpx.Response) -> int | None:
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(1, math.ceil(seconds)) if math.isfinite(seconds) and seconds >= 0 else None


def chat_completions_from_settings(settings: Settings) -> ChatCompletions | None:
    """The client, or None when the assistant is not configured."""
    if not settings.llm_configured:
        return None
    assert settings.llm_base_url and settings.llm_api_key and settings.llm_model  # llm_configured
    timeout = httpx.Timeout(settings.llm_timeout_s, connect=min(CONNECT_TIMEOUT_S, settings.llm_timeout_s))
    return ChatCompletions(
        client=httpx.AsyncClient(timeout=timeout, follow_redirects=False),
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value(),
        model=settings.llm_model,
        timeout_s=settings.llm_timeout_s,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
    )
