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

import ast
import csv
import io
import json
import re
from pathlib import PurePath
from typing import Any

import yaml

from ...fixes.validate import top_level_names
from ...models.diagnosis import Edit
from ..structured import load_structured
from .edit_targets import apply_edit, node_span, replace_span

_INPUT = re.compile(
    r"^(input|inputs|question|q|query|ask|prompt|user_?input|user_?message|user|message|messages|"
    r"request|utterance|text|conversation|task|instruction)$"
)
_EXPECTED = re.compile(
    r"^(expected\w*|expect|ideal|reference\w*|answer|a|target|criteria|rubric|output|outputs|"
    r"label|ground_?truth|golden|assertion|expectation|should)$"
)
_ID = re.compile(r"^(id|case_?id|test_?id|uid|name)$")
_UNFILLED = object()
"""A field the trace cannot fill: left out of the new case."""
_NOTE = re.compile(r"^(description|title|notes?|comment)$")


def eval_case_edit(path: str, content: str, user_input: str, expected: str) -> Edit | None:
    """An edit adding one case (the request and the expectation) to the eval file, or None."""
    suffix = PurePath(path).suffix.lower()
    if suffix == ".py":
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
    if not any(_INPUT.match(_norm(k)) for k in case):
        case["input"] = user_input
    if not any(_EXPECTED.match(_norm(k)) for k in case):
        case["expected"] = expected
    return case


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9_]", "", key.lower().replace("-", "_"))


def _fill(key: str, value: Any, cases: list[Any], user_input: str, expected: str) -> Any:
    name = _norm(key)
    if _INPUT.match(name):
        return _shaped(value, user_input, message=True)
    if _EXPECTED.match(name):
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


_CASES_NAME = re.compile(r"case|example|test|eval|sample|scenario|question|quer|prompt|data", re.I)
_LIST = (ast.List, ast.Tuple)
_REGRESSION = "test_refinery_regression"


def python_case_edit(path: str, content: str, user_input: str, expected: str) -> Edit | None:
    """An edit adding one case to a pytest file, or None.

    A parametrize list or a module-level list of cases gets an entry shaped like its last one;
    otherwise a test function that passes a request to a call and its expectation to a grader
    in an ``assert`` is copied with the new values. The edited file must parse, keep its
    top-level names, and (for a list) hold exactly one more case.
    """
    try:
        tree = ast.parse(content)
    except SyntaxError:
        return None
    before = _py_case_count(tree)
    for node, names in _py_case_lists(tree):
        element = _py_element(node, names, user_input, expected, _double(content))
        edit = None if element is None else _py_list_insert(path, content, node, element)
        if edit is not None and _py_kept(tree, apply_edit(content, edit), before + 1):
            return edit
    edit = _py_test_copy(path, content, tree, user_input, expected)
    return edit if edit is not None and _py_kept(tree, apply_edit(content, edit), before) else None


