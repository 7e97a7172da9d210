"""``--extract-from-trace``: the agent's prompts, model configs and eval examples, as files.

A domain expert may not know where the agent's prompts live, but the trace shows them: system and
user prompts sent to the model, prompt templates (LangChain prompt runs; OpenInference
``llm.prompt_template.*`` attributes), the model's parameters and tools, and an input with what came
out. They are written under ``.refinery/projects/<name>/`` so that they can join the project's
context and be fixed like any other file.

Names are derived (SPEC §6), never taken from the trace: a kind, an index, a content hash and the
trace's id reduced to eight letters or digits, so nothing in a trace can steer a write outside the
project folder. Every text is redacted before it is written (``<api key>``, ``<email>``): these
files are meant to be committed, and a key in a trace's system prompt must not follow. Files are
deduplicated by (redacted) content across traces: identical content found again reuses the existing
file and never rewrites it, and a file edited since extraction is left alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from ..atomic import write_atomic
from ..config import Settings
from ..redaction import redact_text, redact_texts
from ..traces.messages import normalise_messages
from ..traces.model import Message, Run, RunKind, Trace
from .context import ContextAdditions
from .paths import ProjectFolder, check_project_name, project_dir, project_folder

_TEMPLATE = "llm.prompt_template.template"
_PLACEHOLDER = "placeholder"
_PARAMS = ("temperature", "max_tokens", "max_completion_tokens", "max_output_tokens", "top_p")
_MORE_PARAMS = ("top_k", "stop", "seed", "response_format", "tool_choice", "reasoning_effort")
_METADATA_PARAMS = {
    "ls_temperature": "temperature",
    "ls_max_tokens": "max_tokens",
    "gen_ai.request.temperature": "temperature",
    "gen_ai.request.max_tokens": "max_tokens",
    "gen_ai.request.top_p": "top_p",
}
_SECRET_KEY = re.compile(r"api_?key|secret|password|authorization|credential", re.IGNORECASE)
_REFERENCE_KEYS = ("reference_example_id", "example_id", "dataset_id", "dataset_name")
_NO_PROMPT = (
    "the trace records no system prompt or prompt template: no prompt file was saved; "
    "pass the file holding the agent's prompt with --prompt-files"
)
_EXPECTED_KEYS = ("expected", "expected_output", "reference_output", "ground_truth", "answer")


class Extraction(ContextAdditions):
    """Files extracted from one trace: the context additions plus what was written or reused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metadata_file: str
    """``trace_<trace8>_metadata.json``, relative to the repository root (not a fix target)."""
    written: tuple[str, ...] = ()
    """Files this extraction created or updated."""
    reused: tuple[str, ...] = ()
    """Files that already held this content (from this or another trace) and were left as is."""
    notes: tuple[str, ...] = ()
    """What could not be extracted, for the user (no system prompt in the trace...)."""


def extract_from_trace(
    trace: Trace, settings: Settings, project: str, *, expected: str | None = None
) -> Extraction:
    """Write the prompts, model config and eval examples found in ``trace`` into the project folder.

    Args:
        trace: the trace to read.
        settings: where the repository and ``.refinery/`` are.
        project: the project whose folder receives the files.
        expected: the user's expected behaviour, recorded with the eval example.
    """
    check_project_name(project)
    writer = _Writer(settings=settings, project=project)
    trace8 = trace_key(trace)
    systems = system_prompts(trace)
    # Without a system prompt the user's question is conversation, not the agent's prompt: saving
    # it as a prompt file would make every fix edit the user's question.
    users = user_prompts(trace) if systems else []
    prompts = _unique(
        [
            *(writer.prompt("system_prompt", t, indexed=True) for t in systems),
            *(writer.prompt("user_prompt", t, indexed=True) for t in users),
            *(writer.prompt(f"template_{n}", t, indexed=False) for n, t in prompt_templates(trace)),
        ]
    )
    config, examples = model_configs(trace), eval_examples(trace, expected)
    configs = (
        (writer.json(ProjectFolder.CONFIGS, "model_config", trace8, config),) if config else ()
    )
    evals = (
        (writer.json(ProjectFolder.EVALS, "eval_examples", trace8, examples),) if examples else ()
    )
    files = {"prompts": list(prompts), "evals": list(evals), "configs": list(configs)}
    metadata = writer.metadata(trace8, _trace_metadata(trace, files))
    return Extraction(
        prompt_files=prompts,
        eval_files=evals,
        config_files=configs,
        metadata_file=metadata,
        written=tuple(writer.written),
        reused=tuple(writer.reused),
        notes=() if prompts else (_NO_PROMPT,),
    )


