"""Best-practice knowledge as data: model facts, fix patterns and coverage vocabulary (YAML)."""

from __future__ import annotations

from .models import ModelInfo, model_family, model_info
from .patterns import Pattern, load_patterns, patterns_for

__all__ = ["ModelInfo", "Pattern", "load_patterns", "model_family", "model_info", "patterns_for"]
