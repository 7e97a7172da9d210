"""A fix's edits mapped onto the recorded call: the variant of the call that the fix would produce.

- A prompt edit is applied to the recorded system (then developer, then user) message where its
  anchor occurs (literally, through template variables, or ignoring whitespace). When the trace
  was recorded with another version of a whole-file prompt, an edit that only adds text after the
  file's last line (or before its first) adds it at the same end of the recorded system prompt.
- A config edit changes the call parameter it names: temperature, max tokens, model. Other keys
  (tool timeouts, retries) do not exist in a single call and are reported as not mapped.
- An eval edit adds cases; a fix made only of eval edits is verified without replay.
Anything that cannot be mapped says why, one line per edit.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import yaml

from ..analysis.structured import load_structured
from ..fixes.edits import edit_text
from ..models.diagnosis import Edit, Hypothesis
from .anchors import Placed, place
from .call import RecordedCall
from .cases import EvalCase, read_cases

_WHOLE_TEXT = {"", ".txt", ".md", ".prompt", ".j2", ".jinja", ".jinja2", ".tmpl", ".mustache"}
_ROLES = ("system", "developer", "user")
_PARAMS = {
    "temperature": "temperature",
    "max_tokens": "max_tokens", "max_output_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens", "maxoutputtokens": "max_tokens",
    "model": "model", "model_name": "model",
}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ProjectFiles:
    """The project's context files and their current text."""

    prompts: dict[str, str]
    evals: dict[str, str]
    configs: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One fix as a variant of the recorded call."""

    rank: int
    title: str
    call: RecordedCall | None
    """The patched call; None when nothing of the fix applies to the call."""
    cases: tuple[EvalCase, ...] = ()
    """Eval cases the fix adds."""
    notes: tuple[str, ...] = ()
    """How each edit was mapped."""
    problem: str | None = None
    """Why the fix cannot be verified by replay (None: it can, or it is eval-only)."""

    @property
    def eval_only(self) -> bool:
        """True when the fix only adds eval cases."""
        return self.call is None and self.problem is None and bool(self.cases)


def variant(hypothesis: Hypothesis, call: RecordedCall, files: ProjectFiles) -> Variant:
    """The recorded call with the fix's edits applied, or why it cannot be."""
    patched, notes, problems, cases = call, [], [], []
    changed = False
    for edit in hypothesis.edits:
        if edit.file in files.prompts:
            result = _prompt_edit(patched, edit, files.prompts[edit.file])
        elif edit.file in files.configs:
            result = _config_edit(patched, edit, files.configs[edit.file])
        elif edit.file in files.evals:
            added = _added_cases(edit, files.evals[edit.file])
            cases.extend(added)
            notes.append(f"{edit.file}: adds {len(added)} eval case(s)")
            continue
        else:
            result = f"{edit.file} is not one of the project's context files"
        if isinstance(result, str):
            problems.append(f"{edit.file}: {result}")
        else:
            patched, note = result
            notes.append(note)
            changed = True
    return _variant(hypothesis, patched if changed else None, notes, problems, cases)


def _variant(
    hypothesis: Hypothesis,
    patched: RecordedCall | None,
    notes: list[str],
    problems: list[str],
    cases: list[EvalCase],
) -> Variant:
    problem = None
    if not hypothesis.edits:
        problem = "the fix has no edits"
    elif patched is None and problems:
        problem = "; ".join(problems)
    elif patched is not None and problems:
        notes.extend(f"not mapped: {p}" for p in problems)
    return Variant(
        rank=hypothesis.rank, title=hypothesis.title, call=patched, cases=tuple(cases),
        notes=tuple(notes), problem=problem,
    )  # fmt: skip


def _prompt_edit(call: RecordedCall, edit: Edit, content: str) -> tuple[RecordedCall, str] | str:
    reasons: list[str] = []
    for role in _ROLES:
        for index, message in enumerate(call.messages):
            if message.role != role:
                continue
            placed = place(message.content, edit.search, edit.replace)
            if isinstance(placed, Placed):
                return _with_message(call, index, placed.text), (
                    f"{edit.file}: applied to the recorded {role} message {placed.how}"
                )
            reasons.append(placed)
    return _at_prompt_end(call, edit, content) or (
        f"{_worst(reasons)} of the recorded call (it was recorded with another version of the "
        "file, or the file is not the prompt this call used)"
    )


