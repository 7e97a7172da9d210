"""Retries and quiet for the trace sources' SDK calls (LangSmith, Langfuse): one policy for both.

Retries are ours, not the SDKs' (theirs are switched off), so they are bounded and testable:
exponential backoff on 429 and 5xx that honours ``Retry-After``, through an injectable ``sleep``.
Each SDK raises its own exception classes; ``http_failure`` reads the status, ``Retry-After`` and
reachability from whichever exception in the chain carries them, so one loop serves every SDK.
A reply that is not the JSON it claims to be (cut short, garbled) is retried like a 5xx: the
SDKs raise a bare ``JSONDecodeError`` for it, or (Fern, Langfuse) an API error carrying a 2xx
status. A request that times out is not retried: a hung server costs the timeout once, not five
times.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from pydantic import ValidationError

from ..errors import RefineryError, SourceError

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long to retry a rate-limited or failing request."""

    attempts: int = 5
    """Requests in all, the first included."""
    base_delay: float = 0.5
    """The first backoff in seconds; it doubles with each retry."""
    max_delay: float = 30.0
    """The longest single wait; a longer ``Retry-After`` gives up instead of hanging."""
    sleep: Callable[[float], None] = field(default=lambda seconds: time.sleep(seconds))
    """Waits (``time.sleep``, looked up when called); tests pass a recorder instead."""


@dataclass(frozen=True, kw_only=True)
class HttpFailure:
    """What an SDK exception says about the HTTP exchange behind it."""

    status: int | None = None
    """The response status, when there was a response."""
    retry_after: float | None = None
    """Seconds the server asked us to wait."""
    unreachable: bool = False
    """True when no response came back (refused, timed out, DNS)."""
    timed_out: bool = False
    """True when the server did not answer within the timeout."""
    unreadable: bool = False
    """True when a reply came back that is not valid JSON (truncated, garbled)."""

    @property
    def retryable(self) -> bool:
        """True for 429, 5xx and unreadable replies."""
        status = self.status
        busy = status == 429 or (status is not None and 500 <= status < 600 and status != 501)
        return busy or self.unreadable


Translate = Callable[[HttpFailure, int], RefineryError]


def call_with_retries(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    errors: tuple[type[BaseException], ...],
    translate: Translate,
) -> T:
    """Run ``call``, retrying 429/5xx with exponential backoff; translate the final failure.

    Args:
        call: one request.
        policy: attempts and delays.
        errors: the SDK exceptions to catch; anything else propagates.
        translate: turns the last failure and the attempt count into a Refinery error.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except errors as exc:
            failure = http_failure(exc)
            delay = _delay(failure, attempt, policy)
            if delay is None:
                raise translate(failure, attempt) from exc
        policy.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _delay(failure: HttpFailure, attempt: int, policy: RetryPolicy) -> float | None:
    if not failure.retryable or attempt >= policy.attempts:
        return None
    if failure.retry_after is not None:
        return failure.retry_after if failure.retry_after <= policy.max_delay else None
    return float(min(policy.base_delay * 2 ** (attempt - 1), policy.max_delay))


def http_failure(exc: BaseException) -> HttpFailure:
    """The status, ``Retry-After`` and reachability found anywhere in the exception's chain."""
    import httpx

    chain = list(_exception_chain(exc))
    if any(isinstance(err, json.JSONDecodeError | ValidationError) for err in chain):
        return HttpFailure(unreadable=True)
    answered = next(filter(None, map(_answered, chain)), None)
    if answered is not None:
        return answered
    timed_out = any(
        isinstance(err, TimeoutError) or "Timeout" in type(err).__name__ for err in chain
    )
    unreachable = timed_out or any(isinstance(err, OSError | httpx.TransportError) for err in chain)
    return HttpFailure(unreachable=unreachable, timed_out=timed_out)


def _answered(err: BaseException) -> HttpFailure | None:
    """The failure as an exception carrying an HTTP status tells it; a 2xx one is unreadable."""
    response = getattr(err, "response", None)
    status = getattr(err, "status_code", None)
    if not isinstance(status, int):
        status = getattr(response, "status_code", None)
    if not isinstance(status, int):
        return None
    headers = getattr(err, "headers", None) or getattr(response, "headers", None) or {}
    return HttpFailure(
        status=status, retry_after=_retry_after(headers), unreadable=200 <= status < 300
    )


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return _retry_at(value)


def _retry_at(value: str) -> float | None:
    """Seconds until an HTTP-date ``Retry-After`` (the header's other form), None if unreadable."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@contextmanager
def quiet_sdk(*logger_names: str) -> Iterator[None]:
    """Silence an SDK's log lines and warnings (deprecations, "Failed to get info") meanwhile."""
    loggers = [logging.getLogger(name) for name in logger_names]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.CRITICAL + 1)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


@dataclass(frozen=True, kw_only=True)
class Service:
    """A trace source as its error messages name it."""

    name: str
    """``LangSmith`` or ``Langfuse``."""
    address: str
    """The endpoint or host requests go to."""
    address_env: str
    """The variable that sets the address."""
    timeout: float
    """Seconds one request may wait for an answer."""


def service_error(service: Service, failure: HttpFailure, attempts: int) -> SourceError:
    """The error for a failure that is not about the key or the id: busy, unreachable or other."""
    name, address, address_env = service.name, service.address, service.address_env
    status = failure.status
    if failure.unreadable:
        return SourceError(
            f"{name} at {address} sent a truncated or invalid reply {_times(attempts)}",
            f"try again later, or check that {address_env} points at {name}",
        )
    if failure.timed_out:
        return SourceError(
            f"{name} at {address} did not answer within {service.timeout:g} s",
            f"check {address_env} and the network, or raise --timeout (REFINERY_TIMEOUT)",
        )
    if failure.retryable:
        return SourceError(
            f"{name} failed with HTTP {status} after {attempts} attempts",
            "wait a minute and try again",
            retryable=True,
        )
    if failure.unreachable or status is None:
        return SourceError(
            f"cannot reach {name} at {address}", f"check {address_env} and the network"
        )
    return SourceError(f"{name} request failed with HTTP {status}", "try again later")


def _times(attempts: int) -> str:
    return "once" if attempts == 1 else f"{attempts} times in a row"
