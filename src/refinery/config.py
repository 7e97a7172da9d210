"""Settings: built once from flags > environment > ``.env`` > defaults, then passed down.

This is the only module that reads ``os.environ``; everything else receives a frozen ``Settings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

CACHE_TTL_SECONDS = 15 * 60
DEFAULT_BUDGET = 30_000

_KNOWN_PREFIXES = (
    "LANGSMITH_",
    "LANGCHAIN_",
    "LANGFUSE_",
    "OPENAI_",
    "ANTHROPIC_",
    "GOOGLE_",
    "GEMINI_",
    "AZURE_OPENAI_",
    "REFINERY_",
    "FAILURE_ANALYST_SYSTEM_PROMPT_",
    "DIAGNOSIS_SYSTEM_PROMPT_",
    "HYPOTHESIS_GENERATOR_SYSTEM_PROMPT_",
    "HOLISTIC_ANALYSIS_TEMPLATE_",
)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything configurable, resolved once per command."""

    env: Mapping[str, str] = field(default_factory=dict)
    """The relevant environment variables (process environment over ``.env``)."""
    repo_root: Path = field(default_factory=Path.cwd)
    """The repository Refinery works in; ``.refinery/`` lives here."""
    cache_ttl_seconds: int = CACHE_TTL_SECONDS
    """How long a fetched trace stays fresh in the on-disk cache."""
    use_cache: bool = True
    """False with ``--no-cache``: always fetch."""
    provider: str | None = None
    """LLM provider chosen by flag or REFINERY_PROVIDER; None picks by which key is present."""
    model: str | None = None
    """LLM model chosen by flag or REFINERY_MODEL."""
    base_url: str | None = None
    """Base URL for an OpenAI-compatible server, by flag or REFINERY_BASE_URL."""
    verbose: bool = False
    """Log raw prompts and responses; show tracebacks."""
    redact: bool = True
    """Redact keys and personal data before anything goes to an LLM (off with ``--no-redact``)."""
    reasoning: str | None = None
    """``--reasoning`` or REFINERY_REASONING: low, medium or high; None keeps the model default."""

    @property
    def state_dir(self) -> Path:
        """The ``.refinery/`` directory of the repository."""
        return self.repo_root / ".refinery"

    def key(self, *names: str) -> str | None:
        """The first of ``names`` that is set and non-empty."""
        for name in names:
            value = self.env.get(name, "").strip()
            if value:
                return value
        return None

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the non-None ``changes`` applied (flags win over the environment)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_settings(repo_root: Path | None = None, **flags: Any) -> Settings:
    """Settings from the process environment and the repository's ``.env``, then ``flags``."""
    root = (repo_root or _find_repo_root(Path.cwd())).resolve()
    env = {**_read_dotenv(root / ".env"), **_relevant(os.environ)}
    settings = Settings(
        env=env,
        repo_root=root,
        provider=env.get("REFINERY_PROVIDER") or None,
        model=env.get("REFINERY_MODEL") or None,
        base_url=env.get("REFINERY_BASE_URL") or None,
        reasoning=(env.get("REFINERY_REASONING") or "").strip().lower() or None,
    )
    ttl = env.get("REFINERY_CACHE_TTL")
    if ttl and ttl.isdigit():
        settings = replace(settings, cache_ttl_seconds=int(ttl))
    return settings.with_overrides(**flags)


def _relevant(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k.startswith(_KNOWN_PREFIXES)}


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return _relevant({k: v for k, v in dotenv_values(path).items() if v is not None})


def _find_repo_root(start: Path) -> Path:
    """The nearest ancestor holding ``.git`` or ``.refinery``; the start directory otherwise."""
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists() or (candidate / ".refinery").is_dir():
            return candidate
    return start
