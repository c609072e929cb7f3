"""``import ipstrial`` against ``import pandas``, each in a fresh interpreter (best of 7).

Issue 2 asks that importing ipstrial's core (schema, results, synthetic) costs at most 0.15 s more
than importing pandas, and that it loads none of statsmodels, lifelines, scipy.stats,
matplotlib or seaborn (the last is also a test: tests/test_package.py).
"""

from __future__ import annotations

import subprocess
import sys

from _timing import best_of, line

HEAVY = ("statsmodels", "lifelines", "scipy.stats", "matplotlib", "seaborn")
CORE = "import ipstrial, ipstrial.schema, ipstrial.results, ipstrial.synthetic, ipstrial.randomization"


def _time(code: str, repeat: int = 7) -> float:
    return best_of(lambda: subprocess.run([sys.executable, "-c", code], check=True), repeat)


def run(full: bool = False) -> list[str]:
    bare = _time("pass")
    pandas = _time("import pandas") - bare
    ours = _time(CORE) - bare
    check = f"{CORE}; import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", check], check=True, capture_output=True, text=True
    ).stdout.strip()
    note = (
        f"extra over pandas={ours - pandas:+.3f}s (limit +0.150s); heavy modules loaded: {loaded or 'none'}"
    )
    return [line("import_core_vs_pandas", ours, pandas, note)]
