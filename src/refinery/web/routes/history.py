"""History: past analyses and the changes they led to, filterable by project.

Each analysis reopens exactly as it was kept; each change shows its commit and whether it was
undone, with an undo button while it stands.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..pages import render, workspace


async def history_page(request: Request) -> Response:
    """The History page."""
    ws = workspace(request)
    project = request.query_params.get("project") or None
    analyses = ws.analyses(project)
    every = ws.analyses()
    titles = {a.result.analysis_id: a for a in every}
    return render(
        request,
        "history.html",
        project=project,
        projects=sorted({a.result.project for a in every}),
        analyses=analyses,
        changes=ws.changes(project),
        by_id=titles,
        tab="history",
    )


ROUTES = [Route("/history", history_page)]
