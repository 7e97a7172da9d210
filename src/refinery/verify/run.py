"""Running a verification plan: every replay and verdict as one task on a bounded thread pool.

Tasks are the baseline and each fix replayed K times, each existing eval case with the original
and with each fix, and each eval-only fix's cases against the recorded answer. They run
concurrently (``--concurrency``), each provider call with the SDK's own retry and backoff; the
running cost is checked against ``--max-cost`` before each call, and tasks past the cap are
reported as not run. The user's eval command runs meanwhile, in the calling thread.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RefineryError
from ..models.verification import EvalCommandRun, Judgement, VerificationReport
from ..progress import OnProgress, ProgressEvent, no_progress
from ..traces.model import Message
from .call import RecordedCall
from .cases import Check
from .cost import Tally
from .evalcmd import run_eval_command
from .plan import VerifyPlan, case_call
from .replay import Replayer
from .report import Outcome, build_report

_ANSWER_CHARS = 600


@dataclass(frozen=True, kw_only=True)
class Task:
    """One answer to get (by replay, or the recorded one) and judge."""

    group: str
    """``baseline``, ``fix:<rank>``, ``case:<index>:<variant>`` or ``eval:<rank>``."""
    expected: str
    checks: tuple[Check, ...] = ()
    call: RecordedCall | None = None
    """What to replay; None judges ``answer`` as it is."""
    conversation: tuple[Message, ...] = ()
    answer: str = ""


@dataclass
class _Context:
    plan: VerifyPlan
    replayer: Replayer | None
    tally: Tally
    on_progress: OnProgress
    total: int
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def run_verification(
    plan: VerifyPlan, *, repo_root: Path | None = None, on_progress: OnProgress = no_progress
) -> VerificationReport:
    """Send, judge and report; ``repo_root`` is needed only for ``--eval-command``."""
    started = time.perf_counter()
    tasks = build_tasks(plan)
    context = _Context(
        plan=plan, replayer=plan.replayer, tally=Tally(plan.options.max_cost),
        on_progress=on_progress, total=len(tasks),
    )  # fmt: skip
    workers = max(1, min(plan.options.concurrency, len(tasks)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="refinery-verify") as pool:
        futures = [(task, pool.submit(_perform, context, task)) for task in tasks]
        commands = _eval_commands(plan, repo_root, on_progress)
        outcomes = [_outcome(task, future) for task, future in futures]
    return build_report(
        plan, outcomes, commands, calls=context.tally.calls,
        cost=None if context.tally.unknown else round(context.tally.spent, 6),
        seconds=round(time.perf_counter() - started, 2),
    )  # fmt: skip


def build_tasks(plan: VerifyPlan) -> list[Task]:
    """Every replay and verdict the plan asks for."""
    tasks: list[Task] = []
    runs = plan.options.runs
    arms: list[tuple[str, RecordedCall, tuple[Check, ...]]] = []
    if plan.baseline is not None and plan.judge is not None:
        arms.append(("baseline", plan.baseline, ()))
        arms += [
            (f"fix:{v.rank}", v.call, tuple(c for case in v.cases for c in case.checks))
            for v in plan.variants if v.call is not None
        ]  # fmt: skip
    for group, call, checks in arms:
        tasks += [Task(group=group, expected=plan.expected, checks=checks, call=call)] * runs
    for index, case in enumerate(plan.cases):
        tasks += [
            Task(group=f"case:{index}:{group}", expected=case.expected, checks=case.checks,
                 call=case_call(call, case))
            for group, call, _ in arms
        ]  # fmt: skip
    if plan.call is not None:
        tasks += [
            Task(group=f"eval:{v.rank}", expected=case.expected, checks=case.checks,
                 conversation=plan.call.messages, answer=plan.call.answer)
            for v in plan.variants if v.eval_only for case in v.cases
        ]  # fmt: skip
    return tasks


def _perform(context: _Context, task: Task) -> tuple[Judgement, float | None, float, float]:
    """The task's judgement, its cost and its start and end times."""
    started = time.perf_counter()
    try:
        judgement, cost = _judged(context, task)
    except RefineryError as exc:
        judgement, cost = Judgement(passed=None, error=str(exc)), 0.0
    with context.lock:
        context.done += 1
        context.on_progress(
            ProgressEvent(stage="verify", message="replaying and judging", done=context.done,
                          total=context.total)
        )  # fmt: skip
    return judgement, cost, started, time.perf_counter()


def _judged(context: _Context, task: Task) -> tuple[Judgement, float | None]:
    if not context.tally.allows(None):
        return Judgement(passed=None, error="not run: --max-cost reached"), 0.0
    answer, conversation = task.answer, task.conversation
    cost: float | None = 0.0
    if task.call is not None:
        if context.replayer is None:
            return Judgement(passed=None, error="no agent model to replay on"), 0.0
        reply = context.replayer.send(task.call)
        cost = _sum(cost, context.tally.add(reply.model, reply.input_tokens, reply.output_tokens))
        answer, conversation = reply.text, task.call.messages
    failures = [f for f in (c.failure(answer) for c in task.checks) if f]
    judge = context.plan.judge
    if not task.expected or judge is None:
        if not task.checks:
            return Judgement(passed=None, answer=_clip(answer), error="no judge and no check"), cost
        reason = "; ".join(failures) or "every check passes"
        return Judgement(passed=not failures, reason=reason, answer=_clip(answer)), cost
    judged = judge.judge(task.expected, conversation, answer)
    cost = _sum(
        cost, context.tally.add(judge.provider.model, judged.input_tokens, judged.output_tokens)
    )
    verdict = judged.verdict
    reason = verdict.reason if not failures else f"{'; '.join(failures)} ({verdict.reason})"
    return Judgement(
        passed=verdict.passed and not failures, reason=reason, quote=verdict.quote,
        answer=_clip(answer),
    ), cost  # fmt: skip


def _sum(total: float | None, cost: float | None) -> float | None:
    return None if total is None or cost is None else total + cost


def _outcome(task: Task, future: Future[tuple[Judgement, float | None, float, float]]) -> Outcome:
    judgement, cost, started, ended = future.result()
    return Outcome(group=task.group, judgement=judgement, cost=cost, started=started, ended=ended)


def _eval_commands(
    plan: VerifyPlan, repo_root: Path | None, on_progress: OnProgress
) -> dict[str, EvalCommandRun]:
    command = plan.options.eval_command
    if not command or repo_root is None:
        return {}
    on_progress(ProgressEvent(stage="verify", message=f"running {command} on the current commit"))
    found = {"before": run_eval_command(repo_root, command, timeout=plan.options.eval_timeout)}
    for hypothesis in plan.hypotheses:
        if not hypothesis.edits:
            continue
        on_progress(
            ProgressEvent(stage="verify", message=f"running {command} with fix {hypothesis.rank}")
        )
        found[f"fix:{hypothesis.rank}"] = run_eval_command(
            repo_root, command, edits=hypothesis.edits, timeout=plan.options.eval_timeout
        )
    return found


def _clip(text: str) -> str:
    return text if len(text) <= _ANSWER_CHARS else text[:_ANSWER_CHARS] + "…"
