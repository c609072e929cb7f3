"""Vectorised kernels of the validation study: the fast path for several replicate trials at once.

Contract (the engine relies on it): ``KERNELS[name](frames)`` takes the data frames of a batch of replicate
trials (each as :func:`ipstrial.synthetic.simulate_trial` returns it) and returns, per frame, either the list
of records the reference path would give for the estimator ``name`` of
:data:`ipstrial.validation.ESTIMATORS` -- dicts with ``contrast, estimate, se, ci_low, ci_high, p_value``, the
SE of a ratio on the log scale -- or ``None`` when the kernel cannot handle that replicate (the engine then
runs the public estimator on it, whose error is the one counted). A kernel agrees with the reference path to
rounding error (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["KERNELS"]

Kernel = Callable[[Sequence[Any]], list[list[dict[str, Any]] | None]]

KERNELS: dict[str, Kernel] = {}
"""The estimators with a vectorised kernel, by name."""
