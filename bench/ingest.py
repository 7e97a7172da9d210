"""Ingestion speed and memory on a 100,000-run trace, as LangSmith runs and as OTLP JSON.

Generates (in a temporary directory, never the repository) one agent story of N runs: a root chain,
then steps of an LLM call with multi-KB LangChain-serialised messages (system prompt, question, the
previous tool call and its result) and the tool run it asked for; every 50th tool times out. The
same story is written as a LangSmith ``{"runs": [...]}`` file and as an OTLP JSON file with
OpenInference attributes. For each file it prints:

- time: ``load_trace_file`` (read, detect, parse, normalise, build the tree) / ``json.loads`` of
  the same bytes (target ≤ 3×);
- memory: tracemalloc's peak during ``load_trace_file`` / the file size (target ≤ 4×);
- and, for information, how long ``analyse_tokens`` takes on the loaded trace.

Usage: python bench/ingest.py [--runs 100000] [--format langsmith|otlp|both] [--no-memory]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

MODEL = "gpt-4o-mini"
_WORDS = [
    "agent",
    "tool",
    "weather",
    "city",
    "forecast",
    "customer",
    "order",
    "refund",
    "policy",
    "account",
    "booking",
    "flight",
    "delay",
    "baggage",
    "search",
    "result",
    "document",
    "retrieve",
    "summary",
    "answer",
    "question",
    "please",
    "check",
    "status",
    "error",
    "timeout",
    "retry",
    "value",
    "number",
    "date",
    "time",
    "price",
    "total",
    "currency",
    "available",
]
_SYSTEM = " ".join(
    f"Rule {i}: always check the {_WORDS[i * 7 % len(_WORDS)]} with a tool before answering; "
    "never invent data, and say so plainly when a tool fails or returns nothing useful."
    for i in range(14)
)
_TOOL_NAMES = ("get_weather", "get_order", "search_docs")
_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"Look up the {name.split('_')[1]} for a query.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    }
    for name in _TOOL_NAMES
]
_START = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class Step:
    """One agent step: an LLM call that asks for a tool, and the tool run."""

    index: int
    llm_id: str
    tool_id: str
    call_id: str
    question: str
    previous: tuple[str, str, str, str] | None  # call id, tool name, args, result
    tool: str
    args: str
    result: str
    failed: bool
    prompt_tokens: int
    completion_tokens: int


def steps(count: int, seed: int = 7) -> Iterator[Step]:
    """The story's steps, the same for every writer (seeded)."""
    rng = random.Random(seed)
    previous = None
    for index in range(count):
        tool = _TOOL_NAMES[index % len(_TOOL_NAMES)]
        args = json.dumps({"query": _text(rng, 6)})
        step = Step(
            index=index,
            llm_id=_uuid(rng),
            tool_id=_uuid(rng),
            call_id=f"call_{rng.getrandbits(64):016x}",
            question=_text(rng, 25),
            previous=previous,
            tool=tool,
            args=args,
            result=_text(rng, 160),
            failed=index % 50 == 49,
            prompt_tokens=900 + rng.randrange(300),
            completion_tokens=20 + rng.randrange(30),
        )
        previous = (step.call_id, tool, args, step.result)
        yield step


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _when(step: int, offset_ms: int) -> datetime:
    return _START + timedelta(seconds=step, milliseconds=offset_ms)


# LangSmith runs ------------------------------------------------------------------------------


def _lc(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain", "schema", "messages", kind],
        "kwargs": kwargs,
    }


def _history(step: Step) -> list[dict[str, Any]]:
    messages = [
        _lc("SystemMessage", content=_SYSTEM, type="system"),
        _lc("HumanMessage", content=step.question, type="human"),
    ]
    if step.previous:
        call_id, tool, args, result = step.previous
        call = {"name": tool, "args": json.loads(args), "id": call_id, "type": "tool_call"}
        messages.append(_lc("AIMessage", content="", type="ai", tool_calls=[call]))
        messages.append(_lc("ToolMessage", content=result, type="tool", tool_call_id=call_id))
    return messages


def _ls_run(step: Step, root: str, root_order: str, kind: str, offset: int) -> dict[str, Any]:
    run_id = step.llm_id if kind == "llm" else step.tool_id
    start, end = _when(step.index, offset), _when(step.index, offset + 300)
    order = f"{start.strftime('%Y%m%dT%H%M%S%fZ')}{run_id}"
    return {
        "id": run_id,
        "trace_id": root,
        "parent_run_id": root,
        "dotted_order": f"{root_order}.{order}",
        "start_time": start.isoformat(),
        "end_time": end.isoformat(),
        "run_type": kind,
        "status": "success",
        "tags": ["bench"],
        "session_id": "11111111-1111-4111-8111-111111111111",
    }


