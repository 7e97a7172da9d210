"""Model facts as data: a model name's family, context window, output limit and tokenizer.

The facts live in ``models.yaml`` beside this module (an ordered list of name patterns, first match
wins) so that a new model is a line of data, not code. Names are normalised before matching:
lower case, provider prefixes (``openai/``, ``models/``, ``ft:``, Bedrock's ``us.anthropic.``) and
version tags after ``:`` removed, so ``anthropic/claude-3-5-sonnet-20241022`` and
``ft:gpt-4o-mini:acme::x1`` resolve like their base models. An unknown name is ``family="other"``
with ``known=False`` and no window, never an error: a trace from any model is still analysable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from .data import load_data

FAMILIES = ("openai", "anthropic", "gemini", "meta", "mistral", "other")
_BEDROCK_VENDOR = re.compile(r"^(?:[a-z]{2}\.)?(?:anthropic|meta|mistral|amazon|cohere)\.")


@dataclass(frozen=True, kw_only=True)
class ModelInfo:
    """What Refinery knows about a model."""

    family: str = "other"
    """``openai``, ``anthropic``, ``gemini``, ``meta``, ``mistral`` or ``other``."""
    context_window: int | None = None
    """Maximum input + output tokens of one call, when published."""
    max_output_tokens: int | None = None
    """Maximum tokens of one completion, when published."""
    encoding: str | None = None
    """The exact tokenizer (``o200k_base``, ``cl100k_base``) for OpenAI models; None otherwise."""
    known: bool = False
    """True when the name matched an entry of ``models.yaml``."""
    estimate_factor: float = 1.1
    """Multiplier from an o200k_base count to an estimate in this family's tokenizer."""


@dataclass(frozen=True, kw_only=True)
class _Entry:
    pattern: re.Pattern[str]
    info: ModelInfo


@cache
def model_info(model: str | None) -> ModelInfo:
    """The facts for ``model`` (first matching pattern), or an unknown ``other`` model."""
    name = normalise_model_name(model)
    factors, entries = _table()
    if name:
        for entry in entries:
            if entry.pattern.match(name):
                return entry.info
    return ModelInfo(estimate_factor=factors["other"])


def model_family(model: str | None) -> str:
    """The family of ``model``: openai, anthropic, gemini, meta, mistral or other."""
    return model_info(model).family


def normalise_model_name(model: str | None) -> str:
    """The bare model name: lower case, without provider prefixes, fine-tune or version tags."""
    if not model:
        return ""
    name = model.strip().lower()
    if name.startswith("ft:"):
        name = name[3:]
    name = name.rsplit("/", 1)[-1]
    name = _BEDROCK_VENDOR.sub("", name)
    return name.split(":", 1)[0]


@cache
def _table() -> tuple[dict[str, float], tuple[_Entry, ...]]:
    data: dict[str, Any] = load_data(__package__, "models.yaml")
    factors = {str(k): float(v) for k, v in data["estimate_factors"].items()}
    return factors, tuple(_entry(raw, factors) for raw in data["models"])


def _entry(raw: dict[str, Any], factors: dict[str, float]) -> _Entry:
    family = str(raw["family"])
    if family not in FAMILIES:
        raise ValueError(f"models.yaml: unknown family {family!r} for {raw['pattern']!r}")
    return _Entry(
        pattern=re.compile(str(raw["pattern"])),
        info=ModelInfo(
            family=family,
            context_window=raw.get("context_window"),
            max_output_tokens=raw.get("max_output_tokens"),
            encoding=raw.get("encoding"),
            known=True,
            estimate_factor=1.0 if raw.get("encoding") else factors.get(family, factors["other"]),
        ),
    )
