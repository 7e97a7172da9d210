"""The trace model: one agent execution as a tree of runs, whatever the source called them.

LangSmith's "run", OpenTelemetry's "span" and Langfuse's "observation" all become a ``Run``. Values
are frozen and hold no clients or I/O; run ids are kept exactly as the source gives them so that
evidence can point back at the source. A ``Trace`` keeps its runs in execution order and answers
tree questions (children, ancestors, depth) from indices built once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ..errors import InputError

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_FIELD_SETS: dict[frozenset[str], set[str]] = {}
_Model = TypeVar("_Model", bound=BaseModel)
_set = object.__setattr__


def trusted(model: type[_Model], /, **values: Any) -> _Model:
    """A frozen ``model`` from values a parser of ours built with the declared types, unvalidated.

    For the hundred thousand runs and messages of a big trace, where validation is most of the cost
    of a value. Only for values our code typed (``str(...)``, checked with ``isinstance``, our own
    models), never for a value taken from a file as it is. Like pydantic's ``model_construct``
    (which loops over the fields in Python and costs as much as validating): the instance equals,
    and dumps as, the validated one; defaults fill the fields not given; the fields-set is shared.
    Every field given in declaration order is the fastest: the keywords become the instance's dict.

    Raises:
        TypeError: a required field is missing, or a name is not a field of ``model``.
    """
    shape = _SHAPES.get(model) or _shape_of(model)
    if len(values) == len(shape.names) and tuple(values) == shape.names:
        data, fields_set = values, shape.every
    else:
        data, fields_set = _filled(model, shape, values), _shared_set(values)
    instance = model.__new__(model)
    _set(instance, "__dict__", data)
    _set(instance, "__pydantic_fields_set__", fields_set)
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


@dataclass(frozen=True, kw_only=True)
class _Shape:
    """A model's field names in declaration order (as pydantic stores them) and their defaults."""

    names: tuple[str, ...]
    every: set[str]
    """The shared fields-set of an instance given every field."""
    defaults: tuple[Callable[[], Any], ...]


_SHAPES: dict[type[BaseModel], _Shape] = {}


def _shape_of(model: type[BaseModel]) -> _Shape:
    if model.__private_attributes__ or not model.model_config.get("frozen"):
        raise TypeError(f"{model.__name__} is not a frozen model without private attributes")
    names = tuple(model.model_fields)
    shape = _Shape(
        names=names,
        every=_shared_set(dict.fromkeys(names)),
        defaults=tuple(_default_maker(model, name) for name in names),
    )
    _SHAPES[model] = shape
    return shape


def _filled(model: type[BaseModel], shape: _Shape, values: dict[str, Any]) -> dict[str, Any]:
    """The instance dict: the given values and the other fields' defaults, in declaration order."""
    data = {
        name: values[name] if name in values else default()
        for name, default in zip(shape.names, shape.defaults, strict=True)
    }
    unknown = values.keys() - data.keys()
    if unknown:
        raise TypeError(f"{model.__name__} has no field {sorted(unknown)[0]}")
    return data


def _shared_set(values: dict[str, Any]) -> set[str]:
    key = frozenset(values)
    return _FIELD_SETS.get(key) or _FIELD_SETS.setdefault(key, set(key))


def _default_maker(model: type[BaseModel], name: str) -> Callable[[], Any]:
    info = model.model_fields[name]
    if info.default_factory is not None:
        return info.default_factory  # type: ignore[return-value]  # no factory takes arguments

    def missing() -> Any:
        raise TypeError(f"{model.__name__} needs a value for {name}")

    if info.is_required():
        return missing
    try:
        hash(info.default)
    except TypeError:  # pydantic copies a mutable default for each instance: so does this
        return partial(copy.deepcopy, info.default)
    return partial(_same, info.default)


def _same(value: Any) -> Any:
    return value


class _Value(BaseModel):
    """A frozen value made by the hundred thousand (runs, messages, tool calls).

    Pydantic gives every instance its own set of explicitly-set field names, which for a 25-field
    run weighs more than the run's own attributes. Instances are frozen, so that set can never
    change: equal sets are shared instead (pydantic copies the set before any ``model_copy``
    update), which keeps a 100,000-run trace within a few times its file size.
    """

    model_config = _FROZEN

    def model_post_init(self, context: Any, /) -> None:
        """Share the fields-set with every other instance that set the same fields."""
        names = self.__pydantic_fields_set__
        shared = _FIELD_SETS.setdefault(frozenset(names), names)
        object.__setattr__(self, "__pydantic_fields_set__", shared)


