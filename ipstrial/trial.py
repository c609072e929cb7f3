"""A trial: the participant-level data together with the roles of its columns, validated once.

``Trial(data, id=..., arm=..., arms=[...], control=..., covariates=..., binary=..., durations=...)``
checks ``data`` against the data contract (:class:`ipstrial.schema.TrialSchema`; every problem at once,
each naming the column, participant ids and the fix) and keeps the roles: every estimator accepts a
``Trial`` in place of a DataFrame and then takes the arm column, the declared arms (in their order), the
control arm and the id column from it; the treatment arms default to every other arm.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ipstrial._inputs import arms_in_data
from ipstrial._labels import label_counts, labels_of
from ipstrial.errors import ParameterError, Problem, TrialDataError
from ipstrial.schema import TrialSchema, missing_by_arm

__all__ = ["Trial"]


class Trial:
    """Participant-level trial data with the roles of its columns, validated on construction.

    Parameters
    ----------
    data
        One row per participant.  The trial keeps its own copy; :attr:`data` returns it.
    id
        The participant id column (ids present and unique), or ``None`` if there is none (messages then
        name rows by their 0-based position).
    arm
        The randomised arm column (text, whole numbers, booleans or categorical).
    arms
        The arms in the order results list them; every label in the data must be one of them.  Default:
        the labels found (categories in order, numbers and text sorted).
    control
        The control arm; estimators compare the other arms with it unless told otherwise.
    strata, covariates, binary, durations, event_codes, hours, weeks, costs, utilities
        The roles of the other columns, as in :class:`~ipstrial.schema.TrialSchema`.
    allow_cpr
        False (default): a column that looks like Danish CPR numbers is an error; True accepts it.

    Raises
    ------
    TrialDataError
        Listing every problem of the data against the contract.

    Examples
    --------
    >>> trial = Trial(df, id="participant_id", arm="arm", arms=["IPS", "IPSE", "SAU"], control="SAU",
    ...               binary=["employed_18m"], durations={"days_to_job": "event"})  # doctest: +SKIP
    >>> ipstrial.itt.compare_proportions(trial, "employed_18m")  # IPS and IPSE vs SAU  # doctest: +SKIP
    """

    __slots__ = ("_arms", "_data", "_missing", "_n_by_arm", "_schema")

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        id: str | None,
        arm: str,
        arms: Sequence[Any] | None = None,
        control: Any = None,
        strata: str | Sequence[str] = (),
        covariates: str | Sequence[str] = (),
        binary: str | Sequence[str] = (),
        durations: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        event_codes: Sequence[int] = (0, 1, 2),
        hours: str | Sequence[str] = (),
        weeks: str | Sequence[str] = (),
        costs: str | Sequence[str] = (),
        utilities: str | Sequence[str] = (),
        allow_cpr: bool = False,
    ) -> None:
        schema = TrialSchema(
            id=id,
            arm=arm,
            arms=arms,
            control=control,
            strata=strata,  # type: ignore[arg-type]
            covariates=covariates,  # type: ignore[arg-type]
            binary=binary,  # type: ignore[arg-type]
            durations=durations,  # type: ignore[arg-type]
            event_codes=event_codes,  # type: ignore[arg-type]
            hours=hours,  # type: ignore[arg-type]
            weeks=weeks,  # type: ignore[arg-type]
            costs=costs,  # type: ignore[arg-type]
            utilities=utilities,  # type: ignore[arg-type]
            allow_cpr=allow_cpr,
        )
        self._setup(data, schema)

    @classmethod
    def _from_schema(cls, data: pd.DataFrame, schema: TrialSchema) -> Trial:
        """The trial of ``data`` under ``schema`` (what :meth:`TrialSchema.validate` returns)."""
        trial = cls.__new__(cls)
        trial._setup(data, schema)
        return trial

    def _setup(self, data: pd.DataFrame, schema: TrialSchema) -> None:
        problems = schema.problems(data)
        if not problems and schema.arms is None:
            arms = arms_in_data(data[schema.arm])
            if schema.control is not None and schema.control not in arms:
                problems.append(
                    Problem(
                        schema.arm,
                        f"the control arm {schema.control!r} is not an arm label in the data; the arms are "
                        f"{list(arms)}",
                        "name the control arm as it is spelt in the data",
                    )
                )
        else:
            arms = schema.arms or ()
        if problems:
            raise TrialDataError(problems)
        object.__setattr__(self, "_schema", schema)
        object.__setattr__(self, "_arms", tuple(arms))
        object.__setattr__(self, "_data", data.copy())
        counted = [c for c in dict.fromkeys((*schema.covariates, *schema.outcomes))]
        table = missing_by_arm(data, counted, arm=schema.arm, arms=self._arms)
        summary: dict[str, dict[str, int]] = {}
        for column, row in table.iterrows():
            if int(row["total"]) > 0:
                summary[str(column)] = {str(label): int(count) for label, count in row.items()}
        object.__setattr__(self, "_missing", summary)
        counts = label_counts(labels_of(data[schema.arm]))
        object.__setattr__(self, "_n_by_arm", {a: int(counts.get(a, 0)) for a in self._arms})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Trial is read-only; build a new one with Trial.replace(...)")

    # -- the roles ---------------------------------------------------------------------------------

    @property
    def data(self) -> pd.DataFrame:
        """The validated data (the trial's own copy; treat it as read-only)."""
        return self._data

    @property
    def schema(self) -> TrialSchema:
        """The roles as a :class:`~ipstrial.schema.TrialSchema`."""
        return self._schema

    @property
    def id(self) -> str | None:
        """The participant id column, or None."""
        return self._schema.id

    @property
    def arm(self) -> str:
        """The randomised arm column."""
        return self._schema.arm

    @property
    def arms(self) -> tuple[str, ...]:
        """The arm labels in their declared order."""
        return self._arms

    @property
    def control(self) -> str | None:
        """The control arm, or None when not declared."""
        return self._schema.control

    @property
    def treatments(self) -> tuple[str, ...]:
        """Every arm but the control, in declared order (all arms when no control is declared)."""
        return tuple(a for a in self._arms if a != self.control)

    @property
    def strata(self) -> tuple[str, ...]:
        return self._schema.strata

    @property
    def covariates(self) -> tuple[str, ...]:
        return self._schema.covariates

    @property
    def binary(self) -> tuple[str, ...]:
        return self._schema.binary

    @property
    def durations(self) -> tuple[tuple[str, str], ...]:
        return self._schema.durations

    @property
    def event_codes(self) -> tuple[int, ...]:
        return self._schema.event_codes

    @property
    def hours(self) -> tuple[str, ...]:
        return self._schema.hours

    @property
    def weeks(self) -> tuple[str, ...]:
        return self._schema.weeks

    @property
    def costs(self) -> tuple[str, ...]:
        return self._schema.costs

    @property
    def utilities(self) -> tuple[str, ...]:
        return self._schema.utilities

    def roles(self) -> dict[str, tuple[str, ...]]:
        """Every column with a role, mapped to its role(s)."""
        return self._schema.roles()

    def event_of(self, duration: str) -> str | None:
        """The event column declared with ``duration`` in ``durations``, or None."""
        for d, event in self._schema.durations:
            if d == duration:
                return event
        return None

    @property
    def missing_by_arm(self) -> dict[str, dict[str, int]]:
        """Missing values per column with any, by arm and in total: ``{column: {arm: count, "total": k}}``."""
        return {column: dict(counts) for column, counts in self._missing.items()}

    @property
    def n_by_arm(self) -> dict[str, int]:
        """Participants per arm, in declared order."""
        return dict(self._n_by_arm)

    def replace(self, data: pd.DataFrame | None = None, **roles: Any) -> Trial:
        """A new trial with other data and/or roles (validated again)."""
        current = {f: getattr(self._schema, f) for f in self._schema.__dataclass_fields__}
        unknown = sorted(set(roles) - set(current))
        if unknown:
            raise ParameterError(f"Trial.replace: unknown roles {unknown}; the roles are {sorted(current)}")
        return Trial._from_schema(self._data if data is None else data, TrialSchema(**(current | roles)))

    # -- display -------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._data)

    def summary(self) -> str:
        """A few lines: participants per arm, the control, and the columns of each role."""
        arms = ", ".join(f"{a} {k}" for a, k in self.n_by_arm.items())
        lines = [f"Trial of {len(self)} participants: {arms}"]
        lines.append(f"arm column {self.arm!r}; control {self.control!r}; id column {self.id!r}")
        for role in ("strata", "covariates", "binary", "hours", "weeks", "costs", "utilities"):
            names = getattr(self, role)
            if names:
                lines.append(f"{role}: {', '.join(names)}")
        if self.durations:
            pairs = ", ".join(f"{d} (event column {e!r})" for d, e in self.durations)
            lines.append(f"durations: {pairs}; event codes {list(self.event_codes)}")
        if self._missing:
            parts = ", ".join(f"{c} {k['total']}" for c, k in self._missing.items())
            lines.append(f"missing values (kept, counted by arm in missing_by_arm): {parts}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        arms = ", ".join(f"{a}={k}" for a, k in self.n_by_arm.items())
        return f"<Trial n={len(self)} arms=({arms}) control={self.control!r}>"

    def _repr_html_(self) -> str:
        lines = self.summary().split("\n")
        body = "".join(f"<li>{html.escape(line)}</li>" for line in lines[1:])
        return f'<div class="ipstrial-trial"><strong>{html.escape(lines[0])}</strong><ul>{body}</ul></div>'
