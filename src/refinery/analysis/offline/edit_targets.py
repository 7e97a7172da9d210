"""Where a fix goes in a file: exact, unique edits that keep the file parseable.

An edit replaces a search text that must occur exactly once in the file's current content, so every
insertion is anchored on the smallest run of whole lines around the insertion point that is unique.
Prompts live in many shapes: a whole .txt/.md file, a string constant in Python (found with ``ast``,
written in the literal's own quoting style), a field of a JSON or YAML file (escaped as that format
needs). Every edit is applied in memory and re-parsed before it is offered; one that would break the
file is not offered at all.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import yaml

from ...knowledge.patterns import ConfigKnob
from ...models.diagnosis import Edit
from ..structured import parses, prompt_fields

_PY_NAME = re.compile(r"prompt|system|instruction|persona|preamble|template|message", re.I)
_BLOCK = re.compile(r"^[|>][0-9+-]*[ \t]*(#.*)?$")


@dataclass(frozen=True, kw_only=True)
class ConfigChange:
    """A numeric setting changed by an edit."""

    edit: Edit
    key: str
    old: str
    new: str


def apply_edit(content: str, edit: Edit) -> str:
    """``content`` with the edit applied (the search text replaced once)."""
    return content.replace(edit.search, edit.replace, 1)


def unique_span(content: str, start: int, end: int) -> tuple[int, int]:
    """Whole lines around ``[start, end)``, grown until the text occurs exactly once."""
    s = content.rfind("\n", 0, start) + 1
    e = content.find("\n", end)
    e = len(content) if e < 0 else e
    while (content.count(content[s:e]) != 1 or not content[s:e].strip()) and (s, e) != (
        0,
        len(content),
    ):
        if s > 0:
            s = content.rfind("\n", 0, s - 1) + 1
        else:
            nxt = content.find("\n", e + 1)
            e = len(content) if nxt < 0 else nxt
    return s, e


def replace_span(path: str, content: str, start: int, end: int, new: str) -> Edit:
    """An edit replacing ``content[start:end]`` with ``new``, anchored on unique whole lines."""
    s, e = unique_span(content, start, end)
    search = content[s:e]
    return Edit(file=path, search=search, replace=content[s:start] + new + content[end:e])


def prompt_end_edit(path: str, content: str, rule: str, *, joined: bool = False) -> Edit | None:
    """An edit appending ``rule`` to the end of the prompt the file holds, or None.

    ``joined``: the rule is the next item of the prompt's final list, so it follows on the next
    line instead of after a blank line.
    """
    suffix = PurePath(path).suffix.lower()
    sep = "\n" if joined else "\n\n"
    if suffix == ".py":
        edit = _python_edit(path, content, rule, sep)
    elif suffix == ".json":
        edit = _json_edit(path, content, rule, sep)
    elif suffix in (".yaml", ".yml"):
        edit = _yaml_edit(path, content, rule, sep)
    elif suffix in (".toml", ".jsonl", ".csv", ".ini", ".cfg"):
        edit = None
    else:
        edit = _text_edit(path, content, rule, sep)
    if edit is None or not parses(path, apply_edit(content, edit)):
        return None
    return edit


def prompt_target(path: str, content: str) -> str:
    """The prompt text ``prompt_end_edit`` appends to: the string constant or field it edits."""
    suffix = PurePath(path).suffix.lower()
    try:
        if suffix == ".py":
            node = _python_prompt(ast.parse(content))
            return str(node.value) if node is not None else ""
        if suffix in (".json", ".yaml", ".yml"):
            data = json.loads(content) if suffix == ".json" else yaml.safe_load(content)
            fields = prompt_fields(data)
            return fields[0].value if fields else ""
    except (SyntaxError, ValueError, yaml.YAMLError):
        return ""
    return content


def _text_edit(path: str, content: str, rule: str, sep: str) -> Edit | None:
    body = content.rstrip()
    if not body:
        return None
    return replace_span(path, content, len(body), len(body), sep + rule)


def _python_edit(path: str, content: str, rule: str, sep: str) -> Edit | None:
    try:
        node = _python_prompt(ast.parse(content))
    except SyntaxError:
        return None
    if node is None:
        return None
    start, end = node_span(content, node)
    return _literal_insert(path, content, (start, end), rule, sep)


def _python_prompt(tree: ast.AST) -> ast.Constant | None:
    nodes = sorted(_python_prompts(tree), key=lambda item: item[0], reverse=True)
    return nodes[0][1] if nodes else None


def _python_prompts(tree: ast.AST) -> Iterator[tuple[tuple[int, int], ast.Constant]]:
    """(score, node) for every prompt-like string constant: named like a prompt, or long."""
    for node in ast.walk(tree):
        for name, value in _named_values(node):
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                named = 2 if "system" in name.lower() else 1 if _PY_NAME.search(name) else 0
                if named or len(value.value) >= 80:
                    yield (named, len(value.value)), value


def _named_values(node: ast.AST) -> Iterator[tuple[str, ast.expr]]:
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield _target_name(target), node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        yield _target_name(node.target), node.value
    elif isinstance(node, ast.keyword) and node.arg:
        yield node.arg, node.value
    elif isinstance(node, ast.Dict):
        yield from _dict_values(node)


def _dict_values(node: ast.Dict) -> Iterator[tuple[str, ast.expr]]:
    keys = {
        k.value: v
        for k, v in zip(node.keys, node.values, strict=True)
        if isinstance(k, ast.Constant) and isinstance(k.value, str)
    }
    role = keys.get("role")
    is_system = isinstance(role, ast.Constant) and role.value in ("system", "developer")
    for key, value in keys.items():
        yield ("system_content" if is_system and key == "content" else str(key)), value


def _target_name(target: ast.expr) -> str:
    if isinstance(target, ast.Name):
        return target.id
    return target.attr if isinstance(target, ast.Attribute) else ""


def node_span(content: str, node: ast.expr | ast.stmt) -> tuple[int, int]:
    """``[start, end)`` character offsets of an ``ast`` node in ``content``."""
    lines = content.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(lineno: int, col: int) -> int:
        return starts[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode())

    assert node.end_lineno is not None and node.end_col_offset is not None
    return offset(node.lineno, node.col_offset), offset(node.end_lineno, node.end_col_offset)


def _literal_insert(
    path: str, content: str, span: tuple[int, int], rule: str, sep: str
) -> Edit | None:
    start, end = span
    token = _last_string_token(content[start:end])
    if token is None:
        return None
    prefix = token[: len(token) - len(token.lstrip("rRuUbBfF"))]
    body = token[len(prefix) :]
    quote = body[:3] if body[:3] in ('"""', "'''") else body[0]
    raw = "r" in prefix.lower()
    text = _py_escape(rule, quote[0], raw=raw, triple=len(quote) == 3)
    pos = end - len(quote)
    if len(quote) == 1:
        gap = " " if raw else sep.replace("\n", "\\n")
        if not raw and sep == "\n" and content[:pos].endswith("\\n"):
            return replace_span(path, content, pos, pos, text + "\\n")
        return replace_span(path, content, pos, pos, gap + text)
    tail = content[content.rfind("\n", start, pos) + 1 : pos]
    if "\n" in content[start:pos] and not tail.strip():
        line_start = pos - len(tail)
        indent = "" if sep == "\n" else tail
        return replace_span(path, content, line_start, line_start, f"{indent}{text}\n")
    return replace_span(path, content, pos, pos, sep + text)


