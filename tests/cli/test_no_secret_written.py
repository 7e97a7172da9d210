"""Nothing planted in a trace reaches the user's files, commits, ``.refinery/`` or an LLM request.

Fourteen kinds of sensitive value (``planted_secrets``) are planted in a user message, a tool output
or a system prompt; ``refinery analyze --apply N`` runs through the CLI for every fix rank, offline
and with a scripted LLM that echoes every placeholder it was shown into its titles and edits, and
with ``--extract-from-trace``. After each run, every file of the repository (``.refinery/``
included) and ``git log -p`` of every commit, messages included, are searched for the values.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from planted_secrets import (
    EXPECTED,
    MORE_PLACES,
    PLACES,
    PLANTED,
    SYSTEM_PROMPT,
    leaks,
    planted_trace,
)
from refinery.cli import app
from refinery.config import Settings
from refinery.llm.fake import FakeProvider
from refinery.llm.provider import Request

REGISTRY = importlib.import_module("refinery.llm.provider")  # the module; the package's
# ``provider`` attribute is the decorator
CASES = [
    {
        "id": 1,
        "input": "What's the weather in Lisbon?",
        "expected": "Reports Celsius and Fahrenheit.",
    },
    {"id": 2, "input": "Will it rain tomorrow?", "expected": "Asks which city the user means."},
]
CONFIG = "model: gpt-4o-mini\ntemperature: 0.7\nmax_tokens: 256\n"
FILES = [
    "--prompt-files", "prompts/system_prompt.txt",
    "--eval-files", "evals/cases.json",
    "--config-files", "config.yaml",
]  # fmt: skip


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    return done.stdout.decode("utf-8", errors="replace")


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed agent repository (the trace stays outside it, as a user's download would)."""
    root = tmp_path / "repo"
    (root / "prompts").mkdir(parents=True)
    (root / "evals").mkdir()
    (root / "prompts" / "system_prompt.txt").write_text(SYSTEM_PROMPT)
    (root / "evals" / "cases.json").write_text(json.dumps(CASES, indent=2) + "\n")
    (root / "config.yaml").write_text(CONFIG)
    _git(tmp_path, "init", "-q", "-b", "main", str(root))
    _git(root, "config", "user.name", "Test")
    _git(root, "config", "user.email", "test@example.com")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "agent")
    monkeypatch.chdir(root)
    return root


def _trace(tmp_path: Path, place: str) -> str:
    path = tmp_path / f"trace-{place.replace(' ', '-')}.json"
    path.write_text(json.dumps(planted_trace(place)))
    return str(path)


def _analyze(trace: str, *extra: str) -> Any:
    return CliRunner().invoke(
        app, ["analyze", trace, "--project", "weather", "--expected", EXPECTED, *extra]
    )


def _written(root: Path) -> Iterator[tuple[str, str]]:
    """(where, text) of every file in the repository and of every commit, message included."""
    for path in root.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(root).parts:
            yield str(path.relative_to(root)), path.read_text(encoding="utf-8", errors="replace")
    yield "git log -p", _git(root, "log", "-p", "--all", "--format=%H%n%B")


def _assert_nothing_leaked(root: Path, case: str) -> None:
    found = {where: kinds for where, text in _written(root) if (kinds := leaks(text))}
    assert found == {}, case


def _reset(root: Path) -> None:
    """Back to the agent's first commit, ``.refinery/`` and all, for the next rank."""
    _git(root, "reset", "-q", "--hard", _git(root, "rev-list", "--max-parents=0", "HEAD").strip())
    _git(root, "clean", "-qfdx")


def test_offline_apply_of_every_rank_writes_no_planted_value(agent: Path, tmp_path: Path) -> None:
    for place in PLACES:
        trace = _trace(tmp_path, place)
        dry = json.loads(_analyze(trace, *FILES, "--json").stdout)
        ranks = [h["rank"] for h in dry["hypotheses"]]
        assert len(ranks) >= 3
        for rank in ranks:
            result = _analyze(trace, *FILES, "--apply", str(rank), "--json")
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout)["applied"]["hypothesis"] == rank
            _assert_nothing_leaked(agent, f"{place}, fix {rank}")
            _reset(agent)


def test_offline_eval_case_keeps_its_shape_with_readable_placeholders(
    agent: Path, tmp_path: Path
) -> None:
    dry = json.loads(_analyze(_trace(tmp_path, "user message"), *FILES, "--json").stdout)
    rank = next(h["rank"] for h in dry["hypotheses"] if h["strategy"] == "add_eval")
    result = _analyze(_trace(tmp_path, "user message"), "--apply", str(rank), "--json")
    assert result.exit_code == 0, result.output
    new = json.loads((agent / "evals" / "cases.json").read_text())[-1]
    assert set(new) == {"id", "input", "expected"} and new["id"] == 3
    assert new["input"].startswith("What's the weather in Lisbon?")
    for placeholder in ("<email>", "<phone>", "<api key>", "<card number>", "<private key>"):
        assert placeholder in new["input"]
    _assert_nothing_leaked(agent, "eval case")


