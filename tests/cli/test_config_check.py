"""``refinery config-check``: keys only as present/absent, endpoints probed through their SDKs.

Each configured endpoint answers (or not) from a loopback server; exit 0 only when all answer.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from refinery.cli import app

KEYS = {
    "OPENAI_API_KEY": "sk-proj-check0000000000000000000001",
    "ANTHROPIC_API_KEY": "sk-ant-api03-check00000000000000000002",
    "GEMINI_API_KEY": "AIzaCheck000000000000000000000000000003",
    "AZURE_OPENAI_API_KEY": "azure-check-key-0000000004",
    "LANGSMITH_API_KEY": "lsv2_pt_check000000000000000000000005",
    "LANGFUSE_PUBLIC_KEY": "pk-lf-check-0006",
    "LANGFUSE_SECRET_KEY": "sk-lf-check-0007",
}
_PREFIXES = ("LANGSMITH_", "LANGCHAIN_", "LANGFUSE_", "OPENAI_", "ANTHROPIC_", "GOOGLE_", "GEMINI_",
             "AZURE_OPENAI_", "REFINERY_")  # fmt: skip


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No real key or endpoint leaks in from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".refinery").mkdir()
    return monkeypatch


def _serve_everything(server: HTTPServer, anthropic_status: int = 200) -> None:
    model = {"id": "gpt-4.1", "object": "model", "created": 1, "owned_by": "openai"}
    openai_list = {"object": "list", "data": [model]}
    for prefix in ("/openai/v1/models", "/azure/openai/models", "/compat/v1/models"):
        server.expect_request(prefix).respond_with_json(openai_list)
    claude = {"type": "model", "id": "claude-sonnet-4-6", "display_name": "Claude Sonnet 4.6",
              "created_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    anthropic_body = (
        {"data": [claude], "has_more": False, "first_id": claude["id"], "last_id": claude["id"]}
        if anthropic_status == 200
        else {"type": "error", "error": {"type": "authentication_error",
                                         "message": "invalid x-api-key"}}
    )  # fmt: skip
    server.expect_request("/anthropic/v1/models").respond_with_json(
        anthropic_body, status=anthropic_status
    )
    server.expect_request(re.compile(r"/gemini/v1(beta)?/models")).respond_with_json(
        {"models": [{"name": "models/gemini-2.5-pro", "displayName": "Gemini 2.5 Pro"}]}
    )
    server.expect_request("/langsmith/sessions").respond_with_json([])
    server.expect_request("/langfuse/api/public/projects").respond_with_json(
        {"data": [{"id": "p1", "name": "billing-bot", "organization": {"id": "o1", "name": "Acme"},
                   "metadata": {}}]}
    )  # fmt: skip


def _configure(monkeypatch: pytest.MonkeyPatch, server: HTTPServer) -> None:
    url = server.url_for("")
    endpoints = {
        "OPENAI_BASE_URL": f"{url}/openai/v1", "ANTHROPIC_BASE_URL": f"{url}/anthropic",
        "GEMINI_BASE_URL": f"{url}/gemini", "AZURE_OPENAI_ENDPOINT": f"{url}/azure",
        "REFINERY_BASE_URL": f"{url}/compat/v1", "LANGSMITH_ENDPOINT": f"{url}/langsmith",
        "LANGFUSE_HOST": f"{url}/langfuse",
    }  # fmt: skip
    for name, value in {**KEYS, **endpoints}.items():
        monkeypatch.setenv(name, value)


def test_every_configured_endpoint_answers(
    httpserver: HTTPServer, clean_env: pytest.MonkeyPatch
) -> None:
    _serve_everything(httpserver)
    _configure(clean_env, httpserver)
    result = CliRunner().invoke(app, ["config-check", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["analyser"] == "openai-compatible"
    by_name = {e["name"]: e for e in report["endpoints"]}
    assert list(by_name) == [
        "langsmith", "langfuse", "openai", "anthropic", "gemini", "azure", "openai-compatible"
    ]  # fmt: skip
    assert all(e["configured"] and e["reachable"] for e in by_name.values())
    assert by_name["langfuse"]["detail"].endswith("(project: billing-bot)")
    assert {k["name"]: k["present"] for k in by_name["gemini"]["keys"]} == {
        "GEMINI_API_KEY": True, "GOOGLE_API_KEY": False
    }  # fmt: skip
    assert not [key for key in KEYS.values() if key in result.output]
    sent = {request.path for request, _ in httpserver.log}
    assert {"/openai/v1/models", "/anthropic/v1/models", "/langsmith/sessions"} <= sent


def test_a_rejected_key_is_named_and_exits_1(
    httpserver: HTTPServer, clean_env: pytest.MonkeyPatch
) -> None:
    _serve_everything(httpserver, anthropic_status=401)
    _configure(clean_env, httpserver)
    result = CliRunner().invoke(app, ["config-check", "--json"])

    assert result.exit_code == 1
    anthropic = next(e for e in json.loads(result.stdout)["endpoints"] if e["name"] == "anthropic")
    assert anthropic["reachable"] is False
    assert anthropic["detail"] == (
        "anthropic rejected the API key (HTTP 401: invalid x-api-key): check ANTHROPIC_API_KEY"
    )
    assert not [key for key in KEYS.values() if key in result.output]


def test_unreachable_endpoint_shows_in_the_table(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OPENAI_API_KEY", KEYS["OPENAI_API_KEY"])
    clean_env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    result = CliRunner().invoke(app, ["config-check"], env={"COLUMNS": "200"})

    assert result.exit_code == 1
    assert re.search(r"openai .*OPENAI_API_KEY set .*unreachable", result.stdout)
    assert "openai could not be reached" in result.stdout
    assert KEYS["OPENAI_API_KEY"] not in result.stdout


def test_nothing_configured_means_offline_and_exit_0(clean_env: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["config-check", "--json"])

    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["analyser"] == "offline" and report["ok"] is True
    assert not [e for e in report["endpoints"] if e["configured"] or e["reachable"] is not None]
    langsmith = report["endpoints"][0]
    assert langsmith["detail"] == "set LANGSMITH_API_KEY or LANGCHAIN_API_KEY"


def test_each_provider_says_which_model_and_settings_it_would_use(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("REFINERY_REASONING", "high")
    result = CliRunner().invoke(app, ["config-check", "--json"])

    providers = {e["name"]: e for e in json.loads(result.stdout)["endpoints"]
                 if e["kind"] == "provider"}  # fmt: skip
    assert providers["openai"]["model"] == "gpt-5.5"
    assert providers["openai"]["call"] == (
        "no temperature, reasoning high, up to 40768 output tokens (32768 for thinking)"
    )
    assert providers["gemini"]["call"].startswith("temperature 0.0, reasoning high")
    assert providers["openai-compatible"]["call"] == (
        "llama3.1 has no reasoning setting: drop --reasoning or choose a reasoning model with "
        "--model"
    )
    assert all(e["model"] is None for e in json.loads(result.stdout)["endpoints"][:2])
