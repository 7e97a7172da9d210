from __future__ import annotations

from typing import Any

from refinery.analysis.detectors import retrieval
from refinery.analysis.detectors.figures import figure_list
from refinery.analysis.findings import DetectorInput, Finding
from refinery.traces.model import Message, Run, RunKind, Trace, build_trace


def _trace(*runs: Run) -> Trace:
    root = Run(id="root", trace_id="t", name="garden_helper", kind=RunKind.CHAIN)
    return build_trace((root, *runs), trace_id="t", source="file", format="test")


def _retriever(outputs: dict[str, Any] | None, **fields: Any) -> Run:
    return Run(
        id="r1", trace_id="t", parent_id="root", name="plant_index", kind=RunKind.RETRIEVER,
        inputs={"query": "when to prune roses"}, outputs=outputs, **fields,
    )  # fmt: skip


def _answer(text: str) -> Run:
    reply = Message(role="assistant", content=text)
    return Run(id="a1", trace_id="t", parent_id="root", kind=RunKind.LLM, output_messages=(reply,))


def _kinds(trace: Trace, expected: str) -> list[Finding]:
    return list(retrieval.retrieval_problems(DetectorInput(trace=trace, expected=expected)))


def test_empty_retriever_and_empty_search_tool_are_flagged() -> None:
    search = Run(
        id="s1", trace_id="t", parent_id="root", name="recipe_search", kind=RunKind.TOOL,
        tool_name="recipe_search", tool_result='{"hits": [], "took_ms": 3}',
    )  # fmt: skip
    trace = _trace(_retriever(None), search, _answer("I found nothing about that."))
    found = _kinds(trace, "should explain how to prune climbing roses")
    assert [f.kind for f in found] == ["empty_retrieval", "empty_retrieval"]
    assert found[1].evidence == '{"hits": [], "took_ms": 3}'


def test_low_scores_on_off_topic_documents() -> None:
    docs = [
        {"page_content": "Tomatoes need staking in June.", "metadata": {"score": 0.29}},
        {"page_content": "Lawn mowers should be serviced yearly.", "metadata": {"score": 0.22}},
    ]
    trace = _trace(_retriever({"documents": docs}), _answer("Stake them in June."))
    found = _kinds(trace, "Explain pruning climbing roses after flowering, cutting old canes")
    assert [f.kind for f in found] == ["low_relevance_retrieval"]
    assert "0.29" in found[0].message


def test_low_scores_with_relevant_documents_are_not_flagged() -> None:
    docs = [{"content": "Prune climbing roses after flowering; cut old canes.", "score": 0.41}]
    trace = _trace(_retriever({"documents": docs}), _answer("Prune after flowering."))
    assert _kinds(trace, "Explain pruning climbing roses after flowering, cutting old canes") == []


def test_documents_lacking_expected_figures_that_the_answer_repeats() -> None:
    docs = [{"page_content": "Guide (2019): water seedlings every 3 days."}]
    trace = _trace(_retriever({"documents": docs}), _answer("Water them every 3 days (2019)."))
    found = _kinds(trace, "The 2023 guide says every 5 days.")
    assert [f.kind for f in found] == ["retrieval_missed_facts"]


def test_openinference_document_attributes_are_read() -> None:
    meta = {
        "retrieval.documents.0.document.content": "Bird feeders attract finches.",
        "retrieval.documents.0.document.score": 0.31,
    }
    run = _retriever(None, metadata=meta)
    assert retrieval.documents(run) == [retrieval.Document(text=meta[next(iter(meta))], score=0.31)]


def test_figures_compare_values_not_digits() -> None:
    assert figure_list("$1,200.50 then 1200.5, row 7C and 07") == ["1200.5", "7c", "7"]
