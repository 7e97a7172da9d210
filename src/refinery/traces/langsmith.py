"""LangSmith runs as files, and the run normaliser the LangSmith fetcher reuses.

Three shapes: a JSON list of runs, ``{"runs": [...]}`` (the ``POST /runs/query`` body) or ingest
payloads ``{"post": [...], "patch": [...]}``. ``langsmith_fetch.py`` reuses ``runs_to_trace``.

The tree comes from ``parent_run_id`` and ``dotted_order`` (lexical order is execution order); LLM
messages are normalised from LangChain's serialised messages, ``generations`` and OpenAI
``choices``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import InputError
from .messages import (
    arguments_text,
    messages_from_choices,
    messages_from_generations,
    normalise_messages,
    to_text,
)
from .model import Message, Run, RunKind, TokenUsage, Trace, build_trace, trusted
from .sources import TraceFormat, register_format
from .timeparse import parse_time

_KINDS = {kind.value: kind for kind in RunKind}


def detect(doc: Any) -> bool:
    """True for a list of runs, ``{"runs": [...]}`` or ``{"post": [...], "patch": [...]}``."""
    if isinstance(doc, dict):
        if isinstance(doc.get("post"), list) or isinstance(doc.get("patch"), list):
            return True
        doc = doc.get("runs")
    return isinstance(doc, list) and bool(doc) and all(_looks_like_run(r) for r in doc[:5])


def _looks_like_run(value: Any) -> bool:
    return isinstance(value, dict) and "run_type" in value and "id" in value


def parse(doc: Any, origin: str) -> Trace:
    """A Trace from any of the three LangSmith shapes."""
    if isinstance(doc, dict) and ("post" in doc or "patch" in doc):
        posts, patches = doc.get("post") or [], doc.get("patch") or []
        if not isinstance(posts, list) or not isinstance(patches, list):
            raise InputError(
                f"cannot read {origin}: an ingest payload's 'post' and 'patch' must be lists "
                "of runs",
                "export the trace again",
            )
        raw_runs = merge_ingest(posts, patches)
    else:
        raw_runs = doc["runs"] if isinstance(doc, dict) else doc
    return runs_to_trace(raw_runs, source="file", origin=origin)


def merge_ingest(posts: Iterable[Any], patches: Iterable[Any]) -> list[dict[str, Any]]:
    """Runs from ingest payloads: each patch updates the post with the same id (or stands alone)."""
    merged: dict[str, dict[str, Any]] = {}
    for raw in (*posts, *patches):
        key = _ingest_key(raw)
        if key:
            merged.setdefault(key, {}).update({k: v for k, v in raw.items() if v is not None})
    return list(merged.values())


def _ingest_key(raw: Any) -> str | None:
    """A run id; for a patch without one (as the JS SDK sends), the id ending its dotted order."""
    if not isinstance(raw, dict):
        return None
    if raw.get("id"):
        return str(raw["id"])
    order = str(raw.get("dotted_order") or "")
    return order.split(".")[-1][-36:] or None


def runs_to_trace(raw_runs: Iterable[Any], *, source: str, origin: str) -> Trace:
    """Normalise LangSmith run dicts and build the tree."""
    runs = [parse_run(raw, origin) for raw in raw_runs]
    trace_ids = {run.trace_id for run in runs if run.trace_id}
    root_ids = [run.id for run in runs if run.parent_id is None]
    trace_id = next(iter(trace_ids)) if len(trace_ids) == 1 else (root_ids[0] if root_ids else None)
    return build_trace(runs, trace_id=trace_id, source=source, format="langsmith-runs")


def parse_run(raw: Any, origin: str = "trace") -> Run:
    """One LangSmith run dict as a Run."""
    if not isinstance(raw, dict) or not raw.get("id"):
        raise InputError(f"cannot read {origin}: a run has no id", "export the trace again")
    extra = _dict(raw.get("extra"))
    metadata = _dict(extra.get("metadata"))
    params = _dict(extra.get("invocation_params"))
    inputs = _dict(raw.get("inputs"))
    outputs: dict[str, Any] | None = _dict(raw.get("outputs")) or None
    kind = _KINDS.get(str(raw.get("run_type", "")).lower(), RunKind.OTHER)
    error = to_text(raw.get("error")) or None
    run_id = str(raw["id"])
    output_messages = _output_messages(outputs) if kind is RunKind.LLM else ()
    # Every value below is typed by this module (str(), isinstance, _dict, our models): no
    # validation needed, and it would be a third of the cost of reading a big trace.
    return trusted(
        Run,
        id=run_id,
        trace_id=str(raw.get("trace_id") or ""),
        parent_id=_parent_id(raw),
        order=str(raw.get("dotted_order") or ""),
        name=str(raw.get("name") or ""),
        kind=kind,
        start_time=parse_time(raw.get("start_time")),
        end_time=parse_time(raw.get("end_time")),
        inputs=inputs,
        outputs=outputs,
        error=error,
        status="error" if error or raw.get("status") == "error" else "ok",
        model=_model(inputs, params, metadata, outputs) if kind is RunKind.LLM else None,
        provider=_str_or_none(metadata.get("ls_provider")),
        invocation_params=params,
        usage=_usage(raw, metadata, outputs),
        input_messages=_input_messages(inputs) if kind is RunKind.LLM else (),
        output_messages=output_messages,
        finish_reason=_finish_reason(outputs) if kind is RunKind.LLM else None,
        available_tools=_tool_names(params.get("tools") or inputs.get("tools")),
        tool_name=str(raw.get("name") or "") if kind is RunKind.TOOL else None,
        tool_args=_tool_args(inputs) if kind is RunKind.TOOL else None,
        tool_result=_tool_result(outputs) if kind is RunKind.TOOL else None,
        metadata=metadata,
        tags=tuple(str(t) for t in raw["tags"]) if isinstance(raw.get("tags"), list) else (),
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _parent_id(raw: dict[str, Any]) -> str | None:
    parent = raw.get("parent_run_id")
    if parent:
        return str(parent)
    parents = raw.get("parent_run_ids")
    if isinstance(parents, list) and parents:
        return str(parents[-1])
    order = str(raw.get("dotted_order") or "")
    if order.count(".") >= 1:
        return order.split(".")[-2][-36:]
    return None


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _model(
    inputs: dict[str, Any],
    params: dict[str, Any],
    metadata: dict[str, Any],
    outputs: dict[str, Any] | None,
) -> str | None:
    for value in (
        metadata.get("ls_model_name"),
        params.get("model"),
        params.get("model_name"),
        inputs.get("model"),
        (outputs or {}).get("model"),
    ):
        if isinstance(value, str) and value:
            return value
    return None


def _input_messages(inputs: dict[str, Any]) -> tuple[Message, ...]:
    if "messages" in inputs:
        return normalise_messages(inputs["messages"])
    prompts = inputs.get("prompts") or ([inputs["prompt"]] if "prompt" in inputs else [])
    return tuple(Message(role="user", content=to_text(p)) for p in prompts)


def _output_messages(outputs: dict[str, Any] | None) -> tuple[Message, ...]:
    if not outputs:
        return ()
    if "generations" in outputs:
        return messages_from_generations(outputs["generations"])
    if "choices" in outputs:
        return messages_from_choices(outputs["choices"])
    if "messages" in outputs:
        return normalise_messages(outputs["messages"])
    if isinstance(outputs.get("content"), str | list) or "role" in outputs:
        return normalise_messages(outputs)
    return ()


def _finish_reason(outputs: dict[str, Any] | None) -> str | None:
    if not outputs:
        return None
    for choice in outputs.get("choices") or []:
        if isinstance(choice, dict) and choice.get("finish_reason"):
            return str(choice["finish_reason"])
    for generation in _first_generations(outputs.get("generations")):
        info = _dict(generation.get("generation_info"))
        message = _dict(generation.get("message"))
        meta = _dict(_dict(message.get("kwargs", message)).get("response_metadata"))
        for reason in (
            info.get("finish_reason"),
            meta.get("finish_reason"),
            meta.get("stop_reason"),
        ):
            if reason:
                return str(reason)
    reason = outputs.get("finish_reason") or outputs.get("stop_reason")
    return str(reason) if reason else None


def _first_generations(generations: Any) -> list[dict[str, Any]]:
    if not isinstance(generations, list):
        return []
    flat = generations[0] if generations and isinstance(generations[0], list) else generations
    return [g for g in flat if isinstance(g, dict)]


def _usage(
    raw: dict[str, Any], metadata: dict[str, Any], outputs: dict[str, Any] | None
) -> TokenUsage | None:
    candidates = [
        metadata.get("usage_metadata"),
        (outputs or {}).get("usage_metadata"),
        (outputs or {}).get("usage"),
        ((outputs or {}).get("llm_output") or {}).get("token_usage")
        if isinstance((outputs or {}).get("llm_output"), dict)
        else None,
    ]
    for usage in candidates:
        if isinstance(usage, dict):
            prompt = usage.get("input_tokens", usage.get("prompt_tokens"))
            completion = usage.get("output_tokens", usage.get("completion_tokens"))
            if isinstance(prompt, int) or isinstance(completion, int):
                return _usage_of(prompt, completion, usage.get("total_tokens"))
    if isinstance(raw.get("prompt_tokens"), int) or isinstance(raw.get("total_tokens"), int):
        return _usage_of(
            raw.get("prompt_tokens"), raw.get("completion_tokens"), raw.get("total_tokens")
        )
    return None


def _usage_of(prompt: Any, completion: Any, total: Any) -> TokenUsage:
    p = prompt if isinstance(prompt, int) else None
    c = completion if isinstance(completion, int) else None
    t = (
        total
        if isinstance(total, int)
        else ((p or 0) + (c or 0) if p is not None or c is not None else None)
    )
    return trusted(TokenUsage, prompt_tokens=p, completion_tokens=c, total_tokens=t)


def _tool_names(tools: Any) -> tuple[str, ...]:
    names: list[str] = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        function = _dict(tool.get("function")) or tool
        if isinstance(function.get("name"), str):
            names.append(function["name"])
    return tuple(names)


def _tool_args(inputs: dict[str, Any]) -> str:
    if set(inputs) == {"input"}:
        return arguments_text(inputs["input"])
    return arguments_text(inputs)


def _tool_result(outputs: dict[str, Any] | None) -> str | None:
    if not outputs:
        return None
    if set(outputs) == {"output"}:
        value = outputs["output"]
        if isinstance(value, dict) and value.get("lc") == 1:
            return to_text((value.get("kwargs") or {}).get("content"))
        return to_text(value)
    return to_text(outputs)


register_format(TraceFormat(name="langsmith-runs", detect=detect, parse=parse))
