from __future__ import annotations

import pytest

from refinery.config import Settings
from refinery.errors import ConfigError
from refinery.llm.prompts import DEFAULT_VERSION, PROMPT_NAMES, available, load_prompt


@pytest.mark.parametrize("name", PROMPT_NAMES)
def test_every_prompt_ships_v1_and_v2(name: str) -> None:
    assert {"V1", "V2"} <= set(available(name))


def test_default_version_is_used_without_settings() -> None:
    prompt = load_prompt(Settings(), "DIAGNOSIS_SYSTEM_PROMPT")
    assert prompt.version == DEFAULT_VERSION
    assert "failure_type" in prompt.text


def test_global_switch_and_per_name_override() -> None:
    settings = Settings(
        env={"REFINERY_PROMPT_VERSION": "V1", "HOLISTIC_ANALYSIS_TEMPLATE_VERSION": "v2"}
    )
    assert load_prompt(settings, "DIAGNOSIS_SYSTEM_PROMPT").version == "V1"
    assert load_prompt(settings, "HOLISTIC_ANALYSIS_TEMPLATE").version == "V2"
    v1 = load_prompt(
        Settings(env={"REFINERY_PROMPT_VERSION": "V1"}), "FAILURE_ANALYST_SYSTEM_PROMPT"
    )
    v2 = load_prompt(Settings(), "FAILURE_ANALYST_SYSTEM_PROMPT")
    assert "token health" not in v1.text.lower() and "token health" in v2.text.lower()


def test_unknown_version_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="has no version V9"):
        load_prompt(Settings(env={"REFINERY_PROMPT_VERSION": "V9"}), "DIAGNOSIS_SYSTEM_PROMPT")
