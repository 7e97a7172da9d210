"""``refinery apply``: apply hypothesis N of a saved analysis, exactly the edits that were shown.

The saved edits are checked against the files as they are now: a file changed since the analysis
is refused with what changed, unless every edit still matches it exactly once (then a note says
so). Refusals exit 1 with every reason on one line; nothing is analysed again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from .app import app

if TYPE_CHECKING:
    from ..config import Settings


@app.command("apply")
def apply_command(
    target: list[str] = typer.Argument(
        None,
        metavar="[ANALYSIS_ID] [N]",
        help="The fix number, after the analysis id (or a unique prefix); default: the latest. "
        "Without N: the best fix `refinery verify` confirmed.",
    ),
    project: str | None = typer.Option(
        None, "--project", "-p", help="With no id: the latest analysis of this project."
    ),
    allow_dirty: bool = typer.Option(
        False,
        "--allow-dirty",
        help="Apply even if a target file has uncommitted changes (they are not committed).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Apply fix N of a saved analysis: the edits `refinery analyze` showed, as one git commit.

    Example:  refinery apply an_3f2a 2   (or `refinery apply 2` for the latest analysis)
    """
    from ..config import load_settings
    from ..errors import AlreadyApplied
    from ..pipeline import apply_saved, load_analysis

    settings = load_settings()
    analysis_id, rank = _target(target or [])
    if rank is None:
        analysis_id, rank = _best_verified(settings, analysis_id, project)
    try:
        done = apply_saved(settings, analysis_id, rank, project=project, allow_dirty=allow_dirty)
    except AlreadyApplied as present:
        named = load_analysis(settings, analysis_id, project=project).analysis_id
        _already_applied(named, rank, str(present), as_json=json_output)
        return
    change = done.change
    if json_output:
        payload = {"analysis_id": done.analysis.analysis_id, "notes": list(done.notes)}
        typer.echo(json.dumps({**payload, "change": change.model_dump(mode="json")}))
        return
    for note in done.notes:
        typer.echo(f"note: {note}")
    files = ", ".join(file.path for file in change.files)
    typer.echo(
        f"Applied fix {change.hypothesis_rank} of {done.analysis.analysis_id} "
        f"({change.hypothesis_title}) in commit {change.commit[:10]} ({files})."
    )
    typer.echo(f"Undo with: refinery undo {change.id}")


def _already_applied(analysis_id: str, rank: int, message: str, *, as_json: bool) -> None:
    """A fix already in its files is a success (exit 0): say so on stdout, as JSON if asked."""
    if not as_json:
        typer.echo(message[:1].upper() + message[1:] + ".")
        return
    payload: dict[str, object] = {
        "analysis_id": analysis_id,
        "notes": [],
        "change": None,
        "already_applied": rank,
    }
    typer.echo(json.dumps(payload))


def _target(values: list[str]) -> tuple[str | None, int | None]:
    from ..errors import InputError

    if len(values) == 1 and not values[0].isdigit():
        return values[0], None
    if len(values) > 2 or (values and not values[-1].isdigit()):
        raise InputError(
            f"refinery apply {' '.join(values)}: expected [ANALYSIS_ID] [N]",
            "e.g. refinery apply an_3f2a 2, or refinery apply 2 for the latest analysis",
        )
    if not values:
        return None, None
    return (values[0] if len(values) == 2 else None), int(values[-1])


def _best_verified(
    settings: Settings, analysis_id: str | None, project: str | None
) -> tuple[str, int]:
    """Without N: the fix verification confirmed best, or why there is none."""
    from ..errors import InputError
    from ..pipeline import load_analysis
    from ..verify.saved import best_verified, load_verification

    result = load_analysis(settings, analysis_id, project=project)
    best = best_verified(settings, result.analysis_id)
    if best is None:
        verified = load_verification(settings, result.analysis_id) is not None
        raise InputError(
            f"refinery apply without N needs a verified fix, and {result.analysis_id} "
            + ("has none that improved the replayed call" if verified else "was not verified"),
            f"name the fix (refinery apply {result.analysis_id} N) or run refinery verify first",
        )
    return result.analysis_id, best
