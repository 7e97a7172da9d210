"""Batch mode through the official SDKs: submit → poll → fetch, and resume after an interruption.

Loopback servers speak OpenAI's Batch API (files and batches, each line a ``/v1/responses`` request)
and Anthropic's Message Batches; each batched request is checked against the provider's rules
(``provider_wire``) and fails inside the batch, as it would there, when it breaks one.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request as WsgiRequest
from werkzeug import Response

from provider_wire import (
    THINKING_TOKENS,
    anthropic_problems,
    message_answer,
    openai_problems,
    responses_answer,
)
from refinery.analysis.llm_analyst import HypothesisSet
from refinery.config import Settings
from refinery.errors import ConfigError, InputError, ProviderError
from refinery.llm.batch import batches_dir, load_record
from refinery.llm.schema import answer_schema
from refinery.models.diagnosis import DiagnosisDraft
from refinery.pipeline import (
    AnalyzeOptions,
    ContextRequest,
    analyze_batch,
    load_analysis,
    resume_batch,
)
from refinery.progress import ProgressEvent
from sample_paths import DATA

PLANTED = ("sk-proj-Q2xV9rT4mN8bL1kJ6hG3fD5sA7pZ0wYc", "maria.lopez@example.org", "+1 415-555-0143")
EXPECTED = "Refunds must be escalated to a human agent; the assistant never promises one itself."
PROMPT = (
    "You are the support assistant for Acme Cloud.\n"
    "Answer billing questions politely.\n"
    "Use lookup_invoice to read an invoice before answering.\n"
)
DIAGNOSIS = {
    "failure_type": "instruction_gap", "root_cause": "No refund policy in the prompt.",
    "confidence": "high", "confidence_reason": "The final answer promises a refund.",
    "trace_summary": "Looked up the invoice, promised a refund.", "gap": "No escalation.",
    "executive_summary": "The assistant promised a refund.",
    "affected_component": "prompts/system.txt",
    "evidence": [{"run_id": "msg-4", "quote": "I have issued a refund of 98.00 USD to your card"}],
}  # fmt: skip
SEARCH = "Answer billing questions politely.\n"
HYPOTHESES = {"hypotheses": [{
    "rank": 1, "title": "State the refund policy", "strategy": "add_rule", "rationale": "r",
    "failure_type": "instruction_gap", "risk": "low", "expected_effect": "Refunds are escalated.",
    "edits": [{"file": "prompts/system.txt", "search": SEARCH,
               "replace": f"{SEARCH}Escalate every refund request to a human agent.\n"}],
}]}  # fmt: skip


def _answer(schema_name: str) -> dict[str, Any]:
    return HYPOTHESES if schema_name == "hypotheses" else DIAGNOSIS


@dataclass
class BatchServer:
    """A vendor's batch endpoints: each batch ends after ``polls_to_end`` status requests."""

    server: HTTPServer
    polls_to_end: int = 2
    submitted: list[dict[str, Any]] = field(default_factory=list)
    """The request inside each submitted batch, in order."""
    raw: list[str] = field(default_factory=list)
    """Every request body and uploaded file, as received."""
    polls: dict[str, int] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)

    def record(self, request: WsgiRequest) -> None:
        self.paths.append(request.path)
        self.raw.append(request.get_data(as_text=True))

    def ended(self, batch_id: str) -> bool:
        self.polls[batch_id] = self.polls.get(batch_id, 0) + 1
        return self.polls[batch_id] >= self.polls_to_end


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _openai_batch(batch_id: str, status: str, output: str | None = None) -> dict[str, Any]:
    done = 1 if status == "completed" else 0
    return {
        "id": batch_id, "object": "batch", "endpoint": "/v1/responses", "errors": None,
        "input_file_id": f"file-in-{batch_id}", "completion_window": "24h", "status": status,
        "output_file_id": output, "error_file_id": None, "created_at": 1764133200,
        "request_counts": {"total": 1, "completed": done, "failed": 0},
        "metadata": {"created_by": "refinery"},
    }  # fmt: skip


