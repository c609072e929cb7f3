"""Budget impact of employment programmes.

* :class:`BusinessCase` -- a municipal business case: yearly budget lines by steering area, net impact,
  cumulative net, payback time and present value (``analysis/business_case_2017.toml``: Copenhagen's
  2017 IPS case).
* :func:`cohort_projection` -- a SØM-style projection of the yearly public-budget consequences of
  cohorts passing through a programme, by payer, with the break-even year
  (``analysis/som_ips_2021.toml``: Socialstyrelsen's 2021 IPS example).
* :func:`monitor` -- a running programme's successes against its target share (the Sydhavnen note:
  16 of 73 against 25 %), and :func:`caseload` / :func:`consultants_needed`.
* :func:`load` -- read either kind of TOML file (chosen by its ``kind`` key), as ``ipstrial budget`` does.

Budget signs differ by tradition and are kept: a business case writes savings as negative amounts
(net < 0 is a net saving), a SØM projection reports the net benefit (gains minus costs, > 0 is good).
"""

from __future__ import annotations

from pathlib import Path

from ipstrial.budget._common import DANISH_SOCIAL_DISCOUNT_RATE, BudgetInputError, read_toml
from ipstrial.budget.business_case import BudgetLine, BusinessCase
from ipstrial.budget.monitor import MonitorResult, caseload, consultants_needed, monitor
from ipstrial.budget.projection import (
    PAYERS,
    ProjectionResult,
    cohort_projection,
    projection_from_dict,
    projection_from_toml,
)

__all__ = [
    "DANISH_SOCIAL_DISCOUNT_RATE",
    "PAYERS",
    "BudgetInputError",
    "BudgetLine",
    "BusinessCase",
    "MonitorResult",
    "ProjectionResult",
    "caseload",
    "cohort_projection",
    "consultants_needed",
    "load",
    "monitor",
    "projection_from_dict",
    "projection_from_toml",
]

KINDS = ("business_case", "projection")


def load(path: str | Path) -> BusinessCase | ProjectionResult:
    """Read a budget TOML file: ``kind = "business_case"`` gives a :class:`BusinessCase`,
    ``kind = "projection"`` runs :func:`cohort_projection` and gives its :class:`ProjectionResult`.

    The ``kind`` key must be present at the top of the file; anything else is a
    :class:`BudgetInputError` naming the file.
    """
    data = read_toml(path)
    kind = data.get("kind")
    if kind == "business_case":
        return BusinessCase.from_dict(data)
    if kind == "projection":
        return projection_from_dict(data)
    raise BudgetInputError(
        f"{path}: the top-level key kind must be 'business_case' or 'projection', got {kind!r}"
    )
