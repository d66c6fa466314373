#!/usr/bin/env python3
"""Times the checkers on simulated histories.

    python3 jepsen/bench_checker.py [--ops 100000] [--keys 20] [--processes 30]
                                    [--p-info 0.05] [--seed 1] [--model register|counter|both]
                                    [--p-fetch-add 0.1]

For each model: simulates a correct service (and, for the register, the same run with a stale
read injected; registers start at 0 and a --p-fetch-add share of the operations are
fetch_add), writes the history as JSON lines, and times reading it back and checking it.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pontoon_jepsen import counter, register, simulation  # noqa: E402
from pontoon_jepsen.history import parse_history  # noqa: E402


def _run(label: str, sim: simulation.SimulationResult, check) -> None:
    lines = sim.lines()
    started = time.perf_counter()
    history = parse_history(lines)
    parsed = time.perf_counter()
    result = check(history)
    checked = time.perf_counter()
    unknown = sum(1 for op in history.operations if op.status == "info")
    print(f"{label:<28} ops={len(history.operations):>7} info={unknown:>5} "
          f"valid={str(result.valid):<7} parse={parsed - started:6.2f}s "
          f"check={checked - parsed:6.2f}s total={checked - started:6.2f}s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--processes", type=int, default=30)
    parser.add_argument("--p-info", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", choices=("register", "counter", "both"), default="both")
    parser.add_argument("--p-fetch-add", type=float, default=0.1)
    args = parser.parse_args()
    print(f"ops={args.ops} keys={args.keys} processes={args.processes} "
          f"p_info={args.p_info} p_fetch_add={args.p_fetch_add} seed={args.seed}")
    if args.model in ("register", "both"):
        for fault in (None, "stale-read"):
            sim = simulation.simulate_register(args.seed, ops=args.ops, processes=args.processes,
                                               keys=args.keys, p_info=args.p_info, fault=fault,
                                               initial=0, p_fetch_add=args.p_fetch_add)
            _run(f"register {fault or 'correct'}", sim,
                 lambda history: register.check_register(history, initial=0))
    if args.model in ("counter", "both"):
        sim = simulation.simulate_counter(args.seed, ops=args.ops, processes=args.processes,
                                          p_info=args.p_info)
        _run("counter correct", sim, counter.check_counter)
    return 0


if __name__ == "__main__":
    sys.exit(main())
