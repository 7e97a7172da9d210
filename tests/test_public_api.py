"""The public API: every name ``refinery`` exports resolves to the object of its home module."""

from __future__ import annotations

import refinery
from refinery.models.change import Change
from refinery.models.diagnosis import Hypothesis
from refinery.pipeline import load_analysis


def test_every_exported_name_resolves() -> None:
    missing = [name for name in refinery.__all__ if getattr(refinery, name, None) is None]
    assert missing == []


def test_models_and_saved_analyses_come_from_their_one_home() -> None:
    assert refinery.Change is Change and refinery.Hypothesis is Hypothesis
    assert refinery.load_analysis is load_analysis
