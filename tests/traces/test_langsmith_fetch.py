"""LangSmith by id through the official SDK, against a loopback server speaking its REST API."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from refinery.config import Settings
from refinery.errors import ConfigError, InputError, SourceError
from refinery.progress import ProgressEvent
from refinery.traces.langsmith_fetch import RetryPolicy, fetch_langsmith_trace, langsmith_reachable
from refinery.traces.sources import load_trace
from sample_paths import FIXTURES as SAMPLE_FIXTURES

RUNS_QUERY = SAMPLE_FIXTURES / "generated/langchain_fake_weather_agent.runs_query.json"
KEY = "lsv2_pt_test_key"
INFO = {"version": "0.16.3", "instance_flags": {}, "license_expiration_time": None}


def _runs() -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = json.loads(RUNS_QUERY.read_text())["runs"]
    return runs


RUNS = _runs()
ROOT = RUNS[0]
TRACE_ID = ROOT["trace_id"]
PROJECT_ID = ROOT["session_id"]
TOOL_RUN = next(run for run in RUNS if run["run_type"] == "tool")


def _v2(run: dict[str, Any]) -> dict[str, Any]:
    """The same run as the /api/v2 endpoints return it (project_id, no session_id)."""
    shaped = {k: v for k, v in copy.deepcopy(run).items() if k != "session_id"}
    return {**shaped, "project_id": run["session_id"], "is_root": run["id"] == run["trace_id"]}


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def settings(httpserver: HTTPServer, tmp_path: Path) -> Settings:
    endpoint = httpserver.url_for("/").rstrip("/")
    return Settings(
        env={"LANGSMITH_API_KEY": KEY, "LANGSMITH_ENDPOINT": endpoint}, repo_root=tmp_path
    )


def _serve_run_lookup(httpserver: HTTPServer, run: dict[str, Any]) -> None:
    httpserver.expect_request("/info").respond_with_json(INFO)
    httpserver.expect_request(f"/runs/{run['id']}", method="GET").respond_with_json(run)


def _serve_v2_pages(httpserver: HTTPServer, page_size: int = 2) -> None:
    httpserver.expect_request("/api/v2/runs/query", method="POST").respond_with_handler(
        _v2_pages_handler(page_size)
    )


def _v2_pages_handler(page_size: int = 2) -> Any:
    """``POST /api/v2/runs/query``: the trace's runs, ``page_size`` at a time, by cursor."""
    pages = [RUNS[i : i + page_size] for i in range(0, len(RUNS), page_size)]

    def handler(request: Request) -> Response:
        body = request.get_json()
        index = int(body.get("cursor", "page-0").split("-")[1])
        payload: dict[str, Any] = {"items": [_v2(run) for run in pages[index]]}
        if index + 1 < len(pages):
            payload["next_cursor"] = f"page-{index + 1}"
        return Response(json.dumps(payload), content_type="application/json")

    return handler


def _failing_first(httpserver: HTTPServer, path: str, failures: list[Response], then: Any) -> None:
    """Serve ``path`` with each of ``failures`` in turn, then with the ``then`` handler."""
    pending = list(failures)

    def handler(request: Request) -> Response:
        return pending.pop(0) if pending else then(request)

    httpserver.expect_request(path).respond_with_handler(handler)


