"""The web application: Starlette routes over the library, Jinja2 pages, HTMX for partial updates.

``create_app`` wires a ``Workspace`` (the repository and its analyses), the jobs that run analyses
in the background, the templates (autoescaped: nothing from a trace is ever markup), the static
files (our CSS and script, and htmx vendored with its licence) and the guards of ``security``.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..config import Settings
from ..errors import ApplyRefused, RefineryError
from . import words
from .jobs import Jobs
from .pages import render
from .routes import analysis, fixes, history, start, verify
from .security import CSRF_FIELD, HostGuard, allowed_hosts, new_token
from .state import Workspace

_HERE = Path(__file__).parent


def create_app(settings: Settings, *, host: str = "127.0.0.1", port: int = 8765) -> Starlette:
    """The page for ``settings.repo_root``, answering only to ``host``:``port``."""
    app = Starlette(
        routes=[
            *start.ROUTES,
            *analysis.ROUTES,
            *fixes.ROUTES,
            *history.ROUTES,
            *verify.ROUTES,
            Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
        ],
        middleware=[Middleware(HostGuard, hosts=allowed_hosts(host, port))],
        exception_handlers={RefineryError: _refinery_error, HTTPException: _http_error},
    )
    app.state.workspace = Workspace(settings)
    app.state.jobs = Jobs()
    app.state.csrf_token = new_token()
    app.state.templates = _environment()
    return app


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        version=__version__,
        csrf_field=CSRF_FIELD,
        failure_words=words.FAILURE_WORDS,
        confidence_words=words.CONFIDENCE_WORDS,
        risk_words=words.RISK_WORDS,
        health_words=words.HEALTH_WORDS,
    )
    return env


async def _refinery_error(request: Request, exc: Exception) -> Response:
    status = 409 if isinstance(exc, ApplyRefused) else 400
    return render(request, "error.html", status=status, message=str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return render(request, "error.html", status=exc.status_code, message=exc.detail)
