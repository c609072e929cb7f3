"""Run every benchmark and print one line each: ``NAME ipstrial=…s plain=…s ratio=…x``.

``plain`` is the straightforward approach a user would otherwise write, timed in the same
process. Speed is measured here, never asserted in tests. ``--full`` also times the slowest
plain approaches (minutes).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = (
    "bench_import",
    "bench_simulate",
    "bench_bootstrap",
    "bench_logrank",
    "bench_cea",
    "bench_cea_memory",
    "bench_rerandomization",
    "bench_scheme_properties",
    "bench_validation",
    "bench_power",
    "bench_ledger",
    "bench_registers",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="also time the slowest plain approaches")
    parser.add_argument("names", nargs="*", help="run only these benchmark modules")
    args = parser.parse_args()
    sys.path[:0] = [str(HERE), str(HERE.parent)]  # the benchmarks and, if not installed, the package
    for name in args.names or MODULES:
        module = importlib.import_module(name)
        for line in module.run(full=args.full):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
