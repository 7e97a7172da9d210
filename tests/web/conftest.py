"""Fixtures for the web page: an app serving the README example, and its test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from web_support import BASE, PORT, make_repo, offline

from refinery.web import create_app


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


@pytest.fixture
def app(repo: Path) -> Starlette:
    return create_app(offline(repo), port=PORT)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client


@pytest.fixture
def token(app: Starlette) -> str:
    value: str = app.state.csrf_token
    return value
