"""Finding a fix's anchor in a recorded message: literally, through template variables, or loosely.

A prompt file may be a template (``{city}``, ``{{ city }}``, ``${city}``) that the agent rendered
before the call, so its text never occurs literally in the trace. The anchor is matched with each
variable standing for any text; the values it matched fill the same variables in the replacement.
A replacement that uses a variable the anchor did not capture cannot be rendered, and says so.
Whitespace differences (re-wrapped lines, CRLF) are tolerated when the match is unique.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VARIABLE = re.compile(r"\{\{\s*([\w.]+)\s*\}\}|\$\{(\w+)\}|\{([A-Za-z_]\w*)\}")


@dataclass(frozen=True, kw_only=True)
class Placed:
    """The message text with the edit applied, and how the anchor was found."""

    text: str
    how: str
    """``exactly``, ``through the template variables ...`` or ``ignoring whitespace``."""


def place(text: str, search: str, replace: str) -> Placed | str:
    """``text`` with ``search`` replaced once by ``replace``, or why that cannot be done."""
    if text.count(search) == 1:
        return Placed(text=text.replace(search, replace, 1), how="exactly")
    if text.count(search) > 1:
        return f"its anchor occurs {text.count(search)} times in the recorded message"
    if _VARIABLE.search(search):
        return _place_template(text, search, replace)
    return _place_loosely(text, search, replace) or "its anchor does not occur in the message"


def variables(text: str) -> list[str]:
    """Template variable names in ``text``, in order."""
    return [next(g for g in m.groups() if g) for m in _VARIABLE.finditer(text)]


def _pattern(search: str) -> re.Pattern[str]:
    parts: list[str] = []
    seen: set[str] = set()
    last = 0
    for match in _VARIABLE.finditer(search):
        parts.append(_loose(search[last : match.start()]))
        name = next(g for g in match.groups() if g)
        group = re.sub(r"\W", "_", name)
        parts.append(f"(?P={group})" if group in seen else f"(?P<{group}>.+?)")
        seen.add(group)
        last = match.end()
    parts.append(_loose(search[last:]))
    return re.compile("".join(parts), re.S)


def _loose(literal: str) -> str:
    words = literal.split()
    if not words:
        return r"\s+" if literal else ""
    core = r"\s+".join(re.escape(word) for word in words)
    return (
        (r"\s+" if literal[0].isspace() else "") + core + (r"\s+" if literal[-1].isspace() else "")
    )


def _place_template(text: str, search: str, replace: str) -> Placed | str:
    matches = list(_pattern(search).finditer(text))
    if len(matches) != 1:
        return (
            "its anchor, a template, does not occur in the message"
            if not matches
            else f"its anchor, a template, matches {len(matches)} places in the message"
        )
    values = {name: value for name, value in matches[0].groupdict().items() if value is not None}
    missing = [v for v in variables(replace) if re.sub(r"\W", "_", v) not in values]
    if missing:
        return (
            f"the new text uses the template variable {missing[0]}, whose value the recorded "
            "call does not show"
        )
    rendered = _VARIABLE.sub(
        lambda m: values[re.sub(r"\W", "_", next(g for g in m.groups() if g))], replace
    )
    start, end = matches[0].span()
    names = ", ".join(sorted(values))
    return Placed(
        text=text[:start] + rendered + text[end:], how=f"through the template variables {names}"
    )


def _place_loosely(text: str, search: str, replace: str) -> Placed | None:
    words = search.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    matches = list(pattern.finditer(text))
    if len(matches) != 1:
        return None
    start, end = matches[0].span()
    return Placed(text=text[:start] + replace + text[end:], how="ignoring whitespace")
