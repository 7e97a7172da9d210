"""Where the configuration came from: the analyze header and ``config-check`` name the key's source.

A ``.env`` file inside the analysed repository may hold an LLM key (a cloned repository's, say).
It may be used, but never silently: the header says which variable and which file, and a warning
says the repository's ``.env`` chose a paid API unless a flag or the environment chose it. The
LLM is a loopback Anthropic server reached through the official SDK.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from refinery.cli import main
from refinery.llm.fake import minimal_instance
from sample_paths import EXAMPLES

KEY = "sk-ant-api03-provenance0000000000000001"
CLAUDE = "claude-sonnet-4-5-20250929"


def _refinery(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["refinery", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), " ".join(captured.out.split()), captured.err


def _answer(request: Request) -> Response:
    """A Messages API reply holding the smallest valid answer to the schema asked for."""
    body = request.get_json()
    tool = body["tools"][0]
    reply = {
        "id": "msg_01", "type": "message", "role": "assistant", "model": CLAUDE,
        "content": [{"type": "tool_use", "id": "toolu_01", "name": tool["name"],
                     "input": minimal_instance(tool["input_schema"])}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 900, "output_tokens": 100},
    }  # fmt: skip
    return Response(json.dumps(reply), content_type="application/json")


@pytest.fixture
def repo(git_repo: Path, httpserver: HTTPServer) -> Path:
    """A repository whose ``.env`` holds an Anthropic key, and the trace to analyse."""
    shutil.copy(EXAMPLES / "weather-agent" / "trace.json", git_repo / "trace.json")
    url = httpserver.url_for("").rstrip("/")
    (git_repo / ".env").write_text(f"ANTHROPIC_API_KEY={KEY}\nANTHROPIC_BASE_URL={url}\n")
    httpserver.expect_request("/v1/messages", method="POST").respond_with_handler(_answer)
    models: dict[str, Any] = {"data": [{"type": "model", "id": CLAUDE, "display_name": "Claude",
                                        "created_at": "2026-01-01T00:00:00Z"}],
                              "has_more": False, "first_id": CLAUDE, "last_id": CLAUDE}  # fmt: skip
    httpserver.expect_request("/v1/models").respond_with_json(models)
    return git_repo


ANALYZE = ("analyze", "trace.json", "-p", "weather", "-e", "should say the service is down")


def _llm_calls(httpserver: HTTPServer) -> int:
    return sum(request.path == "/v1/messages" for request, _ in httpserver.log)


def test_a_key_in_the_repository_dotenv_is_named_with_its_file_and_warned_about(
    repo: Path, httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    code, out, err = _refinery(monkeypatch, capsys, *ANALYZE)

    assert code in (0, 1) and err == "", err
    dotenv = repo / ".env"
    assert f", key ANTHROPIC_API_KEY from {dotenv}" in out
    assert out.split(" · ")[3].startswith("anthropic")
    assert (
        f"warning: {dotenv} chose the anthropic analyser (ANTHROPIC_API_KEY), so the trace goes "
        "to an LLM API that may charge for it: pass --provider offline to keep it local, or "
        "--provider anthropic to confirm"
    ) in out
    assert _llm_calls(httpserver) >= 1 and KEY not in out


def test_the_provider_flag_confirms_the_dotenv_key_without_a_warning(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _refinery(monkeypatch, capsys, *ANALYZE, "--provider", "anthropic", "--json")

    assert code in (0, 1)
    result = json.loads(out)
    assert result["analyser"]["key_source"] == f"ANTHROPIC_API_KEY from {repo / '.env'}"
    assert not [w for w in result["warnings"] if "chose the anthropic analyser" in w]


def test_provider_offline_ignores_the_dotenv_key_and_calls_nothing(
    repo: Path, httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    code, out, _ = _refinery(monkeypatch, capsys, *ANALYZE, "--provider", "offline")

    assert code in (0, 1)
    assert "offline analyser (rule-based, no API key)" in out and ".env" not in out
    assert _llm_calls(httpserver) == 0


def test_a_key_from_the_environment_is_named_so_and_not_warned_about(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)

    code, out, _ = _refinery(monkeypatch, capsys, *ANALYZE, "--json")

    assert code in (0, 1)
    result = json.loads(out)
    assert result["analyser"]["key_source"] == "ANTHROPIC_API_KEY from the environment"
    assert not [w for w in result["warnings"] if ".env" in w]


def test_config_check_shows_the_same_source_and_warning(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dotenv = repo / ".env"

    code, out, err = _refinery(monkeypatch, capsys, "config-check", "--json")

    assert (code, err) == (0, "")
    report = json.loads(out)
    anthropic = next(e for e in report["endpoints"] if e["name"] == "anthropic")
    assert anthropic["keys"] == [
        {"name": "ANTHROPIC_API_KEY", "present": True, "origin": str(dotenv)}
    ]
    assert report["analyser"] == "anthropic"
    assert report["analyser_key"] == f"ANTHROPIC_API_KEY from {dotenv}"
    assert report["analyser_warning"].startswith(f"{dotenv} chose the anthropic analyser")
    code, out, _ = _refinery(monkeypatch, capsys, "config-check")
    assert f"refinery analyze would use: anthropic, key ANTHROPIC_API_KEY from {dotenv}" in out
    assert f"warning: {dotenv} chose the anthropic analyser" in out and KEY not in out
