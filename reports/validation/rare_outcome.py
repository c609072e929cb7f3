"""The Wald interval at n = 60 with a rare outcome: a user's own Scenario through the validation engine.

Run from the repository root: ``python reports/validation/rare_outcome.py`` writes ``rare_outcome.csv`` next
to this file (1,000 replicate trials, seed 2026, about a minute on 2 cores).
"""

import dataclasses
from pathlib import Path

from ipstrial.synthetic import INKLUSION
from ipstrial.validation import run_study

RARE = dataclasses.replace(
    INKLUSION,
    name="rare-small",
    n=60,
    p_employed_18m=(0.15, 0.15, 0.05),
    description="60 participants, 15 % vs 5 % in work or education at 18 months",
)

if __name__ == "__main__":
    study = run_study(
        RARE,
        reps=1000,
        seed=2026,
        estimators=["rd_wald", "rd_newcombe", "rd_miettinen_nurminen", "rd_agresti_caffo"],
        workers=2,
        quiet=True,
    )
    study.to_csv(Path(__file__).with_suffix(".csv"))
