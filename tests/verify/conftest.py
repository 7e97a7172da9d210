"""The README example analysed once (offline, the real pipeline), and the loopback agent model."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from loopback_agent import LoopbackModel
from pytest_httpserver import HTTPServer

from refinery.config import Settings
from refinery.pipeline import AnalysisResult, AnalyzeOptions, ContextRequest, analyze
from refinery.traces.model import Trace
from refinery.traces.sources import load_trace
from sample_paths import EXAMPLES

EXPECTED = "should say the weather service is unavailable instead of guessing"


@pytest.fixture(scope="module")
def weather(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AnalysisResult, Trace]:
    """A committed copy of the weather agent, its offline analysis and its trace."""
    root = tmp_path_factory.mktemp("weather")
    shutil.copytree(EXAMPLES / "weather-agent", root, dirs_exist_ok=True)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "agent"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True)  # fmt: skip
    settings = Settings(repo_root=root, provider="offline")
    trace = load_trace(str(root / "trace.json"), settings)
    context = ContextRequest(
        prompt_files=["prompts/system_prompt.txt"], eval_files=["evals/cases.json"],
        config_files=["config.yaml"], cwd=root,
    )  # fmt: skip
    result = analyze(
        trace, project="weather", expected=EXPECTED, settings=settings,
        options=AnalyzeOptions(context=context),
    )  # fmt: skip
    return root, result, trace


@pytest.fixture
def agent_model(httpserver: HTTPServer) -> LoopbackModel:
    """The loopback agent model (and judge), serving every wire on ``httpserver``."""
    model = LoopbackModel()
    model.serve(httpserver)
    return model
