"""Settings: built once from flags > environment > ``.env`` > defaults, then passed down.

This is the only module that reads ``os.environ``; everything else receives a frozen ``Settings``.
Each variable remembers where it came from (``origins``): a key in the repository's ``.env`` must
never pick a paid analyser silently, so the analyze header and ``config-check`` name its file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

CACHE_TTL_SECONDS = 15 * 60
DEFAULT_BUDGET = 30_000
DEFAULT_MAX_TRACE_BYTES = 512 * 1024 * 1024
"""Largest trace file read (``--max-trace-bytes``); reading one peaks at about 4x its size."""
DEFAULT_MAX_RUNS = 10_000
"""Most runs fetched from LangSmith or Langfuse for one trace (``--max-runs``)."""
DEFAULT_TIMEOUT_SECONDS = 30.0
"""How long a trace source may take to answer one request (``--timeout``)."""
ENVIRONMENT = "environment"
"""The origin of a variable taken from the process environment."""

_FLAG_VARIABLES = {
    "provider": "REFINERY_PROVIDER",
    "model": "REFINERY_MODEL",
    "base_url": "REFINERY_BASE_URL",
    "reasoning": "REFINERY_REASONING",
}
"""The flags that override a variable, so that the variable's origin becomes the flag."""
_NUMBERS: dict[str, tuple[str, type[int] | type[float], float]] = {
    "REFINERY_CACHE_TTL": ("cache_ttl_seconds", int, 0),
    "REFINERY_MAX_TRACE_BYTES": ("max_trace_bytes", int, 1),
    "REFINERY_MAX_RUNS": ("max_runs", int, 1),
    "REFINERY_TIMEOUT": ("timeout_seconds", float, 0.001),
}
"""Numeric variables: the setting each one sets, its type and its smallest accepted value."""

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
    max_trace_bytes: int = DEFAULT_MAX_TRACE_BYTES
    """Largest trace file read; bigger ones are refused unread (REFINERY_MAX_TRACE_BYTES)."""
    max_runs: int = DEFAULT_MAX_RUNS
    """Most runs fetched for one trace from a service, pages bounded with it (REFINERY_MAX_RUNS)."""
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    """Seconds a trace source may take to answer one request (REFINERY_TIMEOUT)."""
    origins: Mapping[str, str] = field(default_factory=dict)
    """Where each variable came from: ``environment``, the path of a ``.env`` file, or the flag
    that overrode it (``--provider`` for REFINERY_PROVIDER)."""

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

    def origin(self, *names: str) -> tuple[str, str] | None:
        """The first of ``names`` that is set, and where it came from."""
        for name in names:
            if self.key(name) is not None or self.origins.get(name, "").startswith("--"):
                return name, self.origins.get(name, ENVIRONMENT)
        return None

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the non-None ``changes`` applied (flags win over the environment)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_settings(repo_root: Path | None = None, **flags: Any) -> Settings:
    """Settings from the process environment and the repository's ``.env``, then ``flags``."""
    root = (repo_root or _find_repo_root(Path.cwd())).resolve()
    dotenv_path = root / ".env"
    dotenv, environ = _read_dotenv(dotenv_path), _relevant(os.environ)
    env = {**dotenv, **environ}
    origins = {
        **{name: str(dotenv_path) for name in dotenv},
        **{name: ENVIRONMENT for name in environ},
        **{_FLAG_VARIABLES[k]: f"--{k.replace('_', '-')}" for k, v in flags.items()
           if k in _FLAG_VARIABLES and v is not None},
    }  # fmt: skip
    settings = Settings(
        env=env,
        repo_root=root,
        provider=env.get("REFINERY_PROVIDER") or None,
        model=env.get("REFINERY_MODEL") or None,
        base_url=env.get("REFINERY_BASE_URL") or None,
        reasoning=(env.get("REFINERY_REASONING") or "").strip().lower() or None,
        origins=origins,
    )
    return settings.with_overrides(**_numbers(env)).with_overrides(**flags)


def _numbers(env: Mapping[str, str]) -> dict[str, Any]:
    """Numeric settings given in the environment; unreadable or too small values are ignored."""
    numbers: dict[str, Any] = {}
    for name, (attribute, kind, minimum) in _NUMBERS.items():
        try:
            value = kind(env.get(name, ""))
        except ValueError:
            continue
        if value >= minimum:
            numbers[attribute] = value
    return numbers


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


PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "anthropic": ("ANTHROPIC_API_KEY",),
    "openai": ("OPENAI_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "azure": ("AZURE_OPENAI_API_KEY",),
    "openai-compatible": ("OPENAI_API_KEY",),
}
"""The variables holding each LLM provider's key, in the order they are looked up."""


@dataclass(frozen=True, kw_only=True)
class AnalyserSource:
    """Where the analyser's provider and key came from, in words for the analyze header."""

    key: str | None
    """``ANTHROPIC_API_KEY from /repo/.env``; None when the provider uses no key."""
    warning: str | None
    """Set when a ``.env`` file, not the user's flags or environment, chose an LLM provider."""


def from_dotenv(origin: str) -> bool:
    """True when an origin is a ``.env`` file (not the environment, not a flag)."""
    return origin != ENVIRONMENT and not origin.startswith("--")


def describe_origin(origin: str) -> str:
    """``the environment``, ``the --provider flag`` or the ``.env`` file's path."""
    if origin == ENVIRONMENT:
        return "the environment"
    return f"the {origin} flag" if origin.startswith("--") else origin


def analyser_source(settings: Settings, provider: str) -> AnalyserSource:
    """Where ``provider`` (the analyser in use) and its key came from.

    A warning comes with it when the repository's ``.env`` chose the provider: a cloned
    repository must not switch the analysis to a paid API silently.
    """
    if provider == "offline":
        return AnalyserSource(key=None, warning=None)
    found = settings.origin(*PROVIDER_KEYS.get(provider, ()))
    key = f"{found[0]} from {describe_origin(found[1])}" if found else None
    deciding = (
        settings.origin("REFINERY_PROVIDER") if settings.provider
        else settings.origin("REFINERY_BASE_URL") if provider == "openai-compatible"
        else found
    )  # fmt: skip
    if deciding is None or not from_dotenv(deciding[1]):
        return AnalyserSource(key=key, warning=None)
    name, path = deciding
    return AnalyserSource(
        key=key,
        warning=f"{path} chose the {provider} analyser ({name}), so the trace goes to an LLM API "
        f"that may charge for it: pass --provider offline to keep it local, or --provider "
        f"{provider} to confirm",
    )
