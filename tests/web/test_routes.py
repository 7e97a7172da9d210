"""Route tests: the page's flows through Starlette's test client, on the README example."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from markupsafe import escape
from starlette.testclient import TestClient
from typer.testing import CliRunner
from web_support import EXPECTED, analyse, example_form

from refinery.cli import app as cli
from refinery.models.diagnosis import FailureType, Level
from refinery.web.words import CONFIDENCE_WORDS, FAILURE_WORDS


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    return done.stdout


def test_start_page_lists_only_repository_files_and_hides_trace_ids_without_keys(
    client: TestClient,
) -> None:
    page = client.get("/").text
    assert "weather-agent/prompts/system_prompt.txt" in page
    assert "xss.json" in page
    assert ".git/" not in page
    assert 'name="trace_id"' not in page


def test_analysis_streams_its_stages_then_shows_the_summary_first(
    client: TestClient, token: str
) -> None:
    posted = client.post("/analyses", data=example_form(token), follow_redirects=False)
    progress = client.get(posted.headers["location"]).text
    assert "data-events=" in progress
    events = client.get(posted.headers["location"] + "/events").text
    stages = re.findall(r'"stage": "(\w+)"', events)
    assert stages[0] == "load" and "detect" in stages and "analyze" in stages
    assert "event: done" in events
    page = client.get(re.search(r'"url": "([^"]+)"', events)[1]).text  # type: ignore[index]
    assert (
        page.index("What happened") < page.index("Kind of failure") < page.index("The conversation")
    )
    served = client.get(re.search(r'"url": "([^"]+)"', events)[1] + ".json").json()  # type: ignore[index]
    diagnosis = served["diagnosis"]
    assert FAILURE_WORDS[FailureType(diagnosis["failure_type"])] in page
    assert CONFIDENCE_WORDS[Level(diagnosis["confidence"])] in page
    assert escape(diagnosis["executive_summary"]) in page
    assert '<mark class="quote">It is sunny in Paris.</mark>' in page


def test_saved_project_files_come_back_ticked(client: TestClient, token: str) -> None:
    analyse(client, example_form(token))
    picker = client.get("/start/files", params={"project": "weather"}).text
    ticked = re.findall(r'name="(\w+)" value="([^"]+)"[^>]*\s+checked', picker)
    assert ("prompt", "weather-agent/prompts/system_prompt.txt") in ticked
    assert ("eval", "weather-agent/evals/cases.json") in ticked


def test_a_failed_analysis_ends_with_its_one_line_reason(client: TestClient, token: str) -> None:
    form = {**example_form(token), "trace_path": "weather-agent/README.md"}
    posted = client.post("/analyses", data=form, follow_redirects=False)
    events = client.get(posted.headers["location"] + "/events").text
    assert "event: failed" in events
    assert "README.md" in events.split("event: failed", 1)[1]


def test_state_changes_without_the_csrf_token_are_refused(client: TestClient, token: str) -> None:
    form = {**example_form(token), "csrf_token": "forged"}
    refused = client.post("/analyses", data=form, follow_redirects=False)
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    assert client.post("/changes/x/undo", data={}).status_code == 403


def test_requests_for_another_host_or_from_another_origin_are_refused(client: TestClient) -> None:
    rebound = client.get("/", headers={"Host": "attacker.example:8765"})
    assert rebound.status_code == 403
    assert "attacker.example" in rebound.text
    cross = client.get("/", headers={"Origin": "http://attacker.example"})
    assert cross.status_code == 403
    assert client.get("/", headers={"Host": "localhost:8765"}).status_code == 200


def test_files_outside_the_repository_are_refused(client: TestClient, token: str) -> None:
    for field, value in (("prompt", "../outside.txt"), ("trace_path", "/etc/passwd")):
        form = {**example_form(token), field: value}
        refused = client.post("/analyses", data=form, follow_redirects=False)
        assert refused.status_code == 400
        assert "not a file of this repository" in refused.text


def test_an_uploaded_trace_is_kept_under_a_derived_name(
    client: TestClient, token: str, repo: Path
) -> None:
    form = {k: v for k, v in example_form(token).items() if k != "trace_path"}
    data = (repo / "weather-agent" / "trace.json").read_bytes()
    files = {"trace_upload": ("../../evil name.json", data, "application/json")}
    posted = client.post("/analyses", data=form, files=files, follow_redirects=False)
    events = client.get(posted.headers["location"] + "/events").text
    assert "event: done" in events
    kept = list((repo / ".refinery" / "ui" / "uploads").iterdir())
    assert [p.name.startswith("trace_") for p in kept] == [True]


def test_a_trace_with_script_and_javascript_links_renders_as_text(
    client: TestClient, token: str
) -> None:
    form = {**example_form(token), "trace_path": "xss.json", "project": "xss"}
    page = client.get(analyse(client, form)).text
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;window.__pwned = 1; alert(&#39;xss&#39;)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page
    assert "&lt;a href=&#34;javascript:alert(4)&#34;&gt;click&lt;/a&gt;" in page
    assert "<img src=x" not in page


def test_apply_then_undo_go_through_git(client: TestClient, token: str, repo: Path) -> None:
    analysis = analyse(client, example_form(token))
    best = client.get(analysis + ".json").json()["hypotheses"][0]
    edit = best["edits"][0]
    added = edit["replace"].strip().splitlines()[-1]
    fixes = client.get(analysis + "/fixes").text
    assert escape(f"Refinery: {best['title']}") in fixes
    applied = client.post(analysis + "/fixes/1/apply", headers={"X-CSRF-Token": token}).text
    assert "Applied in commit" in applied
    assert added in (repo / edit["file"]).read_text()
    assert _git(repo, "log", "-1", "--format=%s").strip() == f"Refinery: {best['title']}"
    change_id = re.search(r"/changes/([^/]+)/undo", applied)[1]  # type: ignore[index]
    form = {"analysis": analysis.rsplit("/", 1)[1], "rank": "1"}
    undone = client.post(f"/changes/{change_id}/undo", data=form, headers={"X-CSRF-Token": token})
    assert "Undone: the files are back as they were" in undone.text
    assert added not in (repo / edit["file"]).read_text()


def test_a_refused_apply_names_the_problem_on_the_card(
    client: TestClient, token: str, repo: Path
) -> None:
    analysis = analyse(client, example_form(token))
    prompt = repo / "weather-agent/prompts/system_prompt.txt"
    prompt.write_text(prompt.read_text() + "\nlocal edit\n")
    card = client.post(analysis + "/fixes/1/apply", headers={"X-CSRF-Token": token}).text
    assert "Not applied: cannot apply fix 1" in card
    assert "changed since the analysis" in card
    assert prompt.read_text().endswith("local edit\n")


def test_history_filters_by_project_and_reopens_an_analysis(client: TestClient, token: str) -> None:
    first = analyse(client, example_form(token))
    other = analyse(client, {**example_form(token), "trace_path": "xss.json", "project": "xss"})
    weather = client.get("/history", params={"project": "weather"}).text
    assert first in weather
    assert other not in weather
    assert other in client.get("/history").text
    reopened = client.get(first).text
    assert EXPECTED in reopened


def test_the_run_tree_loads_children_on_demand(client: TestClient, token: str) -> None:
    analysis = analyse(client, example_form(token))
    page = client.get(analysis).text
    assert page.count('class="node') == 1  # only the root until it is opened
    root = re.search(r"tree\?parent=([\w-]+)", page)[1]  # type: ignore[index]
    children = client.get(analysis + "/tree", params={"parent": root}).text
    assert children.count('class="node') == 3
    assert "get_weather" in children
    assert client.get(analysis + "/tree", params={"parent": "nope"}).status_code == 400


def test_the_analysis_is_served_as_the_json_analyze_prints(client: TestClient, token: str) -> None:
    analysis = analyse(client, example_form(token))
    served = client.get(analysis + ".json").json()
    assert served["analysis_id"] == analysis.rsplit("/", 1)[1]
    assert served["diagnosis"]["failure_type"] == "instruction_not_followed"
    assert [h["rank"] for h in served["hypotheses"]] == [1, 2, 3, 4, 5]


def test_an_unknown_analysis_is_one_clear_line(client: TestClient, token: str) -> None:
    analyse(client, example_form(token))
    missing = client.get("/analysis/an_000000000000")
    assert missing.status_code == 400
    assert "no saved analysis an_000000000000" in missing.text


def test_an_analysis_made_on_the_command_line_opens_and_applies_from_the_page(
    client: TestClient, token: str, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    files = ["--prompt-files", "weather-agent/prompts/system_prompt.txt"]
    args = ["analyze", "weather-agent/trace.json", "-p", "weather", "-e", EXPECTED, *files]
    ran = CliRunner().invoke(cli, [*args, "--provider", "offline", "--json"])
    analysis_id = json.loads(ran.stdout)["analysis_id"]
    assert f"/analysis/{analysis_id}" in client.get("/history").text
    page = client.get(f"/analysis/{analysis_id}").text
    assert "The instructions cover this, but were not followed" in page
    assert "which Refinery does not keep" in page
    applied = client.post(f"/analysis/{analysis_id}/fixes/1/apply", headers={"X-CSRF-Token": token})
    assert "Applied in commit" in applied.text


def _long_transcript(turns: int, failing: int) -> dict[str, object]:
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "You are an order assistant. If a lookup fails, say so."},
        {"role": "user", "content": f"Where are my {turns} orders?"},
    ]
    for i in range(turns):
        call = {"name": "lookup_order", "arguments": json.dumps({"order": i})}
        messages.append(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": f"c{i}", "type": "function", "function": call}],
            }
        )
        result = "Error: 503 upstream timeout" if i == failing else f"order {i}: shipped"
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": result})
    messages.append({"role": "assistant", "content": f"All {turns} orders have shipped."})
    return {"messages": messages}


def test_a_divergence_beyond_the_first_page_is_one_click_away(
    client: TestClient, token: str, repo: Path
) -> None:
    (repo / "long.json").write_text(json.dumps(_long_transcript(100, failing=80)))
    analysis = analyse(client, {**example_form(token), "trace_path": "long.json", "project": "o"})
    page = client.get(analysis).text
    assert "Show the next steps (60 of 204 shown so far)" in page
    assert not re.search(r'class="step [^"]*divergence"', page)
    jump = re.search(r'href="#step-([\w-]+)" class="jump" data-start="(\d+)"', page)
    assert jump, "the summary links to the divergence step"
    window = client.get(f"{analysis}/timeline", params={"start": jump[2]}).text
    marked = re.search(r'class="step [^"]*divergence"\s+id="step-([\w-]+)"', window)
    assert marked and marked[1] == jump[1]
    assert "Show earlier steps" in window
