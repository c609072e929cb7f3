"""Trial outcomes from weekly register panels (DREAM-like), on DuckDB or pandas (issue 13).

Danish employment trials take their outcomes from registers: a weekly record of each person's public-benefit
status (DREAM: one code per person-week, no code meaning self-support), with education and employment records.
:func:`derive_outcomes` turns such a panel into one row per participant: in work or education within the
horizon, weeks in work or education, weeks to the first such week or to a competing exit, and transfer costs
by benefit type. The rules are stated once, in :mod:`ipstrial.registers._rules`; a code map
(:class:`CodeMap`, TOML) says what each code means.

>>> from ipstrial.registers import CodeMap, derive_outcomes  # doctest: +SKIP
>>> codes = CodeMap.from_toml("codes.toml")  # doctest: +SKIP
>>> derived = derive_outcomes("dream/*.parquet", randomisation, codes, horizon_weeks=78)  # doctest: +SKIP
>>> derived.frame.head()  # doctest: +SKIP
"""

from ipstrial.registers._codes import Code, CodeMap
from ipstrial.registers._derive import DerivedOutcomes, derive_outcomes
from ipstrial.registers._synthetic import register_week, synthetic_registers

__all__ = [
    "Code",
    "CodeMap",
    "DerivedOutcomes",
    "derive_outcomes",
    "register_week",
    "synthetic_code_map",
    "synthetic_registers",
]


def synthetic_code_map() -> CodeMap:
    """The code map of the synthetic trial's register view (``registers/codes/synthetic.toml``)."""
    from pathlib import Path

    return CodeMap.from_toml(Path(__file__).parent / "codes" / "synthetic.toml")
