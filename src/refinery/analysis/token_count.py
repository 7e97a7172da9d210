"""Token counting: how many tokens a text or a chat is for a model, without the network.

Counts are exact for OpenAI families (``bpe-openai`` bundles the o200k_base / cl100k_base tables);
for other families they are an o200k_base count scaled by the family's factor in
``knowledge/models.yaml`` and labelled estimates. Chat messages add OpenAI's framing: 3 tokens per
message, 1 per author name, 3 to prime the reply. A ``TokenCounter`` counts each distinct string
once, so a trace that repeats its history in every call is tokenized about once.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any, Protocol

from ..knowledge.models import ModelInfo, model_info
from ..traces.model import Message

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_REPLY_PRIMING = 3
_CHUNK_CHARS = 100_000


class _Encoder(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


@cache
def _bpe_counter(encoding: str) -> Callable[[str], int]:
    """The fastest exact counter ``bpe-openai`` offers for ``encoding``.

    Its Rust tokenizer's ``count`` makes no token list and no UTF-8 pre-check (the tiktoken-style
    ``Encoding`` spends more time on those than on tokenizing); the public ``Encoding`` is the
    fallback should a release drop the binding.
    """
    bindings = _rust_bindings()
    if bindings is None:
        return partial(_count_with_encoding, _encoding(encoding))
    rust_count: Callable[[str], int] = bindings.tokenizer_for_encoding(encoding).count
    return partial(_count_with_rust, rust_count)


def _rust_bindings() -> Any:
    """``bpe_openai``'s Rust extension, loaded without the package's ``__init__``.

    Importing ``bpe_openai`` decodes every bundled table in Python first (about 3 s, once per
    process); the extension carries its own tables and is ready in a few milliseconds.
    """
    spec = importlib.util.find_spec("bpe_openai")
    folders = list(spec.submodule_search_locations or []) if spec else []
    found = [p for folder in folders for p in Path(folder).glob("_bindings*.so")]
    if not found:
        return None
    binding_spec = importlib.util.spec_from_file_location("bpe_openai._bindings", found[0])
    if binding_spec is None or binding_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(binding_spec)
    try:
        binding_spec.loader.exec_module(module)
    except ImportError:
        return None
    return module if hasattr(module, "tokenizer_for_encoding") else None


def _count_with_rust(count: Callable[[str], int], text: str) -> int:
    try:
        return count(text)
    except UnicodeEncodeError:  # lone surrogates from a badly decoded export
        return count(text.encode("utf-8", "replace").decode("utf-8"))


def _count_with_encoding(encoder: _Encoder, text: str) -> int:
    return sum(len(encoder.encode_ordinary(chunk)) for chunk in _chunks(text))


def _encoding(name: str) -> _Encoder:
    import bpe_openai

    encoder: _Encoder = bpe_openai.get_encoding(name)
    return encoder


def counts_exact(model: str | None) -> bool:
    """True when ``model``'s tokens are counted with its own tokenizer (OpenAI families)."""
    return model_info(model).encoding is not None


def count_tokens(text: str, model: str | None) -> int:
    """Tokens of ``text`` for ``model``: exact for OpenAI families, a scaled estimate otherwise."""
    return TokenCounter(model=model).count(text)


@dataclass(kw_only=True)
class TokenCounter:
    """Counts text for one model, each distinct string once (a cache, so not a frozen value)."""

    model: str | None
    info: ModelInfo = field(init=False)
    _cache: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.info = model_info(self.model)

    @property
    def exact(self) -> bool:
        """True when counts use the model's own tokenizer."""
        return self.info.encoding is not None

    def count(self, text: str) -> int:
        """Tokens of ``text``, counted once per distinct string."""
        if not text:
            return 0
        found = self._cache.get(text)
        if found is None:
            raw = _bpe_counter(self.info.encoding or "o200k_base")(text)
            found = raw if self.exact else math.ceil(raw * self.info.estimate_factor)
            self._cache[text] = found
        return found

    def messages(self, messages: Iterable[Message]) -> int:
        """Tokens of chat messages with OpenAI's per-message framing."""
        total = 0
        for message in messages:
            total += TOKENS_PER_MESSAGE + self.count(message.content)
            total += TOKENS_PER_NAME if message.name else 0
            for call in message.tool_calls:
                total += self.count(call.name) + self.count(call.arguments)
        return total


def _chunks(text: str) -> Iterable[str]:
    """Pieces the tokenizer accepts, cut before a space so words stay whole."""
    start = 0
    while len(text) - start > _CHUNK_CHARS:
        cut = text.rfind(" ", start + _CHUNK_CHARS // 2, start + _CHUNK_CHARS)
        cut = cut if cut > start else start + _CHUNK_CHARS
        yield text[start:cut]
        start = cut
    yield text[start:]
