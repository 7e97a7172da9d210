from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from refinery.config import Settings
from refinery.errors import ConfigError, InputError
from refinery.store.context import (
    ContextAdditions,
    clear_project,
    describe_project,
    list_projects,
    load_contexts,
    resolve_context,
)
from refinery.store.paths import context_file


@pytest.fixture
def repo(tmp_path: Path) -> Settings:
    root = tmp_path / "repo"
    for name, text in {
        "prompts/system.txt": "You are a weather bot.",
        "prompts/tools.txt": "Call get_weather once.",
        "prompts/extra.txt": "Be brief.",
        "evals/cases.json": "[]",
        "evals/more.json": "[]",
        "config/agent.yaml": "model: gpt-4o\n",
    }.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Settings(repo_root=root)


def _saved(settings: Settings) -> dict[str, object]:
    data: dict[str, object] = json.loads(context_file(settings).read_text())
    return data


def test_first_run_saves_the_files(repo: Settings) -> None:
    resolved = resolve_context(
        repo,
        "weather",
        prompt_files=["prompts/system.txt"],
        eval_files=["evals/cases.json"],
        config_files=["config/agent.yaml"],
    )
    assert resolved.saved and resolved.created
    assert resolved.context.prompt_files == ("prompts/system.txt",)
    saved = _saved(repo)
    assert saved["version"] == 1
    project = saved["projects"]["weather"]  # type: ignore[index]
    assert project["prompt_files"] == ["prompts/system.txt"]
    assert project["eval_files"] == ["evals/cases.json"]
    assert project["config_files"] == ["config/agent.yaml"]


def test_later_run_without_flags_reuses_the_saved_files(repo: Settings) -> None:
    first = resolve_context(repo, "weather", prompt_files=["prompts/system.txt"])
    again = resolve_context(repo, "weather")
    assert again.context.prompt_files == ("prompts/system.txt",)
    assert not again.created and not again.missing and not again.warnings
    assert again.context.created == first.context.created
    assert again.context.last_used >= first.context.last_used


def test_first_run_without_files_saves_nothing_and_says_so(repo: Settings) -> None:
    resolved = resolve_context(repo, "weather")
    assert not resolved.saved
    assert resolved.context.all_files == ()
    assert resolved.warnings == (
        "project weather has no saved context: give --prompt-files, --eval-files, --config-files "
        "or --extract-from-trace",
    )
    assert not context_file(repo).exists()


def test_add_and_remove_change_the_saved_lists(repo: Settings) -> None:
    resolve_context(
        repo, "weather", prompt_files=["prompts/system.txt"], eval_files=["evals/cases.json"]
    )
    added = resolve_context(
        repo, "weather", add_prompts=["prompts/tools.txt"], add_evals=["evals/more.json"]
    )
    assert added.context.prompt_files == ("prompts/system.txt", "prompts/tools.txt")
    assert added.context.eval_files == ("evals/cases.json", "evals/more.json")
    removed = resolve_context(
        repo, "weather", remove_prompts=["prompts/system.txt"], remove_evals=["evals/cases.json"]
    )
    assert removed.context.prompt_files == ("prompts/tools.txt",)
    assert removed.context.eval_files == ("evals/more.json",)
    assert load_contexts(repo)["weather"].prompt_files == ("prompts/tools.txt",)


def test_file_flags_without_update_add_to_the_saved_list(repo: Settings) -> None:
    resolve_context(repo, "weather", prompt_files=["prompts/system.txt"])
    resolved = resolve_context(
        repo, "weather", prompt_files=["prompts/tools.txt", "prompts/system.txt"]
    )
    assert resolved.context.prompt_files == ("prompts/system.txt", "prompts/tools.txt")


def test_update_replaces_the_kinds_given_and_keeps_the_others(repo: Settings) -> None:
    resolve_context(
        repo,
        "weather",
        prompt_files=["prompts/system.txt", "prompts/tools.txt"],
        eval_files=["evals/cases.json"],
    )
    resolved = resolve_context(repo, "weather", prompt_files=["prompts/extra.txt"], update=True)
    assert resolved.context.prompt_files == ("prompts/extra.txt",)
    assert resolved.context.eval_files == ("evals/cases.json",)


