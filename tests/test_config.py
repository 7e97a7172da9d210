"""Settings remember where each variable came from; numeric limits come from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from refinery.config import (
    DEFAULT_MAX_TRACE_BYTES,
    AnalyserSource,
    analyser_source,
    load_settings,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    return tmp_path


def test_each_variable_knows_whether_the_environment_or_which_dotenv_set_it(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / ".env").write_text("OPENAI_API_KEY=sk-from-file\nANTHROPIC_API_KEY=sk-ant-file\n")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-environment")

    settings = load_settings(repo, provider="anthropic")

    assert settings.origin("OPENAI_API_KEY") == ("OPENAI_API_KEY", str(repo / ".env"))
    assert settings.origin("ANTHROPIC_API_KEY") == ("ANTHROPIC_API_KEY", "environment")
    assert settings.key("ANTHROPIC_API_KEY") == "sk-ant-environment"
    assert settings.origin("REFINERY_PROVIDER") == ("REFINERY_PROVIDER", "--provider")
    assert settings.origin("GEMINI_API_KEY", "GOOGLE_API_KEY") is None


def test_numeric_limits_come_from_the_environment_and_bad_values_are_ignored(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = {"REFINERY_MAX_RUNS": "50", "REFINERY_TIMEOUT": "0.5",
             "REFINERY_MAX_TRACE_BYTES": "lots", "REFINERY_CACHE_TTL": "0"}  # fmt: skip
    for name, value in given.items():
        monkeypatch.setenv(name, value)

    settings = load_settings(repo)

    assert (settings.max_runs, settings.timeout_seconds) == (50, 0.5)
    assert settings.max_trace_bytes == DEFAULT_MAX_TRACE_BYTES
    assert settings.cache_ttl_seconds == 0
    assert load_settings(repo, max_runs=7).max_runs == 7


@pytest.mark.parametrize(
    ("dotenv", "environ", "flags", "expected"),
    [
        ("", {"OPENAI_API_KEY": "sk"}, {}, AnalyserSource(
            key="OPENAI_API_KEY from the environment", warning=None)),
        ("REFINERY_PROVIDER=openai\n", {"OPENAI_API_KEY": "sk"}, {}, AnalyserSource(
            key="OPENAI_API_KEY from the environment",
            warning="{env} chose the openai analyser (REFINERY_PROVIDER), so the trace goes to an "
            "LLM API that may charge for it: pass --provider offline to keep it local, or "
            "--provider openai to confirm")),
        ("REFINERY_PROVIDER=openai\n", {"OPENAI_API_KEY": "sk"}, {"provider": "openai"},
         AnalyserSource(key="OPENAI_API_KEY from the environment", warning=None)),
        ("REFINERY_BASE_URL=http://127.0.0.1:11434/v1\n", {}, {}, AnalyserSource(
            key=None,
            warning="{env} chose the openai-compatible analyser (REFINERY_BASE_URL), so the trace "
            "goes to an LLM API that may charge for it: pass --provider offline to keep it local, "
            "or --provider openai-compatible to confirm")),
    ],
)  # fmt: skip
def test_the_analyser_source_names_the_key_and_warns_when_dotenv_chose(
    repo: Path, monkeypatch: pytest.MonkeyPatch,
    dotenv: str, environ: dict[str, str], flags: dict[str, str], expected: AnalyserSource,
) -> None:  # fmt: skip
    (repo / ".env").write_text(dotenv)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(repo, **flags)
    provider = settings.provider or ("openai-compatible" if settings.base_url else "openai")

    source = analyser_source(settings, provider)

    warning = expected.warning.format(env=repo / ".env") if expected.warning else None
    assert source == AnalyserSource(key=expected.key, warning=warning)
    assert analyser_source(settings, "offline") == AnalyserSource(key=None, warning=None)
