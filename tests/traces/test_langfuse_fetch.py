"""Langfuse by id through the official SDK, against a loopback server speaking its public API."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from refinery.config import Settings
from refinery.errors import ConfigError, InputError, SourceError
from refinery.progress import ProgressEvent
from refinery.traces.langfuse_fetch import fetch_langfuse_observations, fetch_langfuse_trace
from refinery.traces.langsmith_fetch import RetryPolicy

SAMPLE = Path(__file__).resolve().parents[1] / "data/langfuse_fetch_weather_observations.json"
OBSERVATIONS: list[dict[str, Any]] = json.loads(SAMPLE.read_text())["data"]
TRACE_ID = OBSERVATIONS[0]["traceId"]
PUBLIC, SECRET = "pk-lf-test", "sk-lf-test"
PATH = "/api/public/v2/observations"


@pytest.fixture
def settings(httpserver: HTTPServer, tmp_path: Path) -> Settings:
    env = {
        "LANGFUSE_PUBLIC_KEY": PUBLIC,
        "LANGFUSE_SECRET_KEY": SECRET,
        "LANGFUSE_HOST": httpserver.url_for("/").rstrip("/"),
    }
    return Settings(env=env, repo_root=tmp_path)


def _json(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def _pages(page_size: int = 3) -> Any:
    """``GET /api/public/v2/observations``: the trace's observations by ``meta.cursor``."""
    pages = [OBSERVATIONS[i : i + page_size] for i in range(0, len(OBSERVATIONS), page_size)]

    def handler(request: Request) -> Response:
        cursor = request.args.get("cursor")
        index = int(base64.b64decode(cursor).decode()) if cursor else 0
        meta = {"cursor": base64.b64encode(str(index + 1).encode()).decode()}
        return _json({"data": pages[index], "meta": meta if index + 1 < len(pages) else {}})

    return handler


def _serve(httpserver: HTTPServer, failures: list[Response] | None = None) -> None:
    pending = list(failures or [])
    then = _pages()

    def handler(request: Request) -> Response:
        return pending.pop(0) if pending else then(request)

    httpserver.expect_request(PATH, method="GET").respond_with_handler(handler)


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_fetches_every_observation_across_pages(httpserver: HTTPServer, settings: Settings) -> None:
    _serve(httpserver)
    events: list[ProgressEvent] = []

    observations = fetch_langfuse_observations(TRACE_ID, settings, events.append)

    assert [o["id"] for o in observations] == [o["id"] for o in OBSERVATIONS]
    assert observations[1]["parentObservationId"] == OBSERVATIONS[0]["id"]
    assert json.loads(observations[1]["input"])[0]["role"] == "system"
    requests = [request for request, _ in httpserver.log]
    assert [r.args.get("cursor") for r in requests] == [None, base64.b64encode(b"1").decode()]
    assert requests[0].args["traceId"] == TRACE_ID and "io" in requests[0].args["fields"]
    expected_auth = "Basic " + base64.b64encode(f"{PUBLIC}:{SECRET}".encode()).decode()
    assert all(r.headers["Authorization"] == expected_auth for r in requests)
    assert events[-1].done == len(OBSERVATIONS)


def test_trace_is_built_from_the_fetched_observations(
    httpserver: HTTPServer, settings: Settings
) -> None:
    _serve(httpserver)

    trace = fetch_langfuse_trace(TRACE_ID, settings)

    assert trace.source == "langfuse" and trace.id == TRACE_ID
    assert [run.id for run in trace.runs] == [o["id"] for o in OBSERVATIONS]
    assert [run.id for run in trace.children(OBSERVATIONS[0]["id"])] == [
        o["id"] for o in OBSERVATIONS[1:]
    ]
    tool = trace.get(OBSERVATIONS[2]["id"])
    assert tool is not None and tool.status == "error"
    first_llm = trace.get(OBSERVATIONS[1]["id"])
    assert first_llm is not None and first_llm.model == "gpt-4o-mini"
    assert first_llm.input_messages[0].role == "system"


def test_429_with_retry_after_is_retried(httpserver: HTTPServer, settings: Settings) -> None:
    _serve(httpserver, [_json({"message": "rate limited"}, 429, **{"Retry-After": "3"})])
    sleep = Recorder()

    observations = fetch_langfuse_observations(TRACE_ID, settings, retry=RetryPolicy(sleep=sleep))

    assert sleep.waits == [3.0]
    assert len(observations) == len(OBSERVATIONS)


def test_5xx_is_retried_then_gives_up_in_one_line(
    httpserver: HTTPServer, settings: Settings
) -> None:
    _serve(httpserver, [_json({"message": "bad gateway"}, 502) for _ in range(3)])
    sleep = Recorder()

    with pytest.raises(SourceError) as caught:
        fetch_langfuse_observations(
            TRACE_ID, settings, retry=RetryPolicy(attempts=3, base_delay=0.1, sleep=sleep)
        )

    assert sleep.waits == [0.1, 0.2]
    assert str(caught.value) == (
        "Langfuse failed with HTTP 502 after 3 attempts: wait a minute and try again"
    )


def test_rejected_keys_name_the_variables(httpserver: HTTPServer, settings: Settings) -> None:
    _serve(httpserver, [_json({"message": "Invalid credentials"}, 401)])

    with pytest.raises(ConfigError) as caught:
        fetch_langfuse_observations(TRACE_ID, settings)

    assert "LANGFUSE_PUBLIC_KEY" in str(caught.value) and "HTTP 401" in str(caught.value)


def test_trace_without_observations_is_an_unknown_id(
    httpserver: HTTPServer, settings: Settings
) -> None:
    httpserver.expect_request(PATH).respond_with_json({"data": [], "meta": {}})

    with pytest.raises(InputError) as caught:
        fetch_langfuse_observations("no-such-trace", settings)

    assert str(caught.value).startswith("unknown Langfuse trace id no-such-trace: ")


def test_missing_keys_are_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        fetch_langfuse_observations(TRACE_ID, Settings(env={}, repo_root=tmp_path))

    assert str(caught.value) == (
        "no Langfuse keys: set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY or pass a trace file"
    )


def test_unreachable_host_is_one_line(tmp_path: Path) -> None:
    env = {
        "LANGFUSE_PUBLIC_KEY": PUBLIC,
        "LANGFUSE_SECRET_KEY": SECRET,
        "LANGFUSE_BASE_URL": "http://127.0.0.1:9",
    }

    with pytest.raises(SourceError) as caught:
        fetch_langfuse_observations(TRACE_ID, Settings(env=env, repo_root=tmp_path))

    assert str(caught.value).startswith("cannot reach Langfuse at http://127.0.0.1:9: ")


def test_second_fetch_is_served_from_the_cache(httpserver: HTTPServer, settings: Settings) -> None:
    _serve(httpserver)
    first = fetch_langfuse_observations(TRACE_ID, settings)
    sent = len(httpserver.log)

    second = fetch_langfuse_observations(TRACE_ID, settings)

    assert len(httpserver.log) == sent and second == first


def test_no_cache_fetches_again(httpserver: HTTPServer, settings: Settings) -> None:
    _serve(httpserver)
    uncached = settings.with_overrides(use_cache=False)

    fetch_langfuse_observations(TRACE_ID, uncached)
    fetch_langfuse_observations(TRACE_ID, uncached)

    assert len(httpserver.log) == 4
