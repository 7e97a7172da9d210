"""Refinery: from a failing agent trace and an expectation to a safely applied fix.

One trace and one line of expected behaviour become a diagnosis, ranked fixes and a safely applied
change.

The public API is what this module exports; the CLI is a thin layer over it.
"""

from __future__ import annotations

from .errors import ApplyRefused, ConfigError, InputError, ProviderError, RefineryError
from .traces.model import Message, Run, RunKind, TokenUsage, ToolCall, Trace
from .traces.sources import load_trace

__version__ = "0.1.0"

__all__ = [
    "ApplyRefused",
    "ConfigError",
    "InputError",
    "Message",
    "ProviderError",
    "RefineryError",
    "Run",
    "RunKind",
    "TokenUsage",
    "ToolCall",
    "Trace",
    "__version__",
    "load_trace",
]
