"""Paths to the shared real-shaped samples and to our own small ones (importable from any test)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures"
BENCHMARKS = SHARED / "benchmarks"
DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = ROOT / "examples"
