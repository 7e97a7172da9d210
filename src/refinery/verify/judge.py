"""The LLM judge: one structured call per answer, pass or fail with a reason and a quote.

The judge reads the end of the conversation the agent saw (so that it knows, say, that the tool
failed), the expected behaviour and the answer. Everything it is sent is redacted like every other
call (unless ``--no-redact``); its reason and quote keep readable placeholders (``<email>``), never
the values, since the report is shown and saved. The judge is the analysis' own LLM when one is
configured, else the agent's model in structured mode.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib.resources import files

from pydantic import BaseModel, ConfigDict, ValidationError

from ..config import Settings
from ..errors import ProviderError
from ..llm.provider import Provider, Request, detect_provider, make_provider
from ..redaction import text_redactor
from ..traces.model import Message
from .agent import AgentTarget
from .call import answer_text

_TAIL_MESSAGES = 8
_MESSAGE_CHARS = 2_000
_BASE_URL_ENV = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL",
                 "gemini": "GEMINI_BASE_URL"}  # fmt: skip


class Verdict(BaseModel):
    """The judge's answer."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    passed: bool
    """True only when the answer does what the expected behaviour asks."""
    reason: str
    """One sentence: why, naming what the answer did."""
    quote: str
    """A short excerpt copied exactly from the answer that shows it."""


@dataclass(frozen=True, kw_only=True)
class Judged:
    """A verdict and the tokens its call used."""

    verdict: Verdict
    input_tokens: int
    output_tokens: int


class Judge:
    """Judges answers against an expectation through a structured-output provider."""

    def __init__(self, provider: Provider, *, redact: bool) -> None:
        self.provider = provider
        self.label = f"{provider.name} {provider.model}"
        self.redactor = text_redactor() if redact else None
        self.system = (files("refinery.verify") / "prompts" / "JUDGE.V1.txt").read_text("utf-8")
        self.schema = Verdict.model_json_schema()
        self._redacted: dict[str, str] = {}
        self._lock = threading.Lock()

    def judge(self, expected: str, conversation: tuple[Message, ...], answer: str) -> Judged:
        """One verdict; a malformed answer from the judge is a ProviderError."""
        redactor = self.redactor
        parts = (conversation_block(conversation), expected, answer or "(empty)")
        prompt = JUDGE_LAYOUT.format(*map(self._redact, parts))
        completion = self.provider.complete(
            Request(
                system=self.system, prompt=prompt, schema_name="verdict",
                schema=self.schema, max_output_tokens=1_000, temperature=0.0,
            )
        )  # fmt: skip
        try:
            verdict = Verdict.model_validate_json(completion.text)
        except ValidationError as exc:
            raise ProviderError(
                f"the judge ({self.label}) did not return a verdict", "retry, or use another model"
            ) from exc
        if redactor:
            with self._lock:
                update = {"reason": redactor.humanise(verdict.reason),
                          "quote": redactor.humanise(verdict.quote)}  # fmt: skip
            verdict = verdict.model_copy(update=update)
        return Judged(
            verdict=verdict,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
        )

    def _redact(self, text: str) -> str:
        """``text`` redacted once: K replays share their conversation and often their answer."""
        if self.redactor is None:
            return text
        with self._lock:
            if text not in self._redacted:
                self._redacted[text] = self.redactor.redact(text)
            return self._redacted[text]


JUDGE_LAYOUT = (
    "## Conversation the agent saw (last messages)\n{}\n\n## Expected behaviour\n{}\n\n"
    "## The agent's answer\n{}"
)
"""The judge's user prompt: conversation tail, expectation, answer."""


def conversation_block(conversation: tuple[Message, ...]) -> str:
    """The last messages of the conversation, one line each (clipped)."""
    tail = conversation[-_TAIL_MESSAGES:]
    return "\n".join(f"[{m.role}] {_clip(answer_text((m,)) or m.content)}" for m in tail)


def make_judge(settings: Settings, target: AgentTarget | None) -> Judge | str:
    """The analysis' LLM as judge, else the agent's model; or why there is no judge."""
    if settings.provider not in (None, "offline") or (
        settings.provider is None and detect_provider(settings)
    ):
        return Judge(make_provider(settings), redact=settings.redact)
    if target is None:
        return "no LLM to judge the answers: set a key for the analysis or for the agent's model"
    env = dict(settings.env)
    if target.provider in ("openai", "azure"):
        env["OPENAI_API_KEY" if target.provider == "openai" else "AZURE_OPENAI_API_KEY"] = (
            target.api_key
        )
    elif target.provider in ("anthropic", "gemini"):
        env[target.key_env] = target.api_key
    if target.base_url and target.provider in _BASE_URL_ENV:
        env[_BASE_URL_ENV[target.provider]] = target.base_url
    judge_settings = Settings(
        env=env, repo_root=settings.repo_root, provider=target.provider, model=target.model,
        base_url=target.base_url if target.provider == "openai-compatible" else None,
        redact=settings.redact, verbose=settings.verbose,
    )  # fmt: skip
    return Judge(make_provider(judge_settings), redact=settings.redact)


def _clip(text: str) -> str:
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + " […]"
