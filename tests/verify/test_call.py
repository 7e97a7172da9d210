"""Which recorded call is replayed, and what of it is kept: messages, tools, parameters."""

from __future__ import annotations

import pytest

from refinery.errors import InputError
from refinery.models.diagnosis import Divergence
from refinery.traces.model import Message, Run, RunKind, ToolCall, Trace, build_trace
from refinery.verify.call import recorded_call
from refinery.verify.wire import anthropic_messages, openai_chat

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]  # fmt: skip


def _llm(run_id: str, order: str, **extra: object) -> Run:
    return Run(
        id=run_id, trace_id="t", parent_id="root", order=order, name="ChatOpenAI",
        kind=RunKind.LLM, model="gpt-4o-mini", provider="openai",
        input_messages=(Message(role="system", content="Be brief."),
                        Message(role="user", content="Weather in Paris?")),
        output_messages=(Message(role="assistant", tool_calls=(
            ToolCall(name="get_weather", arguments='{"city": "Paris"}'),)),),
        **extra,
    )  # fmt: skip


def _trace() -> Trace:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN, order="0")
    first = _llm("llm-1", "1", invocation_params={"tools": TOOLS, "temperature": 0.3,
                                                  "max_tokens": 300})  # fmt: skip
    second = _llm("llm-2", "2", available_tools=("get_weather",))
    return build_trace([root, first, second], trace_id="t", source="file", format="test")


def test_divergence_step_is_replayed_with_its_tools_and_parameters() -> None:
    divergence = Divergence(run_id="llm-1", name="ChatOpenAI", position=1, reason="called early")
    call = recorded_call(_trace(), divergence)
    assert call.run_id == "llm-1" and call.why == "the step where it went wrong: called early"
    assert (call.temperature, call.max_tokens, call.model) == (0.3, 300, "gpt-4o-mini")
    assert call.tools_recorded and call.tools[0].parameters["properties"] == {
        "city": {"type": "string"}
    }
    assert call.answer == '[tool call] get_weather({"city": "Paris"})'
    body = openai_chat(call, "gpt-4o-mini")
    assert body["tools"] == TOOLS and body["temperature"] == 0.3 and body["max_tokens"] == 300


def test_without_divergence_the_last_llm_call_is_replayed_and_bare_tool_names_are_said() -> None:
    call = recorded_call(_trace(), None)
    assert call.run_id == "llm-2" and call.why == "the last LLM call before the final answer"
    assert not call.tools_recorded and [t.name for t in call.tools] == ["get_weather"]


def test_tool_results_are_paired_with_the_calls_they_answer() -> None:
    call = recorded_call(_trace(), None)
    call = call.with_changes(messages=(
        *call.messages,
        Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments="{}"),)),
        Message(role="tool", content="ERROR: down"),
    ))  # fmt: skip
    params = anthropic_messages(call, "claude-haiku-4-5")
    use, result = params["messages"][1]["content"][0], params["messages"][2]["content"][0]
    assert params["system"] == "Be brief."
    assert use["type"] == "tool_use" and result == {
        "type": "tool_result",
        "tool_use_id": use["id"],
        "content": "ERROR: down",
    }


def test_a_trace_without_llm_messages_cannot_be_replayed() -> None:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN)
    trace = build_trace([root], trace_id="t", source="file", format="test")
    with pytest.raises(InputError, match="records no LLM call with its messages"):
        recorded_call(trace, None)


def test_reasoning_models_get_max_completion_tokens() -> None:
    call = recorded_call(_trace(), Divergence(run_id="llm-1", name="c", position=1, reason="r"))
    assert openai_chat(call, "o4-mini")["max_completion_tokens"] == 300
    assert "max_tokens" not in openai_chat(call, "gpt-5-mini")
