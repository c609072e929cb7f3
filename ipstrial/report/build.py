"""The sections of a plan's report, in the order a trial report reads (CONSORT 2010 items 13-17):

participant flow; baseline characteristics (Table 1); the primary intention-to-treat analysis; the forest
plot of every contrast and subgroup; time to first employment (Kaplan-Meier and cumulative incidence with
numbers at risk, RMST); hours and weeks; cost-effectiveness (CE plane, acceptability curve); costs by
category; the business case; methods with their references; provenance; disclosure control.

Every number is the results' own (nothing is re-estimated), formatted by :mod:`ipstrial.report.format`;
counts below the plan's ``min_count`` are suppressed (:mod:`ipstrial.report.disclosure`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ipstrial.report.document import Page, Section, frame_html

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ipstrial.plan._run import PlanRun
    from ipstrial.plan._write import _Writer

__all__ = ["REFERENCES", "build_report"]

REFERENCES: Mapping[str, tuple[str, ...]] = {
    "proportions": (
        "Newcombe RG. Interval estimation for the difference between independent proportions: comparison of "
        "eleven methods. Stat Med 1998;17:873-890.",
        "Holm S. A simple sequentially rejective multiple test procedure. Scand J Stat 1979;6:65-70.",
    ),
    "marginal_effect": (
        "Ye T, Shao J, Yi Y, Zhao Q. Toward better practice of covariate adjustment in analyzing randomized "
        "clinical trials. J Am Stat Assoc 2023;118:2370-2382.",
        "U.S. Food and Drug Administration. Adjusting for covariates in randomized clinical trials for drugs "
        "and biological products. Guidance for industry, May 2023.",
    ),
    "subgroups": (
        "Altman DG, Bland JM. Interaction revisited: the difference between two estimates. BMJ 2003;326:219.",
    ),
    "rerandomization": (
        "Rosenberger WF, Lachin JM. Randomization in Clinical Trials: Theory and Practice, 2nd ed. Wiley, "
        "2016, chapter 6 (randomization-based inference).",
    ),
    "means": (
        "Welch BL. The generalization of 'Student's' problem when several different population variances are "
        "involved. Biometrika 1947;34:28-35.",
        "Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall, 1993.",
    ),
    "two_part": (
        "Duan N, Manning WG, Morris CN, Newhouse JP. A comparison of alternative models for the demand for "
        "medical care. J Bus Econ Stat 1983;1:115-126.",
    ),
    "rate_ratio": (
        "Lawless JF. Negative binomial and mixed Poisson regression. Can J Stat 1987;15:209-225.",
    ),
    "multiple_imputation": (
        "Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987.",
        "van Buuren S, Groothuis-Oudshoorn K. mice: Multivariate Imputation by Chained Equations in R. "
        "J Stat Softw 2011;45(3):1-67.",
    ),
    "kaplan_meier": (
        "Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc "
        "1958;53:457-481.",
        "Brookmeyer R, Crowley J. A confidence interval for the median survival time. Biometrics "
        "1982;38:29-41.",
    ),
    "logrank": (
        "Mantel N. Evaluation of survival data and two new rank order statistics arising in its "
        "consideration. Cancer Chemother Rep 1966;50:163-170.",
    ),
    "cox": (
        "Cox DR. Regression models and life-tables. J R Stat Soc B 1972;34:187-220.",
        "Efron B. The efficiency of Cox's likelihood function for censored data. J Am Stat Assoc "
        "1977;72:557-565.",
    ),
    "rmst": (
        "Royston P, Parmar MKB. Restricted mean survival time: an alternative to the hazard ratio for the "
        "design and analysis of randomized trials with a time-to-event outcome. BMC Med Res Methodol "
        "2013;13:152.",
        "Uno H, Claggett B, Tian L, et al. Moving beyond the hazard ratio in quantifying the between-group "
        "difference in survival analysis. J Clin Oncol 2014;32:2380-2385.",
    ),
    "cumulative_incidence": (
        "Aalen OO, Johansen S. An empirical transition matrix for non-homogeneous Markov chains based on "
        "censored observations. Scand J Stat 1978;5:141-150.",
        "Gray RJ. A class of K-sample tests for comparing the cumulative incidence of a competing risk. "
        "Ann Stat 1988;16:1141-1154.",
    ),
    "fine_gray": (
        "Fine JP, Gray RJ. A proportional hazards model for the subdistribution of a competing risk. "
        "J Am Stat Assoc 1999;94:496-509.",
    ),
    "cost_effectiveness": (
        "Briggs AH, Wonderling DE, Mooney CZ. Pulling cost-effectiveness analysis up by its bootstraps: a "
        "non-parametric approach to confidence interval estimation. Health Econ 1997;6:327-340.",
        "Stinnett AA, Mullahy J. Net health benefits: a new framework for the analysis of uncertainty in "
        "cost-effectiveness analysis. Med Decis Making 1998;18:S68-S80.",
        "Fenwick E, Claxton K, Sculpher M. Representing uncertainty: the role of cost-effectiveness "
        "acceptability curves. Health Econ 2001;10:779-787.",
    ),
    "costs_by_category": (
        "Thompson SG, Barber JA. How should cost data in pragmatic randomised trials be analysed? BMJ "
        "2000;320:1197-1200.",
    ),
    "table_one": (
        "Austin PC. Balance diagnostics for comparing the distribution of baseline covariates between "
        "treatment groups in propensity-score matched samples. Stat Med 2009;28:3083-3107.",
        "Yang D, Dalton JE. A unified approach to measuring the effect size between two groups using SAS. "
        "SAS Global Forum 2012, paper 335.",
    ),
    "consort": (
        "Schulz KF, Altman DG, Moher D, for the CONSORT Group. CONSORT 2010 statement: updated guidelines "
        "for "
        "reporting parallel group randomised trials. BMJ 2010;340:c332.",
    ),
}
"""The references of each analysis kind, cited in the report's methods section."""


