"""A deterministic stand-in for the weather agent's model and for the judge, on a loopback server.

It speaks four wires (OpenAI Chat Completions, OpenAI Responses for the judge, Anthropic Messages,
Gemini generateContent) and answers from the prompt it receives:

- as the agent: after a failed tool call it admits the failure only when its system prompt has an
  explicit tool-failure policy ("if a tool fails ... unavailable"); a bare "say so" or a general
  "say it is unavailable" is not enough, and it invents "It is sunny in Paris." A question naming
  a city gets a get_weather tool call, unless the system prompt says
  never to call tools; a question without a city gets "Which city do you mean?" only when the
  prompt says to ask.
- as the judge: it reads the expected behaviour and the answer from Refinery's judge prompt and
  decides with a few literal rules.

Every request is kept in ``log`` so tests assert on what was sent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

FAILURE_POLICY = re.compile(r"if a tool (?:call )?fails\b[^.]*\bunavailable", re.I)
CITY = re.compile(r"\b(Paris|Lisbon|Oslo|Berlin)\b")


def agent_answer(system: str, turns: list[tuple[str, str]]) -> tuple[str, dict[str, Any] | None]:
    """Text, or a tool call ``{"name", "args"}``, from the system prompt and (role, text) turns."""
    role, last = turns[-1] if turns else ("user", "")
    if role == "tool":
        if FAILURE_POLICY.search(system) and "ERROR" in last:
            return "Sorry, the weather service is unavailable right now.", None
        return "It is sunny in Paris.", None
    city = CITY.search(last)
    if city and not re.search(r"never call tools", system, re.I):
        return "", {"name": "get_weather", "args": {"city": city.group(1)}}
    if not city and re.search(r"ask which city", system, re.I):
        return "Which city do you mean?", None
    return "I can only help with the weather.", None


def judge_answer(material: str) -> dict[str, Any]:
    """The verdict for Refinery's judge prompt."""
    expected = _section(material, "Expected behaviour")
    answer = _section(material, "The agent's answer")
    if "unavailable" in expected:
        passed = "unavailable" in answer
    elif expected.startswith(("Calls get_weather", "Gives the weather")):
        city = CITY.search(expected)
        passed = "[tool call] get_weather" in answer and bool(city and city.group(1) in answer)
    elif expected.startswith("Asks which city"):
        passed = "which city" in answer.lower()
    else:
        passed = False
    return {"passed": passed, "reason": "rule of the loopback judge", "quote": answer[:40]}


def _section(material: str, title: str) -> str:
    match = re.search(rf"## {re.escape(title)}\n(.*?)(?:\n\n## |\Z)", material, re.S)
    return match.group(1).strip() if match else ""


@dataclass
class LoopbackModel:
    """Records requests; turns them into the agent's or the judge's answer per wire."""

    log: list[dict[str, Any]] = field(default_factory=list)

    def agent_requests(self) -> list[dict[str, Any]]:
        """Requests that were replays (not judge calls)."""
        return [r for r in self.log if not _is_judge(r)]

    def openai(self, request: Request) -> Response:
        body = json.loads(request.data)
        self.log.append(body)
        if "response_format" in body:
            text = json.dumps(judge_answer(body["messages"][-1]["content"]))
            return _json(_chat(text, None, body["model"]))
        system = "\n".join(m["content"] for m in body["messages"] if m["role"] == "system")
        turns = [
            (m["role"], m.get("content") or "") for m in body["messages"] if m["role"] != "system"
        ]
        text, call = agent_answer(system, turns)
        return _json(_chat(text, call, body["model"]))

    def responses(self, request: Request) -> Response:
        body = json.loads(request.data)
        self.log.append(body)
        text = json.dumps(judge_answer(body["input"]))
        return _json({
            "id": "resp_1", "object": "response", "created_at": 1, "model": body["model"],
            "status": "completed", "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "output": [{"type": "message", "id": "m1", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "usage": {"input_tokens": 300, "output_tokens": 40, "total_tokens": 340,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}},
        })  # fmt: skip

    def anthropic(self, request: Request) -> Response:
        body = json.loads(request.data)
        self.log.append(body)
        if body.get("tool_choice", {}).get("type") == "tool":
            verdict = judge_answer(body["messages"][-1]["content"])
            content = [{"type": "tool_use", "id": "toolu_j", "name": "verdict", "input": verdict}]
            return _json(_message(content, body["model"]))
        turns = [_anthropic_turn(m) for m in body["messages"]]
        text, call = agent_answer(body.get("system", ""), turns)
        content = (
            [{"type": "tool_use", "id": "toolu_1", "name": call["name"], "input": call["args"]}]
            if call
            else [{"type": "text", "text": text}]
        )
        return _json(_message(content, body["model"]))

    def gemini(self, request: Request) -> Response:
        body = json.loads(request.data)
        self.log.append(body)
        config = body.get("generationConfig", {})
        system = " ".join(
            p.get("text", "") for p in body.get("systemInstruction", {}).get("parts", [])
        )
        if config.get("responseMimeType") == "application/json":
            text = json.dumps(judge_answer(body["contents"][-1]["parts"][0]["text"]))
            return _json(_gemini([{"text": text}]))
        turns = [_gemini_turn(c) for c in body["contents"]]
        text, call = agent_answer(system, turns)
        parts = (
            [{"functionCall": {"name": call["name"], "args": call["args"]}}]
            if call
            else [{"text": text}]
        )
        return _json(_gemini(parts))

    def serve(self, server: HTTPServer) -> None:
        """Route every wire on ``server`` to this model."""
        server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(
            self.openai
        )
        server.expect_request("/v1/responses", method="POST").respond_with_handler(self.responses)
        server.expect_request("/v1/messages", method="POST").respond_with_handler(self.anthropic)
        server.expect_request(
            re.compile(r"/v1(beta)?/models/[^/]+:generateContent"), method="POST"
        ).respond_with_handler(self.gemini)


def _is_judge(body: dict[str, Any]) -> bool:
    return (
        "response_format" in body
        or "input" in body
        or body.get("tool_choice", {}).get("type") == "tool"
        or body.get("generationConfig", {}).get("responseMimeType") == "application/json"
    )


def _anthropic_turn(message: dict[str, Any]) -> tuple[str, str]:
    content = message["content"]
    if isinstance(content, str):
        return message["role"], content
    if any(b.get("type") == "tool_result" for b in content):
        return "tool", " ".join(str(b.get("content", "")) for b in content)
    return message["role"], " ".join(b.get("text", "") for b in content)


def _gemini_turn(content: dict[str, Any]) -> tuple[str, str]:
    parts = content.get("parts", [])
    responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
    if responses:
        return "tool", json.dumps(responses[0].get("response", {}))
    return content.get("role", "user"), " ".join(p.get("text", "") for p in parts)


def _json(data: dict[str, Any]) -> Response:
    return Response(json.dumps(data), content_type="application/json")


def _chat(text: str, call: dict[str, Any] | None, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if call:
        message["tool_calls"] = [{"id": "call_9", "type": "function", "function": {
            "name": call["name"], "arguments": json.dumps(call["args"])}}]  # fmt: skip
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "finish_reason": "tool_calls" if call else "stop",
                     "message": message}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132},
    }  # fmt: skip


def _message(content: list[dict[str, Any]], model: str) -> dict[str, Any]:
    return {
        "id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 120, "output_tokens": 12},
    }  # fmt: skip


def _gemini(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP",
                        "index": 0}],
        "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 12,
                          "totalTokenCount": 132},
        "modelVersion": "gemini-2.5-flash",
    }  # fmt: skip
