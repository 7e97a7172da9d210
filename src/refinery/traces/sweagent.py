"""SWE-agent trajectories: ``<instance_id>.traj``, ``{"trajectory", "history", "info"}``.

Each item of ``trajectory`` is one step: ``response`` (the model's output), ``thought`` and
``action`` (what was parsed from it), ``observation`` (what running the action printed), ``state``
and ``query`` (the messages the model saw). Step ``n`` becomes an assistant step ``msg-<n>`` whose
tool call is the action (named by its command: ``edit``, ``find_file``, ``python``...) and a tool
step ``msg-<n>.1`` holding the observation; an observation that reports a failed command (a
traceback, ``command not found``, an ``Error:`` line) is that tool step's error. The system and
instance prompts come from the first step's ``query`` or, for older files, from ``history``.
``info.exit_status`` (``submitted``, ``exit_cost``, ``exit_format``...) is kept as metadata.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InputError
from .chat import Step, call_message, conversation_trace
from .messages import normalise_message, to_text
from .model import Message, Trace
from .sources import TraceFormat, register_format

_STEP_KEYS = {"action", "observation"}
_FAILED = re.compile(
    r"^(Traceback \(most recent call last\)|.*: command not found|Error:|ERROR:|"
    r"Your proposed edit has introduced new syntax error)",
    re.MULTILINE,
)


def detect(doc: Any) -> bool:
    """True for an object whose ``trajectory`` is a list of action/observation steps."""
    steps = doc.get("trajectory") if isinstance(doc, dict) else None
    return (
        isinstance(steps, list)
        and bool(steps)
        and all(isinstance(s, dict) and s.keys() >= _STEP_KEYS for s in steps[:20])
    )


def parse(doc: Any, origin: str) -> Trace:
    """The prompts, then an action and its observation per step."""
    steps = _prompts(doc)
    for index, raw in enumerate(doc["trajectory"]):
        if not isinstance(raw, dict) or not raw.keys() >= _STEP_KEYS:
            raise InputError(
                f"cannot read {origin}: trajectory step {index} has no action and observation",
                "give a SWE-agent .traj file",
            )
        steps.extend(_step(raw, index))
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    metadata = {k: info[k] for k in ("exit_status", "submission") if info.get(k)}
    trace_id = str(doc.get("instance_id") or info.get("instance_id") or "swe-agent")
    return conversation_trace(steps, trace_id=trace_id, format="swe-agent", metadata=metadata)


def _prompts(doc: dict[str, Any]) -> list[Step]:
    """System and first user messages, from the first step's ``query`` or from ``history``."""
    first = doc["trajectory"][0] if doc["trajectory"] else {}
    query = first.get("query") if isinstance(first, dict) else None
    history = doc.get("history")
    source = query if isinstance(query, list) else history if isinstance(history, list) else []
    found: list[Message] = []
    for item in source:
        message = normalise_message(item)
        if message is None or message.role not in ("system", "user"):
            break
        found.append(message)
        if message.role == "user":
            break
    return [Step(message=m, index=-1, sub=n) for n, m in enumerate(found)]


def _step(raw: dict[str, Any], index: int) -> list[Step]:
    action = to_text(raw.get("action")).strip()
    thought = to_text(raw.get("thought")) or to_text(raw.get("response"))
    command = action.split(maxsplit=1)[0] if action else "action"
    call_id = f"step-{index}"
    asked = call_message(command, action, call_id, content=thought)
    observation = to_text(raw.get("observation"))
    result = Message(role="tool", content=observation, tool_call_id=call_id, name=command)
    failed = _FAILED.search(observation)
    error = observation.strip().splitlines()[0][:300] if failed else None
    if failed and failed.group(0).startswith("Traceback"):
        error = observation.strip().splitlines()[-1][:300]
    return [Step(message=asked, index=index), Step(message=result, index=index, sub=1, error=error)]


register_format(TraceFormat(name="swe-agent", detect=detect, parse=parse))
