"""Each provider through its official SDK against a loopback server enforcing that provider's rules.

Every path runs with a non-reasoning and a reasoning model, with and without ``--reasoning``; the
stand-ins (``provider_wire``) answer HTTP 400 to whatever the real service refuses, and report
thinking tokens the way the real service does.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import openai
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request as WsgiRequest
from werkzeug import Response

from provider_wire import PATHS, THINKING_TOKENS, handler
from refinery.analysis.llm_analyst import HypothesisSet
from refinery.config import Settings
from refinery.errors import ConfigError, ProviderError
from refinery.llm.catalog import default_model
from refinery.llm.failures import AnswerCut
from refinery.llm.gemini import GeminiProvider
from refinery.llm.provider import Request, detect_provider, make_provider
from refinery.llm.schema import answer_schema
from refinery.models.diagnosis import DiagnosisDraft

SCHEMA = answer_schema(DiagnosisDraft)
REQUEST = Request(
    system="be exact", prompt="why did it fail?", schema_name="diagnosis", schema=SCHEMA
)
ANSWER = {
    "failure_type": "tool_error", "root_cause": "the tool failed", "confidence": "high",
    "confidence_reason": "r", "trace_summary": "s", "gap": "g", "executive_summary": "e",
    "affected_component": "c", "evidence": [], "divergence": None,
}  # fmt: skip


def _settings(vendor: str, server: HTTPServer, model: str, reasoning: str | None) -> Settings:
    url = server.url_for("")
    env = {
        "openai": {"OPENAI_API_KEY": "sk-test-123", "OPENAI_BASE_URL": f"{url}/v1"},
        "azure": {"AZURE_OPENAI_API_KEY": "az-test", "AZURE_OPENAI_ENDPOINT": url},
        "openai-compatible": {},
        "anthropic": {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": url},
        "gemini": {"GEMINI_API_KEY": "AIza-test", "GEMINI_BASE_URL": url},
    }[vendor]
    base = f"{url}/v1" if vendor == "openai-compatible" else None
    return Settings(provider=vendor, env=env, model=model, base_url=base, reasoning=reasoning)


def _serve(server: HTTPServer, vendor: str) -> list[dict[str, Any]]:
    wire = {"azure": "chat", "openai-compatible": "chat"}.get(vendor, vendor)
    path = re.compile(r"/openai/deployments/[\w.-]+/chat/completions") if vendor == "azure" else (
        PATHS[wire]
    )  # fmt: skip
    seen: list[dict[str, Any]] = []
    server.expect_request(path, method="POST").respond_with_handler(
        handler(wire, lambda _: ANSWER, seen)
    )
    return seen


# (provider, model, --reasoning, thinks): a non-reasoning and a reasoning model for every path.
CASES = [
    ("openai", "gpt-4.1", None, False),
    ("openai", "gpt-5.5", None, True),
    ("openai", "o4-mini", "high", True),
    ("azure", "gpt-4.1", None, False),
    ("azure", "o4-mini", None, True),
    ("azure", "gpt-5.5", "low", True),
    ("openai-compatible", "llama3.1", None, False),
    ("anthropic", "claude-haiku-4-5", None, False),
    ("anthropic", "claude-opus-4-6", None, False),
    ("anthropic", "claude-opus-4-6", "high", True),
    ("anthropic", "claude-haiku-4-5", "low", True),
    ("anthropic", "claude-opus-4-7", None, True),
    ("gemini", "gemini-2.0-flash", None, False),
    ("gemini", "gemini-2.5-pro", None, True),
    ("gemini", "gemini-2.5-flash", "high", True),
    ("gemini", "gemini-3.1-pro-preview", "medium", True),
]


@pytest.mark.parametrize(("vendor", "model", "reasoning", "thinks"), CASES)
def test_every_path_is_accepted_and_counts_thinking(
    httpserver: HTTPServer, vendor: str, model: str, reasoning: str | None, thinks: bool
) -> None:
    seen = _serve(httpserver, vendor)
    provider = make_provider(_settings(vendor, httpserver, model, reasoning))
    completion = provider.complete(replace(REQUEST, reasoning=reasoning))

    assert json.loads(completion.text) == ANSWER
    assert completion.thinking_tokens == (THINKING_TOKENS if thinks else 0)
    assert completion.output_tokens > completion.thinking_tokens
    assert len(seen) == 1


def test_default_models_are_accepted(httpserver: HTTPServer) -> None:
    for vendor in ("openai", "azure", "anthropic", "gemini"):
        httpserver.clear()
        _serve(httpserver, vendor)
        settings = _settings(vendor, httpserver, default_model(vendor), None)
        settings = Settings(**{**settings.__dict__, "model": None})
        assert json.loads(make_provider(settings).complete(REQUEST).text) == ANSWER


def test_openai_reasoning_model_gets_effort_and_room_to_think(httpserver: HTTPServer) -> None:
    seen = _serve(httpserver, "openai")
    provider = make_provider(_settings("openai", httpserver, "gpt-5.5", "high"))
    provider.complete(replace(REQUEST, reasoning="high"))
    body = seen[0]
    assert "temperature" not in body and body["reasoning"] == {"effort": "high"}
    assert body["max_output_tokens"] == 8_000 + 32_768
    assert body["text"]["format"] == {
        "type": "json_schema", "name": "diagnosis", "schema": SCHEMA, "strict": True
    }  # fmt: skip


def test_non_reasoning_chat_model_keeps_temperature_and_max_tokens(httpserver: HTTPServer) -> None:
    seen = _serve(httpserver, "openai-compatible")
    make_provider(_settings("openai-compatible", httpserver, "llama3.1", None)).complete(REQUEST)
    body = seen[0]
    assert body["temperature"] == 0.0 and body["max_tokens"] == 8_000
    assert body["response_format"]["json_schema"]["strict"] is True
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


def test_claude_thinking_offers_the_tool_and_says_to_use_it(httpserver: HTTPServer) -> None:
    seen = _serve(httpserver, "anthropic")
    provider = make_provider(_settings("anthropic", httpserver, "claude-opus-4-6", "medium"))
    provider.complete(replace(REQUEST, reasoning="medium"))
    body = seen[0]
    assert body["thinking"] == {"type": "adaptive"}
    assert body["output_config"] == {"effort": "medium"}
    assert body["tool_choice"] == {"type": "auto"} and "temperature" not in body
    assert body["system"].endswith("Give your answer only by calling the diagnosis tool, once.")
    assert body["tools"][0]["input_schema"] == SCHEMA and body["tools"][0]["strict"] is True


def test_claude_strict_tool_leaves_array_bounds_to_validation(httpserver: HTTPServer) -> None:
    seen = _serve(httpserver, "anthropic")
    schema = answer_schema(HypothesisSet)
    request = replace(REQUEST, schema_name="hypotheses", schema=schema)
    for model in ("claude-haiku-4-5", "claude-3-7-sonnet-latest"):
        make_provider(_settings("anthropic", httpserver, model, None)).complete(request)
    strict, older = (body["tools"][0] for body in seen)
    hypotheses = strict["input_schema"]["properties"]["hypotheses"]
    assert strict["strict"] is True and "maxItems" not in hypotheses
    assert hypotheses["minItems"] == 1
    assert "strict" not in older and older["input_schema"] == schema


def test_the_stand_ins_refuse_what_the_services_refuse(httpserver: HTTPServer) -> None:
    _serve(httpserver, "openai")
    client = openai.OpenAI(api_key="sk-x", base_url=httpserver.url_for("/v1"), max_retries=0)
    loose = {"type": "object", "properties": {"a": {"type": "string", "default": ""}}}
    with pytest.raises(openai.BadRequestError, match="'temperature' is not supported"):
        client.responses.create(model="gpt-5.5", input="x", temperature=0.0)
    with pytest.raises(openai.BadRequestError, match="'additionalProperties' is required"):
        client.responses.create(
            model="gpt-4.1", input="x",
            text={"format": {"type": "json_schema", "name": "a", "schema": loose, "strict": True}},
        )  # fmt: skip


def test_reasoning_for_a_model_without_it_is_a_clear_error() -> None:
    settings = Settings(provider="openai-compatible", base_url="http://127.0.0.1:9/v1",
                        model="llama3.1", reasoning="high")  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        make_provider(settings)
    assert str(caught.value) == (
        "llama3.1 has no reasoning setting: "
        "drop --reasoning or choose a reasoning model with --model"
    )


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_rate_limit_is_retried_honouring_retry_after(httpserver: HTTPServer, vendor: str) -> None:
    wire = handler(vendor, lambda _: ANSWER, [])
    calls: list[int] = []

    def respond(request: WsgiRequest) -> Response:
        calls.append(1)
        if len(calls) == 1:
            return Response(
                json.dumps({"error": {"type": "rate_limit_error", "message": "slow down"}}),
                status=429,
                headers={"retry-after-ms": "10", "Content-Type": "application/json"},
            )
        return wire(request)

    httpserver.expect_request(PATHS[vendor], method="POST").respond_with_handler(respond)
    settings = _settings(vendor, httpserver, default_model(vendor), None)
    assert json.loads(make_provider(settings).complete(REQUEST).text) == ANSWER
    assert len(calls) == 2


def test_anthropic_error_is_the_vendor_sentence_not_a_dict(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/messages").respond_with_json(
        {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        },
        status=401,
    )
    with pytest.raises(ProviderError) as caught:
        make_provider(_settings("anthropic", httpserver, "claude-opus-4-6", None)).complete(REQUEST)
    assert str(caught.value) == (
        "anthropic rejected the API key (HTTP 401: invalid x-api-key): check ANTHROPIC_API_KEY"
    )
    assert not caught.value.retryable


def test_gemini_bad_key_names_the_variable(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATHS["gemini"], method="POST").respond_with_json(
        {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                   "status": "INVALID_ARGUMENT",
                   "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}},
        status=400,
    )  # fmt: skip
    with pytest.raises(ProviderError) as caught:
        make_provider(_settings("gemini", httpserver, "gemini-2.5-pro", None)).complete(REQUEST)
    assert str(caught.value) == (
        "gemini rejected the API key (HTTP 400: API key not valid. Please pass a valid API key. "
        "(API_KEY_INVALID)): check GEMINI_API_KEY"
    )


def _gemini(server: HTTPServer, sleeps: list[float]) -> GeminiProvider:
    from google import genai
    from google.genai import types

    options = types.HttpOptions(
        base_url=server.url_for(""), retry_options=types.HttpRetryOptions(attempts=1)
    )
    client = genai.Client(api_key="AIza-test", http_options=options)
    return GeminiProvider(client, model="gemini-2.5-pro", sleep=sleeps.append)


def test_gemini_rate_limit_waits_the_retry_delay_it_asks_for(httpserver: HTTPServer) -> None:
    wire = handler("gemini", lambda _: ANSWER, [])
    calls: list[int] = []

    def respond(request: WsgiRequest) -> Response:
        calls.append(1)
        if len(calls) == 1:
            error = {
                "error": {
                    "code": 429,
                    "message": "Quota exceeded",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}
                    ],
                }
            }
            return Response(json.dumps(error), status=429, content_type="application/json")
        return wire(request)

    httpserver.expect_request(PATHS["gemini"], method="POST").respond_with_handler(respond)
    sleeps: list[float] = []
    completion = _gemini(httpserver, sleeps).complete(REQUEST)
    assert sleeps == [17.0] and json.loads(completion.text) == ANSWER


def test_gemini_empty_answer_cut_by_thinking_is_a_retryable_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATHS["gemini"], method="POST").respond_with_json(
        {"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "MAX_TOKENS",
                         "index": 0}],
         "usageMetadata": {"promptTokenCount": 900, "thoughtsTokenCount": 24_384,
                           "totalTokenCount": 25_284},
         "modelVersion": "gemini-2.5-pro"}
    )  # fmt: skip
    with pytest.raises(AnswerCut) as caught:
        _gemini(httpserver, []).complete(REQUEST)
    assert caught.value.retryable
    assert str(caught.value) == (
        "gemini gemini-2.5-pro used all 24384 output tokens (24384 of them thinking) and gave no "
        "answer: retry with --reasoning low, or choose a model that thinks less"
    )


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(ProviderError, match="no API key for openai: set OPENAI_API_KEY"):
        make_provider(Settings(provider="openai"))


def test_provider_is_chosen_by_key_else_offline() -> None:
    assert detect_provider(Settings()) is None
    assert detect_provider(Settings(env={"GEMINI_API_KEY": "x"})) == "gemini"
    assert detect_provider(Settings(base_url="http://127.0.0.1:1/v1")) == "openai-compatible"
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        make_provider(Settings(provider="nope"))
