"""Start-up of `hipimu --help` against peers measured in the same run.

Each is a fresh interpreter (best of ``--repeats`` wall times): the bare interpreter
(the floor), the standard library's argparse command `python -m json.tool --help`, and
`import scipy.signal` (what every `hipimu` command paid before the commands imported
their work lazily). Target: `hipimu --help` <= 0.3 s (issue 18).

    PYTHONPATH=host:firmware python benchmarks/cli_startup.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

TARGET_S = 0.3

RUNS = {
    "hipimu --help": ["-m", "hipimu.app.cli", "--help"],
    "hipimu report --help": ["-m", "hipimu.app.cli", "report", "--help"],
    "python (bare interpreter)": ["-c", "pass"],
    "python -m json.tool --help": ["-m", "json.tool", "--help"],
    "import scipy.signal": ["-c", "import scipy.signal"],
}


def best_of(args: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    times = {name: best_of(argv, args.repeats) for name, argv in RUNS.items()}
    ours = times["hipimu --help"]
    print(f"best of {args.repeats} runs, wall time of a fresh interpreter")
    print(f"{'command':<28}{'seconds':>9}{'hipimu --help / this':>22}")
    for name, t in times.items():
        print(f"{name:<28}{t:9.3f}{ours / t:22.2f}")
    verdict = "met" if ours <= TARGET_S else "NOT met"
    print(f"target hipimu --help <= {TARGET_S} s: {verdict} ({ours:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