def langsmith_llm(step: Step, root: str, root_order: str) -> dict[str, Any]:
    usage = {
        "input_tokens": step.prompt_tokens,
        "output_tokens": step.completion_tokens,
        "total_tokens": step.prompt_tokens + step.completion_tokens,
    }
    call = {
        "name": step.tool,
        "args": json.loads(step.args),
        "id": step.call_id,
        "type": "tool_call",
    }
    message = _lc(
        "AIMessage",
        content="",
        type="ai",
        tool_calls=[call],
        usage_metadata=usage,
        response_metadata={"finish_reason": "tool_calls", "model_name": MODEL},
    )
    return {
        **_ls_run(step, root, root_order, "llm", 0),
        "name": "ChatOpenAI",
        "inputs": {"messages": [_history(step)]},
        "outputs": {
            "generations": [
                [
                    {
                        "text": "",
                        "generation_info": {"finish_reason": "tool_calls"},
                        "type": "ChatGeneration",
                        "message": message,
                    }
                ]
            ],
            "llm_output": {"model_name": MODEL},
            "run": None,
            "type": "LLMResult",
        },
        "extra": {
            "invocation_params": {"model": MODEL, "_type": "openai-chat", "tools": _TOOLS},
            "metadata": {"ls_provider": "openai", "ls_model_name": MODEL, "usage_metadata": usage},
        },
    }


def langsmith_tool(step: Step, root: str, root_order: str) -> dict[str, Any]:
    run = {**_ls_run(step, root, root_order, "tool", 400), "name": step.tool}
    run["inputs"] = {"input": step.args}
    if step.failed:
        return {
            **run,
            "status": "error",
            "outputs": None,
            "error": f"TimeoutError('{step.tool} timed out after 30s')",
        }
    tool_message = _lc(
        "ToolMessage",
        content=step.result,
        type="tool",
        tool_call_id=step.call_id,
        name=step.tool,
        status="success",
    )
    return {**run, "outputs": {"output": tool_message}}


def write_langsmith(out: TextIO, count: int) -> None:
    root = "00000000-0000-4000-8000-000000000001"
    root_order = f"{_START.strftime('%Y%m%dT%H%M%S%fZ')}{root}"
    root_run = {
        "id": root,
        "trace_id": root,
        "parent_run_id": None,
        "dotted_order": root_order,
        "name": "agent",
        "run_type": "chain",
        "start_time": _START.isoformat(),
        "inputs": {"input": "help me"},
        "outputs": {"output": "done"},
        "status": "success",
    }
    out.write('{"runs": [')
    out.write(json.dumps(root_run))
    for step in steps(count // 2):
        out.write(",\n" + json.dumps(langsmith_llm(step, root, root_order)))
        out.write(",\n" + json.dumps(langsmith_tool(step, root, root_order)))
    out.write("]}\n")


# OTLP JSON with OpenInference attributes -----------------------------------------------------


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _span(span_id: str, name: str, step: Step, offset: int, attrs: list[Any]) -> dict[str, Any]:
    start = int(_when(step.index, offset).timestamp() * 1e9)
    return {
        "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
        "spanId": span_id,
        "parentSpanId": "00f067aa0ba902b7",
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 300_000_000),
        "attributes": attrs,
        "status": {},
    }


def _message_attrs(prefix: str, index: int, role: str, content: str) -> list[dict[str, Any]]:
    base = f"{prefix}.{index}.message"
    return [_attr(f"{base}.role", role), _attr(f"{base}.content", content)]


def otlp_llm(step: Step) -> dict[str, Any]:
    attrs = [
        _attr("openinference.span.kind", "LLM"),
        _attr("llm.model_name", MODEL),
        _attr("llm.provider", "openai"),
        _attr("llm.system", "openai"),
        _attr("llm.invocation_parameters", json.dumps({"model": MODEL, "temperature": 0})),
        *_message_attrs("llm.input_messages", 0, "system", _SYSTEM),
        *_message_attrs("llm.input_messages", 1, "user", step.question),
    ]
    if step.previous:
        call_id, tool, args, result = step.previous
        attrs += [
            _attr("llm.input_messages.2.message.role", "assistant"),
            _attr("llm.input_messages.2.message.tool_calls.0.tool_call.id", call_id),
            _attr("llm.input_messages.2.message.tool_calls.0.tool_call.function.name", tool),
            _attr("llm.input_messages.2.message.tool_calls.0.tool_call.function.arguments", args),
            *_message_attrs("llm.input_messages", 3, "tool", result),
            _attr("llm.input_messages.3.message.tool_call_id", call_id),
        ]
    call = "llm.output_messages.0.message.tool_calls.0.tool_call"
    attrs += [
        _attr("llm.output_messages.0.message.role", "assistant"),
        _attr(f"{call}.id", step.call_id),
        _attr(f"{call}.function.name", step.tool),
        _attr(f"{call}.function.arguments", step.args),
        _attr("llm.token_count.prompt", step.prompt_tokens),
        _attr("llm.token_count.completion", step.completion_tokens),
        _attr("llm.token_count.total", step.prompt_tokens + step.completion_tokens),
    ]
    return _span(step.llm_id.replace("-", "")[:16], "ChatOpenAI", step, 0, attrs)


