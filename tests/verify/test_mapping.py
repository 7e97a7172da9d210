"""A fix's edits mapped onto the recorded call: in place, through templates, at the prompt's end,
as call parameters, as added eval cases, or refused with the reason."""

from __future__ import annotations

import json

import pytest

from refinery.models.diagnosis import Edit, FailureType, Hypothesis, Level
from refinery.traces.model import Message
from refinery.verify.anchors import Placed, place
from refinery.verify.call import RecordedCall
from refinery.verify.mapping import ProjectFiles, variant

SYSTEM = "You are Skye, the weather assistant of Acme Travel.\nAlways call get_weather."
CALL = RecordedCall(
    run_id="r1", name="chat", why="the last LLM call", answer="It is sunny in Paris.",
    messages=(Message(role="system", content=SYSTEM),
              Message(role="user", content="Weather in Paris?")),
)  # fmt: skip


def _fix(*edits: Edit) -> Hypothesis:
    return Hypothesis(
        rank=2, title="t", strategy="s", rationale="r", expected_effect="e", risk=Level.LOW,
        failure_type=FailureType.INSTRUCTION_GAP, edits=edits,
    )  # fmt: skip


def _files(prompt: str = SYSTEM, config: str = "model: gpt-4o-mini\ntemperature: 0.7\n",
           evals: str = "[]") -> ProjectFiles:  # fmt: skip
    return ProjectFiles(
        prompts={"p.txt": prompt}, configs={"c.yaml": config}, evals={"e.json": evals}
    )


def test_prompt_edit_lands_in_the_recorded_system_message() -> None:
    edit = Edit(file="p.txt", search="Always call get_weather.",
                replace="Always call get_weather.\nIf it fails, say so.")  # fmt: skip
    found = variant(_fix(edit), CALL, _files())
    assert found.call is not None and found.problem is None
    assert found.call.messages[0].content.endswith("Always call get_weather.\nIf it fails, say so.")
    assert found.call.messages[1] == CALL.messages[1]
    assert found.notes == ("p.txt: applied to the recorded system message exactly",)


def test_template_anchor_is_matched_through_its_variables_and_they_fill_the_new_text() -> None:
    template = (
        "You are {bot_name}, the weather assistant of {{ company }}.\nAlways call get_weather."
    )
    edit = Edit(file="p.txt", search="assistant of {{ company }}.",
                replace="assistant of {{ company }}. {bot_name} never guesses.")  # fmt: skip
    placed = place(SYSTEM, edit.search, edit.replace)
    assert isinstance(placed, str) and "variable bot_name" in placed
    search = "You are {bot_name}, the weather assistant of {{ company }}."
    replace = "You are {bot_name}, the assistant of {{ company }}. {bot_name} never guesses."
    edit = Edit(file="p.txt", search=search, replace=replace)
    found = variant(_fix(edit), CALL, _files(prompt=template))
    assert found.call is not None
    assert found.call.messages[0].content.startswith(
        "You are Skye, the assistant of Acme Travel. Skye never guesses.\nAlways call"
    )
    assert "through the template variables bot_name, company" in found.notes[0]


def test_insertion_after_the_files_last_line_goes_to_the_end_of_an_older_recorded_prompt() -> None:
    file_text = "You are Skye.\n- Give Celsius and Fahrenheit.\n"
    edit = Edit(file="p.txt", search="- Give Celsius and Fahrenheit.",
                replace="- Give Celsius and Fahrenheit.\n\nIf a tool fails, say so.")  # fmt: skip
    found = variant(_fix(edit), CALL, _files(prompt=file_text))
    assert found.call is not None
    assert found.call.messages[0].content == SYSTEM + "\n\nIf a tool fails, say so."
    assert "recorded with another version" in found.notes[0]


def test_an_anchor_that_is_nowhere_in_the_call_is_reported_as_not_mapped() -> None:
    file_text = "You are Skye.\n- Be brief.\n- Give Celsius and Fahrenheit.\n"
    edit = Edit(file="p.txt", search="- Be brief.", replace="- Be brief and kind.")
    found = variant(_fix(edit), CALL, _files(prompt=file_text))
    assert found.call is None and not found.eval_only
    assert found.problem == (
        "p.txt: its anchor occurs in no system or user message of the recorded call (it was "
        "recorded with another version of the file, or the file is not the prompt this call used)"
    )


@pytest.mark.parametrize(
    ("search", "replace", "expected"),
    [("temperature: 0.7", "temperature: 0.2", {"temperature": 0.2}),
     ("model: gpt-4o-mini", "model: gpt-4.1", {"model": "gpt-4.1"})],
)  # fmt: skip
def test_config_edit_changes_the_call_parameter_it_names(
    search: str, replace: str, expected: dict[str, object]
) -> None:
    found = variant(_fix(Edit(file="c.yaml", search=search, replace=replace)), CALL, _files())
    assert found.call is not None
    assert {k: getattr(found.call, k) for k in expected} == expected
    assert found.call.messages == CALL.messages


def test_config_edit_of_a_tool_setting_cannot_be_replayed() -> None:
    config = "tools:\n  get_weather:\n    timeout_seconds: 10\n"
    edit = Edit(file="c.yaml", search="timeout_seconds: 10", replace="timeout_seconds: 30")
    found = variant(_fix(edit), CALL, _files(config=config))
    assert found.problem == (
        "c.yaml: it changes tools.get_weather.timeout_seconds, which is not a parameter of the "
        "recorded LLM call"
    )


def test_eval_only_fix_is_verified_without_replay() -> None:
    evals = json.dumps([{"input": "Hi", "expected": "greets"}], indent=2)
    new = evals[:-2] + ',\n  {"input": "Weather in Paris?", "must_include": "unavailable"}\n]'
    found = variant(_fix(Edit(file="e.json", search=evals, replace=new)), CALL, _files(evals=evals))
    assert found.eval_only and found.call is None
    (case,) = found.cases
    assert case.label == "Weather in Paris?"
    assert case.failures(CALL.answer) == ["does not include 'unavailable'"]
    assert case.failures("The service is unavailable.") == []


def test_anchor_found_twice_is_ambiguous() -> None:
    placed = place("a b a", "a", "c")
    assert placed == "its anchor occurs 2 times in the recorded message"
    loose = place("Always  call\nget_weather.", "Always call get_weather.", "X")
    assert isinstance(loose, Placed) and loose.text == "X" and loose.how == "ignoring whitespace"
