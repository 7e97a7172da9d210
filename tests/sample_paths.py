"""Paths to the shared real-shaped samples and to our own small ones (importable from any test)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# Our copies of the small public samples of ../shared/fixtures (each folder keeps its licence),
# so the suite runs where ../shared is absent; benchmarks stay in ../shared for bench/ only.
FIXTURES = Path(__file__).resolve().parent / "data" / "fixtures"
BENCHMARKS = SHARED / "benchmarks"
DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = ROOT / "examples"
