"""Loopback stand-ins for the LLM providers that check each request against the providers' rules.

Each rule is one the providers document and enforce with an HTTP 400 (the message is theirs):
- OpenAI reasoning models (o-series, gpt-5 and later, except the ``-chat`` variants) refuse
  ``temperature``, and on Chat Completions refuse ``max_tokens`` (``max_completion_tokens``
  replaces it); a non-reasoning model refuses a reasoning effort. Strict structured output needs
  every object to list all its properties as required, ``additionalProperties: false``, and no
  ``default``.
- Anthropic: strict tools (Claude 4.5 on) need a strict schema without maxItems and with minItems
  at most 1; thinking is incompatible with a forced tool (``tool_choice`` ``tool``/``any``) and with
  ``temperature``; ``budget_tokens`` is at least 1024 and below ``max_tokens``; Opus 4.7 and later
  think only adaptively (``enabled`` and a forced tool are refused); adaptive thinking exists from
  the 4.6 models on.
- Azure OpenAI serves reasoning models only from api-version 2024-12-01-preview on.
- Gemini: "if $ref is set, no other properties except those starting with $"; ``thinkingLevel`` is
  for Gemini 3, ``thinkingBudget`` for 2.5; thinking models report ``thoughtsTokenCount`` apart
  from ``candidatesTokenCount``.
Answers report thinking tokens the way each provider does, so tests can check they are counted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from werkzeug import Request as WsgiRequest
from werkzeug import Response

OPENAI_REASONING = re.compile(r"^(o\d|gpt-5(?!-chat)|gpt-6)")
CLAUDE_ADAPTIVE_ONLY = re.compile(r"^claude-(opus-4-[78]|(opus|sonnet|haiku)-5|mythos|fable)")
CLAUDE_ADAPTIVE = re.compile(
    r"^claude-(opus-4-[678]|sonnet-4-6|(opus|sonnet|haiku)-5|mythos|fable)"
)
CLAUDE_STRICT = re.compile(
    r"^claude-((opus|sonnet|haiku)-4-[5-9]|(opus|sonnet|haiku)-5|mythos|fable)"
)
GEMINI_THINKS = re.compile(r"^gemini-(2\.5|3)")
THINKING_TOKENS = 700
"""Thinking tokens every thinking model reports in these stand-ins."""


def _walk(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{path}[{index}]")


def strict_schema_problems(schema: dict[str, Any]) -> list[str]:
    """OpenAI's strict-mode rules for a JSON schema."""
    problems = []
    for path, node in _walk(schema):
        if path.endswith(".properties"):
            continue
        if node.get("type") == "object" and "properties" in node:
            if node.get("additionalProperties") is not False:
                problems.append(f"{path}: 'additionalProperties' is required to be false")
            missing = sorted(set(node["properties"]) - set(node.get("required", [])))
            if missing:
                problems.append(f"{path}: 'required' is required to include every key: {missing}")
        if "default" in node and not path.endswith(".properties"):
            problems.append(f"{path}: 'default' is not permitted")
    return problems


def gemini_schema_problems(schema: dict[str, Any]) -> list[str]:
    """Gemini's rule for ``$ref``: no sibling but ``$``-keys."""
    return [
        f"{path}: if $ref is set, no other properties except those starting with $ ({extra})"
        for path, node in _walk(schema)
        if "$ref" in node and (extra := sorted(k for k in node if not k.startswith("$")))
    ]


def openai_problems(body: dict[str, Any], api: str) -> list[str]:
    """What OpenAI answers 400 to, for a Responses or Chat Completions body."""
    model, problems = body["model"], []
    reasoning = bool(OPENAI_REASONING.match(model))
    if reasoning and "temperature" in body:
        problems.append("Unsupported parameter: 'temperature' is not supported with this model.")
    if reasoning and api == "chat" and "max_tokens" in body:
        problems.append(
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead."
        )
    if not reasoning and ("reasoning" in body or "reasoning_effort" in body):
        problems.append(
            "Unsupported parameter: 'reasoning.effort' is not supported with this model."
        )
    fmt = (
        body.get("text", {}).get("format", {})
        if api == "responses"
        else body.get("response_format", {}).get("json_schema", {})
    )
    if fmt.get("strict"):
        problems += [f"Invalid schema for response_format: {p}" for p in
                     strict_schema_problems(fmt["schema"])]  # fmt: skip
    return problems


