"""Eval cases read from the project's eval files: an input, an expectation, deterministic checks.

Eval files are JSON lists (or an object holding one), JSON Lines or YAML lists; keys are recognised
with the same lexicon the analyser uses to add cases (``input``/``question``...,
``expected``/``ideal``...). Deterministic checks are the keys ``must_include`` (also
``must_contain``, ``contains``), ``must_not_include`` (``must_not_contain``, ``not_contains``) and
``must_match`` (``regex``): a string or a list of strings. Cases in pytest files are run by the
user's own command (``--eval-command``), not here.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from ..analysis.structured import EXPECTED_KEY, INPUT_KEY, load_structured
from ..traces.messages import normalise_messages
from ..traces.model import Message

_CHECK_KEYS = {
    "must_include": "include", "must_contain": "include", "contains": "include",
    "must_not_include": "exclude", "must_not_contain": "exclude", "not_contains": "exclude",
    "must_match": "match", "regex": "match",
}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Check:
    """One deterministic check of an answer."""

    kind: str
    """``include``, ``exclude`` or ``match``."""
    value: str

    def failure(self, answer: str) -> str | None:
        """Why ``answer`` fails this check, or None when it passes."""
        lowered = answer.lower()
        if self.kind == "include" and self.value.lower() not in lowered:
            return f"does not include {self.value!r}"
        if self.kind == "exclude" and self.value.lower() in lowered:
            return f"includes {self.value!r}"
        if self.kind == "match" and not re.search(self.value, answer, re.I | re.S):
            return f"does not match /{self.value}/"
        return None


@dataclass(frozen=True, kw_only=True)
class EvalCase:
    """One eval case: what is sent, what should happen, and its deterministic checks."""

    messages: tuple[Message, ...]
    """The case's input as chat messages (a plain string is one user message)."""
    expected: str = ""
    checks: tuple[Check, ...] = ()
    key: str = ""
    """The case as canonical JSON, to tell added cases from existing ones."""

    @property
    def label(self) -> str:
        """The case's last user text, for reports."""
        users = [m.content for m in self.messages if m.role == "user"]
        return (users or [m.content for m in self.messages] or [""])[-1]

    def failures(self, answer: str) -> list[str]:
        """Every deterministic check ``answer`` fails."""
        return [f for f in (c.failure(answer) for c in self.checks) if f]


def read_cases(path: str, content: str) -> list[EvalCase]:
    """The cases of an eval file that have an input and an expectation or a check."""
    try:
        data = load_structured(path, content)
    except (ValueError, SyntaxError, yaml.YAMLError, csv.Error):
        return []
    return [case for case in map(_case, _items(data)) if case is not None]


def _items(data: Any) -> Iterator[Any]:
    if isinstance(data, list):
        yield from data
    elif isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if lists:
            yield from max(lists, key=len)


def _case(raw: Any) -> EvalCase | None:
    if not isinstance(raw, dict):
        return None
    fields = {_norm(str(k)): v for k, v in raw.items()}
    given = next((v for k, v in fields.items() if INPUT_KEY.match(k)), None)
    expected = next((v for k, v in fields.items() if EXPECTED_KEY.match(k)), None)
    checks = tuple(
        Check(kind=_CHECK_KEYS[k], value=str(item))
        for k, v in fields.items() if k in _CHECK_KEYS
        for item in (v if isinstance(v, list) else [v]) if item not in (None, "")
    )  # fmt: skip
    messages = _messages(given)
    if not messages or (not isinstance(expected, str) and not checks):
        return None
    return EvalCase(
        messages=messages,
        expected=expected if isinstance(expected, str) else "",
        checks=checks,
        key=json.dumps(raw, sort_keys=True, default=str),
    )


def _messages(given: Any) -> tuple[Message, ...]:
    if isinstance(given, str) and given.strip():
        return (Message(role="user", content=given),)
    if isinstance(given, list | dict):
        return tuple(m for m in normalise_messages(given) if m.content or m.tool_calls)
    return ()


def _norm(key: str) -> str:
    return re.sub(r"[\s\-]+", "_", key.strip().lower())
