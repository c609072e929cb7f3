"""Cost-effectiveness of 1,000,000 participants with 5,000 bootstrap replicates: time and peak memory.

The synthetic trial is simulated here (``ipstrial.synthetic.simulate_trial(n=1_000_000)``), its four
columns used (participant id, arm, ``cost_total``, ``employed_18m``) are written to a temporary pickle,
and ``cost_effectiveness(IPS and IPSE vs SAU, n_resamples=5000)`` runs in a SUBPROCESS (a fresh
interpreter that only loads those columns, imports ipstrial and runs the analysis), so that its peak
resident set size is that of the analysis, read from ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``
(KiB on Linux) after the child exits. The child is started by a small launcher interpreter (no numpy),
which reads the figure: Linux counts in a child's ``ru_maxrss`` the resident size of the process it was
forked from at the time of ``exec``, so a child started directly by this (large) benchmark process would
report this process's memory. The time is that of the ``cost_effectiveness`` call in the child.

* ipstrial: the counts are drawn chunk by chunk of replicates
  (:func:`ipstrial.resampling.bootstrap_count_chunks`, one replicate of a million counts at a time), so
  the working memory does not grow with replicates x participants. The target is a peak under 2 GiB.
* plain: the materialising approach (all counts at once, ``bootstrap_counts`` as the analysis did before
  it was chunked) is not run: its ``n_resamples x participants`` int64 counts alone would take the
  figure printed (37.3 GiB), more than the machine has; the line says so (``plain=n/a``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import line

from ipstrial._memory import format_bytes

N = 1_000_000
N_RESAMPLES = 5000
LIMIT = 2 * 1024**3
ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
import pandas as pd
from ipstrial.economics import cost_effectiveness

data = pd.read_pickle(sys.argv[1])
start = time.perf_counter()
result = cost_effectiveness(
    data, "cost_total", "employed_18m", "arm", ["IPS", "IPSE"], "SAU",
    wtp=200_000.0, n_resamples=int(sys.argv[2]), seed=1, id="participant_id",
)
elapsed = time.perf_counter() - start
print(json.dumps({
    "seconds": elapsed,
    "quadrant": result.quadrant,
    "n": int(sum(result.n_by_arm.values())),
}))
"""


LAUNCHER = r"""
import json, resource, subprocess, sys

completed = subprocess.run([sys.executable, "-c", *sys.argv[1:]], capture_output=True, text=True)
if completed.returncode:
    sys.stderr.write(completed.stderr)
    raise SystemExit(completed.returncode)
report = json.loads(completed.stdout.strip().splitlines()[-1])
report["peak_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps(report))
"""


def run(full: bool = False) -> list[str]:
    import json
    import os

    from ipstrial.synthetic import simulate_trial

    data = simulate_trial(n=N, seed=20240601)[["participant_id", "arm", "cost_total", "employed_18m"]]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trial.pkl"
        data.to_pickle(path)
        del data
        env_path = [str(ROOT), *[p for p in sys.path if p]]
        completed = subprocess.run(
            [sys.executable, "-c", LAUNCHER, CHILD, str(path), str(N_RESAMPLES)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(env_path)},
        )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    peak = report["peak_kib"] * 1024  # ru_maxrss is in KiB on Linux
    plain = format_bytes(8.0 * N_RESAMPLES * report["n"])
    verdict = "under" if peak < LIMIT else "OVER"
    note = (
        f"peak_rss={peak / 1024**3:.2f}GiB (limit 2 GiB: {verdict}); {report['n']:,} participants, IPS and "
        f"IPSE vs SAU, in a fresh interpreter; plain = all counts materialised at once, not run: {plain} of "
        "counts"
    )
    return [line(f"cea_{N}x{N_RESAMPLES}", report["seconds"], None, note)]


if __name__ == "__main__":
    for text in run():
        print(text)
