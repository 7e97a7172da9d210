"""Trace ingestion: every source and file format becomes one ``Trace`` of ``Run`` values."""

from .model import Message, Run, RunKind, TokenUsage, ToolCall, Trace, build_trace
from .sources import load_trace, load_trace_file

__all__ = [
    "Message",
    "Run",
    "RunKind",
    "TokenUsage",
    "ToolCall",
    "Trace",
    "build_trace",
    "load_trace",
    "load_trace_file",
]
