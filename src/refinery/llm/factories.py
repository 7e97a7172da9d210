"""The built-in providers, registered as plugins are: each factory imports its SDK when called."""

from __future__ import annotations

from ..config import Settings
from .catalog import check_reasoning, default_model
from .failures import missing_key
from .provider import Provider, provider

MAX_RETRIES = 3
AZURE_API_VERSION = "2025-04-01-preview"
"""Azure serves reasoning models (the default) only from 2024-12-01-preview on."""
TIMEOUT_SECONDS = 600.0
"""Per request: a reasoning model at high effort may think for several minutes before answering."""


def _model(settings: Settings, provider: str) -> str:
    """The model chosen (or the provider's default), checked against ``--reasoning``."""
    model = settings.model or default_model(provider)
    check_reasoning(model, settings.reasoning)
    return model


@provider("openai")
def _openai(settings: Settings) -> Provider:
    import openai

    from .openai import OpenAIProvider

    key = settings.key("OPENAI_API_KEY")
    if not key:
        raise missing_key("openai", "OPENAI_API_KEY")
    client = openai.OpenAI(
        api_key=key, base_url=settings.key("OPENAI_BASE_URL"), max_retries=MAX_RETRIES,
        timeout=TIMEOUT_SECONDS,
    )  # fmt: skip
    return OpenAIProvider(client, model=_model(settings, "openai"))


@provider("azure")
def _azure(settings: Settings) -> Provider:
    import openai

    from .openai import OpenAIProvider

    key, endpoint = settings.key("AZURE_OPENAI_API_KEY"), settings.key("AZURE_OPENAI_ENDPOINT")
    if not key or not endpoint:
        raise missing_key("azure", "AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT")
    client = openai.AzureOpenAI(
        api_key=key,
        azure_endpoint=endpoint,
        api_version=settings.key("OPENAI_API_VERSION", "AZURE_OPENAI_API_VERSION")
        or AZURE_API_VERSION,
        max_retries=MAX_RETRIES,
        timeout=TIMEOUT_SECONDS,
    )
    model = _model(settings, "azure")
    return OpenAIProvider(
        client, model=model, name="azure", api="chat", key_env="AZURE_OPENAI_API_KEY"
    )


@provider("openai-compatible")
def _openai_compatible(settings: Settings) -> Provider:
    import openai

    from ..errors import ConfigError
    from .openai import OpenAIProvider

    if not settings.base_url:
        raise ConfigError("openai-compatible needs a server", "pass --base-url http://host:port/v1")
    client = openai.OpenAI(
        api_key=settings.key("OPENAI_API_KEY") or "not-needed", base_url=settings.base_url,
        max_retries=MAX_RETRIES, timeout=TIMEOUT_SECONDS,
    )  # fmt: skip
    model = _model(settings, "openai-compatible")
    return OpenAIProvider(client, model=model, name="openai-compatible", api="chat")


@provider("anthropic")
def _anthropic(settings: Settings) -> Provider:
    import anthropic

    from .anthropic import AnthropicProvider

    key = settings.key("ANTHROPIC_API_KEY")
    if not key:
        raise missing_key("anthropic", "ANTHROPIC_API_KEY")
    client = anthropic.Anthropic(
        api_key=key, base_url=settings.key("ANTHROPIC_BASE_URL"), max_retries=MAX_RETRIES,
        timeout=TIMEOUT_SECONDS,
    )  # fmt: skip
    return AnthropicProvider(client, model=_model(settings, "anthropic"))


@provider("gemini")
def _gemini(settings: Settings) -> Provider:
    from google import genai
    from google.genai import types

    from .gemini import GeminiProvider

    key = settings.key("GEMINI_API_KEY", "GOOGLE_API_KEY")
    if not key:
        raise missing_key("gemini", "GEMINI_API_KEY")
    # 429 is retried by GeminiProvider, honouring the RetryInfo delay the SDK ignores.
    retry = types.HttpRetryOptions(attempts=MAX_RETRIES + 1, http_status_codes=[500, 502, 503, 504])
    options = types.HttpOptions(
        base_url=settings.key("GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL"),
        timeout=int(TIMEOUT_SECONDS * 1000),
        retry_options=retry,
    )
    client = genai.Client(api_key=key, http_options=options)
    return GeminiProvider(client, model=_model(settings, "gemini"))
