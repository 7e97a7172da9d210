"""LLM providers behind one small interface, and Refinery's versioned prompts.

Provider SDKs are imported only by the factory of the provider chosen.
"""

from __future__ import annotations

from .fake import FakeProvider
from .prompts import PROMPT_NAMES, Prompt, load_prompt
from .provider import Completion, Provider, Request, detect_provider, make_provider, provider

__all__ = [
    "PROMPT_NAMES",
    "Completion",
    "FakeProvider",
    "Prompt",
    "Provider",
    "Request",
    "detect_provider",
    "load_prompt",
    "make_provider",
    "provider",
]