def test_update_without_files_keeps_the_context_and_warns(repo: Settings) -> None:
    resolve_context(repo, "weather", prompt_files=["prompts/system.txt"])
    resolved = resolve_context(repo, "weather", update=True)
    assert resolved.context.prompt_files == ("prompts/system.txt",)
    assert "--update was given without files: the saved context is kept" in resolved.warnings


def test_removing_a_file_not_in_the_context_warns(repo: Settings) -> None:
    resolve_context(repo, "weather", prompt_files=["prompts/system.txt"])
    resolved = resolve_context(repo, "weather", remove_prompts=["prompts/tools.txt"])
    assert resolved.warnings == (
        "prompts/tools.txt is not a prompt file of project weather: nothing to remove",
    )


def test_a_vanished_file_is_reported_and_dropped(repo: Settings) -> None:
    resolve_context(repo, "weather", prompt_files=["prompts/system.txt", "prompts/tools.txt"])
    (repo.repo_root / "prompts/tools.txt").unlink()
    resolved = resolve_context(repo, "weather")
    assert resolved.missing == ("prompts/tools.txt",)
    assert resolved.context.prompt_files == ("prompts/system.txt",)
    assert load_contexts(repo)["weather"].prompt_files == ("prompts/system.txt",)


def test_relative_paths_are_read_from_the_given_directory(repo: Settings) -> None:
    resolved = resolve_context(
        repo, "weather", prompt_files=["system.txt"], cwd=repo.repo_root / "prompts"
    )
    assert resolved.context.prompt_files == ("prompts/system.txt",)


def test_absolute_paths_inside_the_repository_are_stored_relative(repo: Settings) -> None:
    absolute = str(repo.repo_root / "prompts" / ".." / "prompts" / "system.txt")
    resolved = resolve_context(repo, "weather", prompt_files=[absolute])
    assert resolved.context.prompt_files == ("prompts/system.txt",)


@pytest.mark.parametrize("path", ["../outside.txt", "prompts/../../outside.txt", "OUTSIDE_ABS"])
def test_a_path_outside_the_repository_is_refused(repo: Settings, path: str) -> None:
    outside = repo.repo_root.parent / "outside.txt"
    outside.write_text("secret")
    given = str(outside) if path == "OUTSIDE_ABS" else path
    with pytest.raises(InputError) as caught:
        resolve_context(repo, "weather", prompt_files=[given])
    assert str(caught.value) == (
        f"{given}: outside the repository {repo.repo_root}: "
        "context files must be files inside the repository Refinery works in"
    )
    assert not context_file(repo).exists()


def test_a_symlink_pointing_outside_the_repository_is_refused(repo: Settings) -> None:
    outside = repo.repo_root.parent / "elsewhere"
    outside.mkdir()
    (outside / "prompt.txt").write_text("x")
    (repo.repo_root / "linked").symlink_to(outside)
    with pytest.raises(InputError, match="linked/prompt.txt: outside the repository"):
        resolve_context(repo, "weather", prompt_files=["linked/prompt.txt"])


def test_a_symlink_inside_the_repository_is_kept_by_its_own_name(repo: Settings) -> None:
    (repo.repo_root / "current.txt").symlink_to(repo.repo_root / "prompts" / "system.txt")
    resolved = resolve_context(repo, "weather", prompt_files=["current.txt"])
    assert resolved.context.prompt_files == ("current.txt",)


def test_a_missing_new_file_is_an_input_error_naming_it(repo: Settings) -> None:
    with pytest.raises(InputError) as caught:
        resolve_context(repo, "weather", prompt_files=["prompts/typo.txt"])
    assert str(caught.value) == "prompts/typo.txt: no such file: check the path and its spelling"


