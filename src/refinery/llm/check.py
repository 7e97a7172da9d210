"""``refinery config-check``: which trace sources and LLM providers are configured, and reachable.

A source or provider is configured when its keys (or, for an OpenAI-compatible server, its base URL)
are set; keys are reported only as present or absent, never their values. Each configured endpoint
gets one cheap authenticated request through its official SDK (list models; LangSmith's sessions;
Langfuse's projects) with a short timeout and no retries, all at once in threads, so a dead endpoint
costs seconds, not minutes. Each provider also says which model ``analyze`` would use with it and
what a call would send (temperature, reasoning, output limit), from the same facts the providers
use. The report is frozen data: the CLI renders it as a table or ``--json``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field

from ..config import Settings, analyser_source
from ..errors import RefineryError
from .failures import provider_error, sdk_detail

PROBE_TIMEOUT_SECONDS = 10.0
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class KeyState(BaseModel):
    """One environment variable, reported as present or absent (never its value)."""

    model_config = _FROZEN

    name: str
    """The variable's name."""
    present: bool
    """True when it is set and non-empty."""
    origin: str | None = None
    """Where it was set: ``environment`` or the path of a ``.env`` file; None when absent."""


class EndpointStatus(BaseModel):
    """One trace source or LLM provider."""

    model_config = _FROZEN

    name: str
    """``langsmith``, ``langfuse``, ``openai``, ``anthropic``, ``gemini``, ``azure``..."""
    kind: str
    """``source`` (traces) or ``provider`` (LLM)."""
    configured: bool
    """True when everything it needs is set."""
    keys: tuple[KeyState, ...]
    """The variables it reads."""
    reachable: bool | None = None
    """Whether it answered an authenticated request; None when not configured (not tried)."""
    detail: str = ""
    """What happened, in one line (no secrets)."""
    model: str | None = None
    """For a provider: the model ``analyze`` would use with it (``--model``/REFINERY_MODEL or the
    default)."""
    call: str = ""
    """For a provider: what each call would send (temperature, reasoning, output limit)."""