def _json_response(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def _requests(httpserver: HTTPServer, path: str) -> list[Request]:
    return [request for request, _ in httpserver.log if request.path == path]


def test_fetches_every_run_across_pages_with_the_current_api(
    httpserver: HTTPServer, settings: Settings
) -> None:
    _serve_run_lookup(httpserver, ROOT)
    _serve_v2_pages(httpserver)
    events: list[ProgressEvent] = []

    trace = fetch_langsmith_trace(TRACE_ID, settings, events.append)

    assert [run.id for run in trace.runs] == [run["id"] for run in RUNS]
    assert trace.source == "langsmith" and trace.id == TRACE_ID
    queries = _requests(httpserver, "/api/v2/runs/query")
    assert [q.get_json().get("cursor") for q in queries] == [None, "page-1"]
    first = queries[0].get_json()
    assert first["trace_id"] == TRACE_ID and first["project_ids"] == [PROJECT_ID]
    assert first["min_start_time"].startswith("2026-11-26T06:11:53.831789")
    assert {"INPUTS", "OUTPUTS", "DOTTED_ORDER", "PARENT_RUN_IDS"} <= set(first["selects"])
    assert all(request.headers["x-api-key"] == KEY for request, _ in httpserver.log)
    assert events[-1].done == len(RUNS) and "2 page(s)" in events[-1].message


def test_tree_is_rebuilt_from_the_fetched_runs(httpserver: HTTPServer, settings: Settings) -> None:
    _serve_run_lookup(httpserver, ROOT)
    _serve_v2_pages(httpserver)

    trace = fetch_langsmith_trace(TRACE_ID, settings)

    tool = trace.get(TOOL_RUN["id"])
    assert tool is not None and trace.parent(tool.id) == trace.root
    assert tool.parent_id == TRACE_ID and tool.tool_name == TOOL_RUN["name"]
    assert tool.status == "error"


def test_non_root_run_id_resolves_to_its_whole_trace(
    httpserver: HTTPServer, settings: Settings
) -> None:
    _serve_run_lookup(httpserver, TOOL_RUN)
    _serve_v2_pages(httpserver, page_size=3)

    trace = fetch_langsmith_trace(TOOL_RUN["id"], settings)

    assert trace.id == TRACE_ID
    assert len(trace.runs) == len(RUNS)
    query = _requests(httpserver, "/api/v2/runs/query")[0].get_json()
    assert query["trace_id"] == TRACE_ID


def test_falls_back_to_list_runs_when_the_backend_lacks_the_current_api(
    httpserver: HTTPServer, settings: Settings
) -> None:
    _serve_run_lookup(httpserver, ROOT)
    httpserver.expect_request("/api/v2/runs/query").respond_with_json(
        {"detail": "Not Found"}, status=404
    )
    page_one = {"runs": RUNS[:2], "cursors": {"next": "cursor-2", "prev": None}}
    page_two = {"runs": RUNS[2:], "cursors": {"next": None, "prev": "cursor-1"}}

    def handler(request: Request) -> Response:
        body = request.get_json()
        page = page_two if body.get("cursor") == "cursor-2" else page_one
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request("/runs/query", method="POST").respond_with_handler(handler)

    trace = fetch_langsmith_trace(TRACE_ID, settings)

    assert [run.id for run in trace.runs] == [run["id"] for run in RUNS]
    legacy = [q.get_json() for q in _requests(httpserver, "/runs/query")]
    assert [body.get("cursor") for body in legacy] == [None, "cursor-2"]
    assert legacy[0]["trace"] == TRACE_ID and legacy[0]["session"] == [PROJECT_ID]


def test_429_with_retry_after_is_retried_after_the_asked_wait(
    httpserver: HTTPServer, settings: Settings
) -> None:
    httpserver.expect_request("/info").respond_with_json(INFO)
    too_many = _json_response({"detail": "Too many requests"}, 429, **{"Retry-After": "7"})
    _failing_first(httpserver, f"/runs/{TRACE_ID}", [too_many], lambda _: _json_response(ROOT))
    _serve_v2_pages(httpserver)
    sleep = Recorder()

    trace = fetch_langsmith_trace(TRACE_ID, settings, retry=RetryPolicy(sleep=sleep))

    assert sleep.waits == [7.0]
    assert len(trace.runs) == len(RUNS)


def test_5xx_is_retried_with_exponential_backoff(
    httpserver: HTTPServer, settings: Settings
) -> None:
    _serve_run_lookup(httpserver, ROOT)
    unavailable = [_json_response({"detail": "unavailable"}, 503) for _ in range(2)]
    _failing_first(httpserver, "/api/v2/runs/query", unavailable, _v2_pages_handler())
    sleep = Recorder()

    trace = fetch_langsmith_trace(
        TRACE_ID, settings, retry=RetryPolicy(base_delay=0.25, sleep=sleep)
    )

    assert sleep.waits == [0.25, 0.5]
    assert len(trace.runs) == len(RUNS)


def test_exhausted_retries_raise_one_line(httpserver: HTTPServer, settings: Settings) -> None:
    httpserver.expect_request("/info").respond_with_json(INFO)
    httpserver.expect_request(f"/runs/{TRACE_ID}").respond_with_json({}, status=500)
    sleep = Recorder()

    with pytest.raises(SourceError) as caught:
        fetch_langsmith_trace(TRACE_ID, settings, retry=RetryPolicy(attempts=3, sleep=sleep))

    assert str(caught.value) == (
        "LangSmith failed with HTTP 500 after 3 attempts: wait a minute and try again"
    )
    assert len(sleep.waits) == 2


def test_rejected_key_names_the_key_variable(httpserver: HTTPServer, settings: Settings) -> None:
    httpserver.expect_request("/info").respond_with_json(INFO)
    httpserver.expect_request(f"/runs/{TRACE_ID}").respond_with_json(
        {"detail": "Invalid token"}, status=401
    )

    with pytest.raises(ConfigError) as caught:
        fetch_langsmith_trace(TRACE_ID, settings)

    assert str(caught.value) == "LangSmith rejected the API key (HTTP 401): check LANGSMITH_API_KEY"


def test_unknown_id_is_an_input_error(httpserver: HTTPServer, settings: Settings) -> None:
    httpserver.expect_request("/info").respond_with_json(INFO)
    httpserver.expect_request(f"/runs/{TRACE_ID}").respond_with_json(
        {"detail": "Run not found"}, status=404
    )

    with pytest.raises(InputError) as caught:
        fetch_langsmith_trace(TRACE_ID, settings)

    assert str(caught.value).startswith(f"unknown LangSmith id {TRACE_ID}: ")
    assert "\n" not in str(caught.value)


def test_missing_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        fetch_langsmith_trace(TRACE_ID, Settings(env={}, repo_root=tmp_path))

    assert str(caught.value) == "no LangSmith API key: set LANGSMITH_API_KEY or pass a trace file"


def test_unreachable_endpoint_is_one_line(tmp_path: Path) -> None:
    env = {"LANGCHAIN_API_KEY": KEY, "LANGCHAIN_ENDPOINT": "http://127.0.0.1:9"}

    with pytest.raises(SourceError) as caught:
        fetch_langsmith_trace(TRACE_ID, Settings(env=env, repo_root=tmp_path))

    assert str(caught.value) == (
        "cannot reach LangSmith at http://127.0.0.1:9: check LANGSMITH_ENDPOINT and the network"
    )


def test_second_load_hits_the_cache_for_trace_and_run_ids(
    httpserver: HTTPServer, settings: Settings
) -> None:
    _serve_run_lookup(httpserver, TOOL_RUN)
    _serve_v2_pages(httpserver)
    first = fetch_langsmith_trace(TOOL_RUN["id"], settings)
    sent = len(httpserver.log)

    by_run = load_trace(TOOL_RUN["id"], settings, source="langsmith")
    by_trace = load_trace(TRACE_ID, settings)

    assert len(httpserver.log) == sent
    assert by_run.runs == first.runs and by_trace.runs == first.runs


def test_no_cache_always_fetches(httpserver: HTTPServer, settings: Settings) -> None:
    _serve_run_lookup(httpserver, ROOT)
    _serve_v2_pages(httpserver)
    uncached = settings.with_overrides(use_cache=False)

    fetch_langsmith_trace(TRACE_ID, uncached)
    fetch_langsmith_trace(TRACE_ID, uncached)

    assert len(_requests(httpserver, f"/runs/{TRACE_ID}")) == 2
    assert not (settings.state_dir / "cache").exists()


def test_expired_cache_refetches(httpserver: HTTPServer, settings: Settings) -> None:
    _serve_run_lookup(httpserver, ROOT)
    _serve_v2_pages(httpserver)
    no_ttl = settings.with_overrides(cache_ttl_seconds=0)

    fetch_langsmith_trace(TRACE_ID, no_ttl)
    fetch_langsmith_trace(TRACE_ID, no_ttl)

    assert len(_requests(httpserver, f"/runs/{TRACE_ID}")) == 2


def test_sdk_log_lines_and_warnings_are_silenced(
    httpserver: HTTPServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/info").respond_with_json({}, status=500)
    httpserver.expect_request(f"/runs/{TRACE_ID}").respond_with_json(ROOT)
    _serve_v2_pages(httpserver)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trace = fetch_langsmith_trace(TRACE_ID, settings)

    assert len(trace.runs) == len(RUNS)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("langsmith")] == []
    assert caught == []


def test_retry_after_longer_than_the_longest_wait_gives_up(
    httpserver: HTTPServer, settings: Settings
) -> None:
    httpserver.expect_request("/info").respond_with_json(INFO)
    httpserver.expect_request(f"/runs/{TRACE_ID}").respond_with_json(
        {}, status=429, headers={"Retry-After": "3600"}
    )
    sleep = Recorder()

    with pytest.raises(SourceError, match="HTTP 429 after 1 attempts"):
        fetch_langsmith_trace(TRACE_ID, settings, retry=RetryPolicy(sleep=sleep))

    assert sleep.waits == []


def test_retry_after_as_an_http_date_is_honoured(
    httpserver: HTTPServer, settings: Settings
) -> None:
    httpserver.expect_request("/info").respond_with_json(INFO)
    past = _json_response({}, 429, **{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    _failing_first(httpserver, f"/runs/{TRACE_ID}", [past], lambda _: _json_response(ROOT))
    _serve_v2_pages(httpserver)
    sleep = Recorder()

    fetch_langsmith_trace(TRACE_ID, settings, retry=RetryPolicy(sleep=sleep))

    assert sleep.waits == [0.0]


def test_reachable_probe_reports_without_secrets(
    httpserver: HTTPServer, settings: Settings
) -> None:
    httpserver.expect_request("/sessions").respond_with_json([])

    ok, line = langsmith_reachable(settings)

    assert ok and line == f"LangSmith reachable at {settings.env['LANGSMITH_ENDPOINT']}"
    assert httpserver.log[0][0].headers["x-api-key"] == KEY and KEY not in line


def test_reachable_probe_reports_a_rejected_key(httpserver: HTTPServer, settings: Settings) -> None:
    httpserver.expect_request("/sessions").respond_with_json({"detail": "bad key"}, status=403)

    assert langsmith_reachable(settings) == (
        False,
        "LangSmith rejected the API key (HTTP 403): check LANGSMITH_API_KEY",
    )
