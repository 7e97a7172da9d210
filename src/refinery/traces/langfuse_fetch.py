"""Langfuse by id: every observation of a trace through the official ``langfuse`` SDK, cached.

Observations come from ``api.observations.get_many(trace_id=...)`` (``GET
/api/public/v2/observations``, the real-time read path), every field group requested, following
``meta.cursor`` until it is absent. The SDK's Fern client is built directly with the project's keys
(Basic auth) rather than through ``Langfuse()``, which would also start an OpenTelemetry exporter
we do not need to read. The observation dicts keep Langfuse's wire names (camelCase; input and
output as the JSON strings the API sends) so cached and fetched traces share the file parser's
``observations_to_trace``. Retries, the timeout and the bounds on pagination (``paging.py``)
follow the LangSmith fetcher's.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..config import Settings
from ..errors import ConfigError, InputError, RefineryError
from ..progress import OnProgress, ProgressEvent, no_progress
from .cache import cache_get, cache_put
from .model import Trace
from .paging import PageLimits, check_page
from .reading import replace_in_trace, replace_surrogates, surrogate_warning, with_warnings
from .retry import HttpFailure, RetryPolicy, Service, call_with_retries, quiet_sdk, service_error
from .sources import fetcher

if TYPE_CHECKING:
    from collections.abc import Callable

    from langfuse.api.client import LangfuseAPI

T = TypeVar("T")

DEFAULT_HOST = "https://cloud.langfuse.com"
_PAGE_SIZE = 100
_FIELDS = "core,basic,time,io,metadata,model,usage,prompt,metrics,trace_context"


@dataclass(frozen=True, kw_only=True)
class _Conn:
    """One fetch's client and the words its errors need."""

    api: LangfuseAPI
    host: str
    ref: str
    policy: RetryPolicy
    settings: Settings

    def call(self, fn: Callable[[], T]) -> T:
        """Run one Langfuse request under the retry policy."""
        import httpx
        from langfuse.api.core.api_error import ApiError
        from pydantic import ValidationError

        errors = (ApiError, httpx.HTTPError, json.JSONDecodeError, ValidationError)
        return call_with_retries(fn, policy=self.policy, errors=errors, translate=self.error)

    def error(self, failure: HttpFailure, attempts: int) -> RefineryError:
        """The one-line error for a Langfuse request that failed for good."""
        status = failure.status
        if status in (401, 403):
            return ConfigError(
                f"Langfuse rejected the keys (HTTP {status})",
                "check LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_HOST",
            )
        if status == 404:
            return _unknown(self.ref)
        service = Service(
            name="Langfuse",
            address=self.host,
            address_env="LANGFUSE_HOST",
            timeout=self.settings.timeout_seconds,
        )
        return service_error(service, failure, attempts)


def _unknown(ref: str) -> InputError:
    return InputError(
        f"unknown Langfuse trace id {ref}", "check the id and that the keys' project owns it"
    )


@fetcher("langfuse")
def fetch_langfuse_trace(
    ref: str,
    settings: Settings,
    on_progress: OnProgress = no_progress,
    *,
    retry: RetryPolicy | None = None,
) -> Trace:
    """Every observation of the Langfuse trace ``ref``, as a Trace."""
    from .langfuse import observations_to_trace

    observations, replaced = _fetch(ref, settings, on_progress, retry)
    trace = observations_to_trace(
        observations, source="langfuse", origin=f"langfuse:{ref}", trace_id=ref
    )
    trace, nested = replace_in_trace(trace)  # input and output arrive as JSON text
    return with_warnings(trace, surrogate_warning(f"Langfuse trace {ref}", replaced + nested))


def fetch_langfuse_observations(
    ref: str,
    settings: Settings,
    on_progress: OnProgress = no_progress,
    *,
    retry: RetryPolicy | None = None,
) -> list[dict[str, Any]]:
    """The raw observation dicts of trace ``ref``, from the cache when fresh, else from Langfuse."""
    return _fetch(ref, settings, on_progress, retry)[0]


def _fetch(
    ref: str, settings: Settings, on_progress: OnProgress, retry: RetryPolicy | None
) -> tuple[list[dict[str, Any]], int]:
    """The observations, and how many lone surrogates were replaced in them (before caching)."""
    cached = cache_get(settings, "langfuse", ref)
    if cached is not None:
        on_progress(ProgressEvent(stage="fetch", message=f"{ref} from cache", done=len(cached)))
        return cached, 0
    with quiet_sdk("langfuse", "httpx"), _connect(ref, settings, retry or RetryPolicy()) as conn:
        observations = _observations(conn, on_progress)
    if not observations:
        raise _unknown(ref)
    observations, replaced = replace_surrogates(observations)
    cache_put(settings, "langfuse", ref, observations)
    return observations, replaced


@contextmanager
def _connect(ref: str, settings: Settings, policy: RetryPolicy) -> Iterator[_Conn]:
    import httpx
    from langfuse.api.client import LangfuseAPI

    public_key = settings.key("LANGFUSE_PUBLIC_KEY")
    secret_key = settings.key("LANGFUSE_SECRET_KEY")
    if not public_key or not secret_key:
        raise ConfigError(
            "no Langfuse keys",
            "set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY or pass a trace file",
        )
    host = (settings.key("LANGFUSE_BASE_URL", "LANGFUSE_HOST") or DEFAULT_HOST).rstrip("/")
    with httpx.Client(timeout=settings.timeout_seconds) as http:
        api = LangfuseAPI(
            base_url=host,
            username=public_key,
            password=secret_key,
            x_langfuse_public_key=public_key,
            httpx_client=http,
        )
        yield _Conn(api=api, host=host, ref=ref, policy=policy, settings=settings)


def _observations(conn: _Conn, on_progress: OnProgress) -> list[dict[str, Any]]:
    def page(cursor: str | None) -> Any:
        return conn.api.observations.get_many(
            trace_id=conn.ref,
            fields=_FIELDS,
            limit=_PAGE_SIZE,
            cursor=cursor,
            request_options={"max_retries": 0},
        )

    limits = PageLimits(
        service="Langfuse", ref=conn.ref, max_runs=conn.settings.max_runs, page_size=_PAGE_SIZE
    )
    observations: list[dict[str, Any]] = []
    followed: set[str] = set()
    cursor: str | None = None
    for number in itertools.count(1):
        response = conn.call(functools.partial(page, cursor))
        observations.extend(
            item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in response.data
        )
        on_progress(
            ProgressEvent(
                stage="fetch",
                message=f"Langfuse: {number} page(s), {len(observations)} observations",
                done=len(observations),
            )
        )
        if cursor:
            followed.add(cursor)
        cursor = response.meta.cursor or None
        check_page(limits, pages=number, runs=len(observations), cursor=cursor, followed=followed)
        if not cursor:
            return observations
    raise AssertionError("unreachable: itertools.count never ends")