class RunKind(StrEnum):
    """What a run is, in LangSmith's vocabulary (OpenInference span kinds map onto it)."""

    LLM = "llm"
    CHAIN = "chain"
    AGENT = "agent"
    TOOL = "tool"
    RETRIEVER = "retriever"
    PROMPT = "prompt"
    PARSER = "parser"
    EMBEDDING = "embedding"
    OTHER = "other"


class ToolCall(_Value):
    """A tool call requested by a model."""

    model_config = _FROZEN

    id: str | None = None
    """The call id the model gave, used to pair it with the tool's result message."""
    name: str
    """The tool the model asked for."""
    arguments: str = ""
    """The arguments exactly as the model wrote them (JSON text; objects are serialised)."""


class Message(_Value):
    """One chat message, normalised from LangChain, OpenAI, GenAI or OpenInference shapes."""

    model_config = _FROZEN

    role: str
    """``system``, ``user``, ``assistant`` or ``tool`` (other roles are kept as given)."""
    content: str = ""
    """The message text; multi-part content is joined with newlines."""
    tool_calls: tuple[ToolCall, ...] = ()
    """Tool calls requested in an assistant message."""
    tool_call_id: str | None = None
    """For a tool message: the call it answers."""
    name: str | None = None
    """The author's name when the source gives one (a tool's name, an agent's name)."""


class TokenUsage(BaseModel):
    """Token counts reported by the source (not estimated)."""

    model_config = _FROZEN

    prompt_tokens: int | None = None
    """Input tokens of the call."""
    completion_tokens: int | None = None
    """Output tokens of the call."""
    total_tokens: int | None = None
    """Total tokens, as reported or as the sum of the two."""


class Run(_Value):
    """One step of an agent execution: an LLM call, a tool call, a chain, a retriever..."""

    model_config = _FROZEN

    id: str
    """The source id: LangSmith run UUID, OTel span id (hex), Langfuse observation id, ``msg-N``."""
    trace_id: str
    """The id of the trace this run belongs to."""
    parent_id: str | None = None
    """The parent run's id; None for a root."""
    order: str = ""
    """A source-given sort key among siblings (LangSmith ``dotted_order``, a start timestamp...)."""
    name: str = ""
    """The run's name (function, chain, model or tool name)."""
    kind: RunKind = RunKind.OTHER
    """What the run is."""
    start_time: datetime | None = None
    """When the run started."""
    end_time: datetime | None = None
    """When the run ended."""
    inputs: dict[str, Any] = Field(default_factory=dict)
    """Raw inputs as the source recorded them."""
    outputs: dict[str, Any] | None = None
    """Raw outputs as the source recorded them."""
    error: str | None = None
    """Error text or exception (message and traceback) when the run failed."""
    status: str = "ok"
    """``ok``, ``error`` or ``unset``."""
    model: str | None = None
    """Model name of an LLM run."""
    provider: str | None = None
    """Model provider of an LLM run (``openai``, ``anthropic``...)."""
    invocation_params: dict[str, Any] = Field(default_factory=dict)
    """Parameters the model was called with (temperature, max_tokens, tools...)."""
    usage: TokenUsage | None = None
    """Token usage reported by the source."""
    input_messages: tuple[Message, ...] = ()
    """Normalised messages sent to the model."""
    output_messages: tuple[Message, ...] = ()
    """Normalised messages the model returned."""
    finish_reason: str | None = None
    """Why the model stopped (``stop``, ``length``, ``tool_calls``, ``max_tokens``...)."""
    available_tools: tuple[str, ...] = ()
    """Names of the tools offered to the model in this call."""
    tool_name: str | None = None
    """For a tool run: the tool's name."""
    tool_args: str | None = None
    """For a tool run: its arguments as text."""
    tool_result: str | None = None
    """For a tool run: its result as text."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Source metadata (attributes, extra.metadata)."""
    tags: tuple[str, ...] = ()
    """Source tags."""

    @property
    def failed(self) -> bool:
        """True when the source recorded an error for this run."""
        return self.status == "error" or bool(self.error)

    @property
    def output_text(self) -> str:
        """The text of the run's output messages, or its tool result."""
        messages = self.output_messages
        if len(messages) == 1:  # the common case, read by several detectors: no join
            return messages[0].content
        if messages:
            return "\n".join(m.content for m in messages if m.content)
        return self.tool_result or ""


