"""Chat transcripts: role-bearing messages, as a list or under ``messages``/``history``/``traj``.

``{"messages": [...]}`` is the common shape (OpenAI chat with ``tool_calls`` or legacy
``function_call``, Anthropic content blocks with a top-level ``system``); ``{"contents": [...]}``
is Gemini's, with ``parts`` and ``systemInstruction``; a list may mix in the role-less
``function_call`` / ``function_call_output`` items of OpenAI's Responses API (the Agents SDK's
``result.to_input_list()``); ``{"history": [{role, name, content}]}`` is
how Who&When records a multi-agent conversation and ``{"traj": [...]}`` how tau-bench records an
agent's trajectory (its environment answers a tool that raised with ``Error: <exception>``, which
is read as that tool's error). A JSON list of such objects holds several trajectories, as does
a tau2-bench results file (``{"simulations": [...]}``): ``split`` names them and ``FILE#N`` picks
one, so they are never merged.

Each message becomes a run ``msg-<index>`` under one synthetic root, the index being the message's
position in the source list (so a benchmark's "mistake step" points at the right run). Assistant
messages are LLM runs whose input is the conversation so far; tool messages are tool runs. In a
Who&When ``history`` the role is often the speaking agent's name (``Orchestrator (thought)``,
``WebSurfer``) or ``user`` for another agent's turn: a message that names an agent is that agent's
assistant turn, and the name is kept as the message's and the run's name.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import InputError
from .chat import RESPONSES_ITEMS, ROOT_ID, Step, chat_steps, conversation_trace
from .messages import to_text
from .model import Message, Trace
from .sources import TraceFormat, register_format

_LIST_KEYS = ("messages", "history", "traj", "contents")
_SYSTEM_KEYS = ("system", "systemInstruction", "system_instruction")
_ID_KEYS = ("id", "trace_id", "task_id", "question_ID")
_LABEL_KEYS = ("task_id", "question_ID", "id", "trace_id")
_META_KEYS = ("task_id", "trial", "reward", "question_ID", "level", "termination_reason")
_STANDARD_ROLES = {
    "system", "user", "assistant", "tool", "human", "ai", "function", "developer", "model"
}  # fmt: skip


def detect(doc: Any) -> bool:
    """True for a list of role-bearing dicts, an object holding one, or a list of such objects."""
    if _simulations(doc):
        return True
    if isinstance(doc, list) and doc and _message_list(doc[0]) is not None:
        return all(_message_list(item) is not None for item in doc[:20])
    return _message_list(doc) is not None


def _message_list(doc: Any) -> list[Any] | None:
    """The messages of a transcript document, or None when it is not one."""
    if isinstance(doc, dict) and "run_type" not in doc:
        doc = next((doc[key] for key in _LIST_KEYS if isinstance(doc.get(key), list)), None)
    if not isinstance(doc, list) or not doc:
        return None
    if all(isinstance(m, dict) and _is_message(m) for m in doc[:20]):
        return doc
    return None


def _simulations(doc: Any) -> list[Any] | None:
    """The simulations of a tau2-bench results file, or None when it is not one."""
    found = doc.get("simulations") if isinstance(doc, dict) else None
    if isinstance(found, list) and found and all(_message_list(s) is not None for s in found[:20]):
        return found
    return None


def _is_message(item: dict[str, Any]) -> bool:
    return isinstance(item.get("role"), str) or str(item.get("type")) in RESPONSES_ITEMS


def split(doc: Any) -> list[tuple[str, Any]]:
    """One piece per trajectory when the file is a list of transcript objects."""
    simulations = _simulations(doc)
    if simulations is not None:
        return [(_label(item, index), item) for index, item in enumerate(simulations)]
    if isinstance(doc, list) and doc and isinstance(doc[0], dict) and _is_holder(doc[0]):
        return [(_label(item, index), item) for index, item in enumerate(doc)]
    return [("", doc)]


def _is_holder(item: dict[str, Any]) -> bool:
    return any(isinstance(item.get(key), list) for key in _LIST_KEYS)


def _label(item: Any, index: int) -> str:
    key = next((k for k in _LABEL_KEYS if isinstance(item, dict) and item.get(k)), None)
    return f"#{index} {key}={item[key]}" if key is not None else f"#{index}"


def parse(doc: Any, origin: str) -> Trace:
    """One run per message under a root that holds the whole conversation."""
    pieces = split(doc)
    if len(pieces) > 1:
        raise InputError(
            f"cannot read {origin}: it holds {len(pieces)} transcripts",
            f"pick one with {origin}#N (0-{len(pieces) - 1})",
        )
    doc = pieces[0][1]
    raw = _message_list(doc)
    if raw is None:
        raise InputError(f"cannot read {origin}: it holds no messages", "give a chat transcript")
    agents = (isinstance(doc, dict) and isinstance(doc.get("history"), list)) or _names_agents(raw)
    steps = [*_system_steps(doc, origin)]
    for index, item in enumerate(raw):
        steps.extend(_agent_turn(step, item, agents) for step in chat_steps(item, index, origin))
    if isinstance(doc, dict) and isinstance(doc.get("traj"), list):
        steps = [_tau_bench_error(step) for step in steps]
    metadata = _metadata(doc)
    opening = [m for m in raw if isinstance(m, dict) and m.get("role") not in (None, "assistant")]
    opening = opening[:1]
    return conversation_trace(
        steps, trace_id=_trace_id(doc), format="transcript", metadata=metadata, opening=opening
    )


def _system_steps(doc: Any, origin: str) -> list[Step]:
    """A system prompt kept beside the messages (Anthropic ``system``, Gemini instructions)."""
    if not isinstance(doc, dict):
        return []
    system = next((doc[k] for k in _SYSTEM_KEYS if doc.get(k)), None)
    if system is None:
        return []
    parts = system.get("parts") if isinstance(system, dict) else system
    text = to_text(parts)
    return [Step(message=Message(role="system", content=text), index=-1)] if text else []


def _tau_bench_error(step: Step) -> Step:
    """tau-bench's environment answers a tool that raised with ``Error: <exception>``."""
    message = step.message
    if message.role != "tool" or step.error or not message.content.startswith("Error: "):
        return step
    return replace(step, error=message.content)


