"""LangSmith by id: every run of a trace through the official ``langsmith`` SDK, cached on disk.

A bare run id carries no project, and LangSmith's current runs API (``runs.query_v2``, the
``/api/v2`` endpoints) needs one, so the run is first located with ``read_run``
(``GET /runs/{id}``), which answers with its ``trace_id``, ``session_id`` (project) and
``dotted_order``: that is also how a non-root run id resolves to its whole trace. The trace's
runs then come from the current API with cursor pagination, from the root's start time (the
first segment of the dotted order); where a backend lacks that API (404/405/501) the deprecated
``list_runs`` (``POST /runs/query``) is used.

Retries follow ``retry.py`` (the SDK's own are switched off); every request waits at most
``settings.timeout_seconds`` for an answer, and pagination stops at the bounds of ``paging.py``
(the deprecated API paginates inside the SDK, so there only the run bound applies). SDK failures
are translated once, here, into one-line Refinery errors.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ..config import Settings
from ..errors import ConfigError, InputError, RefineryError, SourceError
from ..progress import OnProgress, ProgressEvent, no_progress
from .cache import cache_get, cache_put
from .langsmith import runs_to_trace
from .model import Trace
from .paging import PageLimits, check_page
from .reading import replace_surrogates, surrogate_warning, with_warnings
from .retry import (
    HttpFailure,
    RetryPolicy,
    Service,
    call_with_retries,
    http_failure,
    quiet_sdk,
    service_error,
)
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
class _Conn:
    """One fetch's clients and the words its errors need."""

    legacy: Client
    api: Langsmith
    endpoint: str
    key_name: str
    ref: str
    policy: RetryPolicy
    settings: Settings

    def call(self, fn: Callable[[], T]) -> T:
        """Run one LangSmith request under the retry policy."""
        from langsmith import APIError
        from langsmith.utils import LangSmithError

        errors = (LangSmithError, APIError, json.JSONDecodeError)
        return call_with_retries(fn, policy=self.policy, errors=errors, translate=self.error)

    @property
    def limits(self) -> PageLimits:
        """How far this trace's pagination may go."""
        return PageLimits(
            service="LangSmith", ref=self.ref, max_runs=self.settings.max_runs, page_size=_PAGE_SIZE
        )

    def error(self, failure: HttpFailure, attempts: int) -> RefineryError:
        """The one-line error for a LangSmith request that failed for good."""
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
        service = Service(
            name="LangSmith",
            address=self.endpoint,
            address_env="LANGSMITH_ENDPOINT",
            timeout=self.settings.timeout_seconds,
        )
        return service_error(service, failure, attempts)


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
    raw_runs, replaced = replace_surrogates(raw_runs)  # before caching: they cannot be encoded
    cache_put(settings, "langsmith", trace_id, raw_runs, aliases=[ref])
    trace = runs_to_trace(raw_runs, source="langsmith", origin=origin)
    return with_warnings(trace, surrogate_warning(f"LangSmith trace {trace_id}", replaced))


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
    timeout = settings.timeout_seconds
    legacy = Client(
        api_url=endpoint, api_key=api_key, retry_config=no_retries, auto_batch_tracing=False,
        timeout_ms=max(1, int(timeout * 1000)),
    )  # fmt: skip
    root = _api_root(endpoint)
    with Langsmith(api_key=api_key, base_url=root, max_retries=0, timeout=timeout) as api:
        yield _Conn(
            legacy=legacy, api=api, endpoint=endpoint, key_name=key_name, ref=ref, policy=policy,
            settings=settings,
        )  # fmt: skip


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
    followed: set[str] = set()
    cursor: str | None = None
    for page_number in itertools.count(1):
        page = conn.call(functools.partial(query, cursor))
        runs.extend(run.model_dump(mode="json", exclude_none=True) for run in page.items or ())
        _report(on_progress, page_number, len(runs))
        if cursor:
            followed.add(cursor)
        cursor = page.next_cursor or None
        check_page(conn.limits, pages=page_number, runs=len(runs), cursor=cursor, followed=followed)
        if not cursor:
            break
    return runs


def _legacy_runs(
    conn: _Conn, trace_id: str, project_id: str | None, on_progress: OnProgress
) -> list[dict[str, Any]]:
    limits = conn.limits

    def fetch_all() -> list[dict[str, Any]]:
        runs = []
        listed = conn.legacy.list_runs(
            trace_id=trace_id, project_id=project_id, limit=limits.max_runs + 1
        )
        for run in listed:
            runs.append(run.model_dump(mode="json", exclude_none=True, exclude={"child_runs"}))
            if len(runs) % _PAGE_SIZE == 0:
                pages = len(runs) // _PAGE_SIZE
                _report(on_progress, pages, len(runs))
                check_page(limits, pages=pages, runs=len(runs), cursor=None, followed=())
        return runs

    runs = conn.call(fetch_all)
    pages = -(-len(runs) // _PAGE_SIZE)
    _report(on_progress, pages, len(runs))
    check_page(limits, pages=pages, runs=len(runs), cursor=None, followed=())
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