class ConfigReport(BaseModel):
    """Every source and provider, and which analyser ``refinery analyze`` would use."""

    model_config = _FROZEN

    endpoints: tuple[EndpointStatus, ...]
    """Sources first, then providers."""
    analyser: str
    """``offline`` or the provider chosen by flags, REFINERY_PROVIDER or the keys present."""
    analyser_key: str | None = None
    """Where the analyser's key came from (``ANTHROPIC_API_KEY from /repo/.env``)."""
    analyser_warning: str | None = None
    """Set when the repository's ``.env`` chose the LLM provider."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """True when every configured endpoint answered."""
        return all(e.reachable for e in self.endpoints if e.configured)


Probe = Callable[[Settings], str]


@dataclass(frozen=True, kw_only=True)
class _Endpoint:
    name: str
    kind: str
    keys: tuple[str, ...]
    """Variables shown as present/absent."""
    needs: tuple[tuple[str, ...], ...]
    """Each group must have one variable set for the endpoint to be configured."""
    probe: Probe


def check_config(settings: Settings) -> ConfigReport:
    """Which endpoints are configured, each configured one probed in parallel."""
    from .provider import detect_provider

    endpoints = _endpoints()
    with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
        statuses = list(pool.map(lambda e: _status(e, settings), endpoints))
    analyser = settings.provider or detect_provider(settings) or "offline"
    source = analyser_source(settings, analyser)
    return ConfigReport(
        endpoints=tuple(statuses),
        analyser=analyser,
        analyser_key=source.key,
        analyser_warning=source.warning,
    )


def _status(endpoint: _Endpoint, settings: Settings) -> EndpointStatus:
    keys = tuple(_key_state(settings, k) for k in endpoint.keys)
    configured = _configured(endpoint, settings)
    status = EndpointStatus(
        name=endpoint.name, kind=endpoint.kind, configured=configured, keys=keys,
        **(_call(endpoint.name, settings) if endpoint.kind == "provider" else {}),
    )  # fmt: skip
    if not configured:
        return status.model_copy(update={"detail": _missing(endpoint, settings)})
    try:
        detail = endpoint.probe(settings)
    except RefineryError as exc:
        return status.model_copy(update={"reachable": False, "detail": str(exc)})
    return status.model_copy(update={"reachable": True, "detail": detail})


def _call(provider: str, settings: Settings) -> dict[str, str]:
    """The model and call settings ``analyze`` would use with ``provider``."""
    from ..errors import ConfigError
    from .catalog import default_model, describe_call
    from .provider import Request

    model = settings.model or default_model(provider)
    try:
        call = describe_call(model, settings.reasoning, Request.max_output_tokens)
    except ConfigError as exc:
        call = str(exc)
    return {"model": model, "call": call}


def _key_state(settings: Settings, name: str) -> KeyState:
    found = settings.origin(name)
    return KeyState(name=name, present=found is not None, origin=found[1] if found else None)


def _configured(endpoint: _Endpoint, settings: Settings) -> bool:
    if endpoint.name == "openai-compatible":
        return bool(settings.base_url)
    return all(settings.key(*group) for group in endpoint.needs)


def _missing(endpoint: _Endpoint, settings: Settings) -> str:
    if endpoint.name == "openai-compatible":
        return "set REFINERY_BASE_URL or pass --base-url"
    absent = [" or ".join(group) for group in endpoint.needs if not settings.key(*group)]
    return f"set {' and '.join(absent)}"


def _langsmith(settings: Settings) -> str:
    from ..errors import SourceError
    from ..traces.langsmith_fetch import langsmith_reachable

    answered, line = langsmith_reachable(settings)
    if not answered:
        raise SourceError(line)
    return line


def _langfuse(settings: Settings) -> str:
    import httpx
    from langfuse.api.client import LangfuseAPI
    from langfuse.api.core.api_error import ApiError

    from ..errors import SourceError
    from ..traces.langfuse_fetch import DEFAULT_HOST

    public, secret = settings.key("LANGFUSE_PUBLIC_KEY"), settings.key("LANGFUSE_SECRET_KEY")
    host = (settings.key("LANGFUSE_BASE_URL", "LANGFUSE_HOST") or DEFAULT_HOST).rstrip("/")
    try:
        with httpx.Client(timeout=PROBE_TIMEOUT_SECONDS) as http:
            api = LangfuseAPI(
                base_url=host, username=public, password=secret,
                x_langfuse_public_key=public, httpx_client=http,
            )  # fmt: skip
            projects = api.projects.get(request_options={"max_retries": 0}).data
    except ApiError as exc:
        status = exc.status_code
        hint = "check LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY" if status in (401, 403) else None
        raise SourceError(f"Langfuse at {host} answered HTTP {status}", hint) from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"cannot reach Langfuse at {host}", "check LANGFUSE_HOST") from exc
    names = ", ".join(p.name for p in projects) or "no project"
    return f"Langfuse reachable at {host} (project: {names})"


def _client(settings: Settings, name: str) -> Any:
    """The SDK client the analysis would use for provider ``name`` (same key, base URL, version)."""
    from .provider import make_provider

    provider: Any = make_provider(settings.with_overrides(provider=name))
    return provider.client


def _openai_family(name: str, key_env: str) -> Probe:
    def probe(settings: Settings) -> str:
        import openai

        client = _client(settings, name)
        quick = client.with_options(timeout=PROBE_TIMEOUT_SECONDS, max_retries=0)
        try:
            models = quick.models.list()
        except openai.APIStatusError as exc:
            raise provider_error(name, key_env, exc.status_code, sdk_detail(exc)) from exc
        except openai.APIConnectionError as exc:
            raise provider_error(name, key_env, None, str(exc)) from exc
        return f"{name} answered at {client.base_url} ({len(models.data)} models listed)"

    return probe


def _anthropic(settings: Settings) -> str:
    import anthropic

    client = _client(settings, "anthropic")
    quick = client.with_options(timeout=PROBE_TIMEOUT_SECONDS, max_retries=0)
    try:
        models = quick.models.list(limit=5)
    except anthropic.APIStatusError as exc:
        raise provider_error(
            "anthropic", "ANTHROPIC_API_KEY", exc.status_code, sdk_detail(exc)
        ) from exc
    except anthropic.APIConnectionError as exc:
        raise provider_error("anthropic", "ANTHROPIC_API_KEY", None, str(exc)) from exc
    return f"anthropic answered at {client.base_url} ({len(models.data)} models listed)"


def _gemini(settings: Settings) -> str:
    from google.genai import errors, types

    client = _client(settings, "gemini")
    options = types.HttpOptions(
        timeout=int(PROBE_TIMEOUT_SECONDS * 1000),
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    try:
        pager = client.models.list(config=types.ListModelsConfig(page_size=5, http_options=options))
        listed = len(pager.page)
    except errors.APIError as exc:
        raise provider_error("gemini", "GEMINI_API_KEY", exc.code, str(exc.message)) from exc
    except OSError as exc:
        raise provider_error("gemini", "GEMINI_API_KEY", None, str(exc)) from exc
    return f"gemini answered ({listed} models listed)"


def _endpoints() -> tuple[_Endpoint, ...]:
    lsk, lse = ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY"), ("LANGSMITH_ENDPOINT",)
    lfk = ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY")
    gem = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    azk = ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT")
    return (
        _Endpoint(name="langsmith", kind="source", keys=lsk + lse, needs=(lsk,), probe=_langsmith),
        _Endpoint(name="langfuse", kind="source", keys=(*lfk, "LANGFUSE_HOST"),
                  needs=((lfk[0],), (lfk[1],)), probe=_langfuse),
        _Endpoint(name="openai", kind="provider", keys=("OPENAI_API_KEY",),
                  needs=(("OPENAI_API_KEY",),), probe=_openai_family("openai", "OPENAI_API_KEY")),
        _Endpoint(name="anthropic", kind="provider", keys=("ANTHROPIC_API_KEY",),
                  needs=(("ANTHROPIC_API_KEY",),), probe=_anthropic),
        _Endpoint(name="gemini", kind="provider", keys=gem, needs=(gem,), probe=_gemini),
        _Endpoint(name="azure", kind="provider", keys=azk, needs=((azk[0],), (azk[1],)),
                  probe=_openai_family("azure", "AZURE_OPENAI_API_KEY")),
        _Endpoint(name="openai-compatible", kind="provider", keys=("REFINERY_BASE_URL",),
                  needs=(), probe=_openai_family("openai-compatible", "OPENAI_API_KEY")),
    )  # fmt: skip
