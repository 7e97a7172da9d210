"""Verification concurrency and overhead: 4 variants x 5 replays against a 200 ms loopback model.

A threaded loopback server speaks OpenAI Chat Completions for both the agent's model and the judge
and sleeps 200 ms before every answer, like a real model. The README example is analysed offline;
its baseline and three fixes (4 variants) are replayed 5 times each and every answer is judged
(40 calls). Targets:

- wall time of the whole verification within 1.5x of the slowest single round (one replay and
  its verdict, sent alone), which only concurrency can reach;
- Refinery's own overhead per call under 5 ms: wall time of a sequential run minus the time the
  server spent on its requests, divided by the number of calls.

With ``--distinct-answers`` every answer differs, so redaction (a detect-secrets scan) cannot be
shared between the K replays' identical answers: the worst case for the overhead.

Usage: python bench/verify.py [--latency 0.2] [--runs 5] [--distinct-answers]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Queue
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "verify"))

from loopback_agent import _chat, agent_answer, judge_answer  # noqa: E402

from refinery.config import Settings  # noqa: E402
from refinery.pipeline import AnalyzeOptions, ContextRequest, analyze  # noqa: E402
from refinery.traces.sources import load_trace  # noqa: E402
from refinery.verify import (  # noqa: E402
    AgentFlags,
    VerifyOptions,
    VerifyPlan,
    plan_verification,
    run_verification,
)

EXPECTED = "should say the weather service is unavailable instead of guessing"


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 drops concurrent connects for a second
    daemon_threads = True


class _Model(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    latency = 0.2
    distinct = False
    """Make every answer unique, so that no redaction is shared between answers (worst case)."""
    busy: list[float] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        started = time.perf_counter()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(self.latency)
        data = json.dumps(_answer(body, self.distinct)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with self.lock:
            self.busy.append(time.perf_counter() - started)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        with self.lock:
            data = json.dumps({"busy": sum(self.busy), "calls": len(self.busy)}).encode()
            if self.path == "/reset":
                self.busy.clear()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def _serve(latency: float, distinct: bool, port: Queue[int]) -> None:
    """The model in its own process, so that its CPU time is not counted as Refinery's."""
    _Model.latency, _Model.distinct = latency, distinct
    server = _Server(("127.0.0.1", 0), _Model)
    port.put(server.server_address[1])
    server.serve_forever()


def _stats(url: str, path: str) -> dict[str, float]:
    with urllib.request.urlopen(url.removesuffix("/v1") + path) as response:  # noqa: S310 - loopback
        stats: dict[str, float] = json.loads(response.read())
    return stats


def _answer(body: dict[str, Any], distinct: bool) -> dict[str, Any]:
    if "response_format" in body:
        return _chat(json.dumps(judge_answer(body["messages"][-1]["content"])), None, "judge")
    system = "\n".join(m["content"] for m in body["messages"] if m["role"] == "system")
    turns = [(m["role"], m.get("content") or "") for m in body["messages"] if m["role"] != "system"]
    text, call = agent_answer(system, turns)
    if distinct and text:
        text += f" (answer {time.perf_counter_ns()})"
    return _chat(text, call, body["model"])


def _plan(root: Path, url: str, runs: int) -> tuple[VerifyPlan, Settings]:
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "a"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True)  # fmt: skip
    settings = Settings(repo_root=root, provider="offline")
    trace = load_trace(str(root / "trace.json"), settings)
    context = ContextRequest(
        prompt_files=["prompts/system_prompt.txt"], eval_files=["evals/cases.json"],
        config_files=["config.yaml"], cwd=root,
    )  # fmt: skip
    result = analyze(trace, project="bench", expected=EXPECTED, settings=settings,
                     options=AnalyzeOptions(context=context))  # fmt: skip
    replayable = [h.rank for h in result.hypotheses if h.strategy != "add_eval"][:3]
    options = VerifyOptions(
        fixes=tuple(replayable), runs=runs, max_cases=0,
        agent=AgentFlags(base_url=url, model="gpt-4o-mini"),
    )  # fmt: skip
    return plan_verification(result, trace, Settings(repo_root=root), options), settings


def _single_rounds(plan: VerifyPlan) -> float:
    """The slowest variant's one replay and verdict, sent alone."""
    slowest = 0.0
    for rank in (None, *(v.rank for v in plan.variants)):
        variants = tuple(v for v in plan.variants if v.rank == rank)
        one = replace(plan, variants=variants, options=replace(plan.options, runs=1))
        if rank is not None:  # a fix alone: its replay, not the baseline's
            one = replace(one, baseline=None)
        started = time.perf_counter()
        report = run_verification(one) if rank is None else _fix_alone(one)
        slowest = max(slowest, time.perf_counter() - started)
        del report
    return slowest


def _fix_alone(plan: VerifyPlan) -> object:
    variant = plan.variants[0]
    assert plan.replayer is not None and plan.judge is not None and variant.call is not None
    reply = plan.replayer.send(variant.call)
    return plan.judge.judge(plan.expected, variant.call.messages, reply.text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--distinct-answers",
        action="store_true",
        help="every answer unique (worst case for redaction)",
    )
    args = parser.parse_args()
    port: Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=_serve, args=(args.latency, args.distinct_answers, port), daemon=True
    )
    server.start()
    url = f"http://127.0.0.1:{port.get(timeout=30)}/v1"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(ROOT / "examples" / "weather-agent", root, dirs_exist_ok=True)
        plan, _ = _plan(root, url, args.runs)
        _fix_alone(replace(plan, variants=plan.variants[:1]))  # warm the SDK and connections
        slowest = _single_rounds(plan)
        started = time.perf_counter()
        report = run_verification(plan)
        wall = time.perf_counter() - started
        sequential = replace(plan, options=replace(plan.options, concurrency=1))
        _stats(url, "/reset")
        started, cpu_started = time.perf_counter(), time.process_time()
        run_verification(sequential)
        seq_wall = time.perf_counter() - started
        seq_cpu = time.process_time() - cpu_started
        stats = _stats(url, "/stats")
        server_time, calls = stats["busy"], int(stats["calls"])
    server.terminate()
    variants = 1 + len(plan.variants)
    overhead_ms = (seq_wall - server_time) / calls * 1000
    cpu_ms = seq_cpu / calls * 1000
    print(
        f"{variants} variants x {args.runs} replays, {report.calls} calls, "
        f"{args.latency * 1000:.0f} ms model latency"
    )
    print(
        f"slowest single round {slowest:.3f}s; whole verification {wall:.3f}s = "
        f"{wall / slowest:.2f}x (target <= 1.5x)"
    )
    print(
        f"Refinery's overhead per call {cpu_ms:.2f} ms of CPU over {calls} sequential calls "
        f"(target < 5 ms); wall time beyond the model's {overhead_ms:.2f} ms "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    ok = wall <= 1.5 * slowest and cpu_ms < 5
    print("OK" if ok else "MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
