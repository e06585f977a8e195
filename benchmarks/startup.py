"""Start-up cost of the `rapport` command line, next to a bare typer import.

    python -m benchmarks.startup [--runs 5] [--no-model]

Every `rapport` invocation is a new process, so what a person waits for is the whole
process: interpreter start, imports, work, exit. For each case the benchmark runs the
real console entry (`python -m bot`) in a fresh process `--runs` times and reads that
child's own CPU time (user + system) and peak resident memory from `os.wait4`; the
median run is reported, with the ratio to `python -c "import typer"` measured in the
same run (the floor any typer CLI pays). The shell case measures the wall time from
process start to the first reply of `help`, with a trained need model in the data
directory (pass --no-model to skip training it).

Targets on a quiet machine: `rapport --help` within 5x of the typer baseline, first
shell reply under 1.5 s wall.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable


@dataclass(frozen=True)
class Run:
    cpu: float  # seconds, user + system, of the child alone
    peak_mib: float
    wall: float  # seconds to the first reply (shell) or to exit (others)


def _environment(data_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "SLACK_"))}
    keep = {k: v for k, v in keep.items() if not k.startswith(("TELEGRAM_", "SMTP_"))}
    return {**keep, "RAPPORT_DATA_DIR": str(data_dir), "RAPPORT_LOG_LEVEL": "WARNING"}


def _measure(argv: list[str], env: dict[str, str], stdin: str | None = None) -> Run:
    started = time.perf_counter()
    child = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    first_reply = None
    if stdin is not None:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(stdin)
        child.stdin.flush()
        line = child.stdout.readline()  # the first line the shell prints is the reply
        first_reply = time.perf_counter() - started
        if not line:
            raise RuntimeError(f"{argv} printed nothing")
        child.stdin.close()
    assert child.stdout is not None
    child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = first_reply if first_reply is not None else time.perf_counter() - started
    if child.returncode not in (0,):
        raise RuntimeError(f"{' '.join(argv)} exited with {child.returncode}")
    # ru_maxrss is in KiB on Linux
    return Run(cpu=usage.ru_utime + usage.ru_stime, peak_mib=usage.ru_maxrss / 1024, wall=wall)


def _median(runs: list[Run]) -> Run:
    return Run(
        cpu=statistics.median(r.cpu for r in runs),
        peak_mib=statistics.median(r.peak_mib for r in runs),
        wall=statistics.median(r.wall for r in runs),
    )


def _train_model(env: dict[str, str]) -> None:
    subprocess.run(
        [PYTHON, "-m", "bot", "classifier", "train"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-model", action="store_true", help="do not train a need model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = _environment(Path(folder))
        if not args.no_model:
            _train_model(env)
        cases = [
            ('python -c "import typer" (baseline)', [PYTHON, "-c", "import typer"], None),
            ("rapport --help", [PYTHON, "-m", "bot", "--help"], None),
            ("rapport db current", [PYTHON, "-m", "bot", "db", "current"], None),
            ("echo help | rapport shell (first reply)", [PYTHON, "-m", "bot", "shell"], "help\n"),
        ]
        results = []
        for label, argv, stdin in cases:
            _measure(argv, env, stdin)  # warm the page cache and the .pyc files
            results.append((label, _median([_measure(argv, env, stdin) for _ in range(args.runs)])))
    base = results[0][1]
    print(f"{'case':44} {'CPU s':>7} {'x typer':>8} {'peak MiB':>9} {'wall s':>7}")
    for label, run in results:
        print(
            f"{label:44} {run.cpu:7.2f} {run.cpu / base.cpu:8.1f} "
            f"{run.peak_mib:9.0f} {run.wall:7.2f}"
        )
    print(f"\nmedian of {args.runs} runs; model present: {not args.no_model}")


if __name__ == "__main__":
    main()
