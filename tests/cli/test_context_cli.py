from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from refinery.cli import app, main
from refinery.config import Settings
from refinery.store.context import load_contexts, resolve_context

runner = CliRunner()


@pytest.fixture
def saved(git_repo: Path) -> Settings:
    settings = Settings(repo_root=git_repo)
    for name in ("prompts/system.txt", "evals/cases.json", "config/agent.yaml"):
        path = git_repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    resolve_context(
        settings,
        "weather",
        prompt_files=["prompts/system.txt"],
        eval_files=["evals/cases.json"],
        config_files=["config/agent.yaml"],
    )
    return settings


def _main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["refinery", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), capsys.readouterr().err


def test_list_shows_projects_with_counts(saved: Settings) -> None:
    result = runner.invoke(app, ["context", "--list"])
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if "weather" in line)
    assert row.split("│")[1:6] == [" weather ", " 1       ", " 1     ", " 1       ", " 0       "]


def test_list_with_no_projects_says_how_to_save_one(git_repo: Path) -> None:
    result = runner.invoke(app, ["context", "--list"])
    assert result.exit_code == 0
    assert "No saved projects yet." in result.stdout


def test_list_json(saved: Settings) -> None:
    result = runner.invoke(app, ["context", "--list", "--json"])
    assert result.exit_code == 0
    (project,) = json.loads(result.stdout)["projects"]
    assert {
        k: project[k]
        for k in ("name", "prompt_files", "eval_files", "config_files", "missing_files")
    } == {
        "name": "weather",
        "prompt_files": 1,
        "eval_files": 1,
        "config_files": 1,
        "missing_files": 0,
    }


def test_project_marks_missing_files(saved: Settings) -> None:
    (saved.repo_root / "evals/cases.json").unlink()
    result = runner.invoke(app, ["context", "--project", "weather"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "missing" in next(line for line in lines if "evals/cases.json" in line)
    assert "ok" in next(line for line in lines if "prompts/system.txt" in line)
    assert (
        "1 missing file(s) will be dropped from the context at the next analysis." in result.stdout
    )


def test_project_json(saved: Settings) -> None:
    (saved.repo_root / "evals/cases.json").unlink()
    result = runner.invoke(app, ["context", "--project", "weather", "--json"])
    described = json.loads(result.stdout)
    assert [(f["path"], f["kind"], f["exists"]) for f in described["files"]] == [
        ("prompts/system.txt", "prompt", True),
        ("evals/cases.json", "eval", False),
        ("config/agent.yaml", "config", True),
    ]


def test_clear_with_yes_forgets_the_project(saved: Settings) -> None:
    result = runner.invoke(app, ["context", "--clear", "weather", "--yes"])
    assert result.exit_code == 0
    assert "Cleared project weather: 3 files forgotten." in result.stdout
    assert load_contexts(saved) == {}
    assert (saved.repo_root / "prompts/system.txt").exists()


def test_clear_asks_first_and_keeps_the_project_on_no(saved: Settings) -> None:
    result = runner.invoke(app, ["context", "--clear", "weather"], input="n\n")
    assert result.exit_code == 1
    assert "Forget the 3 saved files of project weather?" in result.stderr
    assert "weather" in load_contexts(saved)


def test_clear_asks_first_and_clears_on_yes(saved: Settings) -> None:
    result = runner.invoke(app, ["context", "--clear", "weather", "--json"], input="y\n")
    assert result.exit_code == 0
    # CliRunner echoes the typed answer to stdout; a terminal would not, so read the last line.
    assert json.loads(result.stdout.splitlines()[-1])["cleared"]["name"] == "weather"
    assert load_contexts(saved) == {}


@pytest.mark.parametrize(
    "args", [[], ["--list", "--project", "weather"], ["--project", "a", "--clear", "b"]]
)
def test_exactly_one_action_is_required(saved: Settings, args: list[str]) -> None:
    result = runner.invoke(app, ["context", *args])
    assert result.exit_code == 2
    assert "give exactly one of --list, --project NAME or --clear NAME" in result.stderr


def test_unknown_project_is_one_error_line_and_exit_2(
    saved: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _main(monkeypatch, capsys, "context", "--project", "nope")
    assert code == 2
    assert err == (
        "error: project 'nope' has no saved context (saved projects: weather): "
        "list them with: refinery context --list\n"
    )


def test_corrupt_context_is_one_error_line_and_left_untouched(
    saved: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = saved.state_dir / "context.json"
    path.write_text('{"version": 1, "projects": ')
    code, err = _main(monkeypatch, capsys, "context", "--clear", "weather", "--yes")
    assert code == 2
    assert err.startswith("error: .refinery/context.json is not a valid context file: invalid JSON")
    assert err.count("\n") == 1
    assert path.read_text() == '{"version": 1, "projects": '
