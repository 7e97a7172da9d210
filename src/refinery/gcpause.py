"""A pause of Python's cyclic garbage collector around bulk work on big traces.

Parsing and analysing a 100,000-run trace builds millions of acyclic objects, and each collector
pass rescans all of them: on such a trace that doubled the load time and added 2.5× to token
analysis. Nothing is lost by pausing: collection resumes, and catches up, when the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the block (usable as a decorator), then restore it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
