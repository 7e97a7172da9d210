"""A recorded call in each vendor's wire format: OpenAI Chat Completions, Anthropic, Gemini.

The replay is not a structured-output call: it resends the agent's own chat messages and tool
definitions, so each vendor gets its native shapes (assistant tool calls, tool results, a system
prompt). Tool calls recorded without ids get stable ones (``call_<n>``) and tool results without a
call id answer the earliest unanswered call, because every vendor pairs the two.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from ..traces.model import Message, ToolCall
from .call import RecordedCall

_REASONING = re.compile(r"^(?:o\d|gpt-5)", re.I)
DEFAULT_MAX_TOKENS = 1024
"""Anthropic requires max_tokens; used when the trace recorded none."""


def paired(messages: tuple[Message, ...]) -> list[Message]:
    """Messages whose tool calls all have ids and whose tool results name the call they answer."""
    pending: list[str] = []
    out: list[Message] = []
    for number, message in enumerate(messages):
        if message.tool_calls:
            calls = tuple(
                c if c.id else c.model_copy(update={"id": f"call_{number}_{i}"})
                for i, c in enumerate(message.tool_calls)
            )
            pending.extend(c.id or "" for c in calls)
            message = message.model_copy(update={"tool_calls": calls})
        elif message.role == "tool":
            call_id = message.tool_call_id or (pending[0] if pending else f"call_{number}")
            pending = [p for p in pending if p != call_id]
            message = message.model_copy(update={"tool_call_id": call_id})
        out.append(message)
    return out


def arguments(call: ToolCall) -> dict[str, Any]:
    """A tool call's arguments as an object (a non-object is wrapped as ``{"value": ...}``)."""
    try:
        value = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:
        return {"value": call.arguments}
    return value if isinstance(value, dict) else {"value": value}


def openai_chat(call: RecordedCall, model: str) -> dict[str, Any]:
    """The Chat Completions body (OpenAI, Azure, OpenAI-compatible servers)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [_openai_message(m) for m in paired(call.messages)],
    }
    if call.tools:
        body["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description,
                                              "parameters": t.parameters}}
            for t in call.tools
        ]  # fmt: skip
    if call.temperature is not None:
        body["temperature"] = call.temperature
    if call.max_tokens is not None:
        # OpenAI's reasoning models refuse max_tokens in Chat Completions.
        key = "max_completion_tokens" if _REASONING.match(model) else "max_tokens"
        body[key] = call.max_tokens
    return body


def _openai_message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.role == "assistant":
        out: dict[str, Any] = {"role": "assistant", "content": message.content or None}
        if message.tool_calls:
            out["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments or "{}"}}
                for c in message.tool_calls
            ]  # fmt: skip
        return out
    role = message.role if message.role in ("system", "developer", "user") else "user"
    return {"role": role, "content": message.content}


def anthropic_messages(call: RecordedCall, model: str) -> dict[str, Any]:
    """The Messages API parameters: system prompt apart, tool results as user content blocks."""
    turns: list[dict[str, Any]] = []
    system: list[str] = []
    for message in paired(call.messages):
        if message.role in ("system", "developer"):
            system.append(message.content)
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = list(_anthropic_blocks(message))
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    params: dict[str, Any] = {
        "model": model, "messages": turns, "max_tokens": call.max_tokens or DEFAULT_MAX_TOKENS,
    }  # fmt: skip
    if system:
        params["system"] = "\n\n".join(system)
    if call.tools:
        params["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in call.tools
        ]
    if call.temperature is not None:
        # anthropic>=1.0 dropped sampling keywords from create(); the API takes them in the body.
        params["extra_body"] = {"temperature": call.temperature}
    return params


def _anthropic_blocks(message: Message) -> Iterator[dict[str, Any]]:
    if message.role == "tool":
        yield {"type": "tool_result", "tool_use_id": message.tool_call_id,
               "content": message.content}  # fmt: skip
        return
    if message.content:
        yield {"type": "text", "text": message.content}
    for c in message.tool_calls:
        yield {"type": "tool_use", "id": c.id, "name": c.name, "input": arguments(c)}


def gemini_contents(call: RecordedCall) -> tuple[str | None, list[dict[str, Any]]]:
    """The system instruction and the ``contents`` list (roles ``user`` and ``model``)."""
    names: dict[str, str] = {}
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    for message in paired(call.messages):
        if message.role in ("system", "developer"):
            system.append(message.content)
            continue
        parts: list[dict[str, Any]] = [{"text": message.content}] if message.content else []
        for c in message.tool_calls:
            names[c.id or ""] = c.name
            parts.append({"function_call": {"name": c.name, "args": arguments(c)}})
        if message.role == "tool":
            name = names.get(message.tool_call_id or "", message.name or "tool")
            parts = [{"function_response": {"name": name, "response": {"result": message.content}}}]
        role = "model" if message.role == "assistant" else "user"
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return ("\n\n".join(system) or None), contents


def gemini_tools(call: RecordedCall) -> list[dict[str, Any]]:
    """The function declarations of the call's tools (one Gemini ``Tool``)."""
    if not call.tools:
        return []
    declarations = [
        {"name": t.name, "description": t.description, "parameters_json_schema": t.parameters}
        for t in call.tools
    ]
    return [{"function_declarations": declarations}]