def _context_notes(result: Any) -> list[str]:
    """The notes of a result beside its methods: its own notes and what the analysis left out."""
    own = getattr(result, "notes", ())
    notes = [str(n) for n in ((own,) if isinstance(own, str) else own) if n]
    if result.inputs is not None:
        notes += list(result.inputs.notes())
    return notes


def result_table(result: Any, min_count: int) -> pd.DataFrame:
    """A result's formatted table (:func:`ipstrial.report.tables.results_table`) with its small cells hidden
    (:func:`ipstrial.report.disclosure.suppress_result_table`); notes in ``attrs["notes"]``."""
    from ipstrial.report.disclosure import suppress_result_table
    from ipstrial.report.tables import results_table

    table, _ = suppress_result_table(
        results_table([result]), result.to_frame(), result.inputs, min_count=min_count
    )
    table.attrs["notes"] = [*table.attrs.get("notes", []), *_context_notes(result)]
    return table


def _result_html(result: Any, table: pd.DataFrame, name: str) -> str:
    """The HTML of a result's table: a great_tables table (a fixed id), or, without great_tables, a plain
    table with the same cells and notes."""
    try:
        from ipstrial.report.tables import publication_table

        return publication_table(table, title=result.title, id=f"table-{name}").as_raw_html()
    except ImportError:  # great_tables is optional (pip install 'ipstrial[report]')
        shown = table.set_index(table.columns[0])
        return frame_html(shown, caption=result.title, notes=table.attrs.get("notes", ()))


def _add_result(section: Section, run: PlanRun, writer: _Writer, name: str, heading: bool = True) -> None:
    result = run.results[name]
    spec = run.specs.get(name)
    if heading and spec is not None and spec.title:
        section.heading(spec.title)
    table = result_table(result, run.plan.settings["min_count"])
    section.raw(_result_html(result, table, name))
    writer.table(name, table)


def _figure(section: Section, writer: _Writer, name: str, make: Any, caption: str) -> None:
    png = writer.figure(name, make)
    if png is not None:
        section.figure(png, caption, alt=caption)


def _headline(run: PlanRun) -> str:
    """The primary analysis in one sentence per contrast: the proportions and the risk difference."""
    from ipstrial.report.format import describe

    primary = [n for n, s in run.specs.items() if s.role == "primary"]
    if not primary:
        return ""
    name = primary[0]
    result = run.results[name]
    rows = result.rows()
    outcome = rows[0].outcome if rows else ""
    label = run.plan.label(outcome) if outcome else result.title
    props = {
        r.contrast: describe(r)["estimate"] for r in rows if r.estimand == "proportion" and not r.variant
    }
    parts = []
    for row in rows:
        if row.estimand != "risk_difference" or row.variant:
            continue
        treatment, control = row.contrast.split(" vs ", 1)
        d = describe(row)
        parts.append(
            f"{html.escape(treatment)} {html.escape(props.get(treatment, ''))} vs {html.escape(control)} "
            f"{html.escape(props.get(control, ''))}: risk difference {html.escape(d['estimate'])} "
            f"({int(round(row.conf_level * 100))}% CI {html.escape(d['interval'])}), p {html.escape(d['p'])}"
        )
    if not parts:
        return ""
    items = "".join(f"<li>{p}</li>" for p in parts)
    return f"<strong>Primary outcome: {html.escape(label)}</strong><ul>{items}</ul>"


