from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from refinery.config import Settings
from refinery.errors import InputError
from refinery.store.context import describe_project, resolve_context
from refinery.store.extract import extract_from_trace, trace_key
from refinery.traces.model import Message, Run, RunKind, Trace, build_trace
from refinery.traces.sources import load_trace_file
from sample_paths import FIXTURES as SAMPLE_FIXTURES

FIXTURES = SAMPLE_FIXTURES
DATA = Path(__file__).resolve().parents[1] / "data"
LANGSMITH = FIXTURES / "generated" / "langchain_fake_weather_agent.runs_query.json"
OTLP = FIXTURES / "generated" / "weather_agent.otlp.jsonl"
TAU = FIXTURES / "tau-bench" / "gpt-4o-airline.failed-subset.json"
PROMPT_CHAIN = DATA / "langsmith_prompt_template_chain.runs_query.json"
WEATHER_SYSTEM = "You are a weather bot. Never guess; if a tool fails say so."
DERIVED = re.compile(
    r"^\.refinery/projects/p/("
    r"prompts/(system_prompt|user_prompt)_\d+_[0-9a-f]{6}\.txt"
    r"|prompts/template_[a-z0-9_]+_[0-9a-f]{6}\.txt"
    r"|evals/eval_examples_[0-9a-z]{8}\.json"
    r"|configs/model_config_[0-9a-z]{8}\.json"
    r"|trace_[0-9a-z]{8}_metadata\.json)$"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(repo_root=tmp_path)


def _read(settings: Settings, relative: str) -> str:
    return (settings.repo_root / relative).read_text(encoding="utf-8")


def _all_files(settings: Settings) -> list[str]:
    root = settings.repo_root / ".refinery" / "projects"
    return sorted(
        p.relative_to(settings.repo_root).as_posix() for p in root.rglob("*") if p.is_file()
    )


def test_langsmith_trace_yields_prompts_config_evals_and_metadata(settings: Settings) -> None:
    trace = load_trace_file(LANGSMITH)
    extraction = extract_from_trace(trace, settings, "p", expected="Say the weather API is down")
    system, user = extraction.prompt_files
    assert re.fullmatch(r"\.refinery/projects/p/prompts/system_prompt_1_[0-9a-f]{6}\.txt", system)
    assert _read(settings, system) == WEATHER_SYSTEM
    assert _read(settings, user) == "Weather in Paris?"
    assert extraction.eval_files == (
        f".refinery/projects/p/evals/eval_examples_{trace_key(trace)}.json",
    )
    examples = json.loads(_read(settings, extraction.eval_files[0]))
    assert examples == {
        "examples": [
            {
                "input": "Weather in Paris?",
                "observed_output": "It is sunny in Paris.",
                "expected": "Say the weather API is down",
            }
        ]
    }
    config = json.loads(_read(settings, extraction.config_files[0]))
    assert config == {"models": [{"provider": "genericfakechatmodel"}]}
    metadata = json.loads(_read(settings, extraction.metadata_file))
    assert metadata["trace_id"] == trace.id
    assert metadata["format"] == "langsmith-runs"
    assert metadata["files"]["prompts"] == list(extraction.prompt_files)
    assert all(DERIVED.match(f) for f in _all_files(settings))
    assert sorted(extraction.written) == _all_files(settings)


def test_trace_key_avoids_the_shared_timestamp_prefix_of_uuid7(settings: Settings) -> None:
    trace = load_trace_file(LANGSMITH)
    assert trace.id == "01a2167b-5f67-7199-a927-c4cb75c6398c"
    assert trace_key(trace) == "75c6398c"


def test_prompt_template_run_becomes_a_template_and_model_config(settings: Settings) -> None:
    trace = load_trace_file(PROMPT_CHAIN)
    extraction = extract_from_trace(trace, settings, "p")
    templates = [f for f in extraction.prompt_files if "/template_" in f]
    assert len(templates) == 1
    assert re.fullmatch(
        r"\.refinery/projects/p/prompts/template_airline_support_[0-9a-f]{6}\.txt", templates[0]
    )
    assert _read(settings, templates[0]) == (
        "[system]\nYou are an airline support agent. Answer only from the reservation data "
        "returned by tools.\nIf a tool fails, say so; never guess baggage allowances.\n\n"
        "{history}\n\n"
        "[user]\nQuestion: {question}\nAnswer with a number."
    )
    users = [_read(settings, f) for f in extraction.prompt_files if "/user_prompt_" in f]
    assert users == [
        "Question: How many suitcases can I take on reservation JMO1MG?\nAnswer with a number."
    ]
    (config,) = json.loads(_read(settings, extraction.config_files[0]))["models"]
    assert config["model"] == "gpt-4o-mini"
    assert (config["provider"], config["temperature"], config["max_tokens"]) == ("openai", 0.2, 256)
    assert config["tools"][0]["function"]["name"] == "get_reservation_details"
    assert "_type" not in config and "stop" not in config


def test_otlp_trace_yields_the_same_prompts(settings: Settings) -> None:
    trace = load_trace_file(OTLP)
    extraction = extract_from_trace(trace, settings, "p")
    assert [_read(settings, f) for f in extraction.prompt_files] == [
        WEATHER_SYSTEM,
        "Weather in Paris?",
    ]
    (config,) = json.loads(_read(settings, extraction.config_files[0]))["models"]
    assert config["model"] == "gpt-4o-mini"
    example = json.loads(_read(settings, extraction.eval_files[0]))["examples"][0]
    assert (example["input"], example["observed_output"]) == (
        "Weather in Paris?",
        "It is sunny in Paris.",
    )


def test_tau_bench_transcript_yields_the_policy_and_the_opening_request(
    settings: Settings, tmp_path: Path
) -> None:
    task = json.loads(TAU.read_text())[0]
    transcript = tmp_path / "transcript.json"
    transcript.write_text(json.dumps({"messages": task["traj"]}))
    trace = load_trace_file(transcript)
    extraction = extract_from_trace(trace, settings, "p")
    system, user = (_read(settings, f) for f in extraction.prompt_files)
    assert system == task["traj"][0]["content"]
    assert system.startswith("# Airline Agent Policy")
    first_user = next(m["content"] for m in task["traj"] if m["role"] == "user")
    assert user == first_user
    example = json.loads(_read(settings, extraction.eval_files[0]))["examples"][0]
    assert example["input"] == first_user
    assert all(DERIVED.match(f) for f in _all_files(settings))


def _trace_with(run: Run, trace_id: str = "f" * 32) -> Trace:
    root = Run(
        id="root", trace_id=trace_id, name="agent", kind=RunKind.CHAIN, inputs={"input": "hi"}
    )
    return build_trace(
        [root, run.model_copy(update={"parent_id": "root", "trace_id": trace_id})],
        trace_id=trace_id,
        source="file",
        format="otlp",
    )


@pytest.mark.parametrize(
    ("where", "attributes"),
    [
        ("metadata", {"llm.prompt_template.template": "Weather in {city}?"}),
        ("metadata", {"llm": {"prompt_template": {"template": "Weather in {city}?"}}}),
        ("inputs", {"llm.prompt_template.template": "Weather in {city}?"}),
    ],
)
def test_openinference_template_attributes_become_a_template(
    settings: Settings, where: str, attributes: dict[str, object]
) -> None:
    llm = Run(
        id="llm", trace_id="", name="Forecast Prompt", kind=RunKind.LLM, **{where: attributes}
    )
    extraction = extract_from_trace(_trace_with(llm), settings, "p")
    (template,) = extraction.prompt_files
    assert re.fullmatch(
        r"\.refinery/projects/p/prompts/template_forecast_prompt_[0-9a-f]{6}\.txt", template
    )
    assert _read(settings, template) == "Weather in {city}?"


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/etc/passwd", "..", "a/../../b", "~/.ssh/id_rsa", "\x00"]
)
def test_template_names_from_the_trace_never_escape_the_project_folder(
    settings: Settings, name: str
) -> None:
    llm = Run(
        id="llm",
        trace_id="",
        name=name,
        kind=RunKind.LLM,
        metadata={"llm.prompt_template.template": "T {x}"},
    )
    extraction = extract_from_trace(_trace_with(llm), settings, "p")
    (template,) = extraction.prompt_files
    path = (settings.repo_root / template).resolve()
    assert path.is_relative_to((settings.repo_root / ".refinery/projects/p/prompts").resolve())
    assert DERIVED.match(template)
    assert all(DERIVED.match(f) for f in _all_files(settings))


