"""``refinery ui`` as a person starts it: a real server process answering on loopback only."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(url: str, process: subprocess.Popen[str]) -> httpx.Response:
    for _ in range(200):
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


def _serve(repo: Path, *flags: str) -> subprocess.Popen[str]:
    code = "import sys; from refinery.cli import main; sys.argv[0] = 'refinery'; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "ui", "--no-browser", *flags], cwd=repo, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


@pytest.mark.allow_hosts(["127.0.0.1", "127.0.0.2"])
@pytest.mark.parametrize("host", [None, "127.0.0.2"])
def test_ui_serves_the_start_page_to_its_own_host_only(git_repo: Path, host: str | None) -> None:
    port = _free_port()
    process = _serve(git_repo, "--port", str(port), *(("--host", host) if host else ()))
    address = f"http://{host or '127.0.0.1'}:{port}/"
    try:
        page = _wait(address, process)
        assert page.status_code == 200
        assert "What went wrong?" in page.text
        assert httpx.get(address, headers={"Host": "evil.example"}).status_code == 403
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert f"at {address}" in err
    warned = f"warning: --host {host} makes the page reachable from other machines" in err
    assert warned == (host is not None)


def test_ui_on_a_taken_port_says_so_in_one_line(git_repo: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _serve(git_repo, "--port", str(port))
        _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert err.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use: "
        "choose another with --port N"
    ]
