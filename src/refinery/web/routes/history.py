"""History: past analyses and the changes they led to, filterable by project.

Each analysis reopens exactly as it was kept; each change shows its commit and whether it was
undone, with an undo button while it stands.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...store.history import AnalysisEntry, ChangeEntry
from ..pages import render, workspace


async def history_page(request: Request) -> Response:
    """The History page."""
    ws = workspace(request)
    project = request.query_params.get("project") or None
    entries = ws.history(project).entries
    return render(
        request,
        "history.html",
        project=project,
        projects=sorted({p.name for p in ws.projects()} | {project or ""} - {""}),
        analyses=[e for e in entries if isinstance(e, AnalysisEntry)],
        changes=[e for e in entries if isinstance(e, ChangeEntry)],
        tab="history",
    )


ROUTES = [Route("/history", history_page)]
