"""Vectorised kernels of the validation study: the fast path for several replicate trials at once.

Contract (the engine relies on it): ``KERNELS[name](frames)`` takes the data frames of a batch of replicate
trials (each as :func:`ipstrial.synthetic.simulate_trial` returns it) and returns, per frame, either the list
of records the reference path would give for the estimator ``name`` of
:data:`ipstrial.validation.ESTIMATORS` -- dicts with ``contrast, estimate, se, ci_low, ci_high, p_value``, the
SE of a ratio on the log scale -- or ``None`` when the kernel cannot handle that replicate (the engine then
runs the public estimator on it, whose error is the one counted). A kernel agrees with the reference path to
rounding error (tested, to 1e-9 relative; the Newcombe kernel to the bit), and a frame's records do not
depend on the other frames of its batch, to the bit.

The kernels of the six core estimators of issue 11, each computing a whole chunk of frames with array
operations (:mod:`._kernels_common`: the screen, the chunks of bounded memory):

* ``rd_newcombe``, ``delta_cost`` -- :mod:`._kernels_arms` (per-arm counts and moments);
* ``rd_adjusted_ye`` -- :mod:`._kernels_marginal` (batched logistic fits, g-computation, Ye's variance);
* ``logrank``, ``rmst_difference`` -- :mod:`._kernels_survival` (sorted risk sets);
* ``cox_hazard_ratio`` -- :mod:`._kernels_cox` (lifelines' Efron Newton-Raphson, step for step).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ipstrial.validation._kernels_arms import delta_cost, rd_newcombe
from ipstrial.validation._kernels_cox import cox_hazard_ratio
from ipstrial.validation._kernels_marginal import rd_adjusted_ye
from ipstrial.validation._kernels_survival import logrank, rmst_difference

__all__ = ["KERNELS", "Kernel"]

Kernel = Callable[[Sequence[Any]], list[list[dict[str, Any]] | None]]

KERNELS: dict[str, Kernel] = {
    "rd_newcombe": rd_newcombe,
    "rd_adjusted_ye": rd_adjusted_ye,
    "logrank": logrank,
    "cox_hazard_ratio": cox_hazard_ratio,
    "rmst_difference": rmst_difference,
    "delta_cost": delta_cost,
}
"""The estimators with a vectorised kernel, by name."""