def _metadata(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        return {}
    found = {k: doc[k] for k in _META_KEYS if k in doc}
    reward = doc.get("reward_info")
    if isinstance(reward, dict) and "reward" in reward:  # tau2-bench
        found["reward"] = reward["reward"]
    return found


def _names_agents(raw: list[Any]) -> bool:
    """True when some role is an agent's name (a multi-agent log such as Magentic-One's)."""
    return any(
        isinstance(item, dict) and isinstance(item.get("role"), str)
        and item["role"] not in _STANDARD_ROLES
        for item in raw
    )  # fmt: skip


def _agent_turn(step: Step, item: Any, agents: bool) -> Step:
    """In a multi-agent history, a turn that names an agent is that agent's assistant turn."""
    message = step.message
    if not agents or not isinstance(item, dict) or not isinstance(item.get("role"), str):
        return step
    role = str(item.get("role"))
    if role not in _STANDARD_ROLES:
        update = {"role": "assistant", "name": message.name or role}
    elif message.role == "user" and message.name:
        update = {"role": "assistant"}
    else:
        return step
    return replace(step, message=message.model_copy(update=update))


def _trace_id(doc: Any) -> str:
    if isinstance(doc, dict):
        found = next((doc[k] for k in _ID_KEYS if doc.get(k) not in (None, "")), None)
        if found is not None:
            return str(found)
    return ROOT_ID


register_format(TraceFormat(name="transcript", detect=detect, parse=parse, split=split))
