"""Jobs: long work (an analysis) running in a thread while the page shows its progress.

A job collects the library's ``ProgressEvent``s as they come; the progress page reads them through
server-sent events from any index, so a reconnecting browser misses nothing. A job ends with the
page to open next or with the one-line message of the error that stopped it.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import RefineryError
from ..progress import OnProgress, ProgressEvent

Work = Callable[[OnProgress], str]
"""The work: given a progress callback, returns the path of the page that shows its result."""


@dataclass(kw_only=True)
class Job:
    """One piece of work and what it has reported so far (guarded by ``lock``)."""

    id: str
    title: str
    events: list[ProgressEvent] = field(default_factory=list)
    url: str | None = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def finished(self) -> bool:
        """True once the work returned or failed."""
        return self.url is not None or self.error is not None

    def report(self, event: ProgressEvent) -> None:
        """The ``on_progress`` callback handed to the library."""
        with self.lock:
            self.events.append(event)

    def since(self, index: int) -> tuple[list[ProgressEvent], bool]:
        """Events from ``index`` on, and whether the job had finished when they were read."""
        with self.lock:
            return self.events[index:], self.finished


class Jobs:
    """The server's jobs, by id."""

    def __init__(self) -> None:
        """No jobs yet."""
        self._jobs: dict[str, Job] = {}

    def start(self, title: str, work: Work) -> Job:
        """Run ``work`` in a daemon thread; returns its job at once."""
        job = Job(id=secrets.token_hex(8), title=title)
        self._jobs[job.id] = job
        threading.Thread(target=_run, args=(job, work), daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        """The job, or None."""
        return self._jobs.get(job_id)


def _run(job: Job, work: Work) -> None:
    try:
        url = work(job.report)
    except RefineryError as exc:
        outcome: dict[str, str] = {"error": str(exc)}
    except Exception as exc:  # the page must end, never spin forever: report and stop
        outcome = {"error": f"unexpected {type(exc).__name__}: {exc}"}
    else:
        outcome = {"url": url}
    with job.lock:
        job.url = outcome.get("url")
        job.error = outcome.get("error")