def _py_case_lists(tree: ast.Module) -> list[tuple[ast.List | ast.Tuple, tuple[str, ...]]]:
    """Case lists with their argument names: parametrize lists first, then module-level lists."""
    found: list[tuple[ast.List | ast.Tuple, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [p for d in node.decorator_list if (p := _parametrize(d)) is not None]
    for stmt in tree.body:
        target, value = _py_assignment(stmt)
        if target and _CASES_NAME.search(target) and isinstance(value, _LIST) and value.elts:
            found.append((value, ()))
    return found


def _parametrize(decorator: ast.expr) -> tuple[ast.List | ast.Tuple, tuple[str, ...]] | None:
    if not (isinstance(decorator, ast.Call) and len(decorator.args) >= 2):
        return None
    func = decorator.func
    if not (isinstance(func, ast.Attribute) and func.attr == "parametrize"):
        return None
    names, values = decorator.args[0], decorator.args[1]
    if isinstance(names, ast.Constant) and isinstance(names.value, str):
        argnames = tuple(n.strip() for n in names.value.split(",") if n.strip())
    elif isinstance(names, _LIST):
        argnames = tuple(str(getattr(e, "value", "")) for e in names.elts)
    else:
        return None
    return (values, argnames) if isinstance(values, _LIST) and values.elts else None


def _py_assignment(stmt: ast.stmt) -> tuple[str, ast.expr | None]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target: ast.expr = stmt.targets[0]
        value: ast.expr | None = stmt.value
    elif isinstance(stmt, ast.AnnAssign):
        target, value = stmt.target, stmt.value
    else:
        return "", None
    return (target.id if isinstance(target, ast.Name) else ""), value


def _py_literal(value: Any, double: bool) -> str:
    """``value`` as Python source, strings in the file's quoting style."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if double else repr(value)
    if isinstance(value, dict):
        items = (f"{_py_literal(k, double)}: {_py_literal(v, double)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        inner = ", ".join(_py_literal(v, double) for v in value)
        return (
            f"[{inner}]"
            if isinstance(value, list)
            else f"({inner}{',' if len(value) == 1 else ''})"
        )
    return repr(value)


def _py_element(
    node: ast.List | ast.Tuple, names: tuple[str, ...], user_input: str, expected: str, double: bool
) -> str | None:
    """Source of a new entry shaped like the list's last one, or None when it cannot be filled."""
    last = _unwrap_param(node.elts[-1])
    if isinstance(last, ast.Dict):
        try:
            cases = [ast.literal_eval(_unwrap_param(e)) for e in node.elts]
        except ValueError:
            return None
        return _py_literal(new_case(cases, user_input, expected), double)
    width = len(last.elts) if isinstance(last, ast.Tuple) else 1
    names = names or (("input", "expected") if width == 2 else ())
    if len(names) != width or width < 2:
        return None
    values = [_py_value(_norm(n), user_input, expected) for n in names]
    if any(v is None for v in values):
        return None
    return _py_literal(tuple(values), double)


def _unwrap_param(node: ast.expr) -> ast.expr:
    """The values of a ``pytest.param(...)`` entry as a tuple (or the single value)."""
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "param" and node.args:
        return node.args[0] if len(node.args) == 1 else ast.Tuple(elts=node.args, ctx=ast.Load())
    return node


def _py_value(name: str, user_input: str, expected: str) -> str | None:
    if _INPUT.match(name):
        return user_input
    return expected if _EXPECTED.match(name) else None


def _py_list_insert(
    path: str, content: str, node: ast.List | ast.Tuple, element: str
) -> Edit | None:
    start, end = node_span(content, node)
    last_start, last_end = node_span(content, node.elts[-1])
    close = content.rfind(")" if isinstance(node, ast.Tuple) else "]", last_end, end)
    if close < 0:
        return None
    between = content[last_end:close]
    if "\n" not in content[start:last_start]:
        return replace_span(path, content, last_end, last_end, ", " + element)
    line_start = content.rfind("\n", 0, last_start) + 1
    indent = content[line_start:last_start]
    if indent.strip():
        return replace_span(path, content, last_end, last_end, ", " + element)
    if "," in between:
        comma = last_end + between.index(",") + 1
        return replace_span(path, content, comma, comma, f"\n{indent}{element},")
    return replace_span(path, content, last_end, last_end, f",\n{indent}{element}")


def _py_test_copy(
    path: str, content: str, tree: ast.Module, user_input: str, expected: str
) -> Edit | None:
    """A copy of a test that sends a request and grades it, with the new request and expectation."""
    for func in tree.body:
        slots = _py_test_slots(func) if isinstance(func, ast.FunctionDef) else None
        if slots is None or not isinstance(func, ast.FunctionDef):
            continue
        start, end = node_span(content, func)
        source = content[start:end]
        pairs = zip(slots, (user_input, expected), strict=True)
        for node, value in sorted(
            pairs, key=lambda p: (p[0].lineno, p[0].col_offset), reverse=True
        ):
            s, e = node_span(content, node)
            text = _py_literal(value, _double(content))
            source = source[: s - start] + text + source[e - start :]
        name = _free_name(tree)
        source = source.replace(f"def {func.name}(", f"def {name}(", 1)
        tail = len(content.rstrip())
        return replace_span(path, content, tail, tail, "\n\n\n" + source)
    return None


def _double(content: str) -> bool:
    return content.count('"') >= content.count("'")


def _free_name(tree: ast.Module) -> str:
    taken = top_level_names(tree)
    return next(
        name
        for i in range(len(taken) + 1)
        if (name := f"{_REGRESSION}_{i}" if i else _REGRESSION) not in taken
    )


def _py_test_slots(func: ast.FunctionDef) -> tuple[ast.Constant, ast.Constant] | None:
    """(request, expectation): a call's string argument outside asserts, a grader's inside one."""
    if not func.name.startswith("test") or func.decorator_list:
        return None
    graded = [c for a in ast.walk(func) if isinstance(a, ast.Assert) for c in _call_strings(a)]
    request = [c for c in _call_strings(func) if c not in graded and not _in_assert(func, c)]
    return (request[0], graded[0]) if request and graded else None


def _call_strings(node: ast.AST) -> list[ast.Constant]:
    return [
        arg
        for call in ast.walk(node)
        if isinstance(call, ast.Call)
        for arg in (*call.args, *(k.value for k in call.keywords))
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
    ]


def _in_assert(func: ast.FunctionDef, const: ast.Constant) -> bool:
    return any(const is n for a in ast.walk(func) if isinstance(a, ast.Assert) for n in ast.walk(a))


def _py_case_count(tree: ast.Module) -> int:
    return sum(len(node.elts) for node, _ in _py_case_lists(tree))


def _py_kept(tree: ast.Module, new_content: str, cases: int) -> bool:
    """The edited file parses, keeps every top-level name, and holds ``cases`` cases."""
    try:
        new = ast.parse(new_content)
    except SyntaxError:
        return False
    kept = top_level_names(tree) <= top_level_names(new)
    return kept and _py_case_count(new) == cases
