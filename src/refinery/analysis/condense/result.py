"""What condensation returns: the text, the runs it shows, and every omission in it.

Both are frozen pydantic models because they travel: into the analyser's prompt, into ``--json``
output, and into tests that check no run disappears without a marker.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Elision(BaseModel):
    """One explicit omission in the text: runs left out, or characters cut from a field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    marker: str
    """The marker exactly as it appears in the text."""
    run_ids: tuple[str, ...] = ()
    """For a run elision: the runs left out, in execution order."""
    run_id: str | None = None
    """For a character elision: the run whose content was shortened."""
    field: str | None = None
    """For a character elision: which piece (``error``, ``input[0] system``, ``content``)."""
    chars: int = 0
    """For a character elision: how many characters were left out."""


class CondensedTrace(BaseModel):
    """A trace rendered for an LLM within a token budget, with every omission accounted for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    """The rendering: one block per kept run, labelled with run ids, elisions marked."""
    kept_run_ids: tuple[str, ...]
    """Runs shown (in full, shortened, or as an ancestor's one-line header), in execution order."""
    verbatim_run_ids: tuple[str, ...]
    """Kept runs whose whole content is in the text (directly or by reference to a repeat)."""
    elisions: tuple[Elision, ...]
    """Every omission, in text order."""
    tokens: int
    """Exact token count of ``text``."""
    budget: int
    """The token budget asked for."""
    over_budget: bool = False
    """True when the runs that must stay (with their evidence) do not fit the budget."""
    note: str = ""
    """Why the budget was exceeded, when it was."""
