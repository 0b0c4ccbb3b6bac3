"""Run every benchmark, each as its own process, then print the README benchmark section.

    python bench/run_all.py [--germanquad-limit N] [--scale-sizes 1000,10000]
                            [--skip scale,load ...]

Order: ingest.py, retrieval.py, ask_latency.py, scale.py, memory.py, load.py (which starts
its own server), then readme_table.py over bench/results/*.json. A failing benchmark is
reported and the others still run; the exit code is non-zero if any failed. ``make bench``
runs this.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
NAMES = ("ingest", "retrieval", "ask_latency", "scale", "memory", "load")


def commands(args: argparse.Namespace) -> dict[str, list[str]]:
    """The command line of each benchmark."""
    python = sys.executable
    retrieval = [python, str(BENCH / "retrieval.py")]
    if args.germanquad_limit is not None:
        retrieval += ["--germanquad-limit", str(args.germanquad_limit)]
    return {
        "ingest": [python, str(BENCH / "ingest.py")],
        "retrieval": retrieval,
        "ask_latency": [python, str(BENCH / "ask_latency.py")],
        "scale": [python, str(BENCH / "scale.py"), "--sizes", args.scale_sizes],
        "memory": [python, str(BENCH / "memory.py")],
        "load": [python, str(BENCH / "load.py"), "--clients", "10", "--duration", "20"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--germanquad-limit",
        type=int,
        default=None,
        help="GermanQuAD questions for retrieval.py (default: the full set).",
    )
    parser.add_argument("--scale-sizes", default="1000,10000,100000")
    parser.add_argument("--skip", default="", help=f"Comma-separated, of {', '.join(NAMES)}.")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(NAMES)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; known: {', '.join(NAMES)}")
    failed: list[str] = []
    for name, command in commands(args).items():
        if name in skip:
            continue
        print(f"==> {name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
        started = time.monotonic()
        code = subprocess.run(command, check=False).returncode
        print(f"<== {name}: exit {code} in {time.monotonic() - started:.0f} s", file=sys.stderr)
        if code:
            failed.append(name)
    subprocess.run([sys.executable, str(BENCH / "readme_table.py")], check=False)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
