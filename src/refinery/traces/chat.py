"""Chat steps: what a logged conversation becomes before it becomes runs.

Every chat-shaped reader (plain transcripts, tau-bench, pydantic-ai, smolagents, SWE-agent) turns
its records into ``Step`` values: one message each, with the error a tool reported and the
position in the source it came from. ``conversation_trace`` makes the runs: one per step under a
synthetic root, assistant steps as LLM runs whose input is the conversation so far, tool steps as
tool runs paired with the call they answer (by id; else the latest unanswered call of that name;
else the oldest unanswered call), so no tool result becomes an anonymous "tool".

``chat_steps`` reads one raw message strictly: a content part of a type nobody documented is an
error naming the parts that are understood, never silently dropped. Anthropic ``tool_result``
blocks and Gemini ``functionResponse`` parts become tool steps of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .messages import arguments_text, normalise_message, to_text
from .model import Message, Run, RunKind, TokenUsage, ToolCall, Trace, build_trace

ROOT_ID = "transcript"
_RESULT_TYPES = {"tool_result", "tool_call_response", "function_call_output"}
_PART_TYPES = {
    "text", "input_text", "output_text", "refusal", "thinking", "redacted_thinking", "reasoning",
    "image", "image_url", "input_image", "audio", "input_audio", "file", "input_file", "document",
    "tool_use", "tool_call", "function_call", "server_tool_use", "web_search_tool_result",
    "search_result", *_RESULT_TYPES,
}  # fmt: skip
_GEMINI_KEYS = {
    "text", "thought", "thoughtSignature", "functionCall", "functionResponse", "inlineData",
    "fileData", "executableCode", "codeExecutionResult", "videoMetadata",
}  # fmt: skip
UNDERSTOOD_PARTS = "text, image, audio, file, thinking, tool_use/tool_result, functionCall/Response"


@dataclass(frozen=True, kw_only=True)
class Step:
    """One message of a conversation, where it came from and what went wrong in it."""

    message: Message
    """The normalised message."""
    index: int
    """Its position in the source list (a benchmark's "mistake step" points at it)."""
    sub: int = 0
    """Its position among the steps one source record became (0 for the first)."""
    error: str | None = None
    """The error a tool step reported (an exception, ``is_error``, ``error: true``)."""
    model: str | None = None
    """The model that wrote an assistant step, when the source says."""
    usage: TokenUsage | None = None
    """Token usage of an assistant step, when the source reports it."""

    @property
    def run_id(self) -> str:
        """``msg-<index>``, ``msg-<index>.<sub>`` for a record's later steps, ``prompt`` for -1."""
        base = "prompt" if self.index < 0 else f"msg-{self.index}"
        return base if self.sub == 0 else f"{base}.{self.sub}"

    @property
    def order(self) -> str:
        """A sort key: prompts first, then by index, a record's steps after its first."""
        base = "-" if self.index < 0 else f"{self.index:08d}"
        return base if self.sub == 0 else f"{base}.{self.sub:04d}"


RESPONSES_ITEMS = {"function_call", "function_call_output", "reasoning"}
"""Role-less OpenAI Responses API items (the Agents SDK's ``result.to_input_list()``)."""


def chat_steps(raw: Any, index: int, origin: str) -> list[Step]:
    """The steps of one raw chat message; [] when it is no message (a record without a role)."""
    if isinstance(raw, dict) and "role" not in raw and str(raw.get("type")) in RESPONSES_ITEMS:
        return _responses_item(raw, index)
    if isinstance(raw, dict):
        check_parts(raw, index, origin)
    message = normalise_message(raw)
    if message is None or not isinstance(raw, dict):
        return [] if message is None else [Step(message=message, index=index)]
    results = _result_parts(raw)
    if not results:
        error = tool_error(raw, message.content) if message.role == "tool" else None
        return [Step(message=message, index=index, error=error)]
    steps = [Step(message=m, index=index, sub=n, error=e) for n, (m, e) in enumerate(results)]
    rest = [p for p in _parts(raw) or [] if not _is_result(p)]
    text = to_text(rest)
    if text or message.tool_calls:
        kept = message.model_copy(update={"content": text, "tool_call_id": None})
        steps.append(Step(message=kept, index=index, sub=len(steps)))
    return steps


def _responses_item(raw: dict[str, Any], index: int) -> list[Step]:
    """A Responses API ``function_call`` or its ``function_call_output``; reasoning is no step."""
    call_id = _opt_str(raw.get("call_id"))
    if raw["type"] == "function_call":
        asked = call_message(str(raw.get("name")), raw.get("arguments"), call_id)
        return [Step(message=asked, index=index)]
    if raw["type"] == "function_call_output":
        result = Message(role="tool", content=to_text(raw.get("output")), tool_call_id=call_id)
        return [Step(message=result, index=index, error=tool_error(raw, result.content))]
    return []


def tool_error(raw: dict[str, Any], content: str) -> str | None:
    """The error a tool message reports: ``error`` (text, object or flag), ``is_error``, status."""
    error = raw.get("error")
    if isinstance(error, dict):
        found = error.get("message") or error.get("type")
        return str(found) if found else to_text(error)
    if isinstance(error, str) and error:
        return error
    flagged = error is True or raw.get("is_error") is True or raw.get("status") == "error"
    return (content or "error") if flagged else None


def check_parts(raw: dict[str, Any], index: int, origin: str) -> None:
    """Raise when a content part is of a type this reader does not understand."""
    for part in _parts(raw) or []:
        if isinstance(part, str):
            continue
        kind = _part_kind(part)
        if kind is not None:
            raise InputError(
                f"cannot read {origin}: message {index} holds a content part of type {kind!r}, "
                "which is not understood",
                f"understood parts: {UNDERSTOOD_PARTS}",
            )


def _part_kind(part: Any) -> str | None:
    """None for an understood part, else a name for what it is."""
    if not isinstance(part, dict):
        return type(part).__name__
    kind = part.get("type")
    if isinstance(kind, str):
        return None if kind in _PART_TYPES else kind
    if part.keys() & _GEMINI_KEYS:
        return None
    return "/".join(sorted(str(key) for key in part)[:3]) or "empty"


def _parts(raw: dict[str, Any]) -> list[Any] | None:
    content = raw.get("content")
    if content is None:
        content = raw.get("parts")
    return content if isinstance(content, list) else None


def _is_result(part: Any) -> bool:
    return isinstance(part, dict) and (
        str(part.get("type")) in _RESULT_TYPES or isinstance(part.get("functionResponse"), dict)
    )


def _result_parts(raw: dict[str, Any]) -> list[tuple[Message, str | None]]:
    """Tool results carried as content parts, each as a tool message with its error."""
    return [_result_message(part) for part in _parts(raw) or [] if _is_result(part)]


def _result_message(part: dict[str, Any]) -> tuple[Message, str | None]:
    if isinstance(part.get("functionResponse"), dict):  # Gemini
        response = part["functionResponse"]
        body = response.get("response")
        text = to_text(body)
        failed = isinstance(body, dict) and body.get("error") not in (None, "", False)
        name = response.get("name")
        message = Message(
            role="tool",
            content=text,
            tool_call_id=_opt_str(response.get("id")),
            name=name if isinstance(name, str) else None,
        )
        return message, (to_text(body["error"]) if failed and isinstance(body, dict) else None)
    body = part.get("content", part.get("output", part.get("response")))
    text = to_text(body)
    call_id = _opt_str(part.get("tool_use_id") or part.get("call_id") or part.get("id"))
    message = Message(role="tool", content=text, tool_call_id=call_id)
    return message, ((text or "error") if part.get("is_error") is True else None)


def input_output_usage(raw: Any) -> TokenUsage | None:
    """Token usage written as ``{"input_tokens", "output_tokens"}`` (pydantic-ai, smolagents)."""
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("input_tokens"), raw.get("output_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return TokenUsage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def conversation_trace(
    steps: list[Step],
    *,
    trace_id: str,
    format: str,
    metadata: dict[str, Any] | None = None,
    opening: list[Any] | None = None,
) -> Trace:
    """One run per step under a root that holds the whole conversation.

    ``opening`` is the root's ``inputs.messages`` as the source wrote it (by default the first
    message that is not the assistant's).
    """
    messages = [step.message for step in steps]
    if opening is None:
        first = next((m for m in messages if m.role != "assistant"), None)
        opening = [{"role": first.role, "content": first.content}] if first else []
    pairing = _Pairing()
    runs = [_root(trace_id, messages, opening)]
    for position, step in enumerate(steps):
        call = pairing.answer(step.message) if step.message.role == "tool" else None
        pairing.ask(step.message)
        runs.append(_step_run(step, messages[:position], trace_id, call))
    return build_trace(
        runs, trace_id=trace_id, source="file", format=format, metadata=metadata or {}
    )


class _Pairing:
    """Tool calls asked for and not yet answered, in order."""

    def __init__(self) -> None:
        self.pending: list[ToolCall] = []
        self.asked: list[ToolCall] = []

    def ask(self, message: Message) -> None:
        if message.role == "assistant":
            self.pending.extend(message.tool_calls)
            self.asked.extend(message.tool_calls)

    def answer(self, message: Message) -> ToolCall | None:
        wanted = message.tool_call_id
        found = next((c for c in self.pending if wanted and c.id == wanted), None)
        if found is None and wanted:
            found = next((c for c in reversed(self.asked) if c.id == wanted), None)
        if found is None and not wanted:
            named = [c for c in self.pending if message.name and c.name == message.name]
            found = named[-1] if named else next(iter(self.pending), None)
        if found in self.pending:
            self.pending.remove(found)
        return found


def _root(trace_id: str, messages: list[Message], opening: list[Any]) -> Run:
    # The final answer: a last assistant turn that only calls a tool has no words of its own.
    last = next((m.content for m in reversed(messages) if m.role == "assistant" and m.content), "")
    return Run(
        id=ROOT_ID,
        trace_id=trace_id,
        name="conversation",
        kind=RunKind.CHAIN,
        inputs={"messages": opening},
        outputs={"content": last},
        input_messages=tuple(messages[:1]),
        output_messages=tuple(m for m in messages[-1:] if m.role == "assistant"),
    )


def _step_run(step: Step, history: list[Message], trace_id: str, call: ToolCall | None) -> Run:
    message = step.message
    common: dict[str, Any] = {
        "id": step.run_id,
        "trace_id": trace_id,
        "parent_id": ROOT_ID,
        "order": step.order,
        "name": message.name or message.role,
        "error": step.error,
        "status": "error" if step.error else "ok",
    }
    if message.role == "assistant":
        return Run(
            **common,
            kind=RunKind.LLM,
            input_messages=tuple(history),
            output_messages=(message,),
            outputs={"content": message.content},
            model=step.model,
            usage=step.usage,
        )
    if message.role == "tool":
        name = call.name if call else message.name
        return Run(
            **common | {"name": name or "tool"},
            kind=RunKind.TOOL,
            tool_name=name,
            tool_args=call.arguments if call else None,
            tool_result=message.content,
            outputs={"content": message.content},
        )
    return Run(
        **common,
        kind=RunKind.OTHER,
        output_messages=(message,),
        inputs={"content": message.content},
    )


def call_message(name: str, arguments: Any, call_id: str | None, content: str = "") -> Message:
    """An assistant message asking for one tool call (for logs that record actions, not calls)."""
    call = ToolCall(id=call_id, name=name, arguments=arguments_text(arguments))
    return Message(role="assistant", content=content, tool_calls=(call,))
