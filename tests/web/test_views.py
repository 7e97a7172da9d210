"""The page's view models: timeline steps, side-by-side diffs, run-tree pages, allowed hosts."""

from __future__ import annotations

from web_support import XSS_TRACE

from refinery.models.diagnosis import Diagnosis, Divergence, Evidence, FailureType, Level
from refinery.traces.model import Run, RunKind, build_trace
from refinery.traces.sources import load_trace
from refinery.web.diffview import side_by_side
from refinery.web.security import HostGuard, allowed_hosts
from refinery.web.timeline import PAGE, timeline_page
from refinery.web.tree import tree_level


def _diagnosis(quotes: tuple[str, ...] = (), divergence: Divergence | None = None) -> Diagnosis:
    return Diagnosis(
        failure_type=FailureType.TOOL_ERROR,
        root_cause="r",
        confidence=Level.HIGH,
        confidence_reason="c",
        trace_summary="t",
        gap="g",
        executive_summary="e",
        affected_component="a",
        evidence=tuple(Evidence(run_id="msg-3", quote=q, verified=True) for q in quotes),
        divergence=divergence,
    )


def test_timeline_marks_the_divergence_step_and_highlights_quotes_across_whitespace() -> None:
    trace = load_trace(XSS_TRACE)
    divergence = Divergence(run_id="msg-4", name="assistant", position=4, reason="made up a link")
    page = timeline_page(trace, _diagnosis(("500 <b>internal</b>",), divergence))
    roles = [step.role for step in page.steps]
    assert roles == ["system", "user", "agent", "tool", "agent"]
    marked = [step for step in page.steps if step.divergence]
    assert [(s.run_id, s.divergence) for s in marked] == [("msg-4", "made up a link")]
    tool = page.steps[3]
    assert [seg.text for seg in tool.body if seg.quote] == ["500 <b>internal</b>"]
    assert tool.calls == ('lookup_invoice({"q": "<img src=x onerror=alert(1)>"})',)


def test_timeline_pages_a_big_trace_and_shows_a_repeated_system_prompt_once() -> None:
    runs = [Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN, inputs={"q": "hi"})]
    for i in range(150):
        runs.append(
            Run(id=f"t{i}", trace_id="t", parent_id="root", order=f"{i:05}", name="lookup",
                kind=RunKind.TOOL, tool_name="lookup", tool_args="{}", tool_result=f"row {i}")
        )  # fmt: skip
    trace = build_trace(runs, trace_id="t", source="file", format="test")
    first = timeline_page(trace, _diagnosis())
    assert (first.start, first.end, first.total) == (0, PAGE, 151)
    second = timeline_page(trace, _diagnosis(), first.end)
    assert second.steps[0].body[0].text == f"row {PAGE - 1}"


def test_side_by_side_pairs_a_changed_line_with_its_replacement() -> None:
    diff = "--- a/p.txt\n+++ b/p.txt\n@@ -1,3 +1,4 @@\n keep\n-old rule\n+new rule\n+added\n tail\n"
    (file,) = side_by_side(diff)
    assert file.path == "p.txt"
    kinds = [(r.kind, r.left, r.right) for r in file.rows]
    assert kinds == [
        ("hunk", None, None),
        ("same", "keep", "keep"),
        ("change", "old rule", "new rule"),
        ("add", None, "added"),
        ("same", "tail", "tail"),
    ]
    assert [(r.left_no, r.right_no) for r in file.rows[1:]] == [(1, 1), (2, 2), (None, 3), (3, 4)]


def test_the_tree_serves_a_wide_level_one_page_at_a_time() -> None:
    runs = [Run(id="root", trace_id="t", name="agent", kind=RunKind.CHAIN)]
    runs += [Run(id=f"c{i}", trace_id="t", parent_id="root", order=f"{i:05}") for i in range(250)]
    trace = build_trace(runs, trace_id="t", source="file", format="test")
    (root,) = tree_level(trace, None).nodes
    assert root.children == 250
    pages = [tree_level(trace, "root", offset) for offset in (0, 100, 200)]
    assert [len(p.nodes) for p in pages] == [100, 100, 50]
    assert [p.next_offset for p in pages] == [100, 200, None]


def test_only_the_servers_own_host_and_origin_are_answered() -> None:
    guard = HostGuard(app=None, hosts=allowed_hosts("127.0.0.1", 8765))  # type: ignore[arg-type]
    assert guard.problem("127.0.0.1:8765", "http://127.0.0.1:8765") is None
    assert guard.problem("[::1]:8765", None) is None
    assert guard.problem("127.0.0.1:8766", None) is not None
    assert guard.problem("rebind.attacker.example:8765", None) is not None
    assert guard.problem("localhost:8765", "null") is not None
    assert "192.168.1.5:8765" in allowed_hosts("192.168.1.5", 8765)
