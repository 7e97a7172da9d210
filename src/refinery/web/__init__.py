"""``refinery ui``: a local web page over the library, for whoever owns the agent's behaviour.

Server-rendered (Starlette, Jinja2, HTMX vendored under ``static/``), bound to loopback, guarded
against DNS rebinding and cross-site posts; it serves the same models the CLI prints.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
