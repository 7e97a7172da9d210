"""Bounds on a paginated fetch: a source that keeps sending pages is stopped with one clear line.

A cursor-paginated API ends when the server says so; a server that never does (a bug, a cursor
loop, a hostile stand-in sending 10,000 one-run pages) would otherwise be followed for as long as
it answers. A fetch stops past ``max_runs`` runs (``--max-runs``), past a page bound derived from it
(two requests per full page's worth of runs, plus two, so short pages are allowed), and at a
cursor it already followed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ..errors import SourceError


@dataclass(frozen=True, kw_only=True)
class PageLimits:
    """How far one trace's fetch may go."""

    service: str
    """``LangSmith`` or ``Langfuse``, for messages."""
    ref: str
    """The trace being fetched, for messages."""
    max_runs: int
    """Most runs (observations) accepted for one trace."""
    page_size: int
    """Runs asked for per page."""

    @property
    def max_pages(self) -> int:
        """Most pages requested: twice what ``max_runs`` needs in full pages, plus two."""
        return 2 * -(-self.max_runs // self.page_size) + 2


def check_page(
    limits: PageLimits, *, pages: int, runs: int, cursor: str | None, followed: Collection[str]
) -> None:
    """Refuse to go on after page ``pages`` (``runs`` so far) when a bound is passed.

    Args:
        limits: the bounds.
        pages: pages fetched so far, this one included.
        runs: runs received so far.
        cursor: the cursor to the next page; None when this was the last page.
        followed: the cursors already followed.
    """
    where = f"{limits.service} trace {limits.ref}"
    if runs > limits.max_runs:
        raise SourceError(
            f"{where} has more than {limits.max_runs:,} runs: stopped fetching there",
            "raise --max-runs (or REFINERY_MAX_RUNS) to fetch it whole",
        )
    if cursor is None:
        return
    if cursor in followed:
        raise SourceError(
            f"{limits.service} sent a page cursor it had sent before for trace {limits.ref}: "
            f"stopped after {pages:,} pages ({runs:,} runs)",
            "the server is looping; try again later",
        )
    if pages >= limits.max_pages:
        raise SourceError(
            f"{limits.service} kept sending pages for trace {limits.ref}: stopped after "
            f"{pages:,} pages ({runs:,} runs)",
            "the server may be misbehaving; if the trace really is that big, raise --max-runs",
        )
