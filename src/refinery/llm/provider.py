"""The provider interface: one method, ``complete``, over each vendor's official SDK.

Providers are chosen by name from a registry of factories; a factory imports its SDK only when
called, so offline runs never import ``openai``, ``anthropic`` or ``google.genai``. Structured
output is requested through each SDK's native JSON-schema support; the caller validates the text
against its pydantic model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import Settings
from ..errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Request:
    """One structured call: instructions, the user prompt and the JSON schema of the answer."""

    system: str
    """System instructions (Refinery's versioned prompt)."""
    prompt: str
    """The user message: the analysis material."""
    schema_name: str
    """Name of the response schema (``diagnosis``, ``hypotheses``)."""
    schema: dict[str, Any]
    """JSON schema of the answer."""
    max_output_tokens: int = 8_000
    """Upper bound on the answer's length (thinking gets its own allowance on top)."""
    temperature: float | None = 0.0
    """Sampling temperature; sent only to models that accept one (see ``catalog.call_plan``)."""
    reasoning: str | None = None
    """``--reasoning`` level (low, medium, high); None leaves the model's default."""


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A provider's answer."""

    text: str
    """The answer text (JSON for structured calls)."""
    model: str
    """The model that answered, as the provider reports it."""
    input_tokens: int = 0
    """Tokens sent."""
    output_tokens: int = 0
    """Tokens received and billed as output, thinking included."""
    thinking_tokens: int = 0
    """Of ``output_tokens``, those the model spent thinking (0 when it reports none)."""


class Provider(Protocol):
    """Anything that can answer a Request."""

    name: str
    """Registry name (``openai``, ``anthropic``...)."""
    model: str
    """Model used for requests."""

    def complete(self, request: Request) -> Completion:
        """Send one request and return the answer."""
        ...


Factory = Callable[[Settings], Provider]
_FACTORIES: dict[str, Factory] = {}


def provider(name: str) -> Callable[[Factory], Factory]:
    """Register a provider factory under ``name``."""

    def register(factory: Factory) -> Factory:
        _FACTORIES[name] = factory
        return factory

    return register


def provider_names() -> list[str]:
    """Every registered provider, built-ins and plugins."""
    _load_builtins()
    return sorted(_FACTORIES)


def make_provider(settings: Settings) -> Provider:
    """The provider named in settings, or the first one whose key is present."""
    _load_builtins()
    name = settings.provider or detect_provider(settings)
    if name is None or name == "offline":
        raise ConfigError("no LLM provider configured", "set an API key or use --provider offline")
    if name not in _FACTORIES:
        raise ConfigError(
            f"unknown provider {name!r}", f"use one of: offline, {', '.join(provider_names())}"
        )
    return _FACTORIES[name](settings)


_KEY_ORDER = (
    ("anthropic", ("ANTHROPIC_API_KEY",)),
    ("openai", ("OPENAI_API_KEY",)),
    ("gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
    ("azure", ("AZURE_OPENAI_API_KEY",)),
)


def detect_provider(settings: Settings) -> str | None:
    """The provider whose key is present (in a fixed order), or None for offline."""
    if settings.base_url:
        return "openai-compatible"
    for name, keys in _KEY_ORDER:
        if settings.key(*keys):
            return name
    return None


_loaded = False


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from importlib.metadata import entry_points

    import refinery.llm.factories  # noqa: F401  (registers the built-in providers)

    for entry in entry_points(group="refinery.providers"):
        entry.load()
