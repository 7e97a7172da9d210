"""Fixes: ranked cards with rationale, risk and a side-by-side diff; apply and undo.

Apply and undo call the workspace, which calls ``refinery.fixes`` exactly as ``refinery apply``
and ``refinery undo`` do; a refusal is shown on the card, in the library's own words.
"""

from __future__ import annotations

import subprocess

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...errors import ApplyRefused, InputError
from ...models.change import Change
from ...models.diagnosis import Hypothesis
from ..diffview import side_by_side
from ..pages import render, workspace
from ..security import checked_form
from ..state import SavedAnalysis, Workspace


async def fixes_page(request: Request) -> Response:
    """The Fixes page."""
    ws = workspace(request)
    saved = ws.load(request.path_params["analysis_id"])
    report = ws.verification(saved.result.analysis_id)
    order = {rank: i for i, rank in enumerate(report.ranking)} if report else {}
    ranked = sorted(saved.result.hypotheses, key=lambda h: (order.get(h.rank, len(order)), h.rank))
    cards = [_card(ws, saved, h) for h in ranked]
    return render(
        request, "fixes.html", saved=saved, result=saved.result, cards=cards, tab="fixes",
        branch=_branch(ws), report=report, can_verify=ws.can_verify(saved),
    )  # fmt: skip


def _card(
    ws: Workspace, saved: SavedAnalysis, hypothesis: Hypothesis, message: str | None = None
) -> dict[str, object]:
    diff = saved.result.diffs.get(hypothesis.rank, "")
    report = ws.verification(saved.result.analysis_id)
    verified = [f for f in report.fixes if f.rank == hypothesis.rank] if report else []
    return {
        "verified": verified[0] if verified else None,
        "h": hypothesis,
        "files": sorted({edit.file for edit in hypothesis.edits}),
        "diff": side_by_side(diff),
        "change": ws.change_for(saved.result.analysis_id, hypothesis.rank),
        "message": message,
        "commit_title": f"Refinery: {' '.join(hypothesis.title.split())}",
    }


async def apply_fix(request: Request) -> Response:
    """Apply one fix; answer with its card (applied, or the refusal)."""
    ws = workspace(request)
    await checked_form(request)
    saved = ws.load(request.path_params["analysis_id"])
    hypothesis = _hypothesis(saved, request.path_params["rank"])
    try:
        applied = ws.apply(saved.result.analysis_id, hypothesis.rank)
    except ApplyRefused as exc:
        return _card_response(request, ws, saved, hypothesis, f"Not applied: {exc}")
    message = " ".join((_applied(applied.change), *applied.notes))
    return _card_response(request, ws, saved, hypothesis, message)


async def undo_change(request: Request) -> Response:
    """Undo a change; from a fix card answer with the card, else go back to the history."""
    ws = workspace(request)
    form = await checked_form(request)
    analysis_id = form.get("analysis")
    try:
        change = ws.undo(request.path_params["change_id"])
        message = f"Undone: the files are back as they were (commit {change.undone_by or '?':.12})."
    except ApplyRefused as exc:
        message = f"Not undone: {exc}"
    if not isinstance(analysis_id, str) or not analysis_id:
        return RedirectResponse("/history", status_code=303)
    saved = ws.load(analysis_id)
    hypothesis = _hypothesis(saved, str(form.get("rank", "")))
    return _card_response(request, ws, saved, hypothesis, message)


def _applied(change: Change) -> str:
    files = ", ".join(f.path for f in change.files)
    return f"Applied in commit {change.commit[:12]}: {files}."


def _card_response(
    request: Request, ws: Workspace, saved: SavedAnalysis, h: Hypothesis, message: str
) -> Response:
    card = _card(ws, saved, h, message)
    return render(request, "_fix.html", result=saved.result, card=card, open_diff=False)


def _hypothesis(saved: SavedAnalysis, rank: str) -> Hypothesis:
    for hypothesis in saved.result.hypotheses:
        if str(hypothesis.rank) == rank:
            return hypothesis
    raise InputError(f"this analysis has no fix {rank}", "reload the page")


def _branch(ws: Workspace) -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--abbrev-ref", "HEAD"],
            cwd=ws.settings.repo_root, capture_output=True, text=True, check=True, timeout=5,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


ROUTES = [
    Route("/analysis/{analysis_id}/fixes", fixes_page),
    Route("/analysis/{analysis_id}/fixes/{rank}/apply", apply_fix, methods=["POST"]),
    Route("/changes/{change_id}/undo", undo_change, methods=["POST"]),
]
