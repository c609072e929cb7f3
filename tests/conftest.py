"""Shared fixtures: the committed synthetic trial (as a DataFrame and as a Trial) and its covariates.

The frames are read once per session; tests that change data take ``.copy()`` first (the ``data``
fixture hands out a fresh copy for every test).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import ipstrial

ROOT = Path(__file__).resolve().parents[1]
INKLUSION_CSV = ROOT / "data" / "synthetic" / "inklusion.csv"
REFERENCE = ROOT / "tests" / "reference"

COVARIATES = ["age", "sex", "diagnosis", "education", "employed_prev5y", "substance_use"]
"""The baseline covariates of the synthetic trial (every covariate of its generating model)."""

ARMS = ("IPS", "IPSE", "SAU")
TREATMENTS = ("IPS", "IPSE")
CONTROL = "SAU"

_FRAME = pd.read_csv(INKLUSION_CSV)


def inklusion_trial(data: pd.DataFrame | None = None) -> ipstrial.Trial:
    """The synthetic trial with its roles declared (the committed CSV unless ``data`` is given)."""
    from ipstrial.synthetic import INKLUSION

    return INKLUSION.schema().validate(_FRAME if data is None else data)


_TRIAL = inklusion_trial()


@pytest.fixture
def data() -> pd.DataFrame:
    """A fresh copy of ``data/synthetic/inklusion.csv`` (720 participants)."""
    return _FRAME.copy()


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    """``data/synthetic/inklusion.csv``, shared by the session: do not modify (take ``.copy()``)."""
    return _FRAME


@pytest.fixture(scope="session")
def trial() -> ipstrial.Trial:
    """The committed synthetic trial as an ``ipstrial.Trial`` (arms IPS, IPSE, SAU; control SAU)."""
    return _TRIAL


@pytest.fixture(scope="session")
def covariates() -> list[str]:
    """The baseline covariates of the synthetic trial."""
    return list(COVARIATES)
