"""The on-disk cache of fetched traces: hits, aliases, expiry, bypass and corrupt entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from refinery.config import Settings
from refinery.traces.cache import cache_get, cache_put

RUNS = [{"id": "root", "run_type": "chain"}, {"id": "child", "run_type": "llm"}]
T0 = 1_800_000_000.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(env={}, repo_root=tmp_path, cache_ttl_seconds=900)


def test_put_then_get_returns_the_raw_runs(settings: Settings) -> None:
    cache_put(settings, "langsmith", "trace-1", RUNS, now=T0)

    assert cache_get(settings, "langsmith", "trace-1", now=T0 + 1) == RUNS
    assert (settings.state_dir / "cache" / "langsmith" / "trace-1.json").is_file()


def test_alias_resolves_to_the_trace_entry(settings: Settings) -> None:
    cache_put(settings, "langsmith", "trace-1", RUNS, aliases=["child"], now=T0)

    assert cache_get(settings, "langsmith", "child", now=T0 + 1) == RUNS


def test_sources_do_not_share_entries(settings: Settings) -> None:
    cache_put(settings, "langsmith", "trace-1", RUNS, now=T0)

    assert cache_get(settings, "langfuse", "trace-1", now=T0) is None


@pytest.mark.parametrize(("age", "fresh"), [(899.0, True), (900.0, False), (5000.0, False)])
def test_entries_expire_after_the_ttl(settings: Settings, age: float, fresh: bool) -> None:
    cache_put(settings, "langsmith", "trace-1", RUNS, aliases=["child"], now=T0)

    assert (cache_get(settings, "langsmith", "trace-1", now=T0 + age) is not None) is fresh
    assert (cache_get(settings, "langsmith", "child", now=T0 + age) is not None) is fresh


def test_zero_ttl_never_hits(settings: Settings) -> None:
    cache_put(settings, "langsmith", "trace-1", RUNS, now=T0)

    assert (
        cache_get(settings.with_overrides(cache_ttl_seconds=0), "langsmith", "trace-1", now=T0)
        is None
    )


def test_no_cache_neither_reads_nor_writes(settings: Settings) -> None:
    cache_put(settings, "langsmith", "trace-1", RUNS, now=T0)
    bypass = settings.with_overrides(use_cache=False)

    cache_put(bypass, "langsmith", "trace-2", RUNS, now=T0)

    assert cache_get(bypass, "langsmith", "trace-1", now=T0) is None
    assert cache_get(settings, "langsmith", "trace-2", now=T0) is None


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[]",
        b'{"fetched_at": "yesterday", "runs": []}',
        b'{"fetched_at": 1800000000, "runs": [1, 2]}',
        b'{"fetched_at": 1800000000, "alias_of": "missing"}',
    ],
)
def test_corrupt_entries_are_misses(settings: Settings, content: bytes) -> None:
    path = settings.state_dir / "cache" / "langsmith" / "trace-1.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)

    assert cache_get(settings, "langsmith", "trace-1", now=T0) is None


def test_unsafe_ids_are_hashed_inside_the_cache_dir(settings: Settings) -> None:
    cache_put(settings, "langfuse", "../../etc/passwd", RUNS, now=T0)

    files = list((settings.state_dir / "cache").rglob("*.json"))
    assert len(files) == 1 and files[0].parent == settings.state_dir / "cache" / "langfuse"
    assert cache_get(settings, "langfuse", "../../etc/passwd", now=T0) == RUNS


def test_rewrite_leaves_no_temporary_files(settings: Settings) -> None:
    cache_put(settings, "langsmith", "trace-1", RUNS, now=T0)
    cache_put(settings, "langsmith", "trace-1", RUNS[:1], now=T0 + 5)

    folder = settings.state_dir / "cache" / "langsmith"
    assert [p.name for p in folder.iterdir()] == ["trace-1.json"]
    assert cache_get(settings, "langsmith", "trace-1", now=T0 + 6) == RUNS[:1]