def serve_openai(
    server: HTTPServer, polls_to_end: int = 2, final: str = "completed"
) -> BatchServer:
    """``/v1/files`` (upload, content) and ``/v1/batches`` (create, retrieve)."""
    state = BatchServer(server, polls_to_end)

    def upload(request: WsgiRequest) -> Response:
        state.paths.append(request.path)
        content = request.files["file"].read().decode()
        state.raw.append(content)
        assert request.form["purpose"] == "batch"
        state.submitted.append(json.loads(content))
        number = len(state.submitted)
        return _json({"id": f"file-in-{number}", "object": "file", "bytes": len(content),
                      "created_at": 1, "filename": "refinery.jsonl", "purpose": "batch",
                      "status": "processed"})  # fmt: skip

    def create(request: WsgiRequest) -> Response:
        state.record(request)
        body = json.loads(request.get_data())
        assert body["endpoint"] == "/v1/responses" and body["completion_window"] == "24h"
        return _json(_openai_batch(f"batch_{body['input_file_id'][8:]}", "validating"))

    def retrieve(request: WsgiRequest) -> Response:
        state.record(request)
        batch_id = request.path.rsplit("/", 1)[1]
        if not state.ended(batch_id):
            return _json(_openai_batch(batch_id, "in_progress"))
        return _json(_openai_batch(batch_id, final, f"file-out-{batch_id[6:]}"))

    def content(request: WsgiRequest) -> Response:
        state.record(request)
        line = state.submitted[int(request.path.split("/")[3][9:]) - 1]
        body = line["body"]
        problems = openai_problems(body, "responses")
        text = json.dumps(_answer(body["text"]["format"]["name"]))
        error = {"error": {"message": problems[0] if problems else "", "type": "invalid_request"}}
        reply = (
            {"status_code": 400, "request_id": "req_1", "body": error}
            if problems
            else {"status_code": 200, "request_id": "req_1",
                  "body": responses_answer(body["model"], text, body)}
        )  # fmt: skip
        output = {"id": "batch_req_1", "custom_id": line["custom_id"], "error": None,
                  "response": reply}  # fmt: skip
        return Response(json.dumps(output) + "\n", content_type="application/octet-stream")

    server.expect_request("/v1/files", method="POST").respond_with_handler(upload)
    server.expect_request("/v1/batches", method="POST").respond_with_handler(create)
    server.expect_request(re.compile(r"/v1/batches/[\w-]+$")).respond_with_handler(retrieve)
    server.expect_request(re.compile(r"/v1/files/[\w-]+/content")).respond_with_handler(content)
    return state


def _message_batch(batch_id: str, ended: bool, results_url: str | None) -> dict[str, Any]:
    return {
        "id": batch_id, "type": "message_batch",
        "processing_status": "ended" if ended else "in_progress",
        "request_counts": {"processing": 0 if ended else 1, "succeeded": 1 if ended else 0,
                           "errored": 0, "canceled": 0, "expired": 0},
        "ended_at": "2026-11-26T06:20:00Z" if ended else None,
        "created_at": "2026-11-26T06:00:00Z", "expires_at": "2026-11-27T06:00:00Z",
        "archived_at": None, "cancel_initiated_at": None, "results_url": results_url,
    }  # fmt: skip


def serve_anthropic(server: HTTPServer, polls_to_end: int = 2) -> BatchServer:
    """``/v1/messages/batches`` (create, retrieve) and each batch's ``results_url``."""
    state = BatchServer(server, polls_to_end)

    def create(request: WsgiRequest) -> Response:
        state.record(request)
        (entry,) = json.loads(request.get_data())["requests"]
        state.submitted.append(entry)
        return _json(_message_batch(f"msgbatch_{len(state.submitted)}", False, None))

    def retrieve(request: WsgiRequest) -> Response:
        state.record(request)
        batch_id = request.path.rsplit("/", 1)[1]
        if not state.ended(batch_id):
            return _json(_message_batch(batch_id, False, None))
        url = server.url_for(f"/v1/messages/batches/{batch_id}/results")
        return _json(_message_batch(batch_id, True, url))

    def results(request: WsgiRequest) -> Response:
        state.record(request)
        entry = state.submitted[int(request.path.split("/")[4][9:]) - 1]
        params = entry["params"]
        problems = anthropic_problems(params)
        message = message_answer(params, _answer(params["tools"][0]["name"]))
        result = (
            {"type": "errored", "error": {"type": "error", "error": {
                "type": "invalid_request_error", "message": problems[0]}}}
            if problems else {"type": "succeeded", "message": message}
        )  # fmt: skip
        line = {"custom_id": entry["custom_id"], "result": result}
        return Response(json.dumps(line) + "\n", content_type="application/binary")

    server.expect_request("/v1/messages/batches", method="POST").respond_with_handler(create)
    server.expect_request(re.compile(r"/v1/messages/batches/\w+/results")).respond_with_handler(
        results
    )
    server.expect_request(re.compile(r"/v1/messages/batches/\w+$")).respond_with_handler(retrieve)
    return state


