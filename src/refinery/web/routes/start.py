"""Start and Progress: choose a project, a trace, the expectation and files; watch the analysis run.

The form posts to ``/analyses``, which checks every choice (files must be the repository's own,
a trace id only when a trace service is configured), starts the analysis as a job and sends the
browser to its progress page; that page follows the job through server-sent events.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from ...errors import InputError
from ...progress import OnProgress, ProgressEvent
from ..jobs import Job, Work
from ..pages import render, workspace
from ..security import checked_form
from ..state import TraceRecord, Workspace

_TRACE_SUFFIXES = (".json", ".jsonl")
_POLL_SECONDS = 0.1
_MAX_UPLOAD = 512 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class _Choices:
    project: str
    expected: str
    trace_ref: str
    trace_name: str
    source: str | None
    prompts: tuple[str, ...]
    evals: tuple[str, ...]
    configs: tuple[str, ...]


async def start_page(request: Request) -> Response:
    """The Start page."""
    ws = workspace(request)
    projects = ws.projects()
    chosen = request.query_params.get("project") or (projects[0].name if projects else "")
    files = ws.repo_files()
    return render(
        request,
        "start.html",
        projects=projects,
        project=chosen,
        traces=[f for f in files if f.endswith(_TRACE_SUFFIXES)],
        remote=ws.remote_sources(),
        **_picker(ws, chosen, files),
    )


async def files_partial(request: Request) -> Response:
    """The file picker of one project (its saved files ticked)."""
    ws = workspace(request)
    project = request.query_params.get("project", "")
    return render(request, "_files.html", **_picker(ws, project, ws.repo_files()))


def _picker(ws: Workspace, project: str, files: list[str]) -> dict[str, Any]:
    described = ws.project(project) if project.strip() else None
    saved = {(f.kind.value, f.path) for f in described.files} if described else set()
    chosen = {path for _, path in saved}
    ordered = sorted(files, key=lambda f: (f not in chosen, f))
    return {"files": ordered, "saved": saved, "known_project": described is not None}


async def create_analysis(request: Request) -> Response:
    """Start an analysis from the Start form; go to its progress page."""
    ws = workspace(request)
    form = await checked_form(request)
    wanted = await _read(ws, form)
    job = request.app.state.jobs.start(f"{wanted.project}: {wanted.trace_name}", _work(ws, wanted))
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


async def _read(ws: Workspace, form: FormData) -> _Choices:
    project, expected = _text(form, "project"), _text(form, "expected")
    if not project or not expected:
        raise InputError("a project and the expected behaviour are both needed", "fill them in")
    files = set(ws.repo_files())
    lists = {k: tuple(str(v) for v in form.getlist(k)) for k in ("prompt", "eval", "config")}
    outside = [p for paths in lists.values() for p in paths if p not in files]
    if outside:
        raise InputError(f"not a file of this repository: {outside[0]}", "pick from the list")
    ref, name, source = await _trace(ws, form, files)
    return _Choices(project=project, expected=expected, trace_ref=ref, trace_name=name,
                    source=source, prompts=lists["prompt"], evals=lists["eval"],
                    configs=lists["config"])  # fmt: skip


async def _trace(ws: Workspace, form: FormData, files: set[str]) -> tuple[str, str, str | None]:
    upload = form.get("trace_upload")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(_MAX_UPLOAD + 1)
        if len(data) > _MAX_UPLOAD:
            raise InputError(f"{upload.filename} is over 512 MB", "pick a smaller trace file")
        return ws.store_upload(data, upload.filename), upload.filename, "file"
    path, trace_id = _text(form, "trace_path"), _text(form, "trace_id")
    if path:
        if path not in files:
            raise InputError(f"not a file of this repository: {path}", "pick from the list")
        return path, path, "file"
    source = _text(form, "source") or "langsmith"
    if trace_id and source in ws.remote_sources():
        return trace_id, trace_id, source
    raise InputError("no trace given", "upload a trace file, pick one, or paste a trace id")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _work(ws: Workspace, wanted: _Choices) -> Work:
    def work(on_progress: OnProgress) -> str:
        return f"/analysis/{run_analysis(ws, wanted, on_progress)}"

    return work


def run_analysis(ws: Workspace, wanted: _Choices, on_progress: OnProgress) -> str:
    """Load, analyse, measure token health and keep the analysis; its id."""
    from ...analysis.tokens import analyse_tokens
    from ...pipeline import AnalyzeOptions, ContextRequest, analyze
    from ...traces.sources import load_trace

    on_progress(ProgressEvent(stage="load", message=f"loading {wanted.trace_name}"))
    ref = (
        str(ws.settings.repo_root / wanted.trace_ref)
        if wanted.source == "file"
        else wanted.trace_ref
    )
    trace = load_trace(ref, ws.settings, source=wanted.source, on_progress=on_progress)
    chosen = bool(wanted.prompts or wanted.evals or wanted.configs)
    context = ContextRequest(prompt_files=wanted.prompts, eval_files=wanted.evals,
                             config_files=wanted.configs, update=chosen,
                             cwd=ws.settings.repo_root)  # fmt: skip
    result = analyze(trace, project=wanted.project, expected=wanted.expected,
                     settings=ws.settings, options=AnalyzeOptions(context=context),
                     on_progress=on_progress)  # fmt: skip
    on_progress(ProgressEvent(stage="tokens", message="measuring token health"))
    record = TraceRecord(trace_ref=wanted.trace_ref, source=wanted.source,
                         trace_name=wanted.trace_name, tokens=analyse_tokens(trace))  # fmt: skip
    ws.keep(result, record, trace)
    return result.analysis_id


async def job_page(request: Request) -> Response:
    """The Progress page of one job."""
    return render(request, "progress.html", job=_job(request))


async def job_events(request: Request) -> Response:
    """The job's progress as server-sent events, ending with ``done`` or ``failed``."""
    return StreamingResponse(
        _events(request, _job(request)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, job: Job) -> AsyncIterator[str]:
    index = 0
    while True:
        events, finished = job.since(index)
        index += len(events)
        for event in events:
            yield _sse("stage", {"stage": event.stage, "message": _describe(event)})
        if finished:
            yield _final(job)
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(_POLL_SECONDS)


def _final(job: Job) -> str:
    if job.error is not None:
        return _sse("failed", {"message": job.error})
    return _sse("done", {"url": job.url or "/"})


def _sse(event: str, data: dict[str, str]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _describe(event: ProgressEvent) -> str:
    if event.total and event.done is not None:
        return f"{event.message} ({min(event.done / event.total, 1.0):.0%})"
    return event.message


def _job(request: Request) -> Job:
    job: Job | None = request.app.state.jobs.get(request.path_params["job_id"])
    if job is None:
        raise InputError("no such analysis in progress", "start one from the Start page")
    return job


ROUTES = [
    Route("/", start_page),
    Route("/start/files", files_partial),
    Route("/analyses", create_analysis, methods=["POST"]),
    Route("/jobs/{job_id}", job_page),
    Route("/jobs/{job_id}/events", job_events),
]
