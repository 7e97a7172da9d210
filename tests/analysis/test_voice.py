"""A fix reads like the prompt it goes into: same person, same list style."""

from __future__ import annotations

from pathlib import Path

import pytest

from refinery.analysis.analyser import AnalyserInput, ContextFile, FileRole
from refinery.analysis.detectors import run_detectors
from refinery.analysis.findings import DetectorInput
from refinery.analysis.offline import OfflineAnalyser
from refinery.analysis.offline.edit_targets import apply_edit, prompt_end_edit
from refinery.analysis.offline.rule_text import readability_problems
from refinery.analysis.offline.voice import Fitted, Voice, fitted, prompt_voice, third_person
from refinery.analysis.structured import prompt_text
from refinery.models.diagnosis import Edit
from refinery.traces.sources import load_trace

WEATHER = Path(__file__).resolve().parents[2] / "examples" / "weather-agent"
EXPECTED = "should say the weather service is unavailable instead of guessing"
CONDITION = (
    "If a tool call fails, times out or returns an error or an empty result (such as get_weather), "
)
TOOL_RULE = (
    CONDITION + "tell the user plainly that the information is unavailable right now; never "
    "guess, invent or fill in an answer the tool did not return."
)


def _fixes(prompt: str, path: str = "prompts/system_prompt.txt") -> dict[str, Edit]:
    """The weather example's failing trace analysed against ``prompt``: edits by strategy."""
    trace = load_trace(WEATHER / "trace.json")
    files = (ContextFile(path=path, role=FileRole.PROMPT, content=prompt),)
    detected = DetectorInput(trace=trace, expected=EXPECTED, prompt_texts=((path, prompt),))
    data = AnalyserInput(
        trace=trace,
        expected=EXPECTED,
        findings=tuple(run_detectors(detected)),
        condensed="",
        files=files,
    )
    out = OfflineAnalyser().analyse(data)
    return {h.strategy: h.edits[0] for h in out.hypotheses if h.edits}


def _added(edit: Edit) -> str:
    assert edit.replace.startswith(edit.search)
    return edit.replace[len(edit.search) :]


def test_the_readme_example_gets_its_rule_as_a_bullet_of_its_list() -> None:
    prompt = (WEATHER / "prompts" / "system_prompt.txt").read_text(encoding="utf-8")
    edit = _fixes(prompt)["failure_handling_rule"]
    assert _added(edit) == "\n- " + TOOL_RULE
    assert (
        apply_edit(prompt, edit)
        .rstrip()
        .endswith(
            "- Do not give travel, health or safety advice beyond the weather itself.\n- "
            + TOOL_RULE
        )
    )


def test_second_person_prose_keeps_the_instruction_as_a_paragraph() -> None:
    prompt = "You are a weather assistant.\n\nAnswer questions about the weather for any city.\n"
    assert _added(_fixes(prompt)["failure_handling_rule"]) == "\n\n" + TOOL_RULE


def test_third_person_prose_gets_the_prompts_subject_and_agreeing_pronouns() -> None:
    prompt = (
        "The assistant answers questions about current weather. The assistant must always call "
        "get_weather for the city the user names.\n"
    )
    fixes = _fixes(prompt)
    assert _added(fixes["failure_handling_rule"]) == (
        "\n\n" + CONDITION + "the assistant must tell the user plainly that the information is "
        "unavailable right now; it must never guess, invent or fill in an answer the tool did "
        "not return."
    )
    assert _added(fixes["model_guidance"]) == (
        "\n\nBefore answering, the assistant must think step by step: it must restate what the "
        "user needs, check each fact against the context or tool results, and only then write "
        "the answer."
    )


def test_third_person_list_gets_an_item_with_its_modal_and_no_full_stop() -> None:
    prompt = (
        "Rules for the agent:\n- The agent should call get_weather for every city\n"
        "- The agent should give temperatures in Celsius\n"
    )
    assert _added(_fixes(prompt)["failure_handling_rule"]) == (
        "\n- " + CONDITION + "the agent should tell the user plainly that the information is "
        "unavailable right now; it should never guess, invent or fill in an answer the tool did "
        "not return"
    )


def test_a_named_agent_in_the_third_person_is_named_then_they() -> None:
    prompt = (
        "Skye is the weather assistant of a travel app. Skye always calls get_weather for the "
        "city the user names. Skye never gives travel advice.\n"
    )
    assert _added(_fixes(prompt)["failure_handling_rule"]) == (
        "\n\n" + CONDITION + "Skye must tell the user plainly that the information is "
        "unavailable right now; they must never guess, invent or fill in an answer the tool did "
        "not return."
    )


def test_a_numbered_list_gets_the_next_number() -> None:
    prompt = "You are Skye.\n\nRules:\n1. Always call get_weather.\n2. Keep answers short.\n"
    assert _added(_fixes(prompt)["failure_handling_rule"]) == "\n3. " + TOOL_RULE


def test_a_list_in_a_python_prompt_constant_gets_its_item_in_the_literal() -> None:
    source = (
        'SYSTEM_PROMPT = """The assistant answers weather questions.\n'
        "- The assistant must call get_weather.\n"
        '- The assistant must answer in Celsius.\n"""\n'
    )
    edit = _fixes(source, "agent.py")["failure_handling_rule"]
    changed = apply_edit(source, edit)
    namespace: dict[str, str] = {}
    exec(compile(changed, "agent.py", "exec"), namespace)  # the edited file still runs
    assert namespace["SYSTEM_PROMPT"].endswith(
        "- The assistant must answer in Celsius.\n- " + CONDITION + "the assistant must tell"
        " the user plainly that the information is unavailable right now; it must never guess,"
        " invent or fill in an answer the tool did not return.\n"
    )


