"""Adding a regression case to the agent's eval file, in the shape its cases already have.

Eval files are JSON lists (or an object holding one), JSON Lines, YAML lists, CSV tables or pytest
files: a ``pytest.mark.parametrize`` list or a module-level list of cases gets one more entry of
the same shape, otherwise a test function that sends a request and asks a grader is copied with the
new request and expectation (found with ``ast``; top-level names are kept). The new
case copies the keys of the last existing case: input-like keys get the trace's user request,
expectation-like keys the expected behaviour, ids continue the sequence, tags get ``refinery``;
a field that cannot be filled from the trace is left out (never an empty placeholder), except in
a CSV row, whose columns are fixed. The edit is anchored at the end of the list and re-parsed
before use.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import PurePath
from typing import Any

import yaml

from ...models.diagnosis import Edit
from ..structured import EXPECTED_KEY, INPUT_KEY, load_structured
from .edit_targets import apply_edit, replace_span

_ID = re.compile(r"^(id|case_?id|test_?id|uid|name)$")
_UNFILLED = object()
"""A field the trace cannot fill: left out of the new case."""
_NOTE = re.compile(r"^(description|title|notes?|comment)$")


def eval_case_edit(path: str, content: str, user_input: str, expected: str) -> Edit | None:
    """An edit adding one case (the request and the expectation) to the eval file, or None."""
    suffix = PurePath(path).suffix.lower()
    if suffix == ".py":
        from .pytest_cases import python_case_edit  # its module reads this one's case shapes

        return python_case_edit(path, content, user_input, expected)
    try:
        data = load_structured(path, content)
    except (ValueError, SyntaxError, yaml.YAMLError, csv.Error):
        return None
    edit: Edit | None
    if suffix == ".jsonl":
        edit = _append_line(path, content, data, user_input, expected)
    elif suffix == ".csv":
        edit = _append_csv(path, content, data, user_input, expected)
    elif suffix == ".json":
        edit = _append_json(path, content, data, user_input, expected)
    elif suffix in (".yaml", ".yml"):
        edit = _append_yaml(path, content, data, user_input, expected)
    else:
        return None
    return edit if edit is not None and _grew(path, content, edit) else None


def new_case(cases: list[Any], user_input: str, expected: str) -> dict[str, Any]:
    """A case shaped like the last dict in ``cases``, holding the request and the expectation."""
    exemplar = next((c for c in reversed(cases) if isinstance(c, dict)), {})
    filled = {str(k): _fill(str(k), v, cases, user_input, expected) for k, v in exemplar.items()}
    case = {k: v for k, v in filled.items() if v is not _UNFILLED}
    if not any(INPUT_KEY.match(_norm(k)) for k in case):
        case["input"] = user_input
    if not any(EXPECTED_KEY.match(_norm(k)) for k in case):
        case["expected"] = expected
    return case


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9_]", "", key.lower().replace("-", "_"))


def _fill(key: str, value: Any, cases: list[Any], user_input: str, expected: str) -> Any:
    name = _norm(key)
    if INPUT_KEY.match(name):
        return _shaped(value, user_input, message=True)
    if EXPECTED_KEY.match(name):
        scalar = isinstance(value, bool | int | float)
        return _UNFILLED if scalar else _shaped(value, expected, message=False)
    if _ID.match(name):
        return _next_id(key, value, cases)
    if _NOTE.match(name):
        return f"Regression: {expected}"
    if isinstance(value, list) and re.search(r"tag|label", name):
        return ["refinery"]
    return _UNFILLED


def _shaped(value: Any, text: str, *, message: bool) -> Any:
    if isinstance(value, dict):
        keys = [k for k, v in value.items() if isinstance(v, str)] or list(value)
        return {keys[0]: text} if keys else {"text": text}
    if isinstance(value, list):
        if message and value and isinstance(value[0], dict) and "role" in value[0]:
            return [{"role": "user", "content": text}]
        return [text]
    return text


def _next_id(key: str, value: Any, cases: list[Any]) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        ids = [c.get(key) for c in cases if isinstance(c, dict)]
        return max((i for i in ids if isinstance(i, int)), default=0) + 1
    return f"refinery-regression-{len(cases) + 1}"


def _case_list(data: Any) -> tuple[str | None, list[Any]] | None:
    """The list of cases and the key holding it (None for a top-level list)."""
    if isinstance(data, list):
        return None, data
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, list) and (not value or isinstance(value[0], dict)):
                return str(key), value
    return None


def _append_line(path: str, content: str, data: Any, user_input: str, expected: str) -> Edit:
    line = json.dumps(new_case(data, user_input, expected), ensure_ascii=False)
    end = len(content.rstrip())
    return replace_span(path, content, end, end, ("\n" if end else "") + line)


def _append_csv(path: str, content: str, rows: Any, user_input: str, expected: str) -> Edit | None:
    header = next(csv.reader(io.StringIO(content)), None)
    if not header:
        return None
    case = new_case(rows, user_input, expected)
    out = io.StringIO()
    newline = "\r\n" if "\r\n" in content else "\n"
    csv.writer(out, lineterminator=newline).writerow([case.get(h, "") for h in header])
    end = len(content.rstrip())
    return replace_span(path, content, end, end, newline + out.getvalue().rstrip("\r\n"))


def _append_json(path: str, content: str, data: Any, user_input: str, expected: str) -> Edit | None:
    found = _case_list(data)
    if found is None:
        return None
    key, cases = found
    start = _list_start(content, key)
    if start is None:
        return None
    _, end = json.JSONDecoder().raw_decode(content, start)
    close = end - 1
    last = len(content[:close].rstrip())
    case = new_case(cases, user_input, expected)
    if not cases:
        return replace_span(path, content, last, last, json.dumps(case, ensure_ascii=False))
    compact = ", " + json.dumps(case, ensure_ascii=False)
    line_start = content.rfind("\n", 0, last - 1) + 1
    indent = content[line_start : last - 1]
    if indent.strip() or content[last - 1] not in "}]" or line_start <= start:
        return replace_span(path, content, last, last, compact)
    previous = content[content.rfind("\n", 0, line_start - 1) + 1 : line_start - 1]
    unit = len(previous) - len(previous.lstrip()) - len(indent)
    block = json.dumps(case, indent=unit if unit > 0 else 2, ensure_ascii=False)
    return replace_span(path, content, last, last, ",\n" + _indent(block, indent))


def _list_start(content: str, key: str | None) -> int | None:
    if key is None:
        return len(content) - len(content.lstrip())
    match = re.search(rf'"{re.escape(key)}"\s*:\s*\[', content)
    return match.end() - 1 if match else None


def _indent(block: str, indent: str) -> str:
    return "\n".join(indent + line for line in block.split("\n"))


def _append_yaml(path: str, content: str, data: Any, user_input: str, expected: str) -> Edit | None:
    found = _case_list(data)
    if found is None:
        return None
    key, cases = found
    end = _yaml_list_end(content, key)
    after_key = content.find(f"{key}:") if key else 0
    item = re.compile(r"^([ \t]*)- ", re.M).search(content, max(after_key, 0))
    indent = item.group(1) if item else ("  " if key else "")
    dumped = yaml.safe_dump(
        [new_case(cases, user_input, expected)], sort_keys=False, allow_unicode=True, width=10000
    )
    block = "\n".join(indent + line for line in dumped.rstrip("\n").split("\n"))
    return replace_span(path, content, end, end, "\n" + block)


def _yaml_list_end(content: str, key: str | None) -> int:
    match = (
        re.search(rf"^([ \t]*)[\"']?{re.escape(key)}[\"']?[ \t]*:", content, re.M) if key else None
    )
    if match is None:
        return len(content.rstrip())
    key_col, end = len(match.group(1)), match.end()
    for line in re.finditer(r"^.*$", content[match.end() + 1 :], re.M):
        text = line.group()
        col = len(text) - len(text.lstrip())
        if text.strip() and col <= key_col and not (col == key_col and text.lstrip()[:2] == "- "):
            break
        if text.strip():
            end = match.end() + 1 + line.end()
    return end


def _grew(path: str, content: str, edit: Edit) -> bool:
    before = _case_list(load_structured(path, content))
    try:
        after = _case_list(load_structured(path, apply_edit(content, edit)))
    except (ValueError, SyntaxError, yaml.YAMLError, csv.Error):
        return False
    return before is not None and after is not None and len(after[1]) == len(before[1]) + 1
