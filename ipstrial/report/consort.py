"""The CONSORT flow of participants by arm: randomised, allocated, lost to follow-up, analysed per outcome.

CONSORT 2010 (Schulz, Altman, Moher, BMJ 2010;340:c332, item 13 and the flow diagram) asks for the numbers
randomly assigned, receiving the intended intervention, lost to follow-up and analysed, by arm, with reasons.
The participant-level data of an employment trial such as the synthetic Projekt Inklusion one hold the arm,
the time to first job with its event code and the outcomes, but no record of who received the allocated
intervention: :func:`consort_flow` reports what the data support, and states what it assumes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ipstrial._checks import ParameterError, check_number, column_name, column_names
from ipstrial.report import disclosure
from ipstrial.results import Result, Row

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ipstrial.trial import Trial

__all__ = ["ConsortFlow", "consort_flow"]

TOTAL = "Total"


@dataclass(frozen=True, eq=False)
class ConsortFlow(Result):
    """The participant flow by arm (see :func:`consort_flow`).

    Attributes
    ----------
    arms
        The arms, in declared order (then ``Total``).
    stages
        The stages, in order (the rows of :meth:`to_frame`).
    counts
        Stages x (arms, ``Total``) as nullable integers; suppressed counts are missing (``<NA>``): the result
        holds no count it does not show.
    status
        Same shape: ``""``, ``"small"`` (shown as ``"<5"``) or ``"complement"`` (``"*"``).
    reasons
        Stage -> the reason for an exclusion stage.
    assumptions
        What the flow assumes where the data are silent.
    min_count
        The disclosure threshold (0: off).
    """

    arms: tuple[str, ...]
    stages: tuple[str, ...]
    counts: pd.DataFrame
    status: pd.DataFrame
    reasons: dict[str, str]
    assumptions: tuple[str, ...]
    min_count: int

    @property
    def title(self) -> str:
        return "CONSORT flow of participants by arm"

    def to_frame(self) -> pd.DataFrame:
        """Stages as rows, arms and ``Total`` as columns; cells as shown (text; ``"<5"``, ``"*"``)."""
        shown = self.counts.astype(object).where(self.counts.notna(), "")
        out = pd.DataFrame(index=self.counts.index, columns=self.counts.columns, dtype=object)
        for stage in self.counts.index:
            for column in self.counts.columns:
                text = "" if pd.isna(self.counts.loc[stage, column]) else str(int(shown.loc[stage, column]))
                out.loc[stage, column] = disclosure.count_cell(
                    text, self.status.loc[stage, column], self.min_count
                )
        out.index.name = "stage"
        return out

    def rows(self) -> tuple[Row, ...]:
        """No ARD rows: the flow is a table of counts (:meth:`to_frame`), not estimates."""
        return ()

    def _notes(self) -> list[str]:
        notes = [f"{stage}: {reason}" for stage, reason in self.reasons.items()]
        notes += list(self.assumptions)
        notes.append(disclosure.suppression_note(self.min_count))
        return notes

    def summary(self, digits: int = 3) -> str:
        """The flow as aligned text with its notes."""
        frame = self.to_frame()
        headers = ["stage", *frame.columns]
        body = [
            [str(stage), *map(str, row)] for stage, row in zip(frame.index, frame.to_numpy(), strict=True)
        ]
        widths = [max(len(h), *(len(r[j]) for r in body)) for j, h in enumerate(headers)]

        def fmt(cells: list[str]) -> str:
            return "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        lines = [self.title, "=" * len(self.title), fmt(headers), "  ".join("-" * w for w in widths)]
        return "\n".join([*lines, *(fmt(r) for r in body), "", *self._notes()])

    def to_markdown(self) -> str:
        """The flow as a Markdown pipe table (:func:`~ipstrial.report.tables.markdown_table`), with notes."""
        from ipstrial.report.tables import markdown_table

        frame = self.to_frame().reset_index()
        frame.attrs["notes"] = list(self._notes())
        return f"**{self.title}**\n\n" + markdown_table(frame)

    def _repr_html_(self) -> str:
        """An HTML table (title as caption, notes in the footer); all text escaped."""
        frame = self.to_frame()
        parts = [
            '<table class="ipstrial-result ipstrial-consort">',
            f"<caption>{html.escape(self.title)}</caption>",
        ]
        head = "".join(f'<th style="text-align: right">{html.escape(str(c))}</th>' for c in frame.columns)
        parts.append(f'<thead><tr><th style="text-align: left">stage</th>{head}</tr></thead><tbody>')
        for stage, row in zip(frame.index, frame.to_numpy(), strict=True):
            cells = "".join(f'<td style="text-align: right">{html.escape(str(c))}</td>' for c in row)
            parts.append(f'<tr><td style="text-align: left">{html.escape(str(stage))}</td>{cells}</tr>')
        span = len(frame.columns) + 1
        parts.append("</tbody><tfoot>")
        parts += [f'<tr><td colspan="{span}">{html.escape(n)}</td></tr>' for n in self._notes()]
        parts.append("</tfoot></table>")
        return "\n".join(parts)

    def plot(self, ax: Axes | None = None) -> Axes:
        """A flow diagram: the randomised total on top, then one column of boxes per arm (matplotlib)."""
        import matplotlib.pyplot as plt

        frame = self.to_frame()
        stages = [s for s in frame.index if s != "Randomised"]
        if ax is None:
            _, ax = plt.subplots(
                figsize=(3.2 * len(self.arms), 1.1 * (len(stages) + 1) + 0.5), layout="constrained"
            )
        n_arms = len(self.arms)
        box = {"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": "0.3"}
        top = len(stages) + 1
        ax.text(
            (n_arms - 1) / 2,
            top,
            f"Randomised\nn = {frame.loc['Randomised', TOTAL]}",
            ha="center",
            va="center",
            bbox=box,
            fontsize="small",
        )
        for j, a in enumerate(self.arms):
            ax.annotate(
                "",
                xy=(j, top - 0.6),
                xytext=((n_arms - 1) / 2, top - 0.35),
                arrowprops={"arrowstyle": "->", "color": "0.4"},
            )
            for i, stage in enumerate(stages):
                y = top - 1 - i
                label = stage.replace(": ", ":\n", 1) if len(stage) > 28 else stage
                ax.text(
                    j,
                    y,
                    f"{label}\nn = {frame.loc[stage, a]}",
                    ha="center",
                    va="center",
                    bbox=box,
                    fontsize="x-small",
                    wrap=True,
                )
        ax.set_xlim(-0.6, n_arms - 0.4)
        ax.set_ylim(0.3, top + 0.6)
        ax.set_xticks(range(n_arms), list(self.arms))
        ax.xaxis.set_ticks_position("top")
        ax.tick_params(length=0)
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(self.title, fontsize="medium")
        return ax


def consort_flow(
    trial: Trial,
    outcomes: str | Sequence[str],
    *,
    duration: str | None = None,
    follow_up: float | None = None,
    min_count: int | None = disclosure.DEFAULT_MIN_COUNT,
) -> ConsortFlow:
    """The CONSORT participant flow by arm, with small counts suppressed.

    Parameters
    ----------
    trial
        An :class:`~ipstrial.Trial` (its arm column, arms in declared order; every participant of those arms).
    outcomes
        The outcome columns (one or a list): for each, the participants analysed (outcome known) and those
        excluded (outcome missing), by arm.
    duration, follow_up
        Give both to count the participants lost to follow-up before ``follow_up`` (same unit as
        ``duration``, e.g. 548 days): event code 0 (censored) with ``duration < follow_up``. The event column
        is the one the Trial pairs with ``duration``.
    min_count
        Disclosure threshold (default 5): counts ``0 < n < min_count`` are shown as ``"<5"`` and the cells
        that would reveal them (the other stage of the same split, the Total column) as ``"*"``; ``None`` or 0
        turn suppression off, and the flow then says so.

    Returns
    -------
    ConsortFlow
        :meth:`~ConsortFlow.to_frame` (stages x arms and Total), Markdown, text, HTML and a figure.

    Notes
    -----
    Stages (CONSORT 2010, Schulz et al., BMJ 2010;340:c332, flow diagram): *Randomised* (every row of the
    Trial's arms); *Allocated* (the same numbers: the data record the randomised arm only, so allocation is
    taken to be the randomised arm and receipt of the allocated intervention is not known, which the flow
    states); *Lost to follow-up before <follow_up>* (censored before the follow-up time; participants with a
    competing exit, code 2, are not lost: their outcome is known); per outcome, *Analysed* (outcome known)
    and *Excluded* (outcome missing, with that reason). An analysis by intention to treat analyses every
    participant with a known outcome in the arm randomised.

    Disclosure (:func:`ipstrial.report.disclosure.suppress_counts`): each split (lost / not lost, analysed /
    excluded) is one block with the arm sizes as published margins and Total as the row sums; arm sizes are
    shown as they are (the design).
    """
    from ipstrial._inputs import absent_columns, gate, source
    from ipstrial._labels import labels_of
    from ipstrial.errors import TrialDataError
    from ipstrial.trial import Trial

    if not isinstance(trial, Trial):
        raise ParameterError(
            f"consort_flow needs an ipstrial.Trial (arm column and arms declared), got {type(trial).__name__}"
        )
    from ipstrial.report.format import current_labels

    shown = current_labels()  # the columns' labels (a plan's [labels]; the column names by default)
    threshold = disclosure.check_min_count(min_count)
    names = column_names(outcomes, "outcomes")  # none: the flow to allocation (and loss to follow-up)
    if (duration is None) != (follow_up is None):
        raise ParameterError(
            "give duration= and follow_up= together (e.g. duration='days_to_job', follow_up=548) to count "
            f"the participants lost to follow-up; got duration={duration!r}, follow_up={follow_up!r}"
        )
    outcome_roles: dict[str, str] = {}
    event = None
    if duration is not None:
        duration = column_name(duration, "duration")
        follow = check_number(follow_up, "follow_up", minimum=0, strict=True)
        event = trial.event_of(duration)
        if event is None:
            raise ParameterError(
                f"the Trial pairs no event column with duration {duration!r}; declare it in durations= "
                f"(e.g. durations={{{duration!r}: 'event'}})"
            )
        outcome_roles = {duration: "duration", event: "event"}
    sample = gate(trial, arm=None, outcomes=outcome_roles, need_control=False, min_arms=1)
    frame, _ = source(trial, None)
    absent = absent_columns(frame, {c: "outcome" for c in names})
    if absent is not None:
        raise TrialDataError([absent])
    labels = labels_of(frame[trial.arm])
    arms = tuple(sample.order)
    columns = [*arms, TOTAL]
    masks = {a: labels == a for a in arms}
    masks[TOTAL] = np.isin(labels, list(arms))

    stages: list[str] = []
    counts: list[list[int]] = []
    status: list[list[str]] = []
    reasons: dict[str, str] = {}

    def add_block(rows: list[tuple[str, np.ndarray, str | None]], hidden: Sequence[str] = ()) -> None:
        block = pd.DataFrame(
            [[int((masks[c] & mask).sum()) for c in columns] for _, mask, _ in rows],
            index=[name for name, _, _ in rows],
            columns=columns,
        )
        st = disclosure.suppress_counts(block, min_count=threshold, total=TOTAL, hidden=hidden)
        for name, _, reason in rows:
            if name in hidden:
                continue
            stages.append(name)
            counts.append(list(block.loc[name]))
            status.append(list(st.loc[name]))
            if reason:
                reasons[name] = reason

    everyone = np.ones(len(frame), dtype=bool)
    for name in ("Randomised", "Allocated"):
        stages.append(name)
        counts.append([int(masks[c].sum()) for c in columns])
        status.append([""] * len(columns))
    if duration is not None and event is not None:
        d = pd.to_numeric(frame[duration], errors="coerce").to_numpy(dtype=float)
        e = pd.to_numeric(frame[event], errors="coerce").to_numpy(dtype=float)
        lost = (e == 0) & (d < follow)
        unit = shown.unit(duration)
        stage = f"Lost to follow-up before {follow:g}{' ' + unit if unit else ''} ({shown.label(duration)})"
        add_block(
            [
                (stage, lost, f"censored ({event} = 0) with {duration} < {follow:g}"),
                ("followed", everyone & ~lost, None),
            ],
            hidden=["followed"],
        )
    for column in names:
        known = frame[column].notna().to_numpy()
        add_block(
            [
                (f"Analysed: {shown.label(column)}", known, None),
                (f"Excluded: {shown.label(column)}", ~known, f"{column} missing (not observed)"),
            ]
        )
    count_frame = pd.DataFrame(counts, index=stages, columns=columns).astype("Int64")
    status_frame = pd.DataFrame(status, index=stages, columns=columns)
    hidden_mask = status_frame.isin([disclosure.SMALL, disclosure.COMPLEMENT])
    count_frame = count_frame.mask(hidden_mask)
    assumptions = (
        "Allocated = randomised: the data record the randomised arm only; receipt of the allocated "
        "intervention is not recorded.",
    )
    return ConsortFlow(
        arms=arms,
        stages=tuple(stages),
        counts=count_frame,
        status=status_frame,
        reasons=reasons,
        assumptions=assumptions,
        min_count=threshold,
        inputs=sample.inputs,
    )