def test_a_directory_is_refused(repo: Settings) -> None:
    with pytest.raises(InputError, match="^prompts: not a file"):
        resolve_context(repo, "weather", prompt_files=["prompts"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_refused(repo: Settings) -> None:
    secret = repo.repo_root / "prompts" / "locked.txt"
    secret.write_text("x")
    secret.chmod(0)
    try:
        with pytest.raises(
            InputError, match=r"^prompts/locked.txt: cannot be read \(Permission denied\)"
        ):
            resolve_context(repo, "weather", prompt_files=["prompts/locked.txt"])
    finally:
        secret.chmod(0o600)


@pytest.mark.parametrize("name", ["../evil", "a/b", "", ".hidden", "x" * 65, "trailing."])
def test_unsafe_project_names_are_refused(repo: Settings, name: str) -> None:
    with pytest.raises(InputError, match="invalid project name"):
        resolve_context(repo, name, prompt_files=["prompts/system.txt"])


CORRUPT = {
    "truncated": '{"version": 1, "projects": {',
    "not_an_object": "[1, 2]",
    "newer_version": '{"version": 2, "projects": {}}',
    "no_version": '{"projects": {}}',
    "escaping_path": json.dumps(
        {
            "version": 1,
            "projects": {
                "w": {
                    "name": "w",
                    "prompt_files": ["../../etc/passwd"],
                    "created": "2025-01-01T00:00:00Z",
                    "last_used": "2025-01-01T00:00:00Z",
                }
            },
        }
    ),
    "renamed_key": json.dumps(
        {
            "version": 1,
            "projects": {
                "w": {
                    "name": "other",
                    "created": "2025-01-01T00:00:00Z",
                    "last_used": "2025-01-01T00:00:00Z",
                }
            },
        }
    ),
    "typo_field": json.dumps(
        {
            "version": 1,
            "projects": {
                "w": {
                    "name": "w",
                    "prompt_file": [],
                    "created": "2025-01-01T00:00:00Z",
                    "last_used": "2025-01-01T00:00:00Z",
                }
            },
        }
    ),
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_context_file_is_an_error_and_is_left_byte_identical(
    repo: Settings, content: str
) -> None:
    path = context_file(repo)
    path.parent.mkdir()
    path.write_text(content)
    before = path.read_bytes()
    for attempt in (
        lambda: resolve_context(repo, "w", prompt_files=["prompts/system.txt"]),
        lambda: load_contexts(repo),
        lambda: list_projects(repo),
        lambda: clear_project(repo, "w"),
    ):
        with pytest.raises(ConfigError) as caught:
            attempt()
        assert caught.value.exit_code == 2
        message = str(caught.value)
        assert message.startswith(".refinery/context.json is not a valid context file: ")
        assert message.endswith(
            "fix it by hand, or move it away to start over (Refinery will not overwrite it)"
        )
        assert "\n" not in message
    assert path.read_bytes() == before
    assert list(path.parent.glob("context.json.bak-*")) == []


def test_corrupt_json_error_names_the_line(repo: Settings) -> None:
    path = context_file(repo)
    path.parent.mkdir()
    path.write_text('{\n  "version": 1,\n  "projects": {,}\n}')
    with pytest.raises(ConfigError, match=r"invalid JSON at line 3 \(Expecting property name"):
        load_contexts(repo)


def test_the_error_offers_the_newest_backup(repo: Settings) -> None:
    resolve_context(repo, "weather", prompt_files=["prompts/system.txt"])
    resolve_context(repo, "weather")
    context_file(repo).write_text("{oops")
    backup = max(context_file(repo).parent.glob("context.json.bak-*"))
    with pytest.raises(
        ConfigError, match=f"restore the backup .refinery/{backup.name}, or move it away"
    ):
        load_contexts(repo)


def test_a_backup_of_the_previous_content_is_made_before_each_rewrite(repo: Settings) -> None:
    resolve_context(repo, "weather", prompt_files=["prompts/system.txt"])
    first = context_file(repo).read_bytes()
    assert list(context_file(repo).parent.glob("context.json.bak-*")) == []
    resolve_context(repo, "weather", add_prompts=["prompts/tools.txt"])
    backups = sorted(context_file(repo).parent.glob("context.json.bak-*"))
    assert [b.read_bytes() for b in backups] == [first]


def test_old_backups_are_pruned(repo: Settings) -> None:
    for _ in range(8):
        resolve_context(repo, "weather", prompt_files=["prompts/system.txt"])
    assert len(list(context_file(repo).parent.glob("context.json.bak-*"))) == 5


def test_no_temporary_files_are_left_behind(repo: Settings) -> None:
    resolve_context(repo, "weather", prompt_files=["prompts/system.txt"])
    resolve_context(repo, "weather")
    names = {p.name for p in context_file(repo).parent.iterdir()}
    assert not [n for n in names if n.endswith(".tmp")]


def test_extracted_files_join_the_context_and_are_marked(repo: Settings) -> None:
    extracted = repo.repo_root / ".refinery/projects/weather/prompts/system_prompt_1_abcdef.txt"
    extracted.parent.mkdir(parents=True)
    extracted.write_text("You are a weather bot.")
    additions = ContextAdditions(prompt_files=(extracted.relative_to(repo.repo_root).as_posix(),))
    resolved = resolve_context(
        repo, "weather", prompt_files=["prompts/tools.txt"], extracted=additions
    )
    assert resolved.context.prompt_files == (
        "prompts/tools.txt",
        ".refinery/projects/weather/prompts/system_prompt_1_abcdef.txt",
    )
    assert resolved.context.extracted_files == (
        ".refinery/projects/weather/prompts/system_prompt_1_abcdef.txt",
    )
    files = {f.path: f for f in describe_project(repo, "weather").files}
    assert files[".refinery/projects/weather/prompts/system_prompt_1_abcdef.txt"].extracted
    assert not files["prompts/tools.txt"].extracted


def test_list_describe_and_clear(repo: Settings) -> None:
    resolve_context(
        repo, "alpha", prompt_files=["prompts/system.txt"], eval_files=["evals/cases.json"]
    )
    resolve_context(repo, "beta", prompt_files=["prompts/tools.txt"])
    (repo.repo_root / "evals/cases.json").unlink()
    summaries = {s.name: s for s in list_projects(repo)}
    assert [s.name for s in list_projects(repo)] == ["beta", "alpha"]
    assert (
        summaries["alpha"].prompt_files,
        summaries["alpha"].eval_files,
        summaries["alpha"].missing_files,
    ) == (1, 1, 1)
    description = describe_project(repo, "alpha")
    assert [(f.path, f.kind.value, f.exists) for f in description.files] == [
        ("prompts/system.txt", "prompt", True),
        ("evals/cases.json", "eval", False),
    ]
    cleared = clear_project(repo, "alpha")
    assert cleared.prompt_files == ("prompts/system.txt",)
    assert set(load_contexts(repo)) == {"beta"}
    assert (repo.repo_root / "prompts/system.txt").exists()


def test_describing_an_unknown_project_names_the_known_ones(repo: Settings) -> None:
    resolve_context(repo, "alpha", prompt_files=["prompts/system.txt"])
    with pytest.raises(InputError) as caught:
        describe_project(repo, "nope")
    assert str(caught.value) == (
        "project 'nope' has no saved context (saved projects: alpha): "
        "list them with: refinery context --list"
    )


def test_a_hand_edited_but_valid_file_is_accepted(repo: Settings) -> None:
    resolve_context(repo, "weather", prompt_files=["prompts/system.txt"])
    data = _saved(repo)
    data["projects"]["weather"]["eval_files"] = ["evals/cases.json"]  # type: ignore[index]
    context_file(repo).write_text(json.dumps(data, indent=4))
    assert resolve_context(repo, "weather").context.eval_files == ("evals/cases.json",)


_WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from refinery.config import Settings
    from refinery.store.context import resolve_context

    root, tag, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    settings = Settings(repo_root=root)
    for i in range(count):
        resolve_context(settings, "shared", add_prompts=[f"prompts/{tag}_{i}.txt"])
    """
)


def test_two_processes_updating_the_context_at_once_lose_nothing(repo: Settings) -> None:
    count = 15
    for tag in ("a", "b"):
        for i in range(count):
            (repo.repo_root / f"prompts/{tag}_{i}.txt").write_text(f"{tag}{i}")
    workers = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(repo.repo_root), tag, str(count)])
        for tag in ("a", "b")
    ]
    assert [w.wait(timeout=60) for w in workers] == [0, 0]
    saved = _saved(repo)
    prompts = set(saved["projects"]["shared"]["prompt_files"])  # type: ignore[index]
    assert prompts == {f"prompts/{tag}_{i}.txt" for tag in ("a", "b") for i in range(count)}
