"""LangSmith by id: every run of a trace through the official ``langsmith`` SDK, cached on disk.

A bare run id carries no project, and LangSmith's current runs API (``runs.query_v2``, the
``/api/v2`` endpoints) needs one, so the run is first located with ``read_run``
(``GET /runs/{id}``), which answers with its ``trace_id``, ``session_id`` (project) and
``dotted_order``: that is also how a non-root run id resolves to its whole trace. The trace's
runs then come from the current API with cursor pagination, from the root's start time (the
first segment of the dotted order); where a backend lacks that API (404/405/501) the deprecated
``list_runs`` (``POST /runs/query``) is used.

Retries are ours, not the SDK's (its own are switched off), so they are bounded and testable:
exponential backoff on 429 and 5xx that honours ``Retry-After``, through an injectable ``sleep``.
SDK failures are translated once, here, into one-line Refinery errors. The retry policy lives here
and the Langfuse fetcher reuses it.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ..config import Settings
from ..errors import ConfigError, InputError, RefineryError, SourceError
from ..progress import OnProgress, ProgressEvent, no_progress
from ..store.cache import cache_get, cache_put
from .langsmith import runs_to_trace
from .model import Trace
from .sources import fetcher

if TYPE_CHECKING:
    from langsmith import Client, Langsmith

T = TypeVar("T")

DEFAULT_ENDPOINT = "https://api.smith.langchain.com"
_KEY_NAMES = ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")
_ENDPOINT_NAMES = ("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT")
_PAGE_SIZE = 100
_NO_NEW_API = frozenset({404, 405, 501})
_SELECTS = (
    "ID", "NAME", "RUN_TYPE", "STATUS", "START_TIME", "END_TIME", "ERROR", "EXTRA", "METADATA",
    "EVENTS", "INPUTS", "OUTPUTS", "PARENT_RUN_IDS", "PROJECT_ID", "TRACE_ID", "DOTTED_ORDER",
    "IS_ROOT", "TOTAL_TOKENS", "PROMPT_TOKENS", "COMPLETION_TOKENS", "TAGS",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long to retry a rate-limited or failing request."""

    attempts: int = 5
    """Requests in all, the first included."""
    base_delay: float = 0.5
    """The first backoff in seconds; it doubles with each retry."""
    max_delay: float = 30.0
    """The longest single wait; a longer ``Retry-After`` gives up instead of hanging."""
    sleep: Callable[[float], None] = field(default=time.sleep)
    """Waits; tests pass a recorder instead of sleeping."""


@dataclass(frozen=True, kw_only=True)
class HttpFailure:
    """What an SDK exception says about the HTTP exchange behind it."""

    status: int | None = None
    """The response status, when there was a response."""
    retry_after: float | None = None
    """Seconds the server asked us to wait."""
    unreachable: bool = False
    """True when no response came back (refused, timed out, DNS)."""

    @property
    def retryable(self) -> bool:
        """True for 429 and 5xx."""
        status = self.status
        return status == 429 or (status is not None and 500 <= status < 600 and status != 501)


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
    for err in chain:
        response = getattr(err, "response", None)
        status = getattr(err, "status_code", None)
        if not isinstance(status, int):
            status = getattr(response, "status_code", None)
        if isinstance(status, int):
            headers = getattr(err, "headers", None) or getattr(response, "headers", None) or {}
            return HttpFailure(status=status, retry_after=_retry_after(headers))
    unreachable = any(isinstance(err, OSError | httpx.TransportError) for err in chain)
    return HttpFailure(unreachable=unreachable)


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
        pass
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
class _Conn:
    """One fetch's clients and the words its errors need."""

    legacy: Client
    api: Langsmith
    endpoint: str
    key_name: str
    ref: str
    policy: RetryPolicy

    def call(self, fn: Callable[[], T]) -> T:
        from langsmith import APIError
        from langsmith.utils import LangSmithError

        return call_with_retries(
            fn, policy=self.policy, errors=(LangSmithError, APIError), translate=self.error
        )

    def error(self, failure: HttpFailure, attempts: int) -> RefineryError:
        status = failure.status
        if status in (401, 403):
            return ConfigError(
                f"LangSmith rejected the API key (HTTP {status})", f"check {self.key_name}"
            )
        if status == 404:
            return InputError(
                f"unknown LangSmith id {self.ref}",
                "check the run or trace id and that the API key's workspace can see it",
            )
        if failure.retryable:
            return SourceError(
                f"LangSmith failed with HTTP {status} after {attempts} attempts",
                "wait a minute and try again",
                retryable=True,
            )
        if failure.unreachable or status is None:
            return SourceError(
                f"cannot reach LangSmith at {self.endpoint}",
                "check LANGSMITH_ENDPOINT and the network",
            )
        return SourceError(f"LangSmith request failed with HTTP {status}", "try again later")


