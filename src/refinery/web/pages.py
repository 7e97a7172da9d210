"""Rendering a page: the template, the request and the server's CSRF token."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse

from .state import Workspace


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render template ``name`` with the request, the CSRF token and ``context``."""
    env: Environment = request.app.state.templates
    html = env.get_template(name).render(
        request=request, csrf_token=request.app.state.csrf_token, **context
    )
    return HTMLResponse(html, status_code=status)


def workspace(request: Request) -> Workspace:
    """The repository the server works on."""
    ws: Workspace = request.app.state.workspace
    return ws