def otlp_tool(step: Step) -> dict[str, Any]:
    attrs = [
        _attr("openinference.span.kind", "TOOL"),
        _attr("tool.name", step.tool),
        _attr("tool_call.id", step.call_id),
        _attr("input.value", step.args),
        _attr("input.mime_type", "application/json"),
    ]
    span = _span(step.tool_id.replace("-", "")[:16], step.tool, step, 400, attrs)
    if not step.failed:
        attrs.append(_attr("output.value", step.result))
        return span
    message = f"{step.tool} timed out after 30s"
    event = {
        "name": "exception",
        "timeUnixNano": span["endTimeUnixNano"],
        "attributes": [
            _attr("exception.type", "TimeoutError"),
            _attr("exception.message", message),
        ],
    }
    return {**span, "status": {"code": 2, "message": message}, "events": [event]}


def write_otlp(out: TextIO, count: int) -> None:
    root_step = Step(
        index=0,
        llm_id="",
        tool_id="",
        call_id="",
        question="",
        previous=None,
        tool="",
        args="",
        result="",
        failed=False,
        prompt_tokens=0,
        completion_tokens=0,
    )
    root = _span(
        "00f067aa0ba902b7",
        "agent",
        root_step,
        0,
        [
            _attr("openinference.span.kind", "AGENT"),
            _attr("input.value", "help me"),
            _attr("output.value", "done"),
        ],
    )
    del root["parentSpanId"]
    resource = {"attributes": [_attr("service.name", "bench-agent")]}
    out.write('{"resourceSpans": [{"resource": ' + json.dumps(resource))
    out.write(', "scopeSpans": [{"scope": {"name": "openinference.instrumentation.langchain"}, ')
    out.write('"spans": [' + json.dumps(root))
    for step in steps(count // 2):
        out.write(",\n" + json.dumps(otlp_llm(step)) + ",\n" + json.dumps(otlp_tool(step)))
    out.write("]}]}]}\n")


# Measuring -----------------------------------------------------------------------------------


def measure(path: Path, *, memory: bool) -> dict[str, float]:
    from refinery.analysis.tokens import analyse_tokens
    from refinery.traces.sources import load_trace_file

    json_s = _json_seconds(path)
    started = time.perf_counter()
    trace = load_trace_file(path)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    report = analyse_tokens(trace)
    tokens_s = time.perf_counter() - started
    figures = {
        "runs": len(trace),
        "failed": sum(r.failed for r in trace.runs),
        "size_mb": path.stat().st_size / 1e6,
        "json_s": json_s,
        "load_s": load_s,
        "time_ratio": load_s / json_s,
        "tokens_s": tokens_s,
        "total_tokens": report.total_tokens,
    }
    del trace, report
    gc.collect()
    if memory:
        figures["peak_mb"] = _peak(lambda: load_trace_file(path)) / 1e6
        figures["memory_ratio"] = figures["peak_mb"] / figures["size_mb"]
    return figures


def _json_seconds(path: Path, repeat: int = 2) -> float:
    """The best of ``repeat`` timings of ``json.loads`` on the file's bytes."""
    data = path.read_bytes()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        json.loads(data)
        times.append(time.perf_counter() - started)
        gc.collect()
    return min(times)


def _peak(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    gc.collect()
    return peak


def _report(name: str, figures: dict[str, float]) -> None:
    line = (
        f"{name:10} {int(figures['runs']):,} runs ({int(figures['failed'])} failed), "
        f"{figures['size_mb']:.0f} MB: json.loads {figures['json_s']:.2f}s, "
        f"load_trace_file {figures['load_s']:.2f}s = {figures['time_ratio']:.2f}× (target ≤ 3×)"
    )
    if "memory_ratio" in figures:
        line += (
            f"; peak {figures['peak_mb']:.0f} MB = {figures['memory_ratio']:.2f}× the file "
            "(target ≤ 4×)"
        )
    print(line)
    print(
        f"{'':10} analyse_tokens {figures['tokens_s']:.2f}s "
        f"({int(figures['total_tokens']):,} tokens)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--format", choices=("langsmith", "otlp", "both"), default="both")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    args = parser.parse_args()
    writers = {"langsmith": write_langsmith, "otlp": write_otlp}
    chosen = list(writers) if args.format == "both" else [args.format]
    with tempfile.TemporaryDirectory(prefix="refinery-bench-") as tmp:
        for name in chosen:
            path = Path(tmp) / f"{name}.json"
            with path.open("w", encoding="utf-8") as out:
                writers[name](out, args.runs)
            _report(name, measure(path, memory=not args.no_memory))
            path.unlink()


if __name__ == "__main__":
    main()