def build_report(run: PlanRun, writer: _Writer, document: Mapping[str, Any]) -> str:
    """The HTML of a plan's report (see the module docstring for its sections)."""
    from ipstrial.report import forest as figs
    from ipstrial.report.consort import consort_flow
    from ipstrial.report.disclosure import NOT_SUPPRESSED_NOTE
    from ipstrial.report.palette import arm_colors
    from ipstrial.report.table_one import table_one

    plan, trial = run.plan, run.trial
    settings = plan.settings
    min_count = settings["min_count"]
    colors = arm_colors(list(trial.arms))
    labels = {c: label for c, (label, _) in plan.labels.items()}
    page = Page(plan.title, lead=plan.description, headline=_headline(run))
    kinds = {name: spec.kind for name, spec in run.specs.items()}

    def named(*wanted: str) -> list[str]:
        return [n for n, k in kinds.items() if k in wanted]

    # -- participant flow
    section = page.section("flow", "Participant flow")
    # the outcomes the plan analyses, in plan order (a duration's completeness is its own stage)
    outcomes = list(
        dict.fromkeys(
            c
            for spec in plan.analyses
            for role, c in spec.columns.items()
            if role in ("outcome", "cost", "effect", "duration")
        )
    )
    durations = list(trial.schema.durations)
    lost = durations and "follow_up" in settings  # lost to follow-up: censored before the follow-up time
    flow = consort_flow(
        trial,
        outcomes,
        duration=durations[0][0] if lost else None,
        follow_up=settings["follow_up"] if lost else None,
        min_count=min_count,
    )
    section.raw(flow._repr_html_())
    writer.table("consort", flow.to_frame(), index=True)

    # -- Table 1
    section = page.section("baseline", "Baseline characteristics")
    baseline = list(plan.trial.get("baseline") or dict.fromkeys([*trial.strata, *trial.covariates]))
    if baseline:
        table1 = table_one(trial, baseline, labels=labels, min_count=min_count)
        section.raw(table1._repr_html_())
        writer.table("table1", table1.to_frame(), index=True)
    else:
        section.text("The plan declares no baseline characteristics ([trial] baseline, strata, covariates).")

    # -- the primary analysis, then the other binary analyses
    section = page.section("itt", "Intention-to-treat analysis")
    for name in [n for n, s in run.specs.items() if s.role == "primary"]:
        _add_result(section, run, writer, name)
    for name in named("proportions", "marginal_effect", "rerandomization", "subgroups"):
        if run.specs[name].role != "primary":
            _add_result(section, run, writer, name)
    forest_inputs = [run.results[n] for n in named("proportions", "subgroups")]
    if forest_inputs:
        _figure(
            section,
            writer,
            "forest",
            lambda: figs.forest_figure(forest_inputs, colors=colors, labels=labels),
            "Risk differences of every contrast and subgroup, with their confidence intervals.",
        )

    ratio_inputs = [run.results[n] for n in named("proportions", "cox", "rate_ratio", "fine_gray")]
    if ratio_inputs:
        _figure(
            section,
            writer,
            "forest_ratios",
            lambda: figs.ratio_forest_figure(ratio_inputs, colors=colors, labels=labels),
            "Ratios of every contrast on one log scale: risk ratios, hazard ratios and rate ratios, with "
            "their confidence intervals (above 1: higher with treatment).",
        )

    # -- time to event
    survival_names = named("kaplan_meier", "logrank", "cox", "rmst", "cumulative_incidence", "fine_gray")
    if survival_names:
        outcomes_t = dict.fromkeys(plan.label(run.specs[n].columns["duration"]) for n in survival_names)
        section = page.section("survival", "; ".join(outcomes_t))
        # durations in days are drawn in months (0, 6, 12, 18, ...), as trial reports show them
        unit = "months" if settings["time_unit"] == "days" else None
        for name in survival_names:
            _add_result(section, run, writer, name)
            result = run.results[name]
            if kinds[name] in _SURVIVAL_PLOTS:
                what = f"{_SURVIVAL_PLOTS[kinds[name]]}: {plan.label(run.specs[name].columns['duration'])}"
                _figure(
                    section,
                    writer,
                    name,
                    lambda result=result: result.plot(colors=colors, time_unit=unit).figure,
                    f"{what}, with numbers at risk.",
                )

    # -- hours and weeks
    count_names = named("means", "two_part", "rate_ratio", "multiple_imputation")
    if count_names:
        shown = dict.fromkeys(plan.label(run.specs[n].columns["outcome"]) for n in count_names)
        section = page.section("hours", "; ".join(shown))
        for name in count_names:
            _add_result(section, run, writer, name)

    # -- economics
    cea_names = named("cost_effectiveness")
    cost_names = named("costs_by_category")
    if cea_names or cost_names:
        section = page.section("economics", "Costs and cost-effectiveness")
        if "perspective" in plan.costs and run.derived:
            column, formula = next(iter(run.derived.items()))
            section.text(f"Perspective: {plan.costs['perspective']}; {column} = {formula}.", css="note")
        for name in cost_names:
            _add_result(section, run, writer, name)
            result = run.results[name]
            _figure(
                section,
                writer,
                name,
                lambda result=result: result.plot(colors=colors).figure,
                "Mean cost difference per participant by category, with confidence intervals.",
            )
        for name in cea_names:
            _add_result(section, run, writer, name)
            result = run.results[name]
            versus = f"{', '.join(result.treatments)} vs {result.control}"
            currency = plan.labels.get(run.specs[name].columns["cost"], ("", None))[1]
            _figure(
                section,
                writer,
                f"{name}_plane",
                lambda result=result, currency=currency: (
                    result.plot(kind="plane", colors=colors, currency=currency).figure
                ),
                f"Cost-effectiveness plane, {versus}: bootstrap replicates and the willingness-to-pay line.",
            )
            _figure(
                section,
                writer,
                f"{name}_ceac",
                lambda result=result, currency=currency: (
                    result.plot(kind="ceac", colors=colors, currency=currency).figure
                ),
                f"Cost-effectiveness acceptability curve, {versus}.",
            )

    if "budget_business_case" in run.results:
        section = page.section("business", "Business case")
        case = run.results["budget_business_case"]
        section.raw(case._repr_html_())
        writer.table("business_case", case.to_frame())
        _figure(
            section,
            writer,
            "business_case",
            lambda: case.plot(kind="lines").figure,
            "Cash flows of the business case by year.",
        )

    # -- methods
    section = page.section("methods", "Methods")
    entries = []
    done: set[str] = set()
    for name, spec in run.specs.items():
        if spec.name in done:  # one entry per planned analysis (a CEA of two treatments gives two results)
            continue
        done.add(spec.name)
        names = [n for n, s_ in run.specs.items() if s_.name == spec.name]
        methods = list(dict.fromkeys(r.method for n in names for r in run.results[n].rows() if r.method))
        text = f"{spec.title or name} [{spec.role}; {spec.kind}]: " + ("; ".join(methods) or spec.kind)
        refs = [r for r in REFERENCES.get(spec.kind, ()) if spec.options.get("adjust") or "Holm" not in r]
        entries.append(text.rstrip(".") + (f". References: {' '.join(refs)}" if refs else ""))
    entries.append("Baseline table: " + " ".join(REFERENCES["table_one"]))
    entries.append("Participant flow: " + " ".join(REFERENCES["consort"]))
    section.items(entries)

    # -- provenance and disclosure
    section = page.section("provenance", "Provenance")
    prov = document["provenance"]
    deps = ", ".join(f"{k} {v}" for k, v in prov["dependencies"].items())
    section.definitions(
        [
            ("Plan", f"{prov['plan']['name']} {prov['plan']['version']} (SHA-256 {prov['plan']['sha256']})"),
            (
                "Data",
                f"{prov['data']['file']}, {prov['data']['participants']} participants "
                f"(SHA-256 {prov['data']['sha256']})" + (f"; {run.data_note}" if run.data_note else ""),
            ),
            ("Software", f"ipstrial {prov['ipstrial']}, Python {prov['python']}; {deps}"),
            (
                "Seeds",
                f"plan {prov['seeds']['plan']}; "
                + ", ".join(f"{k} {v}" for k, v in prov["seeds"]["analyses"].items()),
            ),
            ("Created", document["created_at"]),
        ]
    )
    section = page.section("disclosure", "Disclosure control")
    if min_count > 1:
        section.text(
            f"No table or figure shows a count of participants between 1 and {min_count - 1}: such counts "
            "are "
            f"shown as <{min_count}, with complementary cells suppressed (*) where a small count could "
            "otherwise be recovered by subtraction, and a row resting on fewer participants shows no "
            "estimate. The report contains no participant-level rows."
        )
    else:
        section.text(NOT_SUPPRESSED_NOTE + " The report contains no participant-level rows.")
    section.text(
        "results.json (and an expected file written from it) is the machine record that CI compares: it "
        "holds every estimate and count unsuppressed. Keep it where the data may be kept when the data are "
        "personal.",
        css="note",
    )
    return page.render()


_SURVIVAL_PLOTS = {
    "kaplan_meier": "Kaplan-Meier curves (competing events censored)",
    "cumulative_incidence": "Cumulative incidence of the event (Aalen-Johansen, with competing risks)",
}
