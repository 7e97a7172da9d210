"""The page's guards: only its own Host and Origin are served, and state changes carry a token.

A local server is reachable from any web page the user visits: a hostile page can post forms to
127.0.0.1, and through DNS rebinding can even read responses under its own host name. Checking the
Host header (and the Origin, when a browser sends one) against the server's own address defeats
rebinding; a per-server secret token in every state-changing request defeats cross-site posts.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterable

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_WILDCARD = ("0.0.0.0", "::", "")
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` header values this server answers to when bound to ``host``:``port``."""
    names: set[str] = set(LOOPBACK)
    if host in _WILDCARD:
        names |= {socket.gethostname(), socket.getfqdn()}
    else:
        names.add(host)
    return frozenset(_with_port(names, port))


def _with_port(names: Iterable[str], port: int) -> Iterable[str]:
    for name in names:
        bare = name.strip("[]").lower()
        yield f"[{bare}]:{port}" if ":" in bare else f"{bare}:{port}"


class HostGuard:
    """ASGI middleware refusing (403) requests whose Host or Origin is not the server's own."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        """Serve ``app`` to requests addressed to one of ``hosts`` (``name:port``)."""
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 403 with the reason."""
        if scope["type"] in ("http", "websocket"):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            problem = self.problem(headers.get("host", ""), headers.get("origin"))
            if problem:
                await PlainTextResponse(problem, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def problem(self, host: str, origin: str | None) -> str | None:
        """Why a request with these headers is refused, or None."""
        if host.lower() not in self.hosts:
            return f"refused: this server does not answer to host {host!r}"
        if origin is None:
            return None
        allowed = {f"http://{h}" for h in self.hosts}
        if origin.lower() not in allowed:
            return f"refused: requests from {origin!r} are not allowed"
        return None


def new_token() -> str:
    """A fresh CSRF token for one server."""
    return secrets.token_urlsafe(32)


async def checked_form(request: Request) -> FormData:
    """The request's form, after checking its CSRF token (header or field); 403 otherwise."""
    form = await request.form()
    given = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    expected: str = request.app.state.csrf_token
    if not isinstance(given, str) or not secrets.compare_digest(given, expected):
        raise HTTPException(403, "refused: missing or wrong CSRF token (reload the page)")
    return form
