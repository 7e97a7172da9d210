"""The answer schema sent to providers: a pydantic model's JSON schema made strict-compatible.

OpenAI's strict structured output guarantees the answer's shape only for a schema whose every
object lists all its properties as required and forbids others, with no ``default``; Gemini
refuses a ``$ref`` with any sibling but ``$``-keys, and pydantic writes a ``description`` beside the
``$ref`` of every enum field. One transform satisfies both, without changing what the model means:
references are inlined (our answer models are not recursive), every property becomes required
(a field that may be None already admits ``null``; a list that defaults to empty is answered
``[]``), and ``default`` and ``title`` are dropped (the descriptions carry the instructions).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DROPPED = frozenset({"default", "title"})


def answer_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema, inlined and strict-compatible."""
    raw = model.model_json_schema()
    defs: dict[str, Any] = raw.get("$defs", {})
    strict: dict[str, Any] = _strict(_inline(raw, defs))
    return strict


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``$ref`` replaced by its definition (a sibling description wins)."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _inline({**target, **siblings}, defs)
    return {key: _inline(value, defs) for key, value in node.items() if key != "$defs"}


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _strict(value) for key, value in node.items() if key not in _DROPPED}
    if "properties" in node:  # field names, not keywords: keep every one
        result["properties"] = {name: _strict(field) for name, field in node["properties"].items()}
    if result.get("type") == "object" and "properties" in result:
        result["required"] = list(result["properties"])
        result["additionalProperties"] = False
    return result


def bounded_arrays_dropped(schema: Any) -> Any:
    """``schema`` within Claude's strict subset: no ``maxItems``, ``minItems`` only 0 or 1.

    The bounds still hold: the answer is validated against its pydantic model afterwards.
    """
    if isinstance(schema, list):
        return [bounded_arrays_dropped(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: bounded_arrays_dropped(value) for key, value in schema.items()}
    if "properties" in schema:
        result["properties"] = {
            k: bounded_arrays_dropped(v) for k, v in schema["properties"].items()
        }
    result.pop("maxItems", None)
    if result.get("minItems", 0) > 1:
        result["minItems"] = 1
    return result
