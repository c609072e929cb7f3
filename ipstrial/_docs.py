"""The documentation of the parameters every estimator shares, written once.

The estimators share ``data``, ``arm, treatment, control``, ``alpha``, ``missing``, ``id``, ``analysis``,
``seed``, ``covariates`` and ``strata``, which mean the same thing everywhere (DESIGN.md, "The estimator
signature"). Their numpydoc entries live here; an estimator's docstring names them on a line of its
Parameters section::

    Parameters
    ----------
    @params data arm
    outcome
        The 0/1 outcome column.
    @params alpha missing id analysis

and :func:`shared_params` replaces each such line with the entries, at its indentation, when the module is
imported (so ``help()``, IDEs and documentation tools show the full text). An entry an estimator needs to
say more about is simply written out in its own docstring instead.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import TypeVar

__all__ = ["PARAMETERS", "shared_params"]

F = TypeVar("F", bound=Callable[..., object])

PARAMETERS: dict[str, str] = {
    "data": """\
data
    A DataFrame with one row per participant, or an :class:`ipstrial.Trial`, whose arm column, arms (in
    their declared order), control and id column are then used.""",
    "arm": """\
arm, treatment, control
    The arm column, the treatment arm(s) (one label or a list) and the control arm. With a Trial, ``arm``
    and ``control`` come from it; with a DataFrame ``arm`` and ``control`` are needed. ``treatment``
    defaults to every other arm with participants; rows of arms not analysed are left out and counted in
    ``result.inputs``. Arms coded as numbers or booleans are known by their labels (``1 -> "1"``).""",
    "arms": """\
arm, treatment, control
    The arm column and the arms analysed: every arm when neither ``treatment`` nor ``control`` is given,
    else the treatment(s) (one label or a list) and the control; a Trial gives the arm column, the arms
    and their order. Rows of arms not analysed are left out and counted in ``result.inputs``.""",
    "alpha": """\
alpha
    1 - the confidence level of the intervals (0.05 for 95 %).""",
    "missing": """\
missing
    None (a missing outcome is an error that gives the counts per arm and the policies to choose from) or
    ``"complete-case"`` (participants with a missing outcome are left out and counted per arm in
    ``result.inputs``).""",
    "id": """\
id
    The participant id column (ids must be present and unique; messages name participants by it). None:
    messages name rows by their 0-based position. With a Trial, its id column.""",
    "analysis": """\
analysis
    The ``analysis`` name of every row of the analysis-results table.""",
    "seed": """\
seed
    An int, a numpy Generator or None (fresh entropy); the same seed gives the same bits, and the result
    records the entropy that regenerates it (``seed_entropy``).""",
    "covariates": """\
covariates
    Baseline covariate columns (a name or a list): numbers, booleans or labels (categorical covariates
    become 0/1 columns, the first level the reference); they must be complete.""",
    "strata": """\
strata
    The randomisation strata columns (a name or a list); they must be complete.""",
    "duration": """\
duration, event
    The follow-up time and event-code columns (event codes: 0 censored, ``cause`` the event of interest,
    the others competing events); ``event`` may be left out with a Trial that pairs it with ``duration``.""",
    "cause": """\
cause
    The event code of interest.""",
    "event_codes": """\
event_codes
    The declared event codes (default: the Trial's, else 0, 1, 2).""",
    "unit": """\
unit
    The time unit of ``duration`` (labels only).""",
    "timefix": """\
timefix
    Tie durations that differ only by floating-point noise, as R's survival package does by default
    (cmprsk does not; :func:`ipstrial.survival._inputs.merge_tied_times`); False keeps them apart.""",
}

_MARKER = re.compile(r"^(?P<indent>[ \t]*)@params[ \t]+(?P<names>[\w \t]+?)[ \t]*$", re.MULTILINE)


def _expand(doc: str, where: str) -> str:
    def entries(match: re.Match[str]) -> str:
        names = match.group("names").split()
        unknown = [n for n in names if n not in PARAMETERS]
        if unknown:
            raise KeyError(f"{where}: no shared documentation for {unknown}; known: {sorted(PARAMETERS)}")
        text = "\n".join(PARAMETERS[n] for n in names)
        return textwrap.indent(text, match.group("indent"))

    return _MARKER.sub(entries, doc)


def shared_params(func: F) -> F:
    """Replace the ``@params name ...`` lines of ``func``'s docstring with the shared entries."""
    if func.__doc__:
        func.__doc__ = _expand(func.__doc__, getattr(func, "__qualname__", repr(func)))
    return func
