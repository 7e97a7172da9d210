from __future__ import annotations

import json
from pathlib import Path

from refinery.traces import RunKind, load_trace_file
from sample_paths import FIXTURES

WEATHER = FIXTURES / "generated" / "langchain_fake_weather_agent.runs_query.json"


def test_runs_query_body_rebuilds_tree_and_normalises_messages() -> None:
    trace = load_trace_file(WEATHER)
    assert trace.format == "langsmith-runs"
    assert trace.id == "01a2167b-5f67-7199-a927-c4cb75c6398c"
    assert [r.kind for r in trace.runs] == [RunKind.CHAIN, RunKind.LLM, RunKind.TOOL, RunKind.LLM]
    first_llm, tool, last_llm = trace.runs[1:]
    assert [trace.depth(r.id) for r in trace.runs] == [0, 1, 1, 1]
    assert first_llm.input_messages[0].role == "system"
    assert first_llm.input_messages[0].content.startswith("You are a weather bot.")
    call = first_llm.output_messages[0].tool_calls[0]
    assert (call.id, call.name, json.loads(call.arguments)) == (
        "call_1",
        "get_weather",
        {"city": "Paris"},
    )
    assert first_llm.usage is not None and first_llm.usage.total_tokens == 49
    assert tool.failed and tool.error is not None and "weather API down for Paris" in tool.error
    assert tool.tool_name == "get_weather" and json.loads(tool.tool_args or "") == {"city": "Paris"}
    assert last_llm.output_text == "It is sunny in Paris."


def test_plain_list_of_runs_is_the_same_trace(tmp_path: Path) -> None:
    runs = json.loads(WEATHER.read_text())["runs"]
    path = tmp_path / "runs.json"
    path.write_text(json.dumps(runs))
    assert [r.id for r in load_trace_file(path).runs] == [
        r.id for r in load_trace_file(WEATHER).runs
    ]


def test_ingest_payload_merges_patch_into_post() -> None:
    trace = load_trace_file(FIXTURES / "langsmith-sdk" / "langsmith_py_wrap_openai_.json")
    (run,) = trace.runs
    assert run.id == "d0d84d31-923d-4cb5-94a8-40a0a0087578"
    assert run.model == "gpt-4o-mini" and run.provider == "openai"
    assert run.finish_reason == "stop"
    assert run.usage is not None and run.usage.prompt_tokens == 9
    assert run.input_messages[0].content == "howdy"


def test_js_patch_without_id_is_matched_by_dotted_order() -> None:
    (run,) = load_trace_file(
        FIXTURES / "langsmith-sdk" / "langsmith_js_wrap_openai_default.json"
    ).runs
    assert run.output_text == "Howdy! How can I assist you today?"
    assert run.end_time is not None and run.start_time is not None
    assert run.end_time > run.start_time
