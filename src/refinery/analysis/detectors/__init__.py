"""The built-in detectors, and the one call that runs every registered detector over a trace.

Importing this package registers the built-ins (each module's ``@detector`` functions); plugins
from the ``refinery.detectors`` entry-point group are loaded once, on the first run. Findings come
back deduplicated, most severe first, then in the trace's execution order.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from ...errors import ConfigError
from ..findings import DETECTORS, DetectorInput, Finding, Severity
from . import context, coverage, drift, errors, loops, retrieval, tokens, tools
from .coverage import expectation_coverage, final_output
from .drift import prompt_drift
from .errors import classify, run_errors
from .loops import repeated_llm_outputs, repeated_tool_calls, retries_after_errors
from .tokens import empty_outputs, finish_length, near_context_window, parse_after_truncation
from .tools import empty_tool_results, tool_call_problems, tool_output_errors

__all__ = [
    "context",
    "retrieval",
    "classify",
    "coverage",
    "drift",
    "empty_outputs",
    "empty_tool_results",
    "errors",
    "expectation_coverage",
    "final_output",
    "finish_length",
    "loops",
    "near_context_window",
    "parse_after_truncation",
    "prompt_drift",
    "repeated_llm_outputs",
    "repeated_tool_calls",
    "retries_after_errors",
    "run_detectors",
    "run_errors",
    "tokens",
    "tool_call_problems",
    "tool_output_errors",
    "tools",
]

_SEVERITY_RANK = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2, Severity.INFO: 3}
_plugins_loaded = False


def _load_plugins() -> None:
    """Load ``refinery.detectors`` entry points once: modules self-register, functions are added."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group="refinery.detectors"):
        try:
            loaded = entry.load()
        except Exception as exc:  # a broken plugin is reported, not allowed to crash analysis
            message = f"detector plugin {entry.name}: failed to load ({exc})"
            raise ConfigError(message, "fix or uninstall the plugin") from exc
        if callable(loaded) and not isinstance(loaded, type) and loaded not in DETECTORS:
            DETECTORS.append(loaded)


def run_detectors(data: DetectorInput) -> list[Finding]:
    """Every registered detector's findings: deduplicated, by severity then execution order."""
    _load_plugins()
    unique: dict[tuple[str, str, str], Finding] = {}
    for detect in DETECTORS:
        for found in detect(data):
            unique.setdefault((found.kind, found.run_id, found.evidence), found)
    order = {run.id: index for index, run in enumerate(data.trace.runs)}
    return sorted(
        unique.values(),
        key=lambda f: (_SEVERITY_RANK[f.severity], order.get(f.run_id, len(order))),
    )
