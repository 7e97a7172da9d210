"""Verifying fixes before they are applied: replay the failing call with each fix, judge, compare.

``plan_verification`` decides what will be sent and estimates its cost (shown before any call);
``run_verification`` replays the recorded call as recorded and with each fix, K times each,
through the agent's own provider SDK, judges every answer against the expected behaviour, guards
the existing eval cases against regressions, runs the user's eval command in a temporary
worktree, and returns a ``VerificationReport`` with fixes re-ranked by verified effect.
"""

from __future__ import annotations

from .agent import AgentFlags, AgentTarget
from .plan import VerifyOptions, VerifyPlan, plan_verification
from .run import run_verification

__all__ = [
    "AgentFlags",
    "AgentTarget",
    "VerifyOptions",
    "VerifyPlan",
    "plan_verification",
    "run_verification",
]
