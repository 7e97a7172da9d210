"""Adding a regression case to a pytest eval file: a parametrize list, a list of cases, or a test.

A ``pytest.mark.parametrize`` list or a module-level list of cases gets one more entry of the same
shape; otherwise a test function that sends a request and asks a grader is copied with the new
request and expectation. Everything is found with ``ast``; top-level names are kept, and the edit
is re-parsed before use.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from ...fixes.validate import top_level_names
from ...models.diagnosis import Edit
from ..structured import EXPECTED_KEY, INPUT_KEY
from .edit_targets import apply_edit, node_span, replace_span
from .eval_targets import _norm, new_case

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
    if INPUT_KEY.match(name):
        return user_input
    return expected if EXPECTED_KEY.match(name) else None


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