class TraceCounts(BaseModel):
    """What the reader found in a trace, so a half-read trace is visible at a glance."""

    model_config = _FROZEN

    tool_calls: int = 0
    """Tool calls: those the model asked for, or the tool runs when the trace records more."""
    tool_results: int = 0
    """Tool runs (a tool's result or its error)."""
    errors: int = 0
    """Runs that recorded an error."""
    agents: tuple[str, ...] = ()
    """Names of the agents that took turns, in order of first turn (multi-agent logs)."""

    def line(self) -> str:
        """``read 3 tool calls, 3 tool results, 1 error`` (and the agents, when there are some)."""
        found = (
            f"read {_plural(self.tool_calls, 'tool call')}, "
            f"{_plural(self.tool_results, 'tool result')}, {_plural(self.errors, 'error')}"
        )
        if not self.agents:
            return found
        names = ", ".join(self.agents[:6]) + (", ..." if len(self.agents) > 6 else "")
        return f"{found}; {_plural(len(self.agents), 'agent')} ({names})"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class TraceRef(BaseModel):
    """Which trace a report is about: how ``--json`` names a trace."""

    model_config = _FROZEN

    id: str
    """The trace id as the source gives it."""
    source: str
    """``file``, ``langsmith`` or ``langfuse``."""
    format: str
    """The detected format."""
    runs: int
    """How many runs the trace has."""
    counts: TraceCounts = Field(default_factory=TraceCounts)
    """Tool calls, tool results and errors the reader found."""


class Trace(BaseModel):
    """A tree of runs from one agent execution, in execution order."""

    model_config = _FROZEN

    id: str
    """The trace id as the source gives it."""
    source: str
    """Where it came from: ``file``, ``langsmith`` or ``langfuse``."""
    format: str
    """The detected format (``langsmith-runs``, ``otlp``, ``span-tree``, ``transcript``...)."""
    runs: tuple[Run, ...]
    """Every run, parents before children, siblings in execution order."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Trace-level metadata (file path, project, session)."""

    _by_id: dict[str, Run] = PrivateAttr(default_factory=dict)
    _children: dict[str | None, list[Run]] = PrivateAttr(default_factory=dict)
    _depth: dict[str, int] = PrivateAttr(default_factory=dict)
    _position: dict[str, int] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        """Build the id, children, depth and position indices once."""
        # Local names: private attributes go through pydantic's __getattr__ on every access.
        by_id, children, depth, position = self._by_id, self._children, self._depth, self._position
        for index, run in enumerate(self.runs):
            by_id[run.id] = run
            position[run.id] = index
            parent = run.parent_id
            children.setdefault(parent, []).append(run)
            depth[run.id] = depth.get(parent, -1) + 1 if parent else 0

    def __len__(self) -> int:
        return len(self.runs)

    def ref(self) -> TraceRef:
        """The trace's id, source, format and run count."""
        return TraceRef(
            id=self.id,
            source=self.source,
            format=self.format,
            runs=len(self.runs),
            counts=self.counts(),
        )

    def counts(self) -> TraceCounts:
        """How many tool calls, tool results and errors the trace holds."""
        tools = errors = asked = 0
        agents: dict[str, None] = {}
        for run in self.runs:
            tools += run.kind is RunKind.TOOL
            errors += run.failed
            if run.kind is RunKind.AGENT and run.name:
                agents[run.name] = None
            if run.kind is RunKind.LLM:
                asked += sum(len(m.tool_calls) for m in run.output_messages)
                named = [m.name for m in run.output_messages if m.name and m.role == "assistant"]
                agents.update(dict.fromkeys(named))
        return TraceCounts(
            tool_calls=max(asked, tools), tool_results=tools, errors=errors, agents=tuple(agents)
        )

    def __iter__(self) -> Iterator[Run]:  # type: ignore[override]
        return iter(self.runs)

    def get(self, run_id: str) -> Run | None:
        """The run with this id, or None."""
        return self._by_id.get(run_id)

    def __contains__(self, run_id: object) -> bool:
        return isinstance(run_id, str) and run_id in self._by_id

    @property
    def roots(self) -> list[Run]:
        """Runs without a parent, in execution order."""
        return list(self._children.get(None, []))

    @property
    def root(self) -> Run:
        """The first root run."""
        return self.runs[0]

    def children(self, run_id: str) -> list[Run]:
        """Direct children of a run, in execution order."""
        return list(self._children.get(run_id, []))

    def parent(self, run_id: str) -> Run | None:
        """The parent of a run, or None for a root."""
        run = self._by_id.get(run_id)
        return self._by_id.get(run.parent_id) if run and run.parent_id else None

    def ancestors(self, run_id: str) -> list[Run]:
        """Parent, grandparent... up to the root."""
        found: list[Run] = []
        current = self.parent(run_id)
        while current is not None:
            found.append(current)
            current = self.parent(current.id)
        return found

    def depth(self, run_id: str) -> int:
        """0 for a root, 1 for its children..."""
        return self._depth[run_id]

    def position(self, run_id: str) -> int:
        """The run's index in execution order."""
        return self._position[run_id]

    def of_kind(self, *kinds: RunKind) -> list[Run]:
        """Runs of the given kinds, in execution order."""
        return [run for run in self.runs if run.kind in kinds]