def _last_string_token(segment: str) -> str | None:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(f"({segment})").readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    strings = [t.string for t in tokens if t.type == tokenize.STRING]
    return strings[-1] if strings else None


def _py_escape(rule: str, quote: str, *, raw: bool, triple: bool) -> str:
    if raw:
        swapped = rule.replace(quote, "\u201d" if quote == '"' else "\u2019")
        return swapped if triple else swapped.replace("\n", " ")
    escaped = rule.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return escaped if triple else escaped.replace("\n", "\\n")


def _json_edit(path: str, content: str, rule: str, sep: str) -> Edit | None:
    try:
        data = json.loads(content)
    except ValueError:
        return None
    decoder = json.JSONDecoder()
    for field in prompt_fields(data):
        for match in re.finditer(rf'"{re.escape(field.key)}"\s*:\s*"', content):
            value, end = decoder.raw_decode(content, match.end() - 1)
            if value == field.value:
                text = rule + "\n" if sep == "\n" and value.endswith("\n") else sep + rule
                addition = json.dumps(text, ensure_ascii=False)[1:-1]
                return replace_span(path, content, end - 1, end - 1, addition)
    return None


def _yaml_edit(path: str, content: str, rule: str, sep: str) -> Edit | None:
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError:
        return None
    for field in prompt_fields(data):
        pattern = rf"^([ \t]*(?:- +)?)[\"']?{re.escape(field.key)}[\"']?[ \t]*:[ \t]*(.*)$"
        for match in re.finditer(pattern, content, re.M):
            edit = _yaml_field_edit(path, content, match, field.value, rule, sep)
            if edit is not None and _holds(yaml.safe_load(apply_edit(content, edit)), field, rule):
                return edit
    return None


