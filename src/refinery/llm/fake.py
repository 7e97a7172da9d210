"""A scripted provider for tests, shipped in the package (not a ``--provider`` choice).

``FakeProvider(replies=[...])`` answers in order and fails loudly when it runs out;
``FakeProvider(fn)`` computes each reply from the request; with neither it returns a minimal valid
instance of the schema. Every request is kept in ``requests`` so tests can assert what was sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from .provider import Completion, Request

Reply = str | dict[str, Any] | list[Any]


class FakeProvider:
    """Answers from a script; records every request."""

    name = "fake"

    def __init__(
        self,
        fn: Callable[[Request], Reply] | None = None,
        *,
        replies: Sequence[Reply] | None = None,
        model: str = "fake-model",
    ) -> None:
        self.model = model
        self.requests: list[Request] = []
        self._fn = fn
        self._replies = list(replies) if replies is not None else None

    def complete(self, request: Request) -> Completion:
        """Answer the next scripted reply (or compute one) and record the request."""
        self.requests.append(request)
        reply = self._next(request)
        text = reply if isinstance(reply, str) else json.dumps(reply)
        return Completion(
            text=text,
            model=self.model,
            input_tokens=len(request.system + request.prompt) // 4,
            output_tokens=len(text) // 4,
        )

    def _next(self, request: Request) -> Reply:
        if self._fn is not None:
            return self._fn(request)
        if self._replies is None:
            minimal: dict[str, Any] = minimal_instance(request.schema)
            return minimal
        if not self._replies:
            raise AssertionError(
                f"FakeProvider ran out of replies after {len(self.requests) - 1} calls"
            )
        return self._replies.pop(0)


def minimal_instance(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """The smallest value that satisfies a JSON schema of objects, arrays, enums and scalars."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return minimal_instance(defs[schema["$ref"].split("/")[-1]], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:  # a nullable field's smallest value is null
        branches = schema["anyOf"]
        if any(branch.get("type") == "null" for branch in branches):
            return None
        return minimal_instance(branches[0], defs)
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        props = schema.get("properties", {})
        return {name: minimal_instance(props[name], defs) for name in required}
    if kind == "array":
        count = schema.get("minItems", 0)
        return [minimal_instance(schema.get("items", {}), defs) for _ in range(count)]
    return {"string": "", "integer": 0, "number": 0, "boolean": False}.get(str(kind))