def test_extract_from_trace_then_apply_of_every_rank_writes_no_planted_value(
    agent: Path, tmp_path: Path
) -> None:
    for place in PLACES:
        trace = _trace(tmp_path, place)
        result = _analyze(trace, "--extract-from-trace", "--json")
        assert result.exit_code == 1, result.output  # the fixes' files are not committed yet
        extracted = list((agent / ".refinery" / "projects" / "weather").rglob("*.*"))
        assert {p.parent.name for p in extracted} >= {"prompts", "evals", "configs"}
        _assert_nothing_leaked(agent, f"{place}, extracted")
        _git(agent, "add", "-A")  # as the warning asks: review the extracted files, commit them
        _git(agent, "commit", "-qm", "extracted")
        shown = json.loads(result.stdout)
        ranks = [h["rank"] for h in shown["hypotheses"] if h["edits"]]
        for rank in ranks:
            applied = _analyze(trace, "--apply", str(rank), "--json")
            assert applied.exit_code == 0, applied.output
            _assert_nothing_leaked(agent, f"{place}, extracted, fix {rank}")
            if json.loads(applied.stdout)["applied"] is not None:  # else: already in the files
                _git(agent, "reset", "-q", "--hard", "HEAD~1")
        _reset(agent)


def _placeholders(prompt: str) -> str:
    return " ".join(dict.fromkeys(re.findall(r"\[\[REDACTED_[A-Z_]+_\d+\]\]", prompt)))


def _values(prompt: str) -> str:
    return " ".join(text for text, _ in PLANTED.values() if text in prompt)


def _echoing_model(
    requests: list[Request], echoed: Callable[[str], str] = _placeholders
) -> Callable[[Settings], FakeProvider]:
    """A model that repeats what it was shown (placeholders) in its title, rationale and edits."""

    def answer(request: Request) -> dict[str, Any]:
        requests.append(request)
        shown = echoed(request.prompt)
        assert shown
        if request.schema_name == "diagnosis":
            return _diagnosis(shown)
        return {"hypotheses": _hypotheses(shown)}

    return lambda settings: FakeProvider(answer)


def _diagnosis(shown: str) -> dict[str, Any]:
    return {
        "failure_type": "tool_error", "root_cause": f"The tool failed ({shown})",
        "confidence": "high", "confidence_reason": "the tool output says 503",
        "trace_summary": f"Asked about Lisbon; {shown}", "gap": "guessed instead",
        "executive_summary": f"Guessed the weather. {shown}",
        "affected_component": "prompts/system_prompt.txt", "evidence": [],
    }  # fmt: skip


def _hypotheses(shown: str) -> list[dict[str, Any]]:
    last = CASES[-1]
    case = {"id": 3, "input": f"What's the weather in Lisbon? {shown}", "expected": EXPECTED}
    eval_search = json.dumps(last, indent=2).replace("\n", "\n  ")
    rule = f"If get_weather fails, say so (seen with {shown})."
    common = {"failure_type": "tool_error", "risk": "low", "expected_effect": "says so"}
    return [
        {**common, "rank": 1, "title": f"Add a failure rule for {shown}", "strategy": "add_rule",
         "rationale": f"The user wrote {shown}",
         "edits": [{"file": "prompts/system_prompt.txt",
                    "search": "Give the temperature in both Celsius and Fahrenheit.\n",
                    "replace": f"Give the temperature in both Celsius and Fahrenheit.\n{rule}\n"}]},
        {**common, "rank": 2, "title": f"Add the case {shown}", "strategy": "add_eval",
         "rationale": shown,
         "edits": [{"file": "evals/cases.json", "search": eval_search,
                    "replace": eval_search + ",\n  " + json.dumps(case)}]},
    ]  # fmt: skip


@pytest.mark.parametrize("place", PLACES + MORE_PLACES)
def test_llm_path_sends_and_writes_no_planted_value(
    agent: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, place: str
) -> None:
    requests: list[Request] = []
    REGISTRY.provider_names()  # built-ins first, so that ours is one more
    monkeypatch.setitem(REGISTRY._FACTORIES, "echo", _echoing_model(requests))
    trace = _trace(tmp_path, place)
    for rank in (1, 2):
        result = _analyze(trace, *FILES, "--provider", "echo", "--apply", str(rank), "--json")
        assert result.exit_code == 0, result.output
        assert [leaks(r.system + r.prompt) for r in requests] == [[], []]
        _assert_nothing_leaked(agent, f"{place}, fix {rank}")
        message = _git(agent, "log", "-1", "--format=%B")
        assert "<email>" in message and "<api key>" in message
        requests.clear()
        _reset(agent)


def test_llm_run_without_redaction_still_writes_no_planted_value(
    agent: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --no-redact the model sees the values and echoes them: none is written all the same."""
    requests: list[Request] = []
    REGISTRY.provider_names()
    monkeypatch.setitem(REGISTRY._FACTORIES, "echo", _echoing_model(requests, _values))
    trace = _trace(tmp_path, "user message")
    for rank in (1, 2):
        result = _analyze(
            trace, *FILES, "--provider", "echo", "--no-redact", "--apply", str(rank), "--json"
        )
        assert result.exit_code == 0, result.output
        assert leaks(requests[0].prompt)  # sent as they are, as asked
        _assert_nothing_leaked(agent, f"--no-redact, fix {rank}")
        requests.clear()
        _reset(agent)