def anthropic_problems(body: dict[str, Any]) -> list[str]:
    """What Anthropic answers 400 to, for a Messages body."""
    model = body["model"]
    thinking = body.get("thinking")
    forced = body.get("tool_choice", {}).get("type") in ("tool", "any")
    problems = _adaptive_only_problems(body, forced) if CLAUDE_ADAPTIVE_ONLY.match(model) else []
    if thinking and forced:
        problems.append("Thinking may not be enabled when tool_choice forces tool use.")
    if thinking and "temperature" in body:
        problems.append("temperature may only be set to 1 when thinking is enabled.")
    if thinking and thinking.get("type") == "adaptive" and not CLAUDE_ADAPTIVE.match(model):
        problems.append(f"adaptive thinking is not supported by {model}.")
    if thinking and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens", 0)
        if budget < 1024 or budget >= body["max_tokens"]:
            problems.append("thinking.budget_tokens must be ≥ 1024 and less than max_tokens.")
    for tool in body.get("tools", []):
        if tool.get("strict"):
            problems += _claude_strict_problems(model, tool["input_schema"])
    return problems


def _adaptive_only_problems(body: dict[str, Any], forced: bool) -> list[str]:
    """Opus 4.7 and later always think, adaptively, and take no temperature."""
    model, thinking, problems = body["model"], body.get("thinking"), []
    if forced:
        problems.append("Thinking may not be enabled when tool_choice forces tool use.")
    if thinking and thinking.get("type") != "adaptive":
        problems.append(f"thinking.type: {thinking.get('type')} is not supported by {model}.")
    if "temperature" in body:
        problems.append(f"temperature is deprecated for {model}.")
    return problems


def _claude_strict_problems(model: str, schema: dict[str, Any]) -> list[str]:
    """Claude's strict tool use: 4.5 models on, OpenAI-like strict rules, no array bounds > 1."""
    if not CLAUDE_STRICT.match(model):
        return [f"strict tool use is not supported by {model}."]
    problems = strict_schema_problems(schema)
    for path, node in _walk(schema):
        if "maxItems" in node or node.get("minItems", 0) > 1:
            problems.append(f"{path}: maxItems, and minItems above 1, are not supported.")
    return problems


def gemini_problems(model: str, body: dict[str, Any]) -> list[str]:
    """What Gemini answers 400 to, for a generateContent body."""
    config = body.get("generationConfig", {})
    problems = gemini_schema_problems(config.get("responseJsonSchema", {}))
    thinking = config.get("thinkingConfig", {})
    if "thinkingLevel" in thinking and not model.startswith("gemini-3"):
        problems.append(f"thinking_level is not supported by {model}.")
    if "thinkingBudget" in thinking and not model.startswith("gemini-2.5"):
        problems.append(f"thinking_budget is not supported by {model}.")
    return problems


def responses_answer(model: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
    """A Responses API answer; reasoning models report reasoning tokens within output tokens."""
    thinking = THINKING_TOKENS if OPENAI_REASONING.match(model) else 0
    return {
        "id": "resp_1", "object": "response", "created_at": 1, "model": f"{model}-2026-04-23",
        "status": "completed", "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
        "max_output_tokens": body.get("max_output_tokens"),
        "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}],
        "usage": {"input_tokens": 1200, "output_tokens": 300 + thinking,
                  "total_tokens": 1500 + thinking, "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens_details": {"reasoning_tokens": thinking}},
    }  # fmt: skip


def chat_answer(model: str, text: str) -> dict[str, Any]:
    """A Chat Completions answer; reasoning models report reasoning tokens within completion."""
    thinking = THINKING_TOKENS if OPENAI_REASONING.match(model) else 0
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 800, "completion_tokens": 200 + thinking,
                  "total_tokens": 1000 + thinking,
                  "completion_tokens_details": {"reasoning_tokens": thinking}},
    }  # fmt: skip


