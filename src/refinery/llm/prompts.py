"""Refinery's own prompts: versioned text files, chosen per name by settings.

``REFINERY_PROMPT_VERSION=V1`` switches every prompt; ``<NAME>_VERSION=V1`` overrides one. A name
without a version resolves to ``DEFAULT_VERSION``. The version used is reported in ``--json``
(``analyser.prompt_version``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from ..config import Settings
from ..errors import ConfigError

PROMPT_NAMES = (
    "FAILURE_ANALYST_SYSTEM_PROMPT",
    "DIAGNOSIS_SYSTEM_PROMPT",
    "HYPOTHESIS_GENERATOR_SYSTEM_PROMPT",
    "HOLISTIC_ANALYSIS_TEMPLATE",
)
DEFAULT_VERSION = "V2"


@dataclass(frozen=True, kw_only=True)
class Prompt:
    """One prompt's text at one version."""

    name: str
    """The prompt's name (one of PROMPT_NAMES)."""
    version: str
    """``V1``, ``V2``..."""
    text: str
    """The prompt text."""


def prompt_version(settings: Settings, name: str) -> str:
    """The version of ``name`` in use: its own override, the global one, or the default."""
    chosen = settings.key(f"{name}_VERSION", "REFINERY_PROMPT_VERSION") or DEFAULT_VERSION
    return chosen.upper()


def load_prompt(settings: Settings, name: str) -> Prompt:
    """The text of prompt ``name`` at the version settings choose."""
    if name not in PROMPT_NAMES:
        raise ConfigError(f"unknown prompt {name}", f"use one of: {', '.join(PROMPT_NAMES)}")
    version = prompt_version(settings, name)
    resource = files("refinery.llm") / "prompts" / f"{name}.{version}.txt"
    if not resource.is_file():
        raise ConfigError(
            f"prompt {name} has no version {version}", f"use one of: {', '.join(available(name))}"
        )
    return Prompt(name=name, version=version, text=resource.read_text(encoding="utf-8"))


def available(name: str) -> list[str]:
    """The versions shipped for ``name``."""
    folder = files("refinery.llm") / "prompts"
    prefix = f"{name}."
    return sorted(
        entry.name[len(prefix) : -len(".txt")]
        for entry in folder.iterdir()
        if entry.name.startswith(prefix) and entry.name.endswith(".txt")
    )