def build_trace(
    runs: Iterable[Run],
    *,
    trace_id: str | None,
    source: str,
    format: str,
    metadata: dict[str, Any] | None = None,
) -> Trace:
    """Order ``runs`` depth-first in execution order and check the tree; parsers make Traces so.

    Raises:
        InputError: no runs, duplicate ids, a missing parent or a parent cycle.
    """
    listed = list(runs)
    if not listed:
        raise InputError("the trace has no runs", "check that the file is a complete trace export")
    ordered = _depth_first(_children(listed))
    if len(ordered) != len(listed):
        stuck = next(run.id for run in listed if run.id not in {r.id for r in ordered})
        raise InputError(f"run {stuck} is part of a parent cycle", "the trace's parent links loop")
    return Trace(
        id=trace_id or ordered[0].trace_id or ordered[0].id,
        source=source,
        format=format,
        runs=tuple(ordered),
        metadata=metadata or {},
    )


def _children(runs: list[Run]) -> dict[str | None, list[tuple[int, Run]]]:
    """Each parent id's runs with their listed position; unique ids and known parents checked."""
    ids: set[str] = set()
    for run in runs:
        if run.id in ids:
            raise InputError(f"run {run.id} appears twice in the trace", "export the trace again")
        ids.add(run.id)
    children: dict[str | None, list[tuple[int, Run]]] = {}
    for index, run in enumerate(runs):
        if run.parent_id is not None and run.parent_id not in ids:
            raise InputError(
                f"run {run.id} names parent {run.parent_id}, which is not in the trace",
                "export the whole trace, not a part of it",
            )
        children.setdefault(run.parent_id, []).append((index, run))
    return children


def _sort_key(item: tuple[int, Run]) -> tuple[str, str, int]:
    index, run = item
    started = run.start_time.isoformat() if run.start_time else ""
    return (run.order or started, started, index)


def _last_first(siblings: list[tuple[int, Run]]) -> list[tuple[int, Run]]:
    """Siblings in reverse execution order: by ``_sort_key``, or by order alone when that decides.

    Distinct, non-empty order keys sort the same by themselves as by the whole key, without a
    start time made into text for each run (a tenth of a second on a 50,000-run trace).
    """
    if len(siblings) < 2:
        return list(siblings)
    orders = {run.order for _, run in siblings}
    if len(orders) == len(siblings) and "" not in orders:
        return sorted(siblings, key=_order_of, reverse=True)
    return sorted(siblings, key=_sort_key, reverse=True)


def _order_of(item: tuple[int, Run]) -> str:
    return item[1].order


def _depth_first(children: dict[str | None, list[tuple[int, Run]]]) -> list[Run]:
    ordered: list[Run] = []
    stack = _last_first(children.get(None, []))
    while stack:
        _, run = stack.pop()
        ordered.append(run)
        stack.extend(_last_first(children.get(run.id, [])))
    return ordered
