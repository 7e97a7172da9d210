"""Anthropic Messages over the official ``anthropic`` SDK.

Structured output uses the mechanism every Claude model supports: one tool whose ``input_schema``
is the answer's JSON schema; the tool call's input is the answer. Claude 4.5 and later mark the
tool ``strict``, so the input is guaranteed to match the schema (within Claude's subset: array
bounds are left to validation). Without thinking the tool is
forced with ``tool_choice``. Thinking (``--reasoning``, or a model that always thinks, such as Opus
4.7) cannot be combined with a forced tool or a temperature, so then the tool is offered with
``tool_choice: auto`` and the instructions say to answer through it; models with adaptive thinking
get ``thinking: adaptive`` and ``output_config.effort``, older ones a ``budget_tokens``.
"""

from __future__ import annotations

import json
from typing import Any

from .catalog import CallPlan, call_plan
from .failures import check_answer, sdk_errors
from .provider import Completion, Request
from .schema import bounded_arrays_dropped


class AnthropicProvider:
    """Structured calls through an injected ``anthropic.Anthropic`` client."""

    name = "anthropic"

    def __init__(self, client: Any, *, model: str) -> None:
        self.client = client
        self.model = model

    def complete(self, request: Request) -> Completion:
        """One tool call; SDK errors become ProviderErrors."""
        import anthropic

        with sdk_errors(anthropic, self.name, "ANTHROPIC_API_KEY"):
            message = self.client.messages.create(**message_params(self.model, request))
        return message_completion(message, self.model)


def message_params(model: str, request: Request) -> dict[str, Any]:
    """The Messages request, as sent directly or inside a message batch."""
    plan = call_plan(
        model, reasoning=request.reasoning, answer_tokens=request.max_output_tokens,
        temperature=request.temperature,
    )  # fmt: skip
    tool: dict[str, Any] = {"name": request.schema_name, "input_schema": request.schema,
                            "description": f"Submit the {request.schema_name}."}  # fmt: skip
    if plan.facts.strict_tool:
        tool.update(strict=True, input_schema=bounded_arrays_dropped(request.schema))
    params: dict[str, Any] = {
        "model": model,
        "system": request.system,
        "max_tokens": plan.max_output_tokens,
        "messages": [{"role": "user", "content": request.prompt}],
        "tools": [tool],
        "tool_choice": {"type": "tool", "name": request.schema_name},
    }
    if plan.temperature is not None:
        params["temperature"] = plan.temperature
    if plan.thinking:
        params.update(_thinking(plan, request.schema_name, request.system))
    return params


def _thinking(plan: CallPlan, tool: str, system: str) -> dict[str, Any]:
    """Thinking, the tool offered rather than forced, and the instruction to answer through it."""
    extra: dict[str, Any] = {
        "tool_choice": {"type": "auto"},
        "system": f"{system}\n\nGive your answer only by calling the {tool} tool, once.",
    }
    if plan.facts.reasoning == "adaptive":
        extra["thinking"] = {"type": "adaptive"}
        if plan.effort:
            extra["output_config"] = {"effort": plan.effort}
    else:
        extra["thinking"] = {"type": "enabled", "budget_tokens": plan.thinking_budget}
    return extra


def message_completion(message: Any, model: str) -> Completion:
    """An SDK ``Message`` as a Completion: the tool's input is the answer."""
    usage = message.usage
    details = getattr(usage, "output_tokens_details", None)
    thinking = (getattr(details, "thinking_tokens", 0) or 0) if details else 0
    text = _answer(message.content)
    check_answer(
        text, message.stop_reason == "max_tokens", provider="anthropic", model=model,
        limit=usage.output_tokens, thinking=thinking,
    )  # fmt: skip
    return Completion(
        text=text,
        model=message.model or model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        thinking_tokens=thinking,
    )


def _answer(blocks: list[Any]) -> str:
    for block in blocks:
        if getattr(block, "type", None) == "tool_use":
            return json.dumps(block.input)
    return "".join(getattr(block, "text", "") for block in blocks)
