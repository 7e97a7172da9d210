"""Helpers for the web tests: the README example in a temporary git repository, the Start form."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from starlette.testclient import TestClient

from refinery.config import Settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "weather-agent"
XSS_TRACE = Path(__file__).parents[1] / "data" / "web_xss_transcript.json"
EXPECTED = "should say the weather service is unavailable instead of guessing"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"


def make_repo(root: Path) -> Path:
    """The README example committed in a fresh git repository at ``root``."""
    shutil.copytree(EXAMPLE, root / "weather-agent")
    shutil.copy(XSS_TRACE, root / "xss.json")
    run = ["git", "-C", str(root)]
    subprocess.run([*run, "init", "-q", "-b", "main"], check=True)
    for key, value in (("user.name", "Test"), ("user.email", "test@example.com")):
        subprocess.run([*run, "config", key, value], check=True)
    subprocess.run([*run, "add", "."], check=True)
    subprocess.run([*run, "commit", "-q", "-m", "example"], check=True)
    return root


def offline(root: Path) -> Settings:
    """Settings for ``root`` with the offline analyser and no keys."""
    return Settings(env={}, repo_root=root, provider="offline")


def example_form(token: str) -> dict[str, object]:
    """The Start form for the README example."""
    return {
        "csrf_token": token,
        "project": "weather",
        "expected": EXPECTED,
        "trace_path": "weather-agent/trace.json",
        "prompt": ["weather-agent/prompts/system_prompt.txt"],
        "eval": ["weather-agent/evals/cases.json"],
        "config": ["weather-agent/config.yaml"],
    }


def analyse(client: TestClient, form: dict[str, object]) -> str:
    """Post the Start form, follow the job's events to the end; the analysis page's path."""
    posted = client.post("/analyses", data=form, follow_redirects=False)
    assert posted.status_code == 303, posted.text
    events = client.get(posted.headers["location"] + "/events").text
    found = re.search(r'"url": "(/analysis/an_\w+)"', events)
    assert found, events
    return found[1]
