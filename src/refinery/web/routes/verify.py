"""Verify: replay the failing call with each fix, judge the answers, rank the fixes by the result.

The estimate (calls and cost, or why verification cannot run) is shown before anything is sent;
only the person's confirmation starts the job, which runs ``plan_verification`` and
``run_verification`` as ``refinery verify`` does, keeps the report beside the analysis and returns
to the Fixes page, now ranked by verified effect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...progress import OnProgress
from ..pages import render, workspace
from ..security import checked_form
from ..state import SavedAnalysis, Workspace

if TYPE_CHECKING:
    from ...verify import VerifyOptions


def _options(fix: str) -> VerifyOptions:
    from ...verify import VerifyOptions

    return VerifyOptions(fixes=(int(fix),) if fix.isdigit() else ())


async def estimate(request: Request) -> Response:
    """What verifying would send and cost, with a button to go ahead (or why it cannot run)."""
    from ...verify import plan_verification

    ws = workspace(request)
    form = await checked_form(request)
    fix = str(form.get("fix", "all"))
    saved = ws.load(request.path_params["analysis_id"])
    plan = plan_verification(saved.result, ws.trace(saved), ws.settings, _options(fix))
    return render(request, "_estimate.html", result=saved.result, plan=plan, fix=fix)


async def start(request: Request) -> Response:
    """Run the verification as a job; go to its progress page."""
    ws = workspace(request)
    form = await checked_form(request)
    saved = ws.load(request.path_params["analysis_id"])
    fix = str(form.get("fix", "all"))
    title = f"verifying the fixes of {saved.result.project}"
    job = request.app.state.jobs.start(title, lambda report: _verify(ws, saved, fix, report))
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _verify(ws: Workspace, saved: SavedAnalysis, fix: str, on_progress: OnProgress) -> str:
    from ...verify import plan_verification, run_verification
    from ...verify.saved import save_verification

    plan = plan_verification(saved.result, ws.trace(saved), ws.settings, _options(fix))
    report = run_verification(plan, repo_root=ws.settings.repo_root, on_progress=on_progress)
    save_verification(ws.settings, saved.result, report)
    return f"/analysis/{saved.result.analysis_id}/fixes"


ROUTES = [
    Route("/analysis/{analysis_id}/verify/estimate", estimate, methods=["POST"]),
    Route("/analysis/{analysis_id}/verify", start, methods=["POST"]),
]