def trace_key(trace: Trace) -> str:
    """Eight letters or digits naming the trace in file names.

    The last eight of the id's letters and digits: the first ones of a UUIDv7 (LangSmith) are a
    timestamp shared by traces started within a minute. An id too short to be unique (a
    transcript's) is replaced by a hash of the trace's content.
    """
    letters = re.sub(r"[^0-9a-zA-Z]", "", trace.id).lower()
    if len(letters) >= 16:
        return letters[-8:]
    return _hash(trace.model_dump_json(), 8)


# -- what the trace says ------------------------------------------------------------------------


def system_prompts(trace: Trace) -> list[str]:
    """Distinct system prompts sent to a model, in order of first use."""
    return _distinct(m.content for m in _sent_messages(trace) if m.role == "system")


def user_prompts(trace: Trace) -> list[str]:
    """The user message that opens each agent's work: the last one of its first model call.

    An agent is told apart by its system prompt; later turns of its conversation, and earlier
    turns replayed as chat history, are conversation rather than prompt.
    """
    openings: dict[str, str] = {}
    for run in trace.of_kind(RunKind.LLM):
        system = next((m.content for m in run.input_messages if m.role == "system"), "")
        users = [m.content for m in run.input_messages if m.role == "user"]
        if users and system not in openings:
            openings[system] = users[-1]
    return _distinct(openings.values())


def prompt_templates(trace: Trace) -> list[tuple[str, str]]:
    """Distinct ``(derived name, template text)`` from prompt runs and OpenInference attributes."""
    found: dict[str, str] = {}
    for run in trace:
        text = _openinference_template(run) or (
            _langchain_template(run) if run.kind is RunKind.PROMPT else ""
        )
        if text.strip():
            found.setdefault(text, safe_name(_template_name(run)))
    return [(name, text) for text, name in found.items()]


def model_configs(trace: Trace) -> dict[str, Any]:
    """``{"models": [...]}``: each distinct model, parameters and tools the LLM runs used."""
    merged: list[dict[str, Any]] = []
    for config in (_model_config(run) for run in trace.of_kind(RunKind.LLM)):
        same = next((m for m in merged if _compatible(m, config)), None)
        if same is None:
            merged.append(config)
        else:
            same.update(config)
    return {"models": merged} if merged else {}


def _compatible(known: dict[str, Any], config: dict[str, Any]) -> bool:
    """Two calls' configs describe one model setup when no key they share differs."""
    return known.get("model") == config.get("model") and all(
        known[key] == value for key, value in config.items() if key in known
    )


def eval_examples(trace: Trace, expected: str | None = None) -> dict[str, Any]:
    """``{"examples": [...]}``: the trace's input with what came out and what was expected."""
    example_input = _example_input(trace)
    if not example_input:
        return {}
    example: dict[str, Any] = {"input": example_input, "observed_output": _observed_output(trace)}
    metadata = {**trace.metadata, **trace.root.metadata}
    found = next((metadata[k] for k in _EXPECTED_KEYS if metadata.get(k) not in (None, "")), None)
    if expected or found is not None:
        example["expected"] = expected or found
    reference = {k: metadata[k] for k in _REFERENCE_KEYS if metadata.get(k)}
    if reference:
        example["dataset_reference"] = reference
    return {"examples": [example]}


