"""SDK exceptions translated once, at the provider boundary, into one-line ProviderErrors.

Each vendor's SDK raises its own classes; what a user needs is the same: which provider, what went
wrong, what to do. The table maps HTTP status (or connection failure) to a retryable flag and a
sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import ProviderError

_BAD_KEY = re.compile(r"API_KEY_INVALID|API key not valid|invalid api key", re.IGNORECASE)

_BY_STATUS: dict[int, tuple[bool, str, str]] = {
    400: (False, "rejected the request", "check --model and the request size"),
    401: (False, "rejected the API key", "check {key}"),
    403: (False, "refused access with this key", "check {key} and the model's permissions"),
    404: (False, "does not know this model or endpoint", "check --model and --base-url"),
    408: (True, "timed out", "retry later"),
    413: (False, "says the request is too large", "lower --budget"),
    422: (False, "rejected the request", "check --model"),
    429: (True, "is rate limiting or out of quota", "wait and retry, or check your plan"),
    529: (True, "is overloaded", "retry later"),
}


def provider_error(provider: str, key_env: str, status: int | None, detail: str) -> ProviderError:
    """A one-line error for an HTTP status (None = no response: connection failure or timeout)."""
    if status is None:
        return ProviderError(
            f"{provider} could not be reached ({_first_line(detail)})",
            "check the network, --base-url, or use --provider offline",
            retryable=True,
        )
    # Gemini answers a wrong key with HTTP 400 and the reason API_KEY_INVALID
    row = 401 if status == 400 and _BAD_KEY.search(detail or "") else status
    retryable, problem, remedy = _BY_STATUS.get(
        row,
        (status >= 500, "failed on its side", "retry later")
        if status >= 500
        else (False, "rejected the request", "see the detail"),
    )
    return ProviderError(
        f"{provider} {problem} (HTTP {status}: {_first_line(detail)})",
        remedy.format(key=key_env),
        retryable=retryable,
    )


@contextmanager
def sdk_errors(sdk: Any, provider: str, key_env: str) -> Iterator[None]:
    """Translate ``openai``/``anthropic`` SDK exceptions (the two share their names) meanwhile."""
    try:
        yield
    except sdk.APIStatusError as exc:
        raise provider_error(provider, key_env, exc.status_code, sdk_detail(exc)) from exc
    except sdk.APIConnectionError as exc:
        raise provider_error(provider, key_env, None, str(exc)) from exc


def sdk_detail(exc: Any) -> str:
    """The vendor's own message from an SDK status error's JSON body, else the SDK's text.

    The SDKs' ``message`` is the whole body as a Python dict (``{'type': 'error', 'error': ...``);
    the sentence a user needs is ``error.message`` inside it.
    """
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message or getattr(exc, "message", "") or exc)


class AnswerCut(ProviderError):
    """The model used its whole output limit (thinking, mostly) and gave no answer.

    The analyser retries such a call once with a larger limit; the message says what happened.
    """

    def __init__(self, provider: str, model: str, limit: int, thinking: int) -> None:
        spent = f" ({thinking} of them thinking)" if thinking else ""
        super().__init__(
            f"{provider} {model} used all {limit} output tokens{spent} and gave no answer",
            "retry with --reasoning low, or choose a model that thinks less",
            retryable=True,
        )
        self.limit = limit


def check_answer(
    text: str, cut: bool, *, provider: str, model: str, limit: int, thinking: int
) -> None:
    """Raise AnswerCut when the answer is empty because the output limit was reached."""
    if cut and not text.strip():
        raise AnswerCut(provider, model, limit, thinking)


def missing_key(provider: str, key_env: str) -> ProviderError:
    """The error for a provider chosen without its key."""
    return ProviderError(f"no API key for {provider}", f"set {key_env} or use --provider offline")


def _first_line(text: str, limit: int = 160) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else "no detail"
    return line if len(line) <= limit else line[:limit] + "…"
