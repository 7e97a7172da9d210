"""``refinery ui``: serve the local web page for this repository and open it in the browser."""

from __future__ import annotations

import typer

from .app import app

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command("ui")
def ui_command(
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port to listen on."),
    host: str | None = typer.Option(
        None, "--host", help="Address to bind (default 127.0.0.1). Other addresses expose the page."
    ),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
) -> None:
    """Open Refinery's web page: analyse a trace, read the diagnosis, apply and undo fixes.

    The page runs on this machine and answers only on 127.0.0.1 unless --host says otherwise.
    """
    import webbrowser

    import uvicorn

    from ..config import load_settings
    from ..web import create_app

    bind = host or "127.0.0.1"
    if host is not None and host not in _LOOPBACK:
        typer.echo(
            f"warning: --host {host} makes the page reachable from other machines; anyone who "
            "can reach it can analyse traces and apply changes to this repository",
            err=True,
        )
    _check_free(bind, port)
    settings = load_settings()
    url = f"http://{'[' + bind + ']' if ':' in bind else bind}:{port}/"
    typer.echo(f"Refinery is serving {settings.repo_root} at {url} (Ctrl+C to stop)", err=True)
    if not no_browser:
        webbrowser.open(url)
    uvicorn.run(
        create_app(settings, host=bind, port=port), host=bind, port=port, log_level="warning"
    )


def _check_free(host: str, port: int) -> None:
    """One clear line when the address is taken, instead of the server's traceback."""
    import socket

    from ..errors import InputError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(
                f"cannot listen on {host}:{port}: {exc.strerror}", "choose another with --port N"
            ) from exc