@pytest.fixture
def project(git_repo: Path) -> Path:
    (git_repo / "prompts").mkdir()
    (git_repo / "prompts" / "system.txt").write_text(PROMPT)
    shutil.copy(DATA / "llm_refund_transcript.json", git_repo / "trace.json")
    subprocess.run(["git", "-C", str(git_repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(git_repo), "commit", "-qm", "agent"], check=True)
    return git_repo


def _settings(vendor: str, server: HTTPServer, root: Path, model: str | None = None) -> Settings:
    env = {
        "openai": {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.url_for("/v1")},
        "anthropic": {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": server.url_for("")},
    }[vendor]
    return Settings(provider=vendor, env=env, repo_root=root, model=model)


OPTIONS = AnalyzeOptions(context=ContextRequest(prompt_files=("prompts/system.txt",)))


def _interrupt_after(calls: int) -> tuple[list[float], Callable[[float], None]]:
    """A sleep recording its pauses, interrupted (Ctrl-C) on pause ``calls`` (0: never)."""
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == calls:
            raise KeyboardInterrupt

    return pauses, sleep


@pytest.mark.parametrize(
    ("model", "thinking", "price"), [("gpt-4.1", 0, (2.0, 8.0)), ("gpt-5.5", 700, (5.0, 30.0))]
)
def test_openai_batch_submits_files_polls_and_fetches(
    httpserver: HTTPServer, project: Path, model: str, thinking: int, price: tuple[float, float]
) -> None:
    state = serve_openai(httpserver, polls_to_end=3)
    events: list[ProgressEvent] = []
    pauses, sleep = _interrupt_after(0)
    result = analyze_batch(
        project / "trace.json", project="billing", expected=EXPECTED, options=OPTIONS,
        settings=_settings("openai", httpserver, project, model), on_progress=events.append,
        sleep=sleep,
    )  # fmt: skip

    diagnosis_line, hypotheses_line = state.submitted
    assert diagnosis_line["url"] == "/v1/responses" and diagnosis_line["method"] == "POST"
    schema = diagnosis_line["body"]["text"]["format"]
    assert schema["schema"] == answer_schema(DiagnosisDraft) and schema["strict"] is True
    assert hypotheses_line["body"]["text"]["format"]["schema"] == answer_schema(HypothesisSet)
    assert not [value for raw in state.raw for value in PLANTED if value in raw]
    assert pauses == [5.0, 10.0, 5.0, 10.0]
    assert any("submitted openai batch batch_1 (diagnosis)" in e.message for e in events)
    assert [(e.done, e.total) for e in events if "in_progress" in e.message][0] == (0, 1)
    assert result.diagnosis.evidence[0].verified and result.hypotheses[0].valid
    output = 600 + 2 * thinking
    assert (result.usage.output_tokens, result.usage.thinking_tokens) == (output, 2 * thinking)
    assert result.usage.cost_usd == pytest.approx(0.5 * (2400 * price[0] + output * price[1]) / 1e6)
    assert load_record(Settings(repo_root=project), "batch_2").answer is not None


def test_resume_picks_up_each_stage_after_an_interruption(
    httpserver: HTTPServer, project: Path
) -> None:
    state = serve_openai(httpserver, polls_to_end=2)
    settings = _settings("openai", httpserver, project)
    _, interrupted = _interrupt_after(1)
    with pytest.raises(ProviderError) as caught:
        analyze_batch(
            "trace.json", project="billing", expected=EXPECTED, options=OPTIONS,
            settings=settings, sleep=interrupted,
        )  # fmt: skip
    assert str(caught.value) == (
        "stopped waiting for openai batch batch_1: pick up its result later with: "
        "refinery analyze --resume batch_1"
    )
    record = load_record(settings, "batch_1")
    assert (record.stage, record.answer, record.job.project) == ("diagnosis", None, "billing")
    assert record.job.trace == str(project / "trace.json")

    _, interrupted = _interrupt_after(1)
    with pytest.raises(ProviderError, match="--resume batch_2$"):
        resume_batch("batch_1", Settings(repo_root=project, env=settings.env), sleep=interrupted)
    assert len(state.submitted) == 2 and load_record(settings, "batch_1").answer is not None

    state.paths.clear()
    result = resume_batch("batch_2", Settings(repo_root=project, env=settings.env))
    assert len(state.submitted) == 2
    assert not [path for path in state.paths if "batch_1" in path or "-1" in path]
    assert result.analyser.provider == "openai" and result.hypotheses[0].valid
    assert load_analysis(settings, result.analysis_id) == result  # a resumed analysis is kept too


def test_resume_sends_the_reasoning_level_it_was_submitted_with(
    httpserver: HTTPServer, project: Path
) -> None:
    state = serve_openai(httpserver, polls_to_end=2)
    settings = Settings(**{**_settings("openai", httpserver, project, "gpt-5.5").__dict__,
                           "reasoning": "high"})  # fmt: skip
    _, interrupted = _interrupt_after(1)
    with pytest.raises(ProviderError):
        analyze_batch(
            "trace.json", project="billing", expected=EXPECTED, options=OPTIONS,
            settings=settings, sleep=interrupted,
        )  # fmt: skip
    assert load_record(settings, "batch_1").reasoning == "high"

    result = resume_batch("batch_1", Settings(repo_root=project, env=settings.env))
    assert [line["body"]["reasoning"] for line in state.submitted] == [{"effort": "high"}] * 2
    assert result.usage.thinking_tokens == 2 * THINKING_TOKENS


def test_resume_refuses_when_the_inputs_changed(httpserver: HTTPServer, project: Path) -> None:
    serve_openai(httpserver)
    settings = _settings("openai", httpserver, project)
    _, interrupted = _interrupt_after(1)
    with pytest.raises(ProviderError):
        analyze_batch(
            "trace.json", project="billing", expected=EXPECTED, options=OPTIONS,
            settings=settings, sleep=interrupted,
        )  # fmt: skip
    (project / "prompts" / "system.txt").write_text(PROMPT + "Be brief.\n")

    with pytest.raises(InputError) as caught:
        resume_batch("batch_1", settings)

    assert str(caught.value).startswith("batch batch_1 no longer matches the analysis")


@pytest.mark.parametrize(
    ("model", "choice"),
    [("claude-haiku-4-5", {"type": "tool", "name": "diagnosis"}),
     ("claude-opus-4-7", {"type": "auto"})],
)  # fmt: skip
def test_anthropic_message_batch_round_trip(
    httpserver: HTTPServer, project: Path, model: str, choice: dict[str, str]
) -> None:
    state = serve_anthropic(httpserver)
    pauses, sleep = _interrupt_after(0)
    result = analyze_batch(
        "trace.json", project="billing", expected=EXPECTED, options=OPTIONS,
        settings=_settings("anthropic", httpserver, project, model), sleep=sleep,
    )  # fmt: skip

    params = state.submitted[0]["params"]
    assert state.submitted[0]["custom_id"] == "refinery-diagnosis"
    assert params["tool_choice"] == choice
    assert params["tools"][0]["input_schema"] == answer_schema(DiagnosisDraft)
    assert params["model"] == model
    assert not [value for raw in state.raw for value in PLANTED if value in raw]
    assert pauses == [5.0, 5.0]
    assert result.analyser.model == model and result.hypotheses[0].valid
    thinking = 2 * THINKING_TOKENS if choice["type"] == "auto" else 0
    assert result.usage.llm_calls == 2 and result.usage.thinking_tokens == thinking
    assert result.usage.cost_usd == pytest.approx(
        0.5 * (4000 * (1.0 if "haiku" in model else 5.0)
               + (800 + thinking) * (5.0 if "haiku" in model else 25.0)) / 1e6
    )  # fmt: skip
    assert sorted(p.name for p in batches_dir(Settings(repo_root=project)).iterdir()) == [
        "msgbatch_1.json", "msgbatch_2.json"
    ]  # fmt: skip


def test_expired_batch_is_one_line(httpserver: HTTPServer, project: Path) -> None:
    serve_openai(httpserver, polls_to_end=1, final="expired")
    with pytest.raises(ProviderError) as caught:
        analyze_batch(
            "trace.json", project="billing", expected=EXPECTED, options=OPTIONS,
            settings=_settings("openai", httpserver, project), sleep=lambda _: None,
        )  # fmt: skip

    assert str(caught.value) == (
        "openai batch batch_1 expired: run refinery analyze again (with or without --batch)"
    )


def test_unknown_batch_and_unsupported_provider_are_clear(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="^unknown batch batch_nope: batches submitted here"):
        resume_batch("batch_nope", Settings(repo_root=tmp_path))
    with pytest.raises(InputError, match="is not a batch id"):
        resume_batch("../../etc/passwd", Settings(repo_root=tmp_path))
    gemini = Settings(provider="gemini", env={"GEMINI_API_KEY": "AIza-x"}, repo_root=tmp_path)
    with pytest.raises(ConfigError, match="--batch does not work with gemini"):
        analyze_batch("trace.json", project="p", expected="x", settings=gemini)
