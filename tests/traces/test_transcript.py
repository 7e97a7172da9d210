"""Chat transcripts: message lists, Who&When ``history``, tau-bench ``traj`` and ``FILE#N``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from refinery.errors import InputError
from refinery.traces import RunKind, load_trace, load_trace_file
from sample_paths import FIXTURES as SAMPLE_FIXTURES

FIXTURES = SAMPLE_FIXTURES
TAU = FIXTURES / "tau-bench" / "gpt-4o-airline.failed-subset.json"
WHO = FIXTURES / "who-and-when"


def test_transcript_list_of_messages_with_tool_call(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    messages = [
        {"role": "system", "content": "Be exact."},
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "timeout"},
        {"role": "assistant", "content": "Sunny."},
    ]
    path.write_text(json.dumps(messages))
    trace = load_trace_file(path)
    assert trace.format == "transcript"
    assert [run.id for run in trace.runs] == ["transcript", *(f"msg-{i}" for i in range(5))]
    assert all(trace.depth(f"msg-{i}") == 1 for i in range(5))
    tool = trace.get("msg-3")
    assert tool is not None
    assert (tool.kind, tool.tool_name, tool.tool_args, tool.tool_result) == (
        RunKind.TOOL,
        "w",
        "{}",
        "timeout",
    )
    final = trace.get("msg-4")
    assert final is not None and final.kind is RunKind.LLM
    assert [m.role for m in final.input_messages] == ["system", "user", "assistant", "tool"]
    assert trace.root.outputs == {"content": "Sunny."}


def test_transcript_tau_bench_file_of_three_needs_a_choice() -> None:
    with pytest.raises(InputError) as caught:
        load_trace(str(TAU))
    message = str(caught.value)
    assert "holds 3 traces" in message
    assert f"{TAU}#N (0-2)" in message
    assert "task_id=44" in message


def test_transcript_tau_bench_selected_trajectory() -> None:
    trace = load_trace(f"{TAU}#1")
    raw = json.loads(TAU.read_text())[1]
    assert trace.id == str(raw["task_id"])
    assert trace.metadata["selected"] == 1
    assert trace.metadata["reward"] == 0.0
    assert len(trace) == len(raw["traj"]) + 1
    assert trace.get("msg-0").input_messages == ()  # type: ignore[union-attr]
    system = trace.get("msg-0")
    assert system is not None and system.output_messages[0].role == "system"
    assert "Airline Agent Policy" in system.output_messages[0].content
    assert [r.kind for r in trace.runs[1:4]] == [RunKind.OTHER, RunKind.OTHER, RunKind.LLM]


def test_transcript_selector_out_of_range() -> None:
    with pytest.raises(InputError, match=r"#5: the file holds 3 traces: "):
        load_trace_file(Path(f"{TAU}#5"))


@pytest.mark.parametrize("name", ["Hand-Crafted/1.json", "Hand-Crafted/24.json"])
def test_transcript_who_and_when_agent_roles_become_named_turns(name: str) -> None:
    raw = json.loads((WHO / name).read_text())
    trace = load_trace_file(WHO / name)
    assert trace.id == raw["question_ID"]
    assert len(trace) == len(raw["history"]) + 1
    first, second = trace.get("msg-0"), trace.get("msg-1")
    assert first is not None and first.output_messages[0].role == "user"
    assert second is not None and second.kind is RunKind.LLM
    assert second.name == raw["history"][1]["role"]
    assert second.output_messages[0].name == raw["history"][1]["role"]
    assert "mistake_agent" not in trace.metadata


def test_transcript_who_and_when_named_user_turns_are_agents() -> None:
    raw = json.loads((WHO / "Algorithm-Generated" / "93.json").read_text())
    trace = load_trace_file(WHO / "Algorithm-Generated" / "93.json")
    step = trace.get("msg-2")
    assert raw["history"][2]["role"] == "user"
    assert step is not None
    assert (step.kind, step.name) == (RunKind.LLM, raw["history"][2]["name"])
    assert step.output_messages[0].content == raw["history"][2]["content"]


def test_transcript_indices_follow_the_source_list(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_text(
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "a"},
                    {"role": ""},
                    {"role": "assistant", "content": "b"},
                ]
            }
        )
    )
    trace = load_trace_file(path)
    assert [run.id for run in trace.runs] == ["transcript", "msg-0", "msg-2"]


def test_selector_suffix_is_a_path_when_such_a_file_exists(tmp_path: Path) -> None:
    path = tmp_path / "odd#1"
    path.write_text(json.dumps([{"role": "user", "content": "hi"}]))
    trace = load_trace(str(path))
    assert trace.metadata["path"] == str(path)
    assert "selected" not in trace.metadata


def test_bare_list_whose_roles_are_agent_names_becomes_assistant_turns(tmp_path: Path) -> None:
    messages = [
        {"role": "human", "content": "When did the stock first pass $50?"},
        {"role": "Orchestrator (thought)", "content": "Ask the WebSurfer."},
        {"role": "WebSurfer", "content": "I could not load the page."},
    ]
    path = tmp_path / "magentic.json"
    path.write_text(json.dumps(messages))
    trace = load_trace_file(path)
    turns = [trace.get(f"msg-{i}") for i in range(3)]
    assert [t.kind.value for t in turns if t] == ["other", "llm", "llm"]
    assert [t.output_messages[0].name for t in turns[1:] if t] == [
        "Orchestrator (thought)",
        "WebSurfer",
    ]