def _yaml_field_edit(
    path: str, content: str, match: re.Match[str], value: str, rule: str, sep: str
) -> Edit:
    rest = match.group(2)
    if not _BLOCK.match(rest):
        new = json.dumps(value.rstrip("\n") + sep + rule, ensure_ascii=False)
        return replace_span(path, content, match.start(2), match.end(2), new)
    key_col = len(match.group(1))
    pos, indent = match.end(), " " * (key_col + 2)
    for line in re.finditer(r"^.*$", content[match.end() + 1 :], re.M):
        stripped = line.group().strip()
        col = len(line.group()) - len(line.group().lstrip())
        if stripped and col <= key_col:
            break
        if stripped:
            pos, indent = match.end() + 1 + line.end(), line.group()[:col]
    lines = [indent + piece if piece else "" for piece in rule.split("\n")]
    gap = "\n\n" if rest.startswith(">") else "\n"
    return replace_span(path, content, pos, pos, gap + "\n".join(lines))


def _holds(data: Any, field: Any, rule: str) -> bool:
    wanted = " ".join(rule.split())
    return any(
        wanted in " ".join(f.value.split()) for f in prompt_fields(data) if f.path == field.path
    )


def config_edit(
    path: str, content: str, knob: ConfigKnob, family: str = "other", named: tuple[str, ...] = ()
) -> ConfigChange | None:
    """An edit changing the first of ``named`` + ``knob.keys`` found, or None.

    A numeric setting is scaled; an empty one (null, None, ``""``) gets the knob's value for the
    model family; a model name is replaced by its stronger model (``knob.upgrades``); an off switch
    (``false``) is turned on. A key ``parent.key`` is a nested setting: the parent's name must
    appear on the same line (``retry: {attempts: 1}``) or one of the few lines above it.
    """
    value = knob.value_for(family) if knob.values else None
    for key in dict.fromkeys((*named, *knob.keys)):
        parent, _, leaf = key.rpartition(".")
        pattern = (
            rf"[\"']?(?<![\w.-]){re.escape(leaf)}\b[\"']?[ \t]*[:=][ \t]*({_shape(knob, value)})"
        )
        for match in re.finditer(pattern, content):
            if parent and not _under(content, match.start(), parent):
                continue
            change = _change(path, content, match, knob, value)
            if change is not None:
                return ConfigChange(edit=change[0], key=key, old=match.group(1), new=change[1])
    return None


def _shape(knob: ConfigKnob, value: str | None) -> str:
    if knob.upgrades:
        return _STRING
    if knob.switch_on:
        return _OFF
    return _EMPTY if value is not None else _NUMBER


_NUMBER = r"-?\d+(?:\.\d+)?\b"
_EMPTY = r"null\b|None\b|none\b|~|\"\"|''|nil\b"
_STRING = r"\"[^\"\n]+\"|'[^'\n]+'|[A-Za-z][\w.:/@-]*"
_OFF = r"false\b|False\b|no\b|off\b"
_ON = {"false": "true", "False": "True", "no": "yes", "off": "on"}
_PARENT_LINES = 3


def _under(content: str, pos: int, parent: str) -> bool:
    start = pos
    for _ in range(_PARENT_LINES + 1):
        start = content.rfind("\n", 0, max(start - 1, 0)) + 1 if start > 0 else 0
    return re.search(rf"\b{re.escape(parent)}\w*", content[start:pos], re.I) is not None


def _change(
    path: str, content: str, match: re.Match[str], knob: ConfigKnob, value: str | None
) -> tuple[Edit, str] | None:
    old = match.group(1)
    new = _new_value(old, knob, value)
    if new is None:
        return None
    edit = replace_span(path, content, match.start(1), match.end(1), new)
    return (edit, new) if parses(path, apply_edit(content, edit)) else None


def _new_value(old: str, knob: ConfigKnob, value: str | None) -> str | None:
    if knob.upgrades:
        return upgraded_model(old, knob.upgrades)
    if knob.switch_on:
        return _ON.get(old)
    if value is not None:
        return json.dumps(value)
    new = _scaled(old, knob)
    return None if (float(new) - float(old)) * (knob.factor - 1) <= 0 else new


def upgraded_model(literal: str, upgrades: tuple[tuple[str, str], ...]) -> str | None:
    """``literal`` (a model name, quoted or not) naming the stronger model, or None.

    A provider prefix (``openai:``, ``anthropic/``) and the quoting are kept; a dated or
    ``-latest`` snapshot of a listed model counts as that model.
    """
    quote = literal[0] if literal[:1] in "\"'" else ""
    name = literal.strip("\"'")
    prefix, _, model = name.rpartition("/") if "/" in name else name.rpartition(":")
    sep = name[len(prefix)] if prefix else ""
    for weak, strong in sorted(upgrades, key=lambda item: -len(item[0])):
        if re.fullmatch(rf"{re.escape(weak)}(?:-(?:\d[\d-]*|latest))?", model):
            return f"{quote}{prefix}{sep}{strong}{quote}"
    return None


def _scaled(old: str, knob: ConfigKnob) -> str:
    value = min(max(float(old) * knob.factor, knob.minimum), knob.maximum)
    if "." in old:
        return f"{round(value, 2):g}" if value != int(value) else f"{value:.1f}"
    return str(int(value))