@fetcher("langsmith")
def fetch_langsmith_trace(
    ref: str,
    settings: Settings,
    on_progress: OnProgress = no_progress,
    *,
    retry: RetryPolicy | None = None,
) -> Trace:
    """Every run of the trace that ``ref`` (a trace id or any run id in it) belongs to."""
    origin = f"langsmith:{ref}"
    raw_runs = cache_get(settings, "langsmith", ref)
    if raw_runs is not None:
        on_progress(ProgressEvent(stage="fetch", message=f"{ref} from cache", done=len(raw_runs)))
        return runs_to_trace(raw_runs, source="langsmith", origin=origin)
    with quiet_sdk("langsmith", "urllib3"), _connect(ref, settings, retry or RetryPolicy()) as conn:
        located = conn.call(lambda: conn.legacy.read_run(ref))
        trace_id = str(located.trace_id or located.id)
        raw_runs = _trace_runs(conn, located, trace_id, on_progress)
    if not raw_runs:
        raise InputError(f"unknown LangSmith id {ref}", "the trace has no runs")
    cache_put(settings, "langsmith", trace_id, raw_runs, aliases=[ref])
    return runs_to_trace(raw_runs, source="langsmith", origin=origin)


@contextmanager
def _connect(ref: str, settings: Settings, policy: RetryPolicy) -> Iterator[_Conn]:
    from langsmith import Client, Langsmith
    from urllib3.util.retry import Retry

    key_name = next((name for name in _KEY_NAMES if settings.key(name)), None)
    if key_name is None:
        raise ConfigError("no LangSmith API key", "set LANGSMITH_API_KEY or pass a trace file")
    api_key = settings.key(key_name)
    endpoint = (settings.key(*_ENDPOINT_NAMES) or DEFAULT_ENDPOINT).rstrip("/")
    no_retries = Retry(total=0, raise_on_status=False, raise_on_redirect=False)
    legacy = Client(
        api_url=endpoint, api_key=api_key, retry_config=no_retries, auto_batch_tracing=False
    )
    with Langsmith(api_key=api_key, base_url=_api_root(endpoint), max_retries=0) as api:
        yield _Conn(
            legacy=legacy, api=api, endpoint=endpoint, key_name=key_name, ref=ref, policy=policy
        )


def _api_root(endpoint: str) -> str:
    """The host root the ``/api/v2`` paths hang from (``LANGSMITH_ENDPOINT`` may end in /api/v1)."""
    for suffix in ("/api/v1", "/api"):
        if endpoint.endswith(suffix):
            return endpoint[: -len(suffix)]
    return endpoint


def _trace_runs(
    conn: _Conn, located: Any, trace_id: str, on_progress: OnProgress
) -> list[dict[str, Any]]:
    project_id = str(located.session_id) if located.session_id else None
    if project_id is None:
        return _legacy_runs(conn, trace_id, None, on_progress)
    try:
        return _current_runs(conn, located, trace_id, project_id, on_progress)
    except SourceError as exc:
        if exc.retryable or _status(exc) not in _NO_NEW_API:
            raise
    except InputError as exc:
        if _status(exc) != 404:
            raise
    return _legacy_runs(conn, trace_id, project_id, on_progress)


def _status(exc: BaseException) -> int | None:
    return http_failure(exc.__cause__).status if exc.__cause__ else None


def _current_runs(
    conn: _Conn, located: Any, trace_id: str, project_id: str, on_progress: OnProgress
) -> list[dict[str, Any]]:
    from langsmith import omit

    start = _root_start(str(located.dotted_order or "")) or located.start_time

    def query(cursor: str | None) -> Any:
        return conn.api.runs.query_v2(
            project_ids=[project_id],
            trace_id=trace_id,
            min_start_time=start or omit,
            selects=list(_SELECTS),  # type: ignore[arg-type]
            page_size=_PAGE_SIZE,
            cursor=cursor or omit,
        )

    runs: list[dict[str, Any]] = []
    cursor: str | None = None
    for page_number in itertools.count(1):
        page = conn.call(functools.partial(query, cursor))
        runs.extend(run.model_dump(mode="json", exclude_none=True) for run in page.items or ())
        _report(on_progress, page_number, len(runs))
        cursor = page.next_cursor
        if not cursor:
            break
    return runs


def _legacy_runs(
    conn: _Conn, trace_id: str, project_id: str | None, on_progress: OnProgress
) -> list[dict[str, Any]]:
    def fetch_all() -> list[dict[str, Any]]:
        runs = []
        for run in conn.legacy.list_runs(trace_id=trace_id, project_id=project_id):
            runs.append(run.model_dump(mode="json", exclude_none=True, exclude={"child_runs"}))
            if len(runs) % _PAGE_SIZE == 0:
                _report(on_progress, len(runs) // _PAGE_SIZE, len(runs))
        return runs

    runs = conn.call(fetch_all)
    _report(on_progress, -(-len(runs) // _PAGE_SIZE), len(runs))
    return runs


def _report(on_progress: OnProgress, pages: int, runs: int) -> None:
    on_progress(
        ProgressEvent(stage="fetch", message=f"LangSmith: {pages} page(s), {runs} runs", done=runs)
    )


def _root_start(dotted_order: str) -> datetime | None:
    """The root run's start time: the timestamp opening the dotted order."""
    stamp = dotted_order.split(".", 1)[0][:22]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def langsmith_reachable(settings: Settings) -> tuple[bool, str]:
    """Whether LangSmith answers with the configured key, and a line saying so (no secrets)."""
    try:
        with (
            quiet_sdk("langsmith", "urllib3"),
            _connect("info", settings, RetryPolicy(attempts=1)) as conn,
        ):
            conn.call(lambda: conn.legacy.request_with_retries("GET", "/sessions?limit=1"))
    except RefineryError as exc:
        return False, str(exc)
    return True, f"LangSmith reachable at {conn.endpoint}"