def safe_name(text: str) -> str:
    """A file-name fragment derived from ``text``: lowercase letters, digits and ``_`` only."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40].strip("_")
    return cleaned or "prompt"


def _sent_messages(trace: Trace) -> Iterator[Message]:
    for run in trace.of_kind(RunKind.LLM):
        yield from run.input_messages


def _distinct(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(t for t in texts if t.strip()))


def _attribute(mapping: dict[str, Any], dotted: str) -> Any:
    """A flat ``a.b.c`` key, or the same path through nested dicts."""
    if dotted in mapping:
        return mapping[dotted]
    value: Any = mapping
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _openinference_template(run: Run) -> str:
    for mapping in (run.metadata, run.inputs):
        template = _attribute(mapping, _TEMPLATE)
        if isinstance(template, str) and template.strip():
            return template
    return ""


def _langchain_template(run: Run) -> str:
    """A LangChain prompt run's output with each variable's value put back as ``{name}``."""
    output = (run.outputs or {}).get("output", run.outputs)
    kwargs = output.get("kwargs", output) if isinstance(output, dict) else {}
    if isinstance(kwargs, dict) and isinstance(kwargs.get("text"), str):
        return _templated(kwargs["text"], run.inputs)
    messages = normalise_messages(kwargs.get("messages") if isinstance(kwargs, dict) else None)
    if not messages and isinstance(output, str):
        return _templated(output, run.inputs)
    blocks = _placeholders(list(messages), run.inputs)
    return "\n\n".join(
        m.content if m.role == _PLACEHOLDER else f"[{m.role}]\n{_templated(m.content, run.inputs)}"
        for m in blocks
    )


def _templated(text: str, variables: dict[str, Any]) -> str:
    values = [(k, v) for k, v in variables.items() if isinstance(v, str) and v.strip()]
    for key, value in sorted(values, key=lambda item: len(item[1]), reverse=True):
        text = text.replace(value, "{" + key + "}")
    return text


def _placeholders(messages: list[Message], variables: dict[str, Any]) -> list[Message]:
    """Messages that came from a list variable (a MessagesPlaceholder) become ``{name}``."""
    for key, value in variables.items():
        block = list(normalise_messages(value)) if isinstance(value, list) else []
        for start in range(len(messages) - len(block) + 1 if block else 0):
            if messages[start : start + len(block)] == block:
                marker = Message(role=_PLACEHOLDER, content="{" + key + "}")
                messages = [*messages[:start], marker, *messages[start + len(block) :]]
                break
    return messages


def _template_name(run: Run) -> str:
    hub = run.metadata.get("lc_hub_repo")
    return str(hub) if isinstance(hub, str) and hub else run.name


def _model_config(run: Run) -> dict[str, Any]:
    params = {k: v for k, v in run.invocation_params.items() if not _SECRET_KEY.search(k)}
    for key, name in _METADATA_PARAMS.items():
        if run.metadata.get(key) is not None:
            params.setdefault(name, run.metadata[key])
    chosen = {k: params[k] for k in (*_PARAMS, *_MORE_PARAMS) if params.get(k) is not None}
    tools = params.get("tools") or params.get("functions") or list(run.available_tools)
    config: dict[str, Any] = {"model": run.model, "provider": run.provider, **chosen}
    if tools:
        config["tools"] = tools
    return {k: v for k, v in config.items() if v is not None}


def _example_input(trace: Trace) -> Any:
    inputs = trace.root.inputs
    if inputs and set(inputs) != {"messages"}:
        return _unwrap(inputs)
    first_user = next((m.content for m in _sent_messages(trace) if m.role == "user"), "")
    return first_user or (_unwrap(inputs) if inputs else "")


def _observed_output(trace: Trace) -> Any:
    if trace.root.outputs:
        return _unwrap(trace.root.outputs)
    llm_runs = trace.of_kind(RunKind.LLM)
    return llm_runs[-1].output_text if llm_runs else ""


def _unwrap(values: dict[str, Any]) -> Any:
    """A one-key dict's value (``{"input": "..."}`` → ``"..."``); the dict otherwise."""
    return next(iter(values.values())) if len(values) == 1 else values


