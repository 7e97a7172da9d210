"""A tiny weather agent: the system prompt from prompts/system_prompt.txt, settings from config.yaml."""

from __future__ import annotations

from pathlib import Path

SYSTEM_PROMPT = (Path(__file__).parent / "prompts" / "system_prompt.txt").read_text(encoding="utf-8")


def build_messages(question: str) -> list[dict[str, str]]:
    """The chat messages sent to the model for one user question."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": question},
    ]