def test_same_content_from_a_second_trace_reuses_the_files(settings: Settings) -> None:
    first_trace = load_trace_file(LANGSMITH)
    first = extract_from_trace(first_trace, settings, "p")
    system_file = settings.repo_root / first.prompt_files[0]
    stamp = system_file.stat().st_mtime_ns
    second_trace = first_trace.model_copy(update={"id": "0b7c9d2e-1111-4222-8333-944455566677"})
    second = extract_from_trace(second_trace, settings, "p")
    assert second.prompt_files == first.prompt_files
    assert second.config_files == first.config_files
    assert second.eval_files == first.eval_files
    assert system_file.stat().st_mtime_ns == stamp
    assert set(second.reused) == {*first.prompt_files, *first.config_files, *first.eval_files}
    assert second.written == (".refinery/projects/p/trace_55566677_metadata.json",)
    assert len(list((settings.repo_root / ".refinery/projects/p/prompts").iterdir())) == 2


def test_a_new_system_prompt_gets_the_next_index(settings: Settings) -> None:
    trace = load_trace_file(LANGSMITH)
    extract_from_trace(trace, settings, "p")
    llm = Run(
        id="llm",
        trace_id="",
        kind=RunKind.LLM,
        input_messages=(Message(role="system", content="Be terse."),),
    )
    second = extract_from_trace(_trace_with(llm), settings, "p")
    assert re.fullmatch(
        r"\.refinery/projects/p/prompts/system_prompt_2_[0-9a-f]{6}\.txt", second.prompt_files[0]
    )


