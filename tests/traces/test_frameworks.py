"""Agent-framework logs, one conformance test per shape (samples in tests/data/frameworks, see
its README for where each comes from): tau2-bench, pydantic-ai, smolagents, SWE-agent, the
OpenAI Agents SDK, and Who&When / AgentRx multi-agent histories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from refinery.errors import InputError
from refinery.traces import RunKind, Trace, load_trace, load_trace_file
from sample_paths import BENCHMARKS, DATA, FIXTURES

SHAPES = DATA / "frameworks"
TAU2 = SHAPES / "tau2_airline_results.json"


def _tools(trace: Trace) -> list[tuple[str | None, str | None, bool]]:
    return [(r.tool_name, r.tool_args, r.failed) for r in trace.of_kind(RunKind.TOOL)]


def _counts(trace: Trace) -> tuple[int, int, int]:
    counts = trace.ref().counts
    return counts.tool_calls, counts.tool_results, counts.errors


def test_tau2_results_hold_one_trajectory_per_simulation() -> None:
    with pytest.raises(InputError) as caught:
        load_trace(str(TAU2))
    assert "holds 2 traces (#0 task_id=cancel_basic_economy, #1 task_id=baggage_allowance)" in str(
        caught.value
    )
    raw = json.loads(TAU2.read_text())["simulations"][0]
    trace = load_trace(f"{TAU2}#0")
    assert trace.id == raw["id"]
    assert trace.metadata["reward"] == 0.0 and trace.metadata["task_id"] == "cancel_basic_economy"
    assert len(trace) == len(raw["messages"]) + 1
    assert _tools(trace) == [
        ("get_reservation_details", '{"reservation_id": "EHGLP"}', True),
        ("get_reservation_details", '{"reservation_id": "EHGLP3"}', False),
        ("cancel_reservation", '{"reservation_id": "EHGLP3"}', False),
    ]
    failed = trace.get("msg-3")
    assert failed is not None and failed.error == "Error: Reservation EHGLP not found"
    assert _counts(trace) == (3, 3, 1)


def test_tau_bench_error_observations_fail_their_tool_runs(tmp_path: Path) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "cancel_pending_order"}}
    traj = [
        {"role": "user", "content": "cancel order #W1"},
        {"role": "assistant", "content": None, "tool_calls": [{**call, "arguments": "{}"}]},
        {
            "role": "tool",
            "tool_call_id": "c1",
            "name": "cancel_pending_order",
            "content": "Error: non-pending order cannot be cancelled",
        },
    ]
    path = tmp_path / "tau.json"
    path.write_text(json.dumps([{"task_id": 3, "reward": 0.0, "traj": traj, "trial": 0}]))
    [tool] = load_trace(f"{path}#0").of_kind(RunKind.TOOL)
    assert tool.error == "Error: non-pending order cannot be cancelled"


def test_pydantic_ai_history_parts_and_retried_tool_returns() -> None:
    trace = load_trace_file(SHAPES / "pydantic_ai_refund_history.json")
    assert trace.format == "pydantic-ai"
    system, user = trace.get("msg-0"), trace.get("msg-0.1")
    assert system is not None and system.output_messages[0].role == "system"
    assert user is not None and "charged twice" in user.output_messages[0].content
    assert _tools(trace) == [
        ("get_order", '{"order_id": "W123"}', True),
        ("get_order", '{"order_id": "#W123"}', False),
        ("refund", '{"order_id": "#W123", "amount": 40}', False),
    ]
    retried = trace.get("msg-2")
    assert retried is not None and retried.error == "order ids start with '#'"
    first_call = trace.get("msg-1")
    assert first_call is not None and first_call.model == "function:refund-demo"
    assert first_call.usage is not None and first_call.usage.prompt_tokens == 74
    assert trace.root.outputs == {"content": "Your refund of $40 for order #W123 is on its way."}
    assert _counts(trace) == (3, 3, 1)


def test_pydantic_ai_unknown_part_kind_is_refused(tmp_path: Path) -> None:
    doc = [{"kind": "request", "parts": [{"part_kind": "telepathy", "content": "?"}]}]
    path = tmp_path / "history.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="message 0 holds a part of kind 'telepathy'"):
        load_trace_file(path)


def test_smolagents_steps_errors_and_calls_from_the_model_output() -> None:
    raw = json.loads((SHAPES / "smolagents_weather_steps.json").read_text())
    trace = load_trace_file(SHAPES / "smolagents_weather_steps.json")
    assert trace.format == "smolagents"
    task = trace.get("msg-0")
    assert task is not None and task.output_messages[0].content == raw[0]["task"]
    assert _tools(trace) == [
        ("get_weather", '{"city": "Paris"}', True),
        ("get_weather", '{"city": "Paris"}', True),
        ("final_answer", '{"answer": "It is sunny in Paris."}', False),
    ]
    failed = trace.get("msg-1.1")
    assert failed is not None and failed.error == raw[1]["error"]["message"]
    answer = trace.get("msg-3.1")
    assert answer is not None and answer.tool_result == "It is sunny in Paris."
    assert _counts(trace) == (3, 3, 2)


def test_smolagents_step_error_without_a_call_fails_the_model_step(tmp_path: Path) -> None:
    steps: list[dict[str, Any]] = [
        {"task": "Sum 2 and 2", "task_images": None},
        {
            "step_number": 1,
            "model_output": "I will answer directly",
            "tool_calls": None,
            "observations": None,
            "error": {"type": "AgentParsingError", "message": "no tool call found"},
        },
    ]
    path = tmp_path / "steps.json"
    path.write_text(json.dumps(steps))
    trace = load_trace_file(path)
    step = trace.get("msg-1")
    assert step is not None and step.kind is RunKind.LLM and step.error == "no tool call found"
    assert _counts(trace) == (0, 0, 1)


def test_swe_agent_traj_actions_observations_and_failed_edit() -> None:
    raw = json.loads((SHAPES / "swe_agent_marshmallow-1867.traj").read_text())
    trace = load_trace_file(SHAPES / "swe_agent_marshmallow-1867.traj")
    assert trace.format == "swe-agent"
    assert trace.metadata["exit_status"] == "submitted"
    prompt = trace.get("prompt")
    assert prompt is not None and prompt.output_messages[0].role == "system"
    steps = raw["trajectory"]
    names = [name for name, _, _ in _tools(trace)]
    assert names == [step["action"].split()[0] for step in steps]
    thought = trace.get("msg-4")
    assert thought is not None and thought.output_messages[0].content == steps[4]["thought"]
    edit = trace.get("msg-4.1")
    assert edit is not None and edit.failed and edit.tool_args == steps[4]["action"]
    assert edit.error is not None and edit.error.startswith("Your proposed edit has introduced")
    assert _counts(trace) == (len(steps), len(steps), 1)


def test_openai_agents_sdk_spans_agent_generation_and_failed_function() -> None:
    trace = load_trace_file(SHAPES / "openai_agents_booking_trace.json")
    assert trace.format == "openai-agents"
    assert trace.root.name == "Agent workflow" and trace.root.kind is RunKind.CHAIN
    [agent] = trace.of_kind(RunKind.AGENT)
    assert agent.name == "Booking agent" and agent.available_tools == ("lookup_flight",)
    [tool] = trace.of_kind(RunKind.TOOL)
    assert tool.tool_args == '{"confirmation":"ZX42Q"}'
    assert tool.error is not None and tool.error.startswith("Error running tool (non-fatal)")
    assert [r.id for r in trace.ancestors(tool.id)][-1] == trace.root.id
    final = trace.of_kind(RunKind.LLM)[-1]
    assert final.output_messages[0].content.startswith("Your flight ZX42Q is confirmed")
    assert final.usage is not None and final.usage.prompt_tokens == 240
    assert [m.role for m in final.input_messages] == ["system", "user", "assistant", "tool"]
    assert trace.ref().counts.agents == ("Booking agent",)
    assert _counts(trace) == (1, 1, 1)


def test_openai_agents_sdk_json_lines_with_two_traces_need_a_choice(tmp_path: Path) -> None:
    items = json.loads((SHAPES / "openai_agents_booking_trace.json").read_text())["data"]
    other = [{**item, "trace_id": "trace_other"} for item in items if "trace_id" in item]
    other = [{**item, "id": item["id"] + "x"} for item in other]
    path = tmp_path / "spans.jsonl"
    path.write_text("\n".join(json.dumps(item) for item in [*items, *other]))
    with pytest.raises(InputError, match="holds 2 traces"):
        load_trace_file(path)
    assert load_trace_file(Path(f"{path}#1")).id == "trace_other"


def test_openai_agents_sdk_unknown_span_type_is_refused(tmp_path: Path) -> None:
    doc = {"data": [{"object": "trace.span", "id": "s1", "trace_id": "t", "span_data": {}}]}
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="span s1 has span_data type None"):
        load_trace_file(path)


@pytest.mark.parametrize("name", ["Hand-Crafted/1.json", "Algorithm-Generated/93.json"])
def test_who_and_when_counts_name_the_agents(name: str) -> None:
    raw = json.loads((FIXTURES / "who-and-when" / name).read_text())
    trace = load_trace_file(FIXTURES / "who-and-when" / name)
    agents = trace.ref().counts.agents
    speakers = {m.get("name") or m["role"] for m in raw["history"]} - {"user", "human"}
    assert agents and set(agents) <= speakers


def test_agentrx_magentic_history_keeps_its_agents() -> None:
    folder = BENCHMARKS / "agentrx" / "data" / "magentic_dataset"
    if not folder.is_dir():
        pytest.skip("AgentRx benchmark not present")
    path = sorted(folder.glob("*.json"))[0]
    trace = load_trace_file(path)
    raw = json.loads(path.read_text())
    assert len(trace) == len(raw) + 1  # a bare list of {role, content} turns
    assert len(trace.ref().counts.agents) >= 2