def message_answer(body: dict[str, Any], answer: Any) -> dict[str, Any]:
    """A Messages answer: a thinking block when thinking was on, then the tool call."""
    thinking = THINKING_TOKENS if body.get("thinking") else 0
    tool = body["tools"][0]["name"]
    blocks: list[dict[str, Any]] = (
        [{"type": "thinking", "thinking": "Reading the trace...", "signature": "sig"}]
        if thinking else []
    )  # fmt: skip
    blocks.append({"type": "tool_use", "id": "toolu_01", "name": tool, "input": answer})
    return {
        "id": "msg_01", "type": "message", "role": "assistant", "model": body["model"],
        "content": blocks, "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 2000, "output_tokens": 400 + thinking,
                  "output_tokens_details": {"thinking_tokens": thinking}},
    }  # fmt: skip


def gemini_answer(model: str, text: str) -> dict[str, Any]:
    """A generateContent answer; thinking models report thoughts apart from the answer."""
    thoughts = THINKING_TOKENS if GEMINI_THINKS.match(model) else 0
    usage: dict[str, Any] = {"promptTokenCount": 900, "candidatesTokenCount": 250,
                             "totalTokenCount": 1150 + thoughts}  # fmt: skip
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                        "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage, "modelVersion": model,
    }  # fmt: skip


def _error(status: int, message: str, vendor: str) -> Response:
    invalid = {"type": "invalid_request_error", "message": message}
    body: dict[str, Any] = {
        "anthropic": {"type": "error", "error": invalid},
        "gemini": {"error": {"code": status, "message": message, "status": "INVALID_ARGUMENT"}},
    }.get(vendor, {"error": {"message": message, "type": "invalid_request_error", "param": None,
                             "code": None}})  # fmt: skip
    return Response(json.dumps(body), status=status, content_type="application/json")


Answer = Callable[[dict[str, Any]], Any]
"""The answer (a JSON value) for a request body."""


def handler(vendor: str, answer: Answer, seen: list[dict[str, Any]]) -> Callable[..., Response]:
    """A loopback handler for ``vendor``'s direct endpoint: 400 on any rule broken, else answer."""

    def respond(request: WsgiRequest) -> Response:
        body = json.loads(request.get_data(as_text=True))
        seen.append(body)
        model = body.get("model") or request.path.split("/models/")[-1].split(":")[0]
        problems = {
            "openai": lambda: openai_problems(body, "responses"),
            "chat": lambda: openai_problems(body, "chat"),
            "anthropic": lambda: anthropic_problems(body),
            "gemini": lambda: gemini_problems(model, body),
        }[vendor]()
        version = request.args.get("api-version")  # Azure
        if version and version < "2024-12-01-preview" and OPENAI_REASONING.match(model):
            problems.insert(0, f"Model {model} is enabled only for api versions "
                               "2024-12-01-preview and later")  # fmt: skip
        if problems:
            return _error(400, problems[0], vendor)
        text = json.dumps(answer(body))
        reply = {
            "openai": lambda: responses_answer(model, text, body),
            "chat": lambda: chat_answer(model, text),
            "anthropic": lambda: message_answer(body, json.loads(text)),
            "gemini": lambda: gemini_answer(model, text),
        }[vendor]()
        return Response(json.dumps(reply), content_type="application/json")

    return respond


PATHS: dict[str, str | re.Pattern[str]] = {
    "openai": "/v1/responses",
    "chat": "/v1/chat/completions",
    "anthropic": "/v1/messages",
    "gemini": re.compile(r"/v1(beta)?/models/[\w.-]+:generateContent"),
}
