"""Verification on the Fixes page: offered with a key, estimated before any call, ranked after."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient
from web_support import BASE, PORT, analyse, example_form

from refinery.config import Settings
from refinery.models.verification import FixStatus, FixVerification, PassRate, VerificationReport
from refinery.pipeline import load_analysis
from refinery.verify.saved import save_verification
from refinery.web import create_app


def _rate(passed: int, runs: int = 5) -> PassRate:
    return PassRate(passed=passed, runs=runs, low=0.0, high=1.0)


def test_without_a_key_the_page_says_what_verification_needs(
    client: TestClient, token: str
) -> None:
    fixes = client.get(analyse(client, example_form(token)) + "/fixes").text
    assert "It needs the API key of the agent" in fixes
    assert "/verify/estimate" not in fixes


def test_with_a_key_the_estimate_comes_before_any_call(repo: Path) -> None:
    settings = Settings(env={"OPENAI_API_KEY": "sk-test"}, repo_root=repo, provider="offline")
    app = create_app(settings, port=PORT)
    with TestClient(app, base_url=BASE) as client:
        token = app.state.csrf_token
        analysis = analyse(client, example_form(token))
        fixes = client.get(analysis + "/fixes").text
        assert "Verify the fixes…" in fixes
        estimate = client.post(
            analysis + "/verify/estimate", data={"fix": "all"}, headers={"X-CSRF-Token": token}
        ).text
    calls = re.search(r"<strong>(\d+) calls</strong>", estimate)
    assert calls and int(calls[1]) > 0
    assert f"Run {calls[1]} calls" in estimate
    assert 'action="' + analysis + '/verify"' in estimate


def test_a_kept_verification_ranks_the_fixes_by_verified_effect(
    client: TestClient, token: str, repo: Path
) -> None:
    analysis = analyse(client, example_form(token))
    settings = Settings(env={}, repo_root=repo, provider="offline")
    result = load_analysis(settings, analysis.rsplit("/", 1)[1])
    verified = [
        FixVerification(
            rank=h.rank,
            title=h.title,
            status=FixStatus.REPLAYED,
            verdict=f"fixes it in {5 if h.rank == 3 else 0} of 5 replays",
            pass_rate=_rate(5 if h.rank == 3 else 0),
            effect=1.0 if h.rank == 3 else 0.0,
        )  # fmt: skip
        for h in result.hypotheses
    ]
    ranking = (3, *(h.rank for h in result.hypotheses if h.rank != 3))
    report = VerificationReport(
        expected=result.expected, call=None, agent="openai gpt-4o-mini", judge="openai",
        runs=5, baseline=_rate(0), fixes=tuple(verified), ranking=ranking,
    )  # fmt: skip
    save_verification(settings, result, report)
    fixes = client.get(analysis + "/fixes").text
    assert re.findall(r'id="fix-(\d+)"', fixes)[0] == "3"
    assert "as recorded it passed 0 of 5" in fixes
    assert "fixes it in 5 of 5 replays" in fixes