def test_a_file_edited_since_extraction_is_not_overwritten(settings: Settings) -> None:
    trace = load_trace_file(LANGSMITH)
    first = extract_from_trace(trace, settings, "p", expected="Say the API is down")
    system_file = settings.repo_root / first.prompt_files[0]
    system_file.write_text(WEATHER_SYSTEM + "\nIf get_weather fails, tell the user.")
    eval_file = settings.repo_root / first.eval_files[0]
    eval_file.write_text('{"examples": []}\n')
    again = extract_from_trace(trace, settings, "p", expected="Something else")
    assert again.prompt_files[0] == first.prompt_files[0]
    assert system_file.read_text().endswith("tell the user.")
    assert eval_file.read_text() == '{"examples": []}\n'


def test_extracted_files_join_the_context_beside_manual_files(settings: Settings) -> None:
    manual = settings.repo_root / "prompts" / "agent.txt"
    manual.parent.mkdir()
    manual.write_text("manual")
    extraction = extract_from_trace(load_trace_file(LANGSMITH), settings, "p")
    resolved = resolve_context(
        settings, "p", prompt_files=["prompts/agent.txt"], extracted=extraction
    )
    assert resolved.context.prompt_files == ("prompts/agent.txt", *extraction.prompt_files)
    assert resolved.context.eval_files == extraction.eval_files
    assert resolved.context.config_files == extraction.config_files
    assert extraction.metadata_file not in resolved.context.all_files
    marked = {f.path for f in describe_project(settings, "p").files if f.extracted}
    assert marked == {*extraction.prompt_files, *extraction.eval_files, *extraction.config_files}


def test_an_unsafe_project_name_writes_nothing(settings: Settings) -> None:
    with pytest.raises(InputError, match="invalid project name"):
        extract_from_trace(load_trace_file(LANGSMITH), settings, "../x")
    assert not (settings.repo_root / ".refinery").exists()


def test_a_trace_without_llm_calls_writes_only_what_it_has(settings: Settings) -> None:
    tool = Run(id="t", trace_id="", kind=RunKind.TOOL, tool_name="lookup")
    extraction = extract_from_trace(_trace_with(tool), settings, "p")
    assert extraction.prompt_files == () and extraction.config_files == ()
    assert json.loads(_read(settings, extraction.eval_files[0]))["examples"][0]["input"] == "hi"


def test_trace_without_system_prompt_saves_no_prompt_file_and_says_so(settings: Settings) -> None:
    root = Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN)
    llm = Run(
        id="l1", trace_id="t", parent_id="root", kind=RunKind.LLM, name="chat",
        input_messages=(Message(role="user", content="Where is my parcel 4471?"),),
        output_messages=(Message(role="assistant", content="It arrives Monday."),),
    )  # fmt: skip
    trace = build_trace([root, llm], trace_id="t", source="file", format="langsmith-runs")
    extraction = extract_from_trace(trace, settings, "p")
    assert extraction.prompt_files == ()
    assert not any("/prompts/" in path for path in _all_files(settings))
    assert extraction.notes == (
        "the trace records no system prompt or prompt template: no prompt file was saved; "
        "pass the file holding the agent's prompt with --prompt-files",
    )
