"""Trace sources that misbehave, through ``refinery analyze`` and the official SDKs.

Loopback stand-ins for LangSmith and Langfuse send a truncated JSON reply, pages without end, a
cursor loop, or never answer. Each run ends with one line on stderr and exit 2, after a bounded
number of requests, having written nothing (no ``.refinery/``: no cache, no saved analysis).
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from refinery.cli import main
from sample_paths import FIXTURES

RUNS: list[dict[str, Any]] = json.loads(
    (FIXTURES / "generated/langchain_fake_weather_agent.runs_query.json").read_text()
)["runs"]
ROOT = RUNS[0]
TRACE_ID = ROOT["trace_id"]
OBSERVATIONS: list[dict[str, Any]] = json.loads(
    (
        Path(__file__).resolve().parents[1] / "data/langfuse_fetch_weather_observations.json"
    ).read_text()
)["data"]
LANGFUSE_TRACE = OBSERVATIONS[0]["traceId"]
OBSERVATIONS_PATH = "/api/public/v2/observations"
Handler = Callable[[Request], Response]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(time, "sleep", lambda _seconds: None)  # retry backoff, not our code
    return tmp_path


@pytest.fixture
def langsmith(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> str:
    endpoint = httpserver.url_for("/").rstrip("/")
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2_pt_test_key")
    monkeypatch.setenv("LANGSMITH_ENDPOINT", endpoint)
    httpserver.expect_request("/info").respond_with_json({"version": "0.16.3"})
    return endpoint


@pytest.fixture
def langfuse(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> str:
    host = httpserver.url_for("/").rstrip("/")
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-test")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-test")
    monkeypatch.setenv("LANGFUSE_HOST", host)
    return host


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown, so a handler that hangs lets the loopback server stop."""
    event = threading.Event()
    yield event
    event.set()


