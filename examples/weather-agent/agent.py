"""A tiny weather agent: the system prompt as a constant, the model settings from config.yaml."""

from __future__ import annotations

SYSTEM_PROMPT = """You are Skye, the weather assistant of a travel app.

Answer questions about current weather and short-term forecasts for any city.
Always call the get_weather tool for the city the user names.
Give the temperature in both Celsius and Fahrenheit, in one or two friendly sentences.
"""


def build_messages(question: str) -> list[dict[str, str]]:
    """The chat messages sent to the model for one user question."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": question},
    ]
