"""Where an LLM's placeholders get their originals back: only in edit text whose file holds them.

The model sees ``[[REDACTED_EMAIL_1]]`` for the customer's address (from the trace) and for the
support address (from the agent's own prompt file). An edit that keeps the support line gets the
support address back; the customer's address, echoed into a title, a rationale or a new eval case,
reads ``<email>``; an evidence quote gets its original back, to be checked verbatim.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from refinery.analysis.llm_analyst import LLMAnalyser
from refinery.config import Settings
from refinery.llm.fake import FakeProvider
from refinery.llm.provider import Request
from refinery.pipeline import AnalyzeOptions, ContextRequest, analyze

CUSTOMER = "maria.lopez@example.org"
SUPPORT = "help@acme-cloud.example"
PROMPT = f"You are the support assistant for Acme Cloud.\nEscalate refunds to {SUPPORT}.\n"
USER = f"I'm {CUSTOMER}; refund invoice INV-2291 please."
FINAL = "I have issued a refund of 98.00 USD to your card."


def _placeholder_of(prompt: str, value_line: str) -> str:
    """The placeholder the model was shown on the line that held ``value_line``'s value."""
    pattern = re.escape(value_line).replace(re.escape("@@"), r"(\[\[REDACTED_EMAIL_\d+\]\])")
    found = re.search(pattern, prompt)
    assert found, value_line
    return found.group(1)


def _answer(request: Request) -> dict[str, Any]:
    customer = _placeholder_of(request.prompt, "I'm @@; refund")
    support = _placeholder_of(request.prompt, "Escalate refunds to @@.")
    if request.schema_name == "diagnosis":
        return {
            "failure_type": "instruction_gap", "root_cause": f"Promised {customer} a refund.",
            "confidence": "high", "confidence_reason": "the final answer",
            "trace_summary": "promised a refund", "gap": "no escalation",
            "executive_summary": f"The assistant promised {customer} a refund.",
            "affected_component": "prompts/system.txt",
            "evidence": [{"run_id": "msg-1", "quote": f"I'm {customer}; refund"}],
        }  # fmt: skip
    search = f"Escalate refunds to {support}.\n"
    replace = f"Never promise a refund: escalate it to {support} (as for {customer}).\n"
    return {"hypotheses": [{
        "rank": 1, "title": f"Escalate refunds such as {customer}'s", "strategy": "add_rule",
        "rationale": f"{customer} was promised a refund", "failure_type": "instruction_gap",
        "risk": "low", "expected_effect": "escalated",
        "edits": [{"file": "prompts/system.txt", "search": search, "replace": replace}],
    }]}  # fmt: skip


def test_originals_return_only_in_edit_text_whose_file_holds_them(git_repo: Path) -> None:
    (git_repo / "prompts").mkdir()
    (git_repo / "prompts" / "system.txt").write_text(PROMPT)
    subprocess.run(["git", "-C", str(git_repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(git_repo), "commit", "-qm", "agent"], check=True)
    messages = [{"role": "system", "content": PROMPT}, {"role": "user", "content": USER},
                {"role": "assistant", "content": FINAL}]  # fmt: skip
    trace = git_repo / "trace.json"
    trace.write_text(json.dumps({"messages": messages}))
    fake = FakeProvider(_answer)
    result = analyze(
        trace, project="billing", expected="Refunds are escalated to a human.",
        settings=Settings(repo_root=git_repo),
        options=AnalyzeOptions(context=ContextRequest(prompt_files=("prompts/system.txt",))),
        analyser=LLMAnalyser(fake, Settings(repo_root=git_repo)),
    )  # fmt: skip

    assert all(CUSTOMER not in r.prompt and SUPPORT not in r.prompt for r in fake.requests)
    (hypothesis,) = result.hypotheses
    assert hypothesis.title == "Escalate refunds such as <email>'s"
    assert hypothesis.rationale == "<email> was promised a refund"
    (edit,) = hypothesis.edits
    assert edit.search == f"Escalate refunds to {SUPPORT}.\n"
    assert edit.replace == f"Never promise a refund: escalate it to {SUPPORT} (as for <email>).\n"
    assert hypothesis.valid, hypothesis.problems
    assert result.diagnosis.executive_summary == "The assistant promised <email> a refund."
    quote = next(e for e in result.diagnosis.evidence if e.quote.startswith("I'm"))
    # Verified against the original, then shown (and saved) with the email as a placeholder.
    assert quote.quote == "I'm <email>; refund" and quote.verified
