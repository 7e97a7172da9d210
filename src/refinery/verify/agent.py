"""Which model answers the replayed call: the agent's own, through its provider's official SDK.

The provider and model come from the flags (``--agent-provider``, ``--agent-model``,
``--agent-base-url``), else from the recorded call (its model name and provider metadata), else
the model named in the project's config file. A base URL alone means an OpenAI-compatible server.
Without a key the error is one line saying what to set; eval-only checks and ``--eval-command``
run without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..config import Settings
from ..errors import ConfigError

_PROVIDER_WORDS: tuple[tuple[str, str], ...] = (
    ("azure", "azure"),
    ("anthropic", "anthropic"),
    ("bedrock", "anthropic"),
    ("claude", "anthropic"),
    ("google", "gemini"),
    ("gemini", "gemini"),
    ("vertex", "gemini"),
    ("ollama", "openai-compatible"),
    ("vllm", "openai-compatible"),
    ("openai", "openai"),
)
_MODEL_PREFIXES = re.compile(r"^(?:(gpt-|o\d|chatgpt|text-davinci)|(claude)|(gemini))", re.I)
_KEYS = {
    "openai": ("OPENAI_API_KEY",),
    "azure": ("AZURE_OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "openai-compatible": (),
}
_BASE_URL_ENV = {
    "openai": ("OPENAI_BASE_URL",),
    "anthropic": ("ANTHROPIC_BASE_URL",),
    "gemini": ("GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL"),
    "azure": ("AZURE_OPENAI_ENDPOINT",),
}
PROVIDERS = tuple(_KEYS)


@dataclass(frozen=True, kw_only=True)
class AgentFlags:
    """The ``--agent-*`` flags; None means infer."""

    provider: str | None = None
    model: str | None = None
    base_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class AgentTarget:
    """Where the replayed call goes."""

    provider: str
    model: str
    base_url: str | None
    api_key: str
    key_env: str

    @property
    def label(self) -> str:
        """``provider model``, for reports."""
        return f"{self.provider} {self.model}"


def agent_target(
    settings: Settings,
    flags: AgentFlags,
    *,
    recorded_model: str | None,
    recorded_provider: str | None,
    config_model: str | None = None,
) -> AgentTarget:
    """The agent's provider, model, endpoint and key.

    Raises:
        ConfigError: the provider or model cannot be told, or its key is missing (one line).
    """
    model = flags.model or recorded_model or config_model
    provider = flags.provider or _provider_of(recorded_provider, model, flags.base_url)
    if provider is None or model is None:
        raise ConfigError(
            f"cannot tell which model answered the recorded call (model {recorded_model!r}, "
            f"provider {recorded_provider!r})",
            "pass --agent-provider and --agent-model, or --agent-base-url for an "
            "OpenAI-compatible server",
        )
    if provider not in _KEYS:
        raise ConfigError(
            f"unknown agent provider {provider!r}", f"use one of {', '.join(PROVIDERS)}"
        )
    base_url = flags.base_url or settings.key(*_BASE_URL_ENV.get(provider, ()))
    if provider == "openai-compatible" and not base_url:
        raise ConfigError("an OpenAI-compatible agent needs its server", "pass --agent-base-url")
    names = _KEYS[provider]
    key = settings.key(*names) if names else settings.key("OPENAI_API_KEY") or "not-needed"
    if not key:
        raise ConfigError(
            f"no API key for the agent's model {model} ({provider}), so fixes cannot be replayed",
            f"set {' or '.join(names)}, or pass --eval-command to run only your own evals",
        )
    return AgentTarget(
        provider=provider, model=model, base_url=base_url, api_key=key,
        key_env=names[0] if names else "OPENAI_API_KEY",
    )  # fmt: skip


def _provider_of(recorded: str | None, model: str | None, base_url: str | None) -> str | None:
    if base_url:
        return "openai-compatible" if not recorded or "openai" not in recorded else "openai"
    word = (recorded or "").lower()
    for needle, name in _PROVIDER_WORDS:
        if needle in word:
            return name
    match = _MODEL_PREFIXES.match(model or "")
    if match is None:
        return None
    return ("openai", "anthropic", "gemini")[next(i for i, g in enumerate(match.groups()) if g)]
