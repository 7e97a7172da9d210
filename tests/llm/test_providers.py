"""Each provider through its official SDK against a loopback server speaking its wire format."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request as WsgiRequest
from werkzeug import Response

from refinery.config import Settings
from refinery.errors import ConfigError, ProviderError
from refinery.llm.provider import Request, detect_provider, make_provider

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
REQUEST = Request(
    system="be exact", prompt="why did it fail?", schema_name="diagnosis", schema=SCHEMA
)
ANSWER = {"answer": "the tool failed"}


def _responses_body(text: str) -> dict[str, Any]:
    return {
        "id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-4.1-2025-04-14",
        "status": "completed", "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
        "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}],
        "usage": {"input_tokens": 120, "output_tokens": 30, "total_tokens": 150,
                  "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens_details": {"reasoning_tokens": 0}},
    }  # fmt: skip


def _chat_body(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "llama3.1:8b",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 80, "completion_tokens": 20, "total_tokens": 100},
    }  # fmt: skip


def _messages_body(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
        "content": [{"type": "tool_use", "id": "toolu_01", "name": "diagnosis", "input": answer}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 200, "output_tokens": 40},
    }  # fmt: skip


def _gemini_body(text: str) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 90, "candidatesTokenCount": 25,
                          "totalTokenCount": 115},
        "modelVersion": "gemini-2.5-pro",
    }  # fmt: skip


def test_openai_uses_responses_api_with_json_schema(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/responses", method="POST").respond_with_json(
        _responses_body(json.dumps(ANSWER))
    )
    settings = Settings(
        provider="openai",
        env={"OPENAI_API_KEY": "sk-test-123", "OPENAI_BASE_URL": httpserver.url_for("/v1")},
    )
    completion = make_provider(settings).complete(REQUEST)
    assert json.loads(completion.text) == ANSWER
    assert (completion.input_tokens, completion.output_tokens) == (120, 30)
    sent, _ = httpserver.log[0]
    body = json.loads(sent.data)
    assert sent.headers["Authorization"] == "Bearer sk-test-123"
    assert body["instructions"] == "be exact" and body["input"] == "why did it fail?"
    assert body["text"]["format"] == {
        "type": "json_schema", "name": "diagnosis", "schema": SCHEMA, "strict": False
    }  # fmt: skip


def test_openai_compatible_server_gets_chat_completions(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        _chat_body(json.dumps(ANSWER))
    )
    settings = Settings(
        provider="openai-compatible", base_url=httpserver.url_for("/v1"), model="llama3.1:8b"
    )
    completion = make_provider(settings).complete(REQUEST)
    assert json.loads(completion.text) == ANSWER and completion.model == "llama3.1:8b"
    body = json.loads(httpserver.log[0][0].data)
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA


def test_anthropic_forces_a_tool_whose_schema_is_the_answer(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/messages", method="POST").respond_with_json(
        _messages_body(ANSWER)
    )
    settings = Settings(
        provider="anthropic",
        env={"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": httpserver.url_for("")},
    )
    completion = make_provider(settings).complete(REQUEST)
    assert json.loads(completion.text) == ANSWER and completion.input_tokens == 200
    sent, _ = httpserver.log[0]
    body = json.loads(sent.data)
    assert "sk-ant-test" in (
        sent.headers.get("x-api-key"),
        sent.headers.get("Authorization", "")[7:],
    )
    assert body["tools"][0]["input_schema"] == SCHEMA
    assert body["tool_choice"] == {"type": "tool", "name": "diagnosis"}
    assert body["system"] == "be exact"


def test_gemini_generate_content_with_json_schema(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        re.compile(r"/v1(beta)?/models/gemini-2.5-pro:generateContent"), method="POST"
    ).respond_with_json(_gemini_body(json.dumps(ANSWER)))
    settings = Settings(
        provider="gemini",
        env={"GEMINI_API_KEY": "AIza-test", "GEMINI_BASE_URL": httpserver.url_for("/")},
    )
    completion = make_provider(settings).complete(REQUEST)
    assert json.loads(completion.text) == ANSWER and completion.output_tokens == 25
    sent, _ = httpserver.log[0]
    body = json.loads(sent.data)
    assert sent.headers["x-goog-api-key"] == "AIza-test"
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert body["generationConfig"]["responseJsonSchema"] == SCHEMA
    assert body["systemInstruction"]["parts"][0]["text"] == "be exact"


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_rate_limit_is_retried_honouring_retry_after(httpserver: HTTPServer, vendor: str) -> None:
    path, ok, env = {
        "openai": ("/v1/responses", _responses_body(json.dumps(ANSWER)),
                   {"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": httpserver.url_for("/v1")}),
        "anthropic": ("/v1/messages", _messages_body(ANSWER),
                      {"ANTHROPIC_API_KEY": "sk-ant-x",
                       "ANTHROPIC_BASE_URL": httpserver.url_for("")}),
    }[vendor]  # fmt: skip
    calls: list[int] = []

    def handler(request: WsgiRequest) -> Response:
        calls.append(1)
        if len(calls) == 1:
            return Response(
                json.dumps({"error": {"type": "rate_limit_error", "message": "slow down"}}),
                status=429,
                headers={"retry-after-ms": "10", "Content-Type": "application/json"},
            )
        return Response(json.dumps(ok), status=200, content_type="application/json")

    httpserver.expect_request(path, method="POST").respond_with_handler(handler)
    completion = make_provider(Settings(provider=vendor, env=env)).complete(REQUEST)
    assert json.loads(completion.text) == ANSWER
    assert len(calls) == 2


def test_rejected_key_is_one_line_naming_the_provider_and_remedy(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/messages").respond_with_json(
        {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        },
        status=401,
    )
    settings = Settings(
        provider="anthropic",
        env={"ANTHROPIC_API_KEY": "bad", "ANTHROPIC_BASE_URL": httpserver.url_for("")},
    )
    with pytest.raises(ProviderError) as caught:
        make_provider(settings).complete(REQUEST)
    assert str(caught.value).startswith("anthropic rejected the API key (HTTP 401")
    assert str(caught.value).endswith("check ANTHROPIC_API_KEY")
    assert not caught.value.retryable


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(ProviderError, match="no API key for openai: set OPENAI_API_KEY"):
        make_provider(Settings(provider="openai"))


def test_provider_is_chosen_by_key_else_offline() -> None:
    assert detect_provider(Settings()) is None
    assert detect_provider(Settings(env={"GEMINI_API_KEY": "x"})) == "gemini"
    assert detect_provider(Settings(base_url="http://127.0.0.1:1/v1")) == "openai-compatible"
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        make_provider(Settings(provider="nope"))