def _analyze(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ref: str, *flags: str
) -> tuple[int, str, str]:
    argv = ["refinery", "analyze", ref, "-p", "p", "-e", "should say it is down", *flags, "--json"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def _failed(outcome: tuple[int, str, str], workdir: Path, line: str) -> None:
    assert outcome == (2, "", f"error: {line}\n")
    assert not (workdir / ".refinery").exists()


def _hits(httpserver: HTTPServer, path: str) -> int:
    return sum(request.path == path for request, _ in httpserver.log)


def _v2(run: dict[str, Any], **changes: Any) -> dict[str, Any]:
    shaped = {k: v for k, v in run.items() if k != "session_id"}
    return {**shaped, "project_id": run["session_id"], **changes}


def _truncated(body: Any) -> Response:
    text = json.dumps(body)
    return Response(text[: len(text) // 2], content_type="application/json")


def _serve_langsmith(httpserver: HTTPServer, query: Handler) -> None:
    httpserver.expect_request(f"/runs/{TRACE_ID}").respond_with_json(ROOT)
    httpserver.expect_request("/api/v2/runs/query", method="POST").respond_with_handler(query)


def _first_then(failures: int, failure: Handler, then: Handler) -> Handler:
    pending = [failure] * failures

    def handler(request: Request) -> Response:
        return pending.pop(0)(request) if pending else then(request)

    return handler


def _all_runs(_request: Request) -> Response:
    return Response(json.dumps({"items": [_v2(run) for run in RUNS]}), mimetype="application/json")


def _endless_pages(request: Request) -> Response:
    """One new run per page, and always a cursor to one more page."""
    number = int((request.get_json().get("cursor") or "page-0").split("-")[1])
    run = _v2(ROOT, id=f"00000000-0000-4000-8000-{number:012d}", parent_run_id=ROOT["id"])
    body = {"items": [run], "next_cursor": f"page-{number + 1}"}
    return Response(json.dumps(body), mimetype="application/json")


def test_langsmith_truncated_reply_is_retried_then_one_line(
    httpserver: HTTPServer, langsmith: str, workdir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _serve_langsmith(httpserver, lambda _: _truncated({"items": RUNS}))

    outcome = _analyze(monkeypatch, capsys, TRACE_ID)

    _failed(outcome, workdir, f"LangSmith at {langsmith} sent a truncated or invalid reply 5 "
            "times in a row: try again later, or check that LANGSMITH_ENDPOINT points at "
            "LangSmith")  # fmt: skip
    assert _hits(httpserver, "/api/v2/runs/query") == 5


def test_langsmith_truncated_reply_once_is_retried_and_the_trace_loads(
    httpserver: HTTPServer, langsmith: str, workdir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _serve_langsmith(httpserver, _first_then(1, lambda _: _truncated({"items": RUNS}), _all_runs))

    code, out, err = _analyze(monkeypatch, capsys, TRACE_ID)

    assert code == 1 and err == ""  # analysed; no project files, so nothing to fix
    assert json.loads(out)["trace"]["runs"] == len(RUNS)
    assert _hits(httpserver, "/api/v2/runs/query") == 2


def test_langsmith_endless_pages_stop_at_the_page_bound(
    httpserver: HTTPServer, langsmith: str, workdir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _serve_langsmith(httpserver, _endless_pages)

    outcome = _analyze(monkeypatch, capsys, TRACE_ID, "--max-runs", "150")

    _failed(outcome, workdir, f"LangSmith kept sending pages for trace {TRACE_ID}: stopped after "
            "6 pages (6 runs): the server may be misbehaving; if the trace really is that big, "
            "raise --max-runs")  # fmt: skip
    assert _hits(httpserver, "/api/v2/runs/query") == 6  # 2 x ceil(150 / 100) + 2


def test_langsmith_more_runs_than_max_runs_stops_with_the_flag_named(
    httpserver: HTTPServer, langsmith: str, workdir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _serve_langsmith(httpserver, _all_runs)

    outcome = _analyze(monkeypatch, capsys, TRACE_ID, "--max-runs", str(len(RUNS) - 1))

    _failed(
        outcome,
        workdir,
        f"LangSmith trace {TRACE_ID} has more than {len(RUNS) - 1} runs: "
        "stopped fetching there: raise --max-runs (or REFINERY_MAX_RUNS) to fetch it whole",
    )


def test_langsmith_cursor_loop_stops_at_the_repeated_cursor(
    httpserver: HTTPServer, langsmith: str, workdir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    def same_cursor(_request: Request) -> Response:
        body = {"items": [_v2(ROOT)], "next_cursor": "again"}
        return Response(json.dumps(body), mimetype="application/json")

    _serve_langsmith(httpserver, same_cursor)

    outcome = _analyze(monkeypatch, capsys, TRACE_ID)

    _failed(
        outcome,
        workdir,
        f"LangSmith sent a page cursor it had sent before for trace "
        f"{TRACE_ID}: stopped after 2 pages (2 runs): the server is looping; try again later",
    )
    assert _hits(httpserver, "/api/v2/runs/query") == 2


def test_langsmith_that_hangs_gives_up_after_the_timeout(
    httpserver: HTTPServer, langsmith: str, workdir: Path, release: threading.Event,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    asked: list[Request] = []

    def hang(request: Request) -> Response:
        asked.append(request)
        release.wait(10)
        return Response("{}", mimetype="application/json")

    httpserver.expect_request(f"/runs/{TRACE_ID}").respond_with_handler(hang)
    started = time.monotonic()

    outcome = _analyze(monkeypatch, capsys, TRACE_ID, "--timeout", "0.2")

    assert time.monotonic() - started < 5
    _failed(
        outcome,
        workdir,
        f"LangSmith at {langsmith} did not answer within 0.2 s: check "
        "LANGSMITH_ENDPOINT and the network, or raise --timeout (REFINERY_TIMEOUT)",
    )
    assert len(asked) == 1  # a timeout is not retried


def _observation_page(items: list[dict[str, Any]], cursor: str | None) -> Response:
    meta = {"cursor": cursor} if cursor else {}
    return Response(json.dumps({"data": items, "meta": meta}), mimetype="application/json")


def test_langfuse_truncated_reply_is_retried_then_one_line(
    httpserver: HTTPServer, langfuse: str, workdir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    httpserver.expect_request(OBSERVATIONS_PATH).respond_with_handler(
        lambda _: _truncated({"data": OBSERVATIONS, "meta": {}})
    )

    outcome = _analyze(monkeypatch, capsys, LANGFUSE_TRACE, "--source", "langfuse")

    _failed(
        outcome,
        workdir,
        f"Langfuse at {langfuse} sent a truncated or invalid reply 5 times "
        "in a row: try again later, or check that LANGFUSE_HOST points at Langfuse",
    )
    assert _hits(httpserver, OBSERVATIONS_PATH) == 5


def test_langfuse_truncated_reply_once_is_retried_and_the_trace_loads(
    httpserver: HTTPServer, langfuse: str, workdir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    whole = _observation_page(OBSERVATIONS, None)
    httpserver.expect_request(OBSERVATIONS_PATH).respond_with_handler(
        _first_then(1, lambda _: _truncated({"data": OBSERVATIONS}), lambda _: whole)
    )

    code, out, err = _analyze(monkeypatch, capsys, LANGFUSE_TRACE, "--source", "langfuse")

    assert code == 1 and err == ""
    assert json.loads(out)["trace"]["runs"] == len(OBSERVATIONS)


def test_langfuse_endless_pages_stop_at_the_page_bound(
    httpserver: HTTPServer, langfuse: str, workdir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    def endless(request: Request) -> Response:
        cursor = request.args.get("cursor")
        number = int(base64.b64decode(cursor)) if cursor else 0
        item = {**OBSERVATIONS[1], "id": f"obs-{number}"}
        return _observation_page([item], base64.b64encode(str(number + 1).encode()).decode())

    httpserver.expect_request(OBSERVATIONS_PATH).respond_with_handler(endless)

    outcome = _analyze(monkeypatch, capsys, LANGFUSE_TRACE, "--source", "langfuse",
                       "--max-runs", "100")  # fmt: skip

    _failed(outcome, workdir, f"Langfuse kept sending pages for trace {LANGFUSE_TRACE}: stopped "
            "after 4 pages (4 runs): the server may be misbehaving; if the trace really is that "
            "big, raise --max-runs")  # fmt: skip
    assert _hits(httpserver, OBSERVATIONS_PATH) == 4


def test_langfuse_that_hangs_gives_up_after_the_timeout(
    httpserver: HTTPServer, langfuse: str, workdir: Path, release: threading.Event,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    asked: list[Request] = []

    def hang(request: Request) -> Response:
        asked.append(request)
        release.wait(10)
        return _observation_page([], None)

    httpserver.expect_request(OBSERVATIONS_PATH).respond_with_handler(hang)
    monkeypatch.setenv("REFINERY_TIMEOUT", "0.2")
    started = time.monotonic()

    outcome = _analyze(monkeypatch, capsys, LANGFUSE_TRACE, "--source", "langfuse")

    assert time.monotonic() - started < 5
    _failed(
        outcome,
        workdir,
        f"Langfuse at {langfuse} did not answer within 0.2 s: check "
        "LANGFUSE_HOST and the network, or raise --timeout (REFINERY_TIMEOUT)",
    )
    assert len(asked) == 1


def test_langsmith_legacy_api_without_end_stops_at_max_runs(
    httpserver: HTTPServer, langsmith: str, workdir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    def endless(request: Request) -> Response:
        number = int(request.get_json().get("cursor") or "0")
        run = {**ROOT, "id": f"00000000-0000-4000-8000-{number:012d}", "parent_run_id": ROOT["id"]}
        body = {"runs": [run], "cursors": {"next": str(number + 1)}}
        return Response(json.dumps(body), mimetype="application/json")

    httpserver.expect_request("/api/v2/runs/query").respond_with_json({"detail": "?"}, status=404)
    httpserver.expect_request(f"/runs/{TRACE_ID}").respond_with_json(ROOT)
    httpserver.expect_request("/runs/query", method="POST").respond_with_handler(endless)

    outcome = _analyze(monkeypatch, capsys, TRACE_ID, "--max-runs", "20")

    _failed(
        outcome,
        workdir,
        f"LangSmith trace {TRACE_ID} has more than 20 runs: stopped "
        "fetching there: raise --max-runs (or REFINERY_MAX_RUNS) to fetch it whole",
    )
    assert _hits(httpserver, "/runs/query") == 21  # the SDK pages inside: runs bound it


def _with_surrogate(text: str) -> str:
    """JSON text with a lone surrogate escape where the weather question was."""
    return text.replace("Paris?", "Paris? \\ud800", 1)


def test_a_fetched_langsmith_trace_with_a_lone_surrogate_is_cached_and_warned_about(
    httpserver: HTTPServer, langsmith: str, workdir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    body = _with_surrogate(json.dumps({"items": [_v2(run) for run in RUNS]}))
    assert "\\ud800" in body
    _serve_langsmith(httpserver, lambda _: Response(body, mimetype="application/json"))

    code, out, err = _analyze(monkeypatch, capsys, TRACE_ID)

    assert code == 1 and err == ""
    assert json.loads(out)["warnings"][0] == (
        f"LangSmith trace {TRACE_ID} holds lone surrogate escapes such as \\ud800 (invalid "
        "Unicode): each was replaced with U+FFFD"
    )
    cached = workdir / ".refinery" / "cache" / "langsmith" / f"{TRACE_ID}.json"
    assert "Paris? \ufffd" in cached.read_text(encoding="utf-8")


def test_a_fetched_langfuse_trace_with_a_surrogate_in_its_json_input_is_warned_about(
    httpserver: HTTPServer, langfuse: str, workdir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    messages = json.loads(OBSERVATIONS[1]["input"])
    messages[1]["content"] += " \ud800"
    observations = [OBSERVATIONS[0], {**OBSERVATIONS[1], "input": json.dumps(messages)}]
    body = json.dumps({"data": [*observations, *OBSERVATIONS[2:]], "meta": {}})
    assert "\\\\ud800" in body  # inside the input's JSON text, so escaped once more
    httpserver.expect_request(OBSERVATIONS_PATH).respond_with_data(
        body, content_type="application/json"
    )

    code, out, err = _analyze(monkeypatch, capsys, LANGFUSE_TRACE, "--source", "langfuse")

    assert code == 1 and err == ""
    assert json.loads(out)["warnings"][0].startswith(
        f"Langfuse trace {LANGFUSE_TRACE} holds lone surrogate escapes such as \\ud800"
    )
