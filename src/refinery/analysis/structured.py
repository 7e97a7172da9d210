"""Reading the agent's structured files: does a text parse as its format, and where is its prompt.

Prompts, evals and configs come as .txt/.md, Python, JSON, JSON Lines, YAML, TOML or CSV. The
offline analyser edits them as text, so it needs two facts per file: whether an edited text still
parses (checked before any edit is offered) and which string field holds the system prompt.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import yaml

INPUT_KEY = re.compile(
    r"^(input|inputs|question|q|query|ask|prompt|user_?input|user_?message|user|message|messages|"
    r"request|utterance|text|conversation|task|instruction)$"
)
"""Keys of an eval case that hold its input."""
EXPECTED_KEY = re.compile(
    r"^(expected\w*|expect|ideal|reference\w*|answer|a|target|criteria|rubric|output|outputs|"
    r"label|ground_?truth|golden|assertion|expectation|should)$"
)
"""Keys of an eval case that hold what a correct answer does."""
_SYSTEM_KEY = re.compile(r"^(system|system_?prompt|system_?message|instructions?|developer)$", re.I)
_PROMPT_KEY = re.compile(r"prompt|preamble|persona|instruction|system", re.I)


@dataclass(frozen=True, kw_only=True)
class PromptField:
    """A string field of a JSON/YAML document that holds a prompt."""

    path: tuple[str | int, ...]
    """Keys and indices from the document root."""
    key: str
    """The field's own key."""
    value: str
    """Its text."""
    score: int
    """3 for a system prompt, 2 for another prompt-named field."""


def parses(path: str, text: str) -> bool:
    """True when ``text`` is valid for the file's format (unknown formats always are)."""
    try:
        load_structured(path, text)
    except (ValueError, SyntaxError, yaml.YAMLError, csv.Error):
        return False
    return True


def load_structured(path: str, text: str) -> Any:
    """The parsed document for JSON, JSON Lines, YAML, TOML, CSV and Python; the text otherwise.

    Raises:
        ValueError, SyntaxError, yaml.YAMLError, csv.Error: the text does not parse.
    """
    suffix = PurePath(path).suffix.lower()
    if suffix == ".json":
        return json.loads(text)
    if suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if suffix in (".yaml", ".yml"):
        return yaml.safe_load(text)
    if suffix == ".toml":
        return tomllib.loads(text)
    if suffix == ".csv":
        return list(csv.DictReader(io.StringIO(text)))
    if suffix == ".py":
        return ast.parse(text)
    return text


def prompt_fields(data: Any) -> list[PromptField]:
    """Prompt-holding string fields of a JSON/YAML document, system prompts and longest first."""
    found = list(_walk(data, ()))
    return sorted(found, key=lambda f: (f.score, len(f.value)), reverse=True)


def _walk(data: Any, path: tuple[str | int, ...]) -> Iterator[PromptField]:
    if isinstance(data, dict):
        system_message = data.get("role") in ("system", "developer")
        for key, value in data.items():
            if isinstance(value, str) and value.strip():
                score = _key_score(str(key), system_message)
                if score:
                    yield PromptField(path=(*path, key), key=str(key), value=value, score=score)
            else:
                yield from _walk(value, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _walk(item, (*path, index))


def _key_score(key: str, system_message: bool) -> int:
    if _SYSTEM_KEY.match(key) or (system_message and key in ("content", "text")):
        return 3
    return 2 if _PROMPT_KEY.search(key) else 0


def prompt_text(path: str, content: str) -> str:
    """The prompt a file holds: its best prompt field or constant, or the whole text."""
    try:
        data = load_structured(path, content)
    except (ValueError, SyntaxError, yaml.YAMLError, csv.Error):
        return content
    if isinstance(data, ast.AST):
        strings = [
            n.value
            for n in ast.walk(data)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        return max(strings, key=len, default=content)
    if isinstance(data, str):
        return data
    fields = prompt_fields(data)
    return fields[0].value if fields else content
