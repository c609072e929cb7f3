"""The allocation list: the output of every randomization scheme."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["AllocationList"]


@dataclass(frozen=True, eq=False)
class AllocationList:
    """A generated allocation sequence.

    ``frame`` has one row per allocation, in order of arrival: ``sequence`` (1-based),
    ``stratum`` (label, ``"all"`` when unstratified), ``block_id`` (1-based, unique in the
    list), ``block_size``, ``position`` (1-based place in the block) and ``arm``.
    """

    frame: pd.DataFrame
    scheme: str
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None

    @property
    def arms(self) -> np.ndarray:
        """The allocated arm labels in order of arrival."""
        return self.frame["arm"].to_numpy()

    def __len__(self) -> int:
        return len(self.frame)
