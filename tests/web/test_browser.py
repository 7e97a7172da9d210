"""Browser tests: headless Chromium (Debian's ``chromium``) driven by Playwright, on a live server.

What a person sees is asserted: the README example analysed, a diff opened, the fix applied and
undone; a hostile trace shown as text; the fixes walked with the keyboard. Screenshots of the main
pages land in ``tests/web/artifacts/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import EXPECTED, make_repo, offline

from refinery.web import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(
        "chromium is not installed (apt-get install -y chromium): browser tests skipped",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A live server on the README example; its base URL and repository."""
    import uvicorn

    repo = make_repo(tmp_path_factory.mktemp("repo"))
    probe = uvicorn.Config(lambda *a: None, host="127.0.0.1", port=0)
    sock = probe.bind_socket()
    port = sock.getsockname()[1]
    app = create_app(offline(repo), port=port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", repo
    server.should_exit = True
    thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = browser.new_page(viewport={"width": 1280, "height": 900})
    yield opened
    opened.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


FILES = {
    "prompt": "weather-agent/prompts/system_prompt.txt",
    "eval": "weather-agent/evals/cases.json",
    "config": "weather-agent/config.yaml",
}


def _analyse(page: Any, base: str, trace: str, project: str, shot: bool = False) -> None:
    page.goto(base + "/")
    with page.expect_response(re.compile(r".*/start/files\?project=.*")):
        page.fill("#project", project)
        page.press("#project", "Tab")
    # The file list is swapped in after its response arrives: tick boxes only once it has settled.
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
    for kind, path in FILES.items():
        page.check(f"input[name={kind}][value='{path}']")
    page.select_option("select[name=trace_path]", trace)
    page.fill("#expected", EXPECTED)
    if shot:
        _shot(page, "start")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/analysis/an_\w+$"), timeout=30_000)


def test_readme_example_end_to_end(page: Any, server: tuple[str, Path]) -> None:
    base, repo = server
    _analyse(page, base, "weather-agent/trace.json", "weather", shot=True)
    expect = playwright_api.expect
    served = page.request.get(page.url + ".json").json()
    expect(page.locator(".executive")).to_have_text(served["diagnosis"]["executive_summary"])
    expect(page.locator(".step-tool.failed")).to_contain_text("weather API down for Paris")
    expect(page.locator(".step.divergence")).to_contain_text("It is sunny in Paris.")
    expect(page.locator(".step.divergence .went-wrong")).to_contain_text("Went wrong here")
    _shot(page, "analysis")
    page.click("text=Fixes")
    best = served["hypotheses"][0]
    edit = best["edits"][0]
    line = edit["replace"].strip().splitlines()[-1]
    first = page.locator("#fix-1")
    expect(first.locator("h2")).to_have_text(best["title"])
    first.locator("summary", has_text="Show the changes").click()
    expect(first.locator("td.right.add", has_text=line)).to_be_visible()
    _shot(page, "fixes")
    first.get_by_role("button", name="Apply this fix…").click()
    original = (repo / edit["file"]).read_text()
    dialog = first.locator("dialog")
    expect(dialog).to_contain_text(edit["file"])
    expect(dialog).to_contain_text(f"Refinery: {best['title']}")
    _shot(page, "apply-confirmation")
    dialog.get_by_role("button", name="Apply and commit").click()
    expect(page.locator("#fix-1 .notice")).to_contain_text("Applied in commit")
    assert line in (repo / edit["file"]).read_text()
    page.locator("#fix-1").get_by_role("button", name="Undo this change").click()
    expect(page.locator("#fix-1 .notice")).to_contain_text("Undone")
    assert (repo / edit["file"]).read_text() == original
    page.goto(base + "/history")
    expect(page.locator("table.history").last).to_contain_text("undone")
    _shot(page, "history")


def test_a_hostile_trace_renders_as_text(page: Any, server: tuple[str, Path]) -> None:
    base, _ = server
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _analyse(page, base, "xss.json", "xss")
    expect = playwright_api.expect
    expect(page.locator(".timeline")).to_contain_text("<script>window.__pwned = 1;")
    expect(page.locator(".timeline")).to_contain_text('<a href="javascript:alert(4)">click</a>')
    assert page.evaluate("window.__pwned") is None
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.locator(".timeline img").count() == 0
    assert dialogs == []
    _shot(page, "xss")


def test_keyboard_walks_through_the_fixes(page: Any, server: tuple[str, Path]) -> None:
    base, _ = server
    _analyse(page, base, "weather-agent/trace.json", "weather")
    page.click("text=Fixes")
    page.locator("#fix-1").focus()
    page.keyboard.press("ArrowDown")
    expect = playwright_api.expect
    expect(page.locator("#fix-2")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#fix-2 details.diff-box")).to_have_attribute("open", "")
    page.keyboard.press("ArrowUp")
    expect(page.locator("#fix-1")).to_be_focused()


def test_a_failed_partial_update_shows_its_reason(page: Any, server: tuple[str, Path]) -> None:
    base, _ = server
    _analyse(page, base, "xss.json", "xss")
    page.evaluate("htmx.ajax('GET', location.pathname + '/tree?parent=nope', '#timeline')")
    toast = page.locator("#toast")
    playwright_api.expect(toast).to_have_text("no run 'nope' in this trace: reload the page")
