"""Table 1: baseline characteristics by arm with standardised mean differences and disclosure control.

One line per variable (continuous: mean (SD), or median [Q1, Q3] for a non-normal one) or per level
(categorical: n (%); a 0/1 variable: one line, the count of 1s), a ``Missing`` line per variable with missing
values, one column per arm in declared order, ``Overall`` (the analysed arms together) and one SMD column per
treatment arm against the control. Percentages are of the known values. Descriptive only: no p-values
(CONSORT 2010, Moher et al., BMJ 2010;340:c869, item 15).

Standardised mean differences are those of the Python ``tableone`` package (Pollard et al., JAMIA Open
2018;1(1):26-31), checked against it in ``tests/test_table_one.py`` (``tests/reference/tableone.py``):

* continuous (also non-normal) variables: ``d = (m_t - m_c) / sqrt((s_t^2 + s_c^2) / 2)`` with the means and
  SDs (divisor n - 1) of the known values, signed treatment minus control (Austin, Stat Med 2009;28:3083, eq.
  1; the kernel of :mod:`ipstrial.randomization.balance`);
* categorical and 0/1 variables: the multivariate form of Yang & Dalton ("A unified approach to measuring the
  effect size between two groups using SAS", SAS Global Forum 2012, paper 335-2012):
  ``d = sqrt((p_t - p_c)' S^-1 (p_t - p_c))``, ``S = (S_t + S_c) / 2``, ``S_g = diag(p_g) - p_g p_g'``, over
  the proportions of the levels but the first (so that S is invertible); unsigned. For two levels this is
  ``|p_t - p_c| / sqrt((p_t (1 - p_t) + p_c (1 - p_c)) / 2)`` (Austin eq. 2).

Disclosure control (:mod:`ipstrial.report.disclosure`): counts ``0 < n < min_count`` are shown as ``"<5"``
with no percentage, complementary cells that would reveal them by subtraction (the other level of a 0/1
variable, the Missing line, the Overall column) as ``"*"``; the SMD of a categorical variable is not shown
(``"*"``) for a contrast whose arms hold a suppressed cell (the count could be solved from it), and the
summary of a continuous variable in an arm with fewer than ``min_count`` known values is not shown.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ipstrial._checks import ParameterError, check_analysis, check_count, column_names
from ipstrial.report import disclosure
from ipstrial.results import Result, Row, contrast_label, format_number

if TYPE_CHECKING:  # pragma: no cover
    from ipstrial.trial import Trial

__all__ = ["TableOne", "categorical_smd", "table_one"]

OVERALL = "Overall"
MISSING = "Missing"
KINDS = ("continuous", "nonnormal", "categorical", "binary")
_KNOWN = "__known__"  # the hidden line of the known values of a continuous variable


def categorical_smd(p_treatment: Sequence[float], p_control: Sequence[float]) -> float:
    """Yang & Dalton's (2012) multivariate SMD of a categorical variable, as the ``tableone`` package has it.

    ``d = sqrt((p_t - p_c)' S^-1 (p_t - p_c))`` with ``S = (S_t + S_c) / 2`` and
    ``S_g = diag(p_g) - p_g p_g'`` over the level proportions but the first (Yang D, Dalton JE, SAS Global
    Forum 2012, paper 335-2012; Pollard et al., JAMIA Open 2018). Levels absent from both groups are left
    out; when ``S`` is still singular (every participant in one level) the SMD is 0 for equal proportions,
    else infinite.

    Parameters
    ----------
    p_treatment, p_control
        The proportions of every level (the same levels in the same order), each summing to 1.
    """
    pt = np.asarray(p_treatment, dtype=float)
    pc = np.asarray(p_control, dtype=float)
    present = (pt > 0) | (pc > 0)
    pt, pc = pt[present][1:], pc[present][1:]
    if pt.size == 0:
        return 0.0
    diff = pt - pc

    def cov(p: np.ndarray) -> np.ndarray:
        return np.diag(p) - np.outer(p, p)

    s = (cov(pt) + cov(pc)) / 2.0
    try:
        square = float(diff @ np.linalg.solve(s, diff))
    except np.linalg.LinAlgError:
        return 0.0 if not diff.any() else math.inf
    return math.sqrt(max(square, 0.0))


@dataclass(frozen=True, eq=False)
class TableOne(Result):
    """Table 1 of a trial (see :func:`table_one`).

    Attributes
    ----------
    arm
        The arm column.
    arms
        The arms shown, in declared order (then ``Overall``).
    control
        The control arm of the SMDs (None: no SMD columns).
    variables
        The variables, in table order, each with its kind in ``kinds`` (``"continuous"``, ``"nonnormal"``,
        ``"categorical"`` or ``"binary"``) and its label in ``labels``.
    stats
        Long frame, one row per variable, level and column (an arm or ``Overall``): ``variable``, ``level``
        (``""`` for a continuous variable's summary, ``"Missing"``), ``column``, ``count``, ``n`` (the
        column's participants), ``percent`` (of the known values), ``mean``, ``sd``, ``median``, ``q1``,
        ``q3``, ``status`` (``""``, ``"small"``, ``"complement"``). Suppressed numbers are NaN here too: the
        result holds no count it does not show.
    smd
        One row per variable and treatment: ``variable``, ``contrast``, ``treatment``, ``control``, ``smd``
        (NaN when suppressed), ``suppressed``, ``method``.
    min_count
        The disclosure threshold (0: off).
    """

    arm: str
    arms: tuple[str, ...]
    control: str | None
    variables: tuple[str, ...]
    kinds: dict[str, str]
    labels: dict[str, str]
    stats: pd.DataFrame
    smd: pd.DataFrame
    n_by_column: dict[str, int]
    min_count: int
    digits: int = 1
    notes: tuple[str, ...] = ()
    analysis: str = "randomization_table_one"

    @property
    def title(self) -> str:
        arms = ", ".join(f"{a} (n={self.n_by_column[a]})" for a in self.arms)
        return f"Table 1. Baseline characteristics by arm: {arms}"

    @property
    def smd_columns(self) -> tuple[str, ...]:
        """The SMD column names, ``"SMD IPS vs SAU"``, in the order of the treatments."""
        return tuple(f"SMD {c}" for c in pd.unique(self.smd["contrast"])) if len(self.smd) else ()

    # -- the table -------------------------------------------------------------------------------------

    def _decimals(self, cells: pd.DataFrame) -> int:
        """Decimals of a continuous variable: ``digits``, or more when its overall SD is below 1, so that
        the SD keeps two significant digits (an EQ-5D index of SD 0.2 reads 0.64 (0.21), not 0.6 (0.2))."""
        sd = cells.loc[OVERALL].get("sd") if OVERALL in cells.index else None
        try:
            sd = float(sd)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return self.digits
        if not math.isfinite(sd) or sd <= 0 or sd >= 1:
            return self.digits
        return max(self.digits, 1 - math.floor(math.log10(sd)))

    def _cell(self, rec: Mapping[str, Any], kind: str, decimals: int | None = None) -> str:
        status = rec["status"]
        if status in (disclosure.SMALL, disclosure.COMPLEMENT):
            return disclosure.count_cell("", status, self.min_count)
        d = self.digits if decimals is None else decimals
        if rec["level"] == "" and kind in ("continuous", "nonnormal"):
            if status == "few":
                return f"(n<{self.min_count})"
            if rec["count"] == 0:
                return "—"
            if kind == "continuous":
                return f"{format_number(rec['mean'], d)} ({format_number(rec['sd'], d)})"
            median, q1, q3 = (format_number(rec[k], d) for k in ("median", "q1", "q3"))
            return f"{median} [{q1}, {q3}]"
        if rec["level"] == MISSING:
            return str(int(rec["count"]))
        return f"{int(rec['count'])} ({format_number(rec['percent'], 1)}%)"

    def _heading(self, variable: str) -> str:
        kind = self.kinds[variable]
        what = {"continuous": "mean (SD)", "nonnormal": "median [Q1, Q3]"}.get(kind, "n (%)")
        return f"{self.labels[variable]}, {what}"

    def to_frame(self) -> pd.DataFrame:
        """The table: one row per variable (or level), one column per arm, ``Overall``, the SMD columns.

        Columns ``variable`` (label with the statistic, ``"age, mean (SD)"``), ``level`` (the level of a
        categorical variable, ``"1"`` for a 0/1 one, ``"Missing"``, else ``""``), the arms, ``Overall`` and
        ``SMD <treatment> vs <control>``; every cell is text, as shown. The first row ``n`` holds the arm
        sizes.
        """
        columns = [*self.arms, OVERALL]
        smd_cols = self.smd_columns
        lines: list[dict[str, str]] = [
            {"variable": "n", "level": ""}
            | {c: str(self.n_by_column[c]) for c in columns}
            | dict.fromkeys(smd_cols, "")
        ]
        for v in self.variables:
            sub = self.stats[self.stats.variable == v]
            kind = self.kinds[v]
            smd_cells = {}
            for rec in self.smd[self.smd.variable == v].itertuples(index=False):
                smd_cells[f"SMD {rec.contrast}"] = (
                    disclosure.COMPLEMENT_MARK if rec.suppressed else format_number(rec.smd, 3)
                )
            for i, level in enumerate(pd.unique(sub.level)):
                cells = sub[sub.level == level].set_index("column")
                line = {"variable": self._heading(v) if i == 0 else "", "level": str(level)}
                decimals = self._decimals(cells) if kind in ("continuous", "nonnormal") else None
                for c in columns:
                    line[c] = self._cell(cells.loc[c].to_dict(), kind, decimals)
                for c in smd_cols:
                    line[c] = smd_cells.get(c, "") if i == 0 else ""
                lines.append(line)
        return pd.DataFrame(lines, columns=["variable", "level", *columns, *smd_cols])

    def rows(self) -> tuple[Row, ...]:
        """ARD rows of the SMDs (estimand ``mean_difference``, extra ``scale="standardised"``; variant
        ``"<variable>"``); suppressed SMDs have estimate NaN and extra ``note``."""
        out = []
        for rec in self.smd.itertuples(index=False):
            extra: dict[str, object] = {
                "quantity": "smd",
                "scale": "standardised",
                "kind": self.kinds[rec.variable],
            }
            if rec.suppressed:
                extra["note"] = f"suppressed: a count below {self.min_count} in the arms compared"
            out.append(
                self._row(
                    rec.contrast,
                    "mean_difference",
                    rec.smd,
                    method=rec.method,
                    outcome=rec.variable,
                    variant=f"smd:{rec.variable}",
                    extra=extra,
                )
            )
        return tuple(out)

    def _notes(self) -> list[str]:
        notes = [disclosure.suppression_note(self.min_count)]
        if len(self.smd):
            notes.append(
                "SMD: standardised mean difference, treatment vs control as in the tableone package "
                "(Pollard et al. 2018): continuous (m_t - m_c)/sqrt((s_t^2 + s_c^2)/2); categorical "
                "unsigned, Yang & Dalton 2012 (Mahalanobis form)."
            )
        notes.append("Percentages are of the known values; Q1, Q3: quartiles (linear interpolation).")
        if self.inputs is not None:
            notes += list(self.inputs.notes())
        return [*notes, *self.notes]

    def to_markdown(self) -> str:
        """The table as a Markdown pipe table (:func:`ipstrial.report.tables.markdown_table`) with its title
        and notes."""
        from ipstrial.report.tables import markdown_table

        frame = self.to_frame().rename(columns={"variable": "", "level": " "})
        frame.attrs["notes"] = list(self._notes())
        return f"**{self.title}**\n\n" + markdown_table(frame)

    def to_csv(self, path: str | Path) -> Path:
        """Write :meth:`to_frame` as CSV (UTF-8) to ``path``; returns the path."""
        target = Path(path)
        self.to_frame().to_csv(target, index=False)
        return target

    def summary(self, digits: int | None = None) -> str:
        """The table as aligned text with its title and notes."""
        frame = self.to_frame()
        headers = ["" if c in ("variable", "level") else c for c in frame.columns]
        body = [[str(v) for v in row] for row in frame.itertuples(index=False)]
        widths = [max(len(h), *(len(r[j]) for r in body)) for j, h in enumerate(headers)]

        def fmt(cells: list[str]) -> str:
            return "  ".join(
                c.ljust(w) if j < 2 else c.rjust(w)
                for j, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        lines = [self.title, "=" * len(self.title), fmt(headers), "  ".join("-" * w for w in widths)]
        lines += [fmt(r) for r in body]
        return "\n".join([*lines, "", *self._notes()])

    def _repr_html_(self) -> str:
        """An HTML table (title as caption, notes in the footer); all text escaped."""
        frame = self.to_frame()
        headers = ["" if c in ("variable", "level") else c for c in frame.columns]

        def cell(tag: str, text: str, j: int) -> str:
            align = "left" if j < 2 else "right"
            return f'<{tag} style="text-align: {align}">{html.escape(str(text))}</{tag}>'

        parts = [
            '<table class="ipstrial-result ipstrial-table-one">',
            f"<caption>{html.escape(self.title)}</caption>",
        ]
        parts.append(
            "<thead><tr>" + "".join(cell("th", h, j) for j, h in enumerate(headers)) + "</tr></thead>"
        )
        parts.append("<tbody>")
        for row in frame.itertuples(index=False):
            parts.append("<tr>" + "".join(cell("td", c, j) for j, c in enumerate(row)) + "</tr>")
        parts.append("</tbody><tfoot>")
        span = len(headers)
        parts += [f'<tr><td colspan="{span}">{html.escape(n)}</td></tr>' for n in self._notes()]
        parts.append("</tfoot></table>")
        return "\n".join(parts)


def _kind_of(series: pd.Series, name: str, categorical: set[str], nonnormal: set[str]) -> str:
    if name in categorical:
        return "categorical"
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if name in nonnormal:
        if not numeric:
            raise ParameterError(
                f"nonnormal names {name!r}, which holds {series.dtype} values, not numbers; list it in "
                "categorical= or convert it to numbers"
            )
        return "nonnormal"
    if not numeric:
        return "categorical"
    known = set(pd.unique(series.dropna()))
    if known <= {0, 1}:
        return "binary"
    return "continuous" if len(known) > 2 else "categorical"


def table_one(
    data: pd.DataFrame | Trial,
    variables: str | Sequence[str] | None = None,
    arm: str | None = None,
    treatment: Any = None,
    control: Any = None,
    *,
    categorical: str | Sequence[str] | None = None,
    nonnormal: str | Sequence[str] | None = None,
    labels: Mapping[str, object] | None = None,
    min_count: int | None = disclosure.DEFAULT_MIN_COUNT,
    digits: int = 1,
    analysis: str = "randomization_table_one",
) -> TableOne:
    """Table 1: baseline characteristics by arm, with SMDs against the control and small counts suppressed.

    Parameters
    ----------
    data
        An :class:`~ipstrial.Trial` (arm column, arms in order, control and id from it) or a DataFrame (one
        row per participant) with ``arm``.
    variables
        The characteristics, in table order (default: a Trial's covariates; required with a DataFrame).
    arm, treatment, control
        The arm column (DataFrame only) and the arms shown: every arm by default; ``treatment`` (one or a
        list) and ``control`` select the arms (treatments, then the control, in declared order). SMD columns
        compare each treatment with the control: a Trial's control, or ``control=``; with a DataFrame and no
        ``control`` there are none.
    categorical
        Variables summarised as n (%) per level (text, boolean and categorical columns always are; a numeric
        column with values 0/1 is summarised by its count of 1s, and is shown per level when listed here).
    nonnormal
        Numeric variables shown as median [Q1, Q3] (quartiles by linear interpolation, numpy's and pandas'
        default) instead of mean (SD); their SMD is still that of the means, as in ``tableone``.
    labels
        Column -> label (text, ``(label, unit)`` or :class:`ipstrial.report.format.Label`); default: the
        labels set by the plan (:func:`ipstrial.report.format.current_labels`), else the column name.
    min_count
        Disclosure threshold (default 5, :data:`ipstrial.report.disclosure.DEFAULT_MIN_COUNT`): counts
        ``0 < n < min_count`` are shown as ``"<5"`` and the cells that would reveal them as ``"*"``. ``None``
        or 0 turn suppression off; the table then says so in a note.
    digits
        Decimals of means, SDs, medians and quartiles (percentages have one); a variable whose overall SD is
        below 1 gets more, so that its SD keeps two significant digits.
    analysis
        The ARD analysis name of the SMD rows.

    Returns
    -------
    TableOne
        With :meth:`~TableOne.to_frame`, :meth:`~TableOne.to_markdown`, :meth:`~TableOne.to_csv`,
        :meth:`~TableOne.summary` and the HTML view.

    Raises
    ------
    TrialDataError
        From the input gate (absent columns, missing arms, near-miss arm labels, stray text in a numeric
        column, ...), or when a variable looks like Danish CPR numbers
        (:func:`ipstrial.report.disclosure.check_no_cpr`): it would be listed value by value.
    ParameterError
        For bad arguments (a variable listed twice, the arm column as a variable, a ``nonnormal`` text
        column).

    Notes
    -----
    Statistics (module docstring): mean and SD (divisor n - 1) of the known values; median and quartiles by
    linear interpolation; counts and percentages of the known values; SMDs exactly as the ``tableone``
    package (Pollard et al., JAMIA Open 2018): Austin 2009 eq. 1 for continuous variables, Yang & Dalton 2012
    for categorical ones (:func:`categorical_smd`). Overall is the analysed arms together.
    """
    from ipstrial._inputs import gate
    from ipstrial.randomization.balance import _smd_means, _sorted_levels
    from ipstrial.report.format import as_labels
    from ipstrial.trial import Trial

    threshold = disclosure.check_min_count(min_count)
    analysis = check_analysis(analysis)
    digits = check_count(digits, "digits", minimum=0, maximum=6)
    if variables is None:
        if isinstance(data, Trial) and data.covariates:
            variables = list(data.covariates)
        else:
            raise ParameterError(
                "variables= must name the characteristics to tabulate (e.g. ['age', 'sex']); only a Trial "
                "with declared covariates supplies them"
            )
    names = column_names(variables, "variables", allow_empty=False)
    cat_set = set(column_names(categorical, "categorical"))
    non_set = set(column_names(nonnormal, "nonnormal"))
    for option, chosen in (("categorical", cat_set), ("nonnormal", non_set)):
        stray = sorted(chosen - set(names))
        if stray:
            raise ParameterError(f"{option}= names {stray}, which are not among variables={list(names)}")
    if cat_set & non_set:
        raise ParameterError(f"{sorted(cat_set & non_set)} listed both in categorical= and nonnormal=")
    arm_column = data.arm if isinstance(data, Trial) else arm
    if isinstance(arm_column, str) and arm_column in names:
        raise ParameterError(f"the arm column {arm_column!r} is also listed in variables; remove it")

    sample = gate(
        data,
        arm=arm,
        treatment=treatment,
        control=control,
        covariates=list(names),
        covariates_may_be_missing=True,
        need_control=False,
        min_arms=1,
    )
    frame = sample.frame
    disclosure.check_no_cpr(frame[list(names)])
    arms = tuple(sample.order)
    columns = [*arms, OVERALL]
    masks = {a: sample.mask(a) for a in arms} | {OVERALL: np.ones(len(frame), dtype=bool)}
    n_by_column = {c: int(masks[c].sum()) for c in columns}
    kinds = {v: _kind_of(frame[v], v, cat_set, non_set) for v in names}
    shown_labels = as_labels(labels)
    label_text = {}
    for v in names:
        unit = shown_labels.unit(v)
        label_text[v] = shown_labels.label(v) + (f" ({unit})" if unit else "")

    stat_rows: list[dict[str, object]] = []
    smd_rows: list[dict[str, object]] = []
    blank = {
        "percent": math.nan,
        "mean": math.nan,
        "sd": math.nan,
        "median": math.nan,
        "q1": math.nan,
        "q3": math.nan,
    }
    treatments = tuple(a for a in arms if a != sample.control) if sample.control is not None else ()

    for v in names:
        kind = kinds[v]
        series = frame[v]
        missing = series.isna().to_numpy()
        block_rows: list[str] = []
        counts: dict[str, list[int]] = {}
        hidden: list[str] = []
        if kind in ("continuous", "nonnormal"):
            values = series.to_numpy(dtype=float, na_value=np.nan)
            block_rows = [_KNOWN]
            counts[_KNOWN] = [int((masks[c] & ~missing).sum()) for c in columns]
            hidden = [_KNOWN]
        else:
            levels = _sorted_levels(series)
            if kind == "binary":
                levels = [0, 1]
            names_l = [str(int(lv)) if kind == "binary" else str(lv) for lv in levels]
            for lv, name in zip(levels, names_l, strict=True):
                hit = series.eq(lv).fillna(False).to_numpy(dtype=bool) & ~missing
                counts[name] = [int((masks[c] & hit).sum()) for c in columns]
            block_rows = list(names_l)
            if kind == "binary":
                hidden = ["0"]
        if missing.any():
            counts[MISSING] = [int((masks[c] & missing).sum()) for c in columns]
            block_rows.append(MISSING)
        block = pd.DataFrame([counts[r] for r in block_rows], index=block_rows, columns=columns)
        status = disclosure.suppress_counts(block, min_count=threshold, total=OVERALL, hidden=hidden)
        if kind in ("continuous", "nonnormal"):
            for c in columns:
                x = values[masks[c] & ~missing]
                few = 0 < len(x) < threshold
                rec: dict[str, object] = {
                    "variable": v,
                    "level": "",
                    "column": c,
                    "count": len(x),
                    "n": n_by_column[c],
                }
                if few:
                    rec |= blank | {"count": math.nan, "status": "few"}
                else:
                    q = np.quantile(x, [0.25, 0.5, 0.75]) if len(x) else [math.nan] * 3
                    rec |= {
                        "percent": 100.0 * len(x) / n_by_column[c] if n_by_column[c] else math.nan,
                        "mean": float(x.mean()) if len(x) else math.nan,
                        "sd": float(x.std(ddof=1)) if len(x) > 1 else math.nan,
                        "median": float(q[1]),
                        "q1": float(q[0]),
                        "q3": float(q[2]),
                        "status": "",
                    }
                stat_rows.append(rec)
        known = [sum(counts[x][k] for x in block_rows if x != MISSING) for k in range(len(columns))]
        for r in block_rows:
            if r in hidden:
                continue
            for k, c in enumerate(columns):
                st = status.loc[r, c]
                count = counts[r][k]
                shown = st not in (disclosure.SMALL, disclosure.COMPLEMENT)
                percent = 100.0 * count / known[k] if known[k] else math.nan
                stat_rows.append(
                    {"variable": v, "level": r, "column": c, "n": n_by_column[c]}
                    | blank
                    | {
                        "count": count if shown else math.nan,
                        "percent": (percent if r != MISSING else 100.0 * count / n_by_column[c])
                        if shown
                        else math.nan,
                        "status": st,
                    }
                )
        # SMDs
        for t in treatments:
            c_ = sample.control
            assert c_ is not None
            if kind in ("continuous", "nonnormal"):
                xt, xc = values[masks[t] & ~missing], values[masks[c_] & ~missing]
                few = any(0 < len(x) < threshold for x in (xt, xc))
                if len(xt) > 1 and len(xc) > 1:
                    d = _smd_means(
                        float(xt.mean()), float(xt.std(ddof=1)), float(xc.mean()), float(xc.std(ddof=1))
                    )
                else:
                    d = math.nan
                method = "(m_t - m_c)/sqrt((s_t^2 + s_c^2)/2), Austin 2009 eq. 1 (as tableone)"
                suppressed = few
            else:
                level_rows = [r for r in block_rows if r != MISSING]
                kt, kc = arms.index(t), arms.index(c_)
                nt = sum(counts[r][kt] for r in level_rows)
                nc = sum(counts[r][kc] for r in level_rows)
                if nt and nc:
                    d = categorical_smd(
                        [counts[r][kt] / nt for r in level_rows], [counts[r][kc] / nc for r in level_rows]
                    )
                else:
                    d = math.nan
                method = "Yang & Dalton 2012 multivariate SMD over the levels (as tableone), unsigned"
                bad = (disclosure.SMALL, disclosure.COMPLEMENT)
                sensitive = block[[t, c_]].where((block[[t, c_]] > 0) & (block[[t, c_]] < threshold)).notna()
                suppressed = bool(status[[t, c_]].isin(bad).to_numpy().any() or sensitive.to_numpy().any())
            smd_rows.append(
                {
                    "variable": v,
                    "contrast": contrast_label(t, c_),
                    "treatment": t,
                    "control": c_,
                    "smd": math.nan if suppressed else d,
                    "suppressed": suppressed,
                    "method": method,
                }
            )

    notes: tuple[str, ...] = ()
    if sample.control is None and len(arms) > 1:
        notes = ("No SMD columns: name the control arm (control=) to compare each arm with it.",)
    return TableOne(
        arm=sample.arm,
        arms=arms,
        control=sample.control,
        variables=tuple(names),
        kinds=kinds,
        labels=label_text,
        stats=pd.DataFrame(stat_rows),
        smd=pd.DataFrame(
            smd_rows, columns=["variable", "contrast", "treatment", "control", "smd", "suppressed", "method"]
        ),
        n_by_column=n_by_column,
        min_count=threshold,
        digits=digits,
        notes=notes,
        analysis=analysis,
        inputs=sample.inputs,
    )
