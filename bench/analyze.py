"""``refinery analyze`` keeps pace with reading the trace: whole processes on the big trace.

Writes the 50,000-run trace of ``../shared/tools/bigtrace.py`` into a temporary repository, then
measures, one after the other in this run, three whole processes: ``json.load`` of the file (the
baseline), ``refinery token-analysis`` and ``refinery analyze --json`` (offline), each with its wall
time and peak RSS. Prints the ratios against the targets (token-analysis within 2x of json.load;
analyze within 2x of token-analysis in time and 1.2x in memory), the stage split of one analysis
(load, detect, condense, analyse, validate, save, from the pipeline's own progress events), and the
README example's analysis time after start-up (target under 1 s).

Usage: python bench/analyze.py [--runs 50000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = "should tell the customer the forecast service timed out instead of guessing"
README_EXPECTED = "should say the weather service is unavailable instead of guessing"
# Each measured process reports its own peak RSS (KiB on Linux) as its last stderr line.
_PEAK = (
    "import resource, sys\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
)
_JSON = "import json, sys; json.load(open(sys.argv[1], encoding='utf-8'))\n" + _PEAK
_CLI = (
    "import sys\nfrom refinery.cli import main\nsys.argv = ['refinery', *sys.argv[1:]]\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n" + _PEAK
)


def _bigtrace() -> Path:
    for parent in Path(__file__).resolve().parents:
        tool = parent / "shared" / "tools" / "bigtrace.py"
        if tool.exists():
            return tool
    raise SystemExit("cannot find ../shared/tools/bigtrace.py next to this checkout")


def measure(code: str, *args: str, cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one whole Python process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    lines = done.stderr.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].isdigit():
        raise SystemExit(f"measured process failed:\n{done.stderr[-2000:]}")
    return seconds, int(lines[-1]) / 1024


def stages(path: Path, repo: Path) -> list[str]:
    """Seconds per pipeline stage of one in-process analysis."""
    from refinery.config import load_settings
    from refinery.pipeline import analyze
    from refinery.progress import ProgressEvent

    marks: list[tuple[str, float]] = []

    def on_progress(event: ProgressEvent) -> None:
        if not marks or marks[-1][0] != event.stage:
            marks.append((event.stage, time.perf_counter()))

    started = time.perf_counter()
    analyze(path, project="bench", expected=EXPECTED, settings=load_settings(repo_root=repo),
            on_progress=on_progress)  # fmt: skip
    ended = time.perf_counter()
    ends = [t for _, t in marks[1:]] + [ended]
    split = [f"{stage} {end - begin:.2f}s" for (stage, begin), end in zip(marks, ends, strict=True)]
    return [f"start {marks[0][1] - started:.2f}s", *split] if marks else []


def readme_example(repo: Path) -> float:
    """Seconds for the README example's analysis after start-up (in process, imports done)."""
    from refinery.config import load_settings
    from refinery.pipeline import AnalyzeOptions, ContextRequest, analyze

    example = ROOT / "examples" / "weather-agent"
    context = ContextRequest(
        prompt_files=(str(example / "prompts" / "system_prompt.txt"),),
        eval_files=(str(example / "evals" / "cases.json"),),
        config_files=(str(example / "config.yaml"),),
        cwd=ROOT,
    )
    settings = load_settings(repo_root=ROOT, provider="offline")
    options = AnalyzeOptions(context=context)
    analyze(example / "trace.json", project="bench-warmup", expected=README_EXPECTED,
            settings=settings, options=options)  # fmt: skip
    started = time.perf_counter()
    analyze(example / "trace.json", project="bench-warmup", expected=README_EXPECTED,
            settings=settings, options=options)  # fmt: skip
    return time.perf_counter() - started


def _verdict(value: float, target: float) -> str:
    return f"{value:.2f}x (target <= {target}x: {'met' if value <= target else 'NOT met'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=1, help="take the best of N rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        path = repo / "big.json"
        subprocess.run([sys.executable, str(_bigtrace()), str(args.runs), str(path)],
                       check=True, capture_output=True)  # fmt: skip
        env_note = f"{path.stat().st_size / 1e6:.0f} MB, {args.runs:,} runs, {os.cpu_count()} cores"
        rounds = [
            (
                measure(_JSON, str(path), cwd=repo),
                measure(_CLI, "token-analysis", str(path), cwd=repo),
                measure(
                    _CLI,
                    "analyze",
                    str(path),
                    "--project",
                    "bench",
                    "--expected",
                    EXPECTED,
                    "--json",
                    cwd=repo,
                ),  # fmt: skip
            )
            for _ in range(args.repeat)
        ]
        (load_s, load_mb), (tokens_s, tokens_mb), (analyze_s, analyze_mb) = min(
            rounds, key=lambda r: r[2][0]
        )
        split = stages(path, repo)
        readme_s = readme_example(Path(tmp))
    print(f"big trace: {env_note}")
    print(f"json.load        {load_s:6.2f}s  {load_mb:6.0f} MiB")
    print(f"token-analysis   {tokens_s:6.2f}s  {tokens_mb:6.0f} MiB")
    print(f"analyze --json   {analyze_s:6.2f}s  {analyze_mb:6.0f} MiB")
    print(f"token-analysis / json.load      time {_verdict(tokens_s / load_s, 2)}")
    print(f"analyze / token-analysis        time {_verdict(analyze_s / tokens_s, 2)}")
    print(f"analyze / token-analysis      memory {_verdict(analyze_mb / tokens_mb, 1.2)}")
    print(f"analysis stages (in process): {', '.join(split)}")
    print(f"README example after start-up: {readme_s:.2f}s (target < 1 s: "
          f"{'met' if readme_s < 1 else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