@pytest.mark.parametrize(
    ("prompt", "subject", "marker"),
    [
        ("You are Skye, a weather bot.\nAlways answer briefly.", "", ""),
        ("You are Skye.\nHow to answer:\n* Be brief.\n* Use Celsius.", "", "* "),
        ("The assistant never guesses. The assistant must cite its tool.", "the assistant", ""),
        ("Rules:\n  - The support agent always checks the order", "the support agent", "  - "),
        ("Skye is the weather bot.\nSkye must not give travel advice.", "Skye", ""),
        ("Answers must be short. Answers should cite a source.", "", ""),
        ("Weather changes fast. Forecasts change too. Rain falls.", "", ""),
        ("Atlas is our support bot. Atlas never shares order data.", "Atlas", ""),
        ("Rules:\n- Be brief and\n  friendly.\n- Cite the tool.\n  Always.", "", "- "),
        ("Rules:\n- Be brief.\nThat is all.", "", ""),
    ],
)
def test_voice_is_read_from_the_prompt(prompt: str, subject: str, marker: str) -> None:
    voice = prompt_voice(prompt)
    assert (voice.subject, voice.marker) == (subject, marker)


@pytest.mark.parametrize(
    ("text", "subject", "expected"),
    [
        (
            "When you call tools, check the arguments against the tool schema.",
            "the assistant",
            "When the assistant calls tools, it must check the arguments against the tool schema.",
        ),
        (
            "Plan the fewest steps and do not repeat a step that already returned a result.",
            "the agent",
            "The agent must plan the fewest steps and not repeat a step that already returned a "
            "result.",
        ),
        (
            "If the task needs more steps than you have, give the answer you have so far.",
            "the assistant",
            "If the task needs more steps than the assistant has, it must give the answer it has "
            "so far.",
        ),
        (
            "You are an agent: keep going until the request is resolved, then end your turn.",
            "Skye",
            "Skye is an agent: they must keep going until the request is resolved, then end their "
            "turn.",
        ),
        ("The summary must cite sources.", "the assistant", "The summary must cite sources."),
        (
            "If you are repeating a step without progress, stop.",
            "the assistant",
            "If the assistant is repeating a step without progress, it must stop.",
        ),
        ("Bring up the refund policy.", "Skye", "Skye must bring up the refund policy."),
    ],
)
def test_instructions_become_third_person_rules(text: str, subject: str, expected: str) -> None:
    converted = third_person(text, subject)
    assert converted == expected
    assert not readability_problems(converted)


@pytest.mark.parametrize(
    "text",
    [
        "If a tool fails say so.",  # no comma: where the instruction starts is unclear
        "Keep what is yours private.",
        'Reply "I cannot help you with that" and stop.',  # the quote is someone's own words
    ],
)
def test_an_unclear_sentence_is_not_converted(text: str) -> None:
    assert third_person(text, "the assistant") is None
    kept = fitted(text, Voice(subject="the assistant", marker="- "), lambda _: True)
    assert kept.text == "- " + text and kept.joined


def test_a_conversion_that_fails_the_check_keeps_the_instruction() -> None:
    voice = Voice(subject="the assistant")
    text = "Always call get_weather first."
    converted = "The assistant must always call get_weather first."
    assert fitted(text, voice, lambda _: True).text == converted
    assert fitted(text, voice, lambda _: False).text == text


def test_a_list_parted_by_blank_lines_gets_an_item_after_a_blank_line() -> None:
    prompt = "Policy:\n\n- Refunds go to the original card.\n\n- Exchanges need a receipt.\n"
    voice = prompt_voice(prompt)
    assert voice.loose
    assert fitted("Confirm before acting.", voice, lambda _: True) == Fitted(
        text="- Confirm before acting.", joined=False
    )
    edit = prompt_end_edit("policy.md", prompt, "- Confirm before acting.")
    assert edit is not None
    assert apply_edit(prompt, edit).endswith("receipt.\n\n- Confirm before acting.\n")


def test_a_multi_line_fix_stays_a_paragraph_after_a_list() -> None:
    text = 'Example of the expected behaviour:\nUser: "hi"\nRight response: greet back.'
    kept = fitted(text, Voice(marker="- "), lambda _: True, person=False)
    assert kept == fitted(text, Voice(), lambda _: True)
    assert not kept.joined


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("p.json", '{"system_prompt": "Rules:\\n- Be brief.\\n"}'),
        ("p.yaml", "system_prompt: |\n  Rules:\n  - Be brief.\n"),
        ("p.py", "PROMPT = 'Rules:\\n- Be brief.\\n'\n"),
    ],
)
def test_a_joined_item_follows_the_last_item_in_every_file_shape(path: str, content: str) -> None:
    edit = prompt_end_edit(path, content, "- Use Celsius.", joined=True)
    assert edit is not None
    assert prompt_text(path, apply_edit(content, edit)).rstrip() == (
        "Rules:\n- Be brief.\n- Use Celsius."
    )
