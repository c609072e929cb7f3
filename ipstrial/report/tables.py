"""Tables of results for publication, CSV and Markdown, formatted by :mod:`ipstrial.report.format`.

* :func:`results_table` -- results (or an ARD frame) -> a pandas DataFrame of formatted strings: the
  columns of a result's summary (contrast, subgroup and level, estimand, estimate, interval, p, adjusted p,
  n), numbers by estimand and unit, outcomes by their labels, methods as numbered notes (``attrs["notes"]``).
  The report writes it as CSV and, with :func:`markdown_table`, as Markdown.
* :func:`markdown_table` -- a DataFrame -> a GitHub-flavoured Markdown table, without the ``tabulate``
  dependency that :meth:`pandas.DataFrame.to_markdown` needs.
* :func:`publication_table` -- the same table as a ``great_tables.GT`` (a table library made for publication:
  grouped rows, spanners, footnotes, HTML and LaTeX output). great_tables is an optional extra
  (``pip install ipstrial[report]``, ``great_tables>=0.10``); it is pure Python itself, but pulls
  ``multimark`` (cffi bindings to the C ``cmark``), ``htmltools``, ``faicons``, ``Babel`` and ``nokap``
  (headless-Chrome screenshots, with ``websockets``); it is imported only inside :func:`publication_table`
  (~0.25 s), so ``import ipstrial`` is not slowed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from ipstrial.report.format import MISSING, Labels, as_labels, display_columns

if TYPE_CHECKING:  # pragma: no cover
    from great_tables import GT

    from ipstrial.results import Result

__all__ = ["markdown_table", "publication_table", "results_table"]

_DROP = ("Analysis", "Method", "SE")


def _absent(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _rows_of(results: Any) -> list[Any]:
    """The ARD rows of a result, an iterable of results, or an ARD frame (as Row objects)."""
    from ipstrial._checks import ParameterError
    from ipstrial.results import ARD_COLUMNS, Result, Row

    if isinstance(results, Result):
        return list(results.rows())
    if isinstance(results, pd.DataFrame):
        missing = [c for c in ARD_COLUMNS if c not in results.columns]
        if missing:
            raise ParameterError(
                f"results_or_frame: the frame lacks the ARD columns {missing}; give results, or the frame of "
                "ipstrial.results.collect() / Result.to_frame()"
            )
        rows = []
        for record in results.to_dict(orient="records"):
            base = {c: record[c] for c in ARD_COLUMNS}
            extra = {k: v for k, v in record.items() if k not in ARD_COLUMNS and not _absent(v)}
            for key in ("method", "variant", "outcome"):
                if not isinstance(base[key], str):
                    base[key] = ""
            rows.append(Row(**base, extra=extra))  # type: ignore[arg-type]
        return rows
    if isinstance(results, Iterable) and not isinstance(results, str | bytes | Mapping):
        items = list(results)
        bad = [type(item).__name__ for item in items if not isinstance(item, Result)]
        if bad:
            raise ParameterError(f"results must be Result objects or an ARD frame, got {bad[0]}")
        return [row for item in items for row in item.rows()]
    raise ParameterError(
        f"results must be a Result, a list of results or an ARD frame, got {type(results).__name__}"
    )


def results_table(
    results: Result | Iterable[Result] | pd.DataFrame,
    labels: Labels | Mapping[str, object] | None = None,
    *,
    methods: bool = True,
) -> pd.DataFrame:
    """A DataFrame of formatted strings, one line per ARD row, for CSV, Markdown and publication tables.

    Columns: ``Outcome`` (the label), ``Contrast``, ``Subgroup`` and ``Level`` (subgroup rows), ``Estimand``,
    ``Variant`` (when some variant is not a subgroup level), ``Estimate``, the interval (``95% CI``), ``p``
    (blank for single-arm rows), ``p (Holm)`` (rows with adjusted p-values), ``n``, and ``Method`` as a note
    number; the notes (``"[1] Wilson score"``) are in ``frame.attrs["notes"]``. Numbers follow
    :func:`ipstrial.report.format.format_estimate`, :func:`~ipstrial.report.format.format_interval` and
    :func:`~ipstrial.report.format.format_p`.

    Parameters
    ----------
    results
        A result, a list of results, or an ARD frame (:func:`ipstrial.results.collect`).
    labels
        Column -> label or ``(label, unit)``; default: the labels a plan set
        (:func:`ipstrial.report.format.use_labels`).
    methods
        Keep the ``Method`` column (note numbers) and ``attrs["notes"]``.
    """
    labels = as_labels(labels)
    rows = _rows_of(results)
    cols = display_columns(rows, labels=labels)
    out: dict[str, list[str]] = {
        "Outcome": [labels.label(row.outcome) if row.outcome else MISSING for row in rows]
    }
    for name, values in cols.items():
        if name in _DROP or name == "Outcome":
            continue
        out[name] = values
    notes: dict[str, int] = {}
    if methods:
        out["Method"] = [
            f"[{notes.setdefault(row.method, len(notes) + 1)}]" if row.method else "" for row in rows
        ]
    frame = pd.DataFrame(out, dtype=object)
    frame.attrs["notes"] = [f"[{k}] {text}" for text, k in notes.items()]
    return frame


def _cell(value: object) -> str:
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of ``frame`` (its columns as header, values as text, ``|`` escaped);
    the notes in ``frame.attrs["notes"]`` follow as lines. Numbers are not reformatted: pass a
    :func:`results_table`. Columns whose cells look numeric are right-aligned (``---:``).

    Parameters
    ----------
    frame
        The table; its index is not written (reset it first to keep it).
    """
    from ipstrial._checks import ParameterError

    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    headers = [_cell(c) for c in frame.columns]
    body = [[_cell(v) for v in record] for record in frame.itertuples(index=False)]

    def numeric(j: int) -> bool:
        cells = [r[j] for r in body if r[j] not in ("", MISSING)]
        return bool(cells) and all(c[:1] in "-<>0123456789" for c in cells)

    align = ["---:" if numeric(j) else "---" for j in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    notes = frame.attrs.get("notes") or []
    if notes:
        lines.append("")
        lines += [f"{note}  " for note in notes]
    return "\n".join(lines) + "\n"


def publication_table(
    results_or_frame: Result | Iterable[Result] | pd.DataFrame,
    *,
    labels: Labels | Mapping[str, object] | None = None,
    title: str | None = None,
    notes: Iterable[str] = (),
    id: str | None = None,
) -> GT:
    """A table for publication (``great_tables.GT``) of results: rows grouped by outcome label, the
    columns of :func:`results_table`, method notes as source notes.

    Parameters
    ----------
    results_or_frame
        A result, a list of results, an ARD frame, or a frame already made by :func:`results_table`
        (recognised by its ``Estimate`` column).
    labels
        Column -> label or ``(label, unit)``; default: the labels a plan set.
    title
        The table's title; default: the result's title when one result is given.
    notes
        More source notes after the method notes (e.g. what the analysis left out).
    id
        The HTML id of the table (great_tables draws a random one otherwise): a fixed id gives the same
        HTML for the same table.

    Raises
    ------
    ImportError
        When great_tables is not installed, with the command that installs it.
    """
    try:
        from great_tables import GT
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "publication_table needs great_tables: pip install 'ipstrial[report]' (or great_tables>=0.10); "
            "results_table() gives the same table as a DataFrame without it"
        ) from exc
    from ipstrial.report.format import use_labels
    from ipstrial.results import Result

    if isinstance(results_or_frame, pd.DataFrame) and "Estimate" in results_or_frame.columns:
        frame = results_or_frame.copy()
        frame.attrs = dict(results_or_frame.attrs)
    else:
        frame = results_table(results_or_frame, labels)
    if title is None and isinstance(results_or_frame, Result):
        with use_labels(as_labels(labels)):
            title = results_or_frame.title
    sources = [*(frame.attrs.get("notes") or []), *notes]
    frame.attrs = {}
    grouped = "Outcome" in frame.columns and frame["Outcome"].nunique() > 1
    table = GT(frame, groupname_col="Outcome" if grouped else None, id=id)
    if "Outcome" in frame.columns and not grouped:
        table = table.cols_hide("Outcome")
    if title:
        table = table.tab_header(title=title)
    right = [
        c for c in frame.columns if c in ("Estimate", "n") or str(c).endswith("CI") or str(c).startswith("p")
    ]
    if right:
        table = table.cols_align(align="right", columns=right)
    for note in sources:
        table = table.tab_source_note(note)
    return table
