"""check.py: judges a history file and says so, for people and for programs.

    python3 jepsen/check.py --model register|counter [options] HISTORY.jsonl

Prints a human verdict, then the JSON verdict on one line (or writes it to --verdict PATH):

    {"valid": true|false|"unknown", "model": "register", "ops": N, "keys": K,
     "anomalies": [...], "undecided": [...]}

Exit status: 0 valid, 1 invalid, 2 bad usage or a malformed history (the message names the
line), 3 undecided (a key ran out of search budget; nothing invalid was found).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Optional, TextIO

from . import counter, register
from .history import HistoryError, read_history_file

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_UNKNOWN = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.print_usage(sys.stderr)
        print(f"check.py: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _arguments(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = _Parser(prog="check.py", description="Checks a JSON-lines history.")
    parser.add_argument("--model", required=True, choices=("register", "counter"),
                        help="what the history is of")
    parser.add_argument("--initial", default=None, metavar="JSON",
                        help="the initial value (register: null; counter: 0)")
    parser.add_argument("--max-steps", type=int, default=register.DEFAULT_MAX_STEPS_PER_KEY,
                        metavar="N", help="register: search steps per key before a key is "
                        "reported undecided (default %(default)s)")
    parser.add_argument("--verdict", metavar="PATH",
                        help="write the JSON verdict here instead of printing it")
    parser.add_argument("history", help='the history, JSON lines ("-": standard input)')
    args = parser.parse_args(argv)
    if args.max_steps <= 0:
        parser.error("--max-steps must be positive")
    given = args.initial is not None
    if given:
        try:
            args.initial = json.loads(args.initial)
        except json.JSONDecodeError:
            parser.error(f"--initial must be JSON, got {args.initial!r}")
    if args.model == "counter":
        if not given:
            args.initial = 0
        elif not (isinstance(args.initial, int) and not isinstance(args.initial, bool)):
            parser.error("--initial of a counter must be an integer")
    return args


def _register_verdict(args: argparse.Namespace, history) -> dict:
    result = register.check_register(history, initial=args.initial,
                                     max_steps_per_key=args.max_steps)
    return {"valid": result.valid, "model": "register", "ops": result.operations,
            "keys": len(result.keys), "anomalies": result.anomalies,
            "undecided": result.undecided}


def _counter_verdict(args: argparse.Namespace, history) -> dict:
    result = counter.check_counter(history, initial=args.initial)
    return {"valid": result.valid, "model": "counter", "ops": result.operations,
            "keys": result.keys, "anomalies": result.anomalies, "undecided": []}


def _print_human(verdict: dict, out: TextIO) -> None:
    valid = verdict["valid"]
    word = {True: "VALID", False: "INVALID"}.get(valid, "UNKNOWN")
    print(f"{word}: {verdict['model']} history of {verdict['ops']} operations over "
          f"{verdict['keys']} key(s), {len(verdict['anomalies'])} anomaly(ies)", file=out)
    shown = verdict["anomalies"][:10]
    for anomaly in shown:
        print(f"- {anomaly['kind']}" + (f" ({anomaly['hint']})" if anomaly.get("hint") else ""),
              file=out)
        for line in anomaly["explanation"]:
            print(f"  {line}", file=out)
    if len(verdict["anomalies"]) > len(shown):
        print(f"... and {len(verdict['anomalies']) - len(shown)} more (see the JSON verdict)",
              file=out)
    if verdict["undecided"]:
        print("undecided (search budget exhausted; raise --max-steps): " +
              ", ".join(json.dumps(k) for k in verdict["undecided"]), file=out)


def main(argv: Optional[list[str]] = None, out: TextIO = sys.stdout,
         err: TextIO = sys.stderr) -> int:
    args = _arguments(argv)
    try:
        history = read_history_file(args.history)
        verdict = (_register_verdict if args.model == "register" else _counter_verdict)(
            args, history)
    except HistoryError as e:
        print(f"check.py: {args.history}: {e}", file=err)
        return EXIT_USAGE
    except OSError as e:
        print(f"check.py: cannot read {args.history}: {e.strerror}", file=err)
        return EXIT_USAGE
    _print_human(verdict, out)
    text = json.dumps(verdict, sort_keys=True)
    if args.verdict:
        with open(args.verdict, "w", encoding="utf-8") as stream:
            stream.write(text + "\n")
    else:
        print(text, file=out)
    valid: Any = verdict["valid"]
    if valid is True:
        return EXIT_VALID
    if valid is False:
        return EXIT_INVALID
    return EXIT_UNKNOWN