def _worst(reasons: list[str]) -> str:
    return next(
        (r for r in reasons if "times" in r or "matches" in r or "variable" in r), None
    ) or ("its anchor occurs in no system or user message")


def _at_prompt_end(call: RecordedCall, edit: Edit, content: str) -> tuple[RecordedCall, str] | None:
    """An insertion at either end of a whole-file prompt, placed at that end of the system one."""
    system = next(
        (i for i, m in enumerate(call.messages) if m.role in ("system", "developer")), None
    )
    if system is None or PurePath(edit.file).suffix.lower() not in _WHOLE_TEXT or not edit.search:
        return None
    text = call.messages[system].content
    body = content.strip()
    if edit.replace.startswith(edit.search) and body.endswith(edit.search.strip()):
        added = edit.replace[len(edit.search) :]
        new, end = text.rstrip() + added, "end"
    elif edit.replace.endswith(edit.search) and body.startswith(edit.search.strip()):
        added = edit.replace[: len(edit.replace) - len(edit.search)]
        new, end = added + text.lstrip(), "start"
    else:
        return None
    note = (
        f"{edit.file}: the recorded system prompt differs from the file (recorded with another "
        f"version); the text the fix adds at the {end} of the file was added at the {end} of the "
        "recorded system prompt"
    )
    return _with_message(call, system, new), note


def _with_message(call: RecordedCall, index: int, text: str) -> RecordedCall:
    messages = list(call.messages)
    messages[index] = messages[index].model_copy(update={"content": text})
    return call.with_changes(messages=tuple(messages))


def _config_edit(call: RecordedCall, edit: Edit, content: str) -> tuple[RecordedCall, str] | str:
    after = edit_text(edit.file, content, [edit])
    if after.problems:
        return after.problems[0]
    try:
        old, new = load_structured(edit.file, content), load_structured(edit.file, after.text)
    except (ValueError, SyntaxError, yaml.YAMLError, csv.Error):
        return "the config does not parse, so the changed setting cannot be told"
    changed = _changed_leaves(old, new, ())
    mapped = {k: v for k, v in changed.items() if _PARAMS.get(k[-1].lower()) if k}
    if not mapped:
        names = ", ".join(".".join(map(str, k)) for k in changed) or "nothing"
        return f"it changes {names}, which is not a parameter of the recorded LLM call"
    updates = {_PARAMS[k[-1].lower()]: _param(_PARAMS[k[-1].lower()], v) for k, v in mapped.items()}
    said = ", ".join(f"{name} → {value}" for name, value in updates.items())
    skipped = [".".join(map(str, k)) for k in changed if k not in mapped]
    rest = f" ({', '.join(skipped)} not mapped: tools are not executed)" if skipped else ""
    return call.with_changes(**updates), f"{edit.file}: the replayed call uses {said}{rest}"


def _param(name: str, value: Any) -> Any:
    if name == "temperature":
        return float(value)
    if name == "max_tokens":
        return int(value)
    return str(value)


def _changed_leaves(old: Any, new: Any, path: tuple[str, ...]) -> dict[tuple[str, ...], Any]:
    if isinstance(new, dict):
        before = old if isinstance(old, dict) else {}
        changed: dict[tuple[str, ...], Any] = {}
        for key in new:
            changed.update(_changed_leaves(before.get(key), new[key], (*path, str(key))))
        return changed
    return {} if old == new else {path: new}


def _added_cases(edit: Edit, content: str) -> list[EvalCase]:
    after = edit_text(edit.file, content, [edit])
    if after.problems:
        return []
    before = {case.key for case in read_cases(edit.file, content)}
    return [case for case in read_cases(edit.file, after.text) if case.key not in before]


def config_defaults(files: ProjectFiles) -> dict[str, Any]:
    """Call parameters the config files set (temperature, max tokens, model), first found wins."""
    found: dict[str, Any] = {}
    for path, text in files.configs.items():
        try:
            data = load_structured(path, text)
        except (ValueError, SyntaxError, yaml.YAMLError, csv.Error):
            continue
        for key, value in _changed_leaves({}, data, ()).items():
            name = _PARAMS.get(key[-1].lower()) if key else None
            if name and name not in found and isinstance(value, str | int | float):
                try:
                    found[name] = _param(name, value)
                except ValueError:
                    continue
    return found
