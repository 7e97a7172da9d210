"""SDK exceptions translated once, at the provider boundary, into one-line ProviderErrors.

Each vendor's SDK raises its own classes; what a user needs is the same: which provider, what went
wrong, what to do. The table maps HTTP status (or connection failure) to a retryable flag and a
sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import ProviderError

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
    retryable, problem, remedy = _BY_STATUS.get(
        status,
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
        raise provider_error(provider, key_env, exc.status_code, exc.message) from exc
    except sdk.APIConnectionError as exc:
        raise provider_error(provider, key_env, None, str(exc)) from exc


def missing_key(provider: str, key_env: str) -> ProviderError:
    """The error for a provider chosen without its key."""
    return ProviderError(f"no API key for {provider}", f"set {key_env} or use --provider offline")


def _first_line(text: str, limit: int = 160) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else "no detail"
    return line if len(line) <= limit else line[:limit] + "…"
