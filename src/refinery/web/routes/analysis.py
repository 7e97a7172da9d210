"""Analysis: the summary first, then the conversation, the run tree and token health.

The page renders from the kept analysis and the cached trace: one page of the timeline and the
tree's first level, whatever the trace's size; more steps and deeper levels load on demand.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...errors import InputError
from ..pages import render, workspace
from ..state import SavedAnalysis
from ..timeline import plain, timeline_page
from ..tree import tree_level

_DETAIL_CHARS = 8000


def _saved(request: Request) -> SavedAnalysis:
    return workspace(request).load(request.path_params["analysis_id"])


def _int(request: Request, name: str) -> int:
    value = request.query_params.get(name, "0")
    return int(value) if value.isdigit() else 0


async def analysis_page(request: Request) -> Response:
    """The Analysis page (without the conversation when its trace cannot be had again)."""
    ws = workspace(request)
    saved = _saved(request)
    diagnosis = saved.result.diagnosis
    views: dict[str, Any] = {"page": None, "level": None}
    if ws.traceable(saved):
        trace = ws.trace(saved)
        divergence = diagnosis.divergence.run_id if diagnosis.divergence else None
        views = {
            "page": timeline_page(trace, diagnosis, _int(request, "start")),
            "level": tree_level(trace, None, 0, divergence),
        }
    return render(
        request, "analysis.html", saved=saved, result=saved.result, tab="analysis", **views
    )


async def analysis_json(request: Request) -> Response:
    """The analysis as ``analyze --json`` prints it: the same model, a third face."""
    return JSONResponse(_saved(request).result.model_dump(mode="json"))


async def timeline_partial(request: Request) -> Response:
    """One more page of the conversation."""
    saved = _saved(request)
    trace = workspace(request).trace(saved)
    page = timeline_page(trace, saved.result.diagnosis, _int(request, "start"))
    return render(request, "_timeline.html", result=saved.result, page=page)


async def tree_partial(request: Request) -> Response:
    """One page of a run's children in the run tree."""
    saved = _saved(request)
    trace = workspace(request).trace(saved)
    parent = request.query_params.get("parent") or None
    if parent is not None and parent not in trace:
        raise InputError(f"no run {parent!r} in this trace", "reload the page")
    diagnosis = saved.result.diagnosis
    divergence = diagnosis.divergence.run_id if diagnosis.divergence else None
    level = tree_level(trace, parent, _int(request, "offset"), divergence)
    return render(request, "_tree.html", result=saved.result, level=level)


async def run_partial(request: Request) -> Response:
    """What one run received and returned, for the run tree."""
    saved = _saved(request)
    trace = workspace(request).trace(saved)
    run = trace.get(request.path_params["run_id"])
    if run is None:
        raise InputError("no such run in this trace", "reload the page")
    fields = [
        ("Error", run.error or ""),
        ("Model", run.model or ""),
        ("Input", plain(run.inputs)[:_DETAIL_CHARS]),
        ("Output", plain(run.outputs or {})[:_DETAIL_CHARS]),
    ]
    return render(request, "_run.html", run=run, fields=[(k, v) for k, v in fields if v])


ROUTES = [
    Route("/analysis/{analysis_id}.json", analysis_json),
    Route("/analysis/{analysis_id}", analysis_page),
    Route("/analysis/{analysis_id}/timeline", timeline_partial),
    Route("/analysis/{analysis_id}/tree", tree_partial),
    Route("/analysis/{analysis_id}/runs/{run_id:path}", run_partial),
]