def _trace_metadata(trace: Trace, files: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "trace_id": trace.id,
        "source": trace.source,
        "format": trace.format,
        "runs": len(trace),
        "root": trace.root.name,
        "models": _distinct(run.model or "" for run in trace.of_kind(RunKind.LLM)),
        "files": files,
    }


def _unique(paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(paths))


def _hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


# -- writing ------------------------------------------------------------------------------------


class _Writer:
    """Writes one extraction's files, reusing any file that already holds the same content."""

    def __init__(self, *, settings: Settings, project: str) -> None:
        self.settings = settings
        self.project = project
        self.written: list[str] = []
        self.reused: list[str] = []

    def prompt(self, stem: str, text: str, *, indexed: bool) -> str:
        """``prompts/<stem>_<i>_<hash6>.txt`` (``i``: next free index) or ``<stem>_<hash6>.txt``.

        A file of the same stem holding the same text is reused; so is one whose name carries this
        text's hash but whose content was edited since (the edit wins over the trace).
        """
        folder = project_folder(self.settings, self.project, ProjectFolder.PROMPTS)
        text = redact_text(text)
        data = text.encode("utf-8")
        digest = _hash(text, 6)
        pattern = _prompt_name(stem, indexed)
        ours = [p for p in sorted(folder.glob(f"{stem}_*.txt")) if pattern.match(p.name)]
        same = [p for p in ours if p.read_bytes() == data]
        named = [p for p in ours if p.name.endswith(f"_{digest}.txt")]
        if same or named:
            return self._reuse((same or named)[0])
        index = f"{_next_index(ours, pattern)}_" if indexed else ""
        return self._write(folder / f"{stem}_{index}{digest}.txt", data)

    def json(self, folder_kind: ProjectFolder, stem: str, trace8: str, value: Any) -> str:
        """``<folder>/<stem>_<trace8>.json``, or an earlier trace's file with the same content."""
        folder = project_folder(self.settings, self.project, folder_kind)
        data = _json_bytes(redacted_value(value))
        for existing in sorted(folder.glob(f"{stem}_*.json")):
            if existing.read_bytes() == data:
                return self._reuse(existing)
        target = folder / f"{stem}_{trace8}.json"
        if target.exists():  # edited since it was extracted: the user's (or a fix's) change wins
            return self._reuse(target)
        return self._write(target, data)

    def metadata(self, trace8: str, value: dict[str, Any]) -> str:
        """``trace_<trace8>_metadata.json``, rewritten only when its content changed."""
        target = project_dir(self.settings, self.project) / f"trace_{trace8}_metadata.json"
        data = _json_bytes(redacted_value(value))
        if target.exists() and target.read_bytes() == data:
            return self._reuse(target)
        return self._write(target, data)

    def _reuse(self, path: Path) -> str:
        relative = self._relative(path)
        self.reused.append(relative)
        return relative

    def _write(self, path: Path, data: bytes) -> str:
        write_atomic(path, data)
        relative = self._relative(path)
        self.written.append(relative)
        return relative

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.settings.repo_root).as_posix()


def _prompt_name(stem: str, indexed: bool) -> re.Pattern[str]:
    index = r"(\d+)_" if indexed else ""
    return re.compile(rf"^{re.escape(stem)}_{index}[0-9a-f]{{6}}\.txt$")


def _next_index(files: list[Path], pattern: re.Pattern[str]) -> int:
    used = [int(m.group(1)) for p in files if (m := pattern.match(p.name))]
    return max(used, default=0) + 1


def redacted_value(value: Any) -> Any:
    """``value`` with every string in it redacted (one secret scan for all of them)."""
    strings: list[str] = []
    _strings(value, strings)
    return _rebuilt(value, iter(redact_texts(strings)))


def _strings(value: Any, found: list[str]) -> None:
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings(item, found)


def _rebuilt(value: Any, redacted: Iterator[str]) -> Any:
    """``value`` with its strings taken, in ``_strings``' order, from ``redacted``."""
    if isinstance(value, str):
        return next(redacted)
    if isinstance(value, dict):
        return {key: _rebuilt(item, redacted) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rebuilt(item, redacted) for item in value]
    return value


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
