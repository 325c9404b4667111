"""The main job as a list of stages: :func:`analyse` computes, :func:`run` adds the appendix.

Each stage lives in its own module under :mod:`fvdid.stages`, computes a frozen result from plain
inputs and renders that result as its appendix section. :func:`analyse` is the lean path (no
figures, no files, no parity replay): it returns every number of the analysis, and the Monte
Carlo study calls it once per replication. :func:`run` is :func:`analyse` plus the parity replay
and the appendix.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fvdid._memory import tune_malloc
from fvdid._parallel import Background, default_workers, memory_capped, share_work
from fvdid._results import to_plain
from fvdid.config import RunConfig
from fvdid.errors import FvdidInputError
from fvdid.io import Extract, load_extract, validate_extract
from fvdid.reporting.appendix import AppendixTable, Section, write_appendix
from fvdid.reporting.release import released_flow
from fvdid.reporting.sdc import acro_check
from fvdid.stages import attempt
from fvdid.stages.child_matching import cem_section
from fvdid.stages.cost_benefit import CBAResult, cost_benefit, cost_benefit_section
from fvdid.stages.descriptives import descriptives_section
from fvdid.stages.estimate import OutcomeEstimate, primary_section
from fvdid.stages.inference import InferenceTable, inference_table, load_size_table, study_mdes
from fvdid.stages.la_matching import (
    LAMatchingStage,
    la_matching_section,
    not_matched,
    run_la_matching,
)
from fvdid.stages.multiplicity import hochberg_family, secondary_section
from fvdid.stages.outcome import OutcomeAnalysis, analyse_outcome, true_effect
from fvdid.stages.parity_report import parity_section, parity_summary
from fvdid.stages.placebo_pairs import (
    PlaceboPairs,
    placebo_pairs,
    placebo_pairs_section,
    with_headline,
)
from fvdid.stages.power import mdes_table, power_section
from fvdid.stages.prepare import data_section, group_labels
from fvdid.stages.provenance import provenance, provenance_section
from fvdid.stages.robustness import ROBUSTNESS_OUTCOMES
from fvdid.stages.sensitivity import SensitivityResult, run_sensitivity, sensitivity_section

__all__ = ["STAGES", "Analysis", "RunResult", "analyse", "run", "simulated_extract"]

STAGES = (
    "load extract",
    "match LAs on pre-period trends",
    "match children (CEM) and estimate the primary outcome",
    "secondary outcomes",
    "sensitivity analyses",
    "parity report",
    "write the appendix",
)
"""The progress labels, in order (the CLI's bar has one step per label)."""


@dataclass(frozen=True)
class Analysis:
    """Every number of the analysis of one extract (no figures unless asked for, no files).

    Attributes
    ----------
    config
        The options used.
    source, input_hash
        Where the extract came from and its sha256.
    treated
        The treatment LAs.
    la_matching
        LA matching (pairs, rankings, exclusions, placebos).
    outcomes
        Outcome -> :class:`fvdid.stages.outcome.OutcomeAnalysis` (primary first).
    primary
        The primary outcome's estimate.
    secondary
        Secondary outcome -> estimate (the outcomes that could be estimated).
    hochberg
        Hochberg's adjustment across the secondary outcomes.
    sensitivity
        The sensitivity analyses of the primary outcome (None: a data condition, see ``notes``).
    mdes
        The MDES table.
    cba
        The cost-benefit sums.
    truth
        Outcome -> the true effect the headline estimates: the mean effect among the matched FV
        children it averages over (simulated extracts only).
    truth_all_fv
        Outcome -> the true mean effect among all FV children of the outcome's analytic sample
        (before CEM), the estimand CEM's pruning moves the headline away from.
    notes
        What could not be done at run level and why.
    placebo_pairs
        Randomization inference and Conley–Taber of the primary headline over placebo pairs
        (:mod:`fvdid.stages.placebo_pairs`); None when switched off (``ri_pool_max = 0``) or not
        done (the reason is in ``notes``).
    """

    config: RunConfig
    source: str
    input_hash: str
    treated: tuple[str, ...]
    la_matching: LAMatchingStage = field(repr=False)
    outcomes: Mapping[str, OutcomeAnalysis] = field(repr=False)
    primary: OutcomeEstimate
    secondary: Mapping[str, OutcomeEstimate]
    hochberg: pd.DataFrame
    sensitivity: SensitivityResult | None
    mdes: pd.DataFrame
    cba: CBAResult
    truth: Mapping[str, float]
    truth_all_fv: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    placebo_pairs: PlaceboPairs | None = field(default=None, repr=False)

    def records(self) -> pd.DataFrame:
        """One row per outcome × estimator × inference method, with the truth of its estimand.

        Columns: ``outcome, estimator, method, estimate, std_error, conf_low, conf_high,
        p_value, truth`` (truth NaN on a real extract, or where the estimand has no simulated
        truth, e.g. log-odds). The appendix's headline is ``estimator == "headline"``.
        """
        from fvdid.stages.records import analysis_records

        return analysis_records(self)

    def results(self) -> dict[str, Any]:
        """The released numbers (results.json without provenance), disclosure-controlled."""
        cfg = self.config
        sens = self.sensitivity
        return {
            "config": to_plain(cfg),
            "flow": {o: to_plain(released_flow(a.flow, cfg)) for o, a in self.outcomes.items()},
            "la_pairs": to_plain(self.la_matching.pairs),
            "primary": {k: v for k, v in to_plain(self.primary).items() if k != "table"},
            "secondary": {o: {k: v for k, v in to_plain(e).items() if k != "table"}
                          for o, e in self.secondary.items()},
            "hochberg": to_plain(self.hochberg),
            "sensitivity": None if sens is None else {
                "estimates": to_plain(sens.estimates),
                "bacon_twfe": sens.bacon_twfe,
                "bacon_summary": to_plain(sens.bacon_summary),
                "cs_aggregations": to_plain(sens.cs_aggregations),
                "notes": list(sens.notes),
                "shock_tests": to_plain(sens.shock_tests),
                "cs_pretest": sens.cs_pretest_text,
                "cs_randomization_p": sens.cs_ri_pvalue,
                "cs_n_clusters": sens.cs_n_clusters,
            },
            "placebo_pairs": None if self.placebo_pairs is None else self.placebo_pairs.released(),
            "truth": dict(self.truth),
            "truth_all_fv": dict(self.truth_all_fv),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class RunResult:
    """What the main job produced and where it wrote it."""

    config: RunConfig
    extract_source: str
    input_hash: str
    flow: pd.DataFrame
    primary: OutcomeEstimate
    secondary: dict[str, OutcomeEstimate]
    hochberg: pd.DataFrame
    paths: dict[str, Path]
    truth: dict[str, float] = field(default_factory=dict)
    sections: tuple[Section, ...] = ()
    analysis: Analysis | None = field(default=None, repr=False)


def _frame_hash(frames: Sequence[pd.DataFrame]) -> str:
    h = hashlib.sha256()
    for f in frames:
        h.update(pd.util.hash_pandas_object(f, index=True).to_numpy().tobytes())
    return h.hexdigest()


def simulated_extract(config: RunConfig, sim: Any = None, *,
                      input_hash: bool = True) -> tuple[Extract, Any]:
    """The embedded default extract (or ``sim``, a simulator result) as an :class:`Extract`.

    ``input_hash`` False leaves the extract's sha256 empty (a Monte Carlo replication, whose
    extract is never published: its provenance is the replication's seed).
    """
    from fvdid.simulation import simulate

    if sim is None:
        sim = simulate(seed=config.seed, n_children=config.n_children)
    source = f"fvdid.simulate(seed={config.seed}, n_children={config.n_children})"
    ex = Extract(children=sim.children, las=sim.las, la_quarter=sim.la_quarter,
                 absence_terms=getattr(sim, "absence_terms", None), source=source,
                 input_hash=_frame_hash([sim.children, sim.las]) if input_hash else "", truth=sim.truth,
                 child_effects=sim.child_effects,
                 # the shocks' dates only: the simulator's true responses include the treated LAs'
                 # differential, which the common-shock test must detect, not condition on
                 shocks=sim.shocks[["la_code", "shock", "date"]])
    return validate_extract(ex), sim


# Transient memory of one outcome's analysis per child of the extract: measured on the default
# simulation with 1M children (fvdid run, one process), the outcomes' peaks were 11.6-12.5 GB
# over the 3.7 GB the run holds between them, i.e. ~9 KB per child. Two workers are used only
# when two such analyses fit in the memory available (fvdid._parallel.memory_capped).
TASK_BYTES_PER_CHILD = 9_000


def _analysed_outcomes(ex: Extract, cfg: RunConfig) -> list[str]:
    outcomes = [cfg.primary_outcome, *[o for o in cfg.secondary_outcomes if o != cfg.primary_outcome]]
    return [o for o in outcomes if o in ex.children.columns and o in ex.la_quarter.columns]


def analyse(
    extract: Extract,
    config: RunConfig | None = None,
    *,
    figures: bool = False,
    secondary: bool = True,
    sensitivity: bool = True,
    robustness: bool = True,
    checks: bool = True,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    keep_imputations: bool = True,
    on_primary: Callable[[OutcomeAnalysis], None] | None = None,
) -> Analysis:
    """Analyse an extract as the protocol says: every number, no files.

    Parameters
    ----------
    extract
        The validated extract (:func:`fvdid.io.load_extract`, or :func:`simulated_extract`).
    config
        Options (defaults: the protocol's numbers).
    figures
        Also draw the figures (trend plots, balance plot, Bacon and event-study plots), as the
        appendix needs; the lean path (Monte Carlo) leaves them out.
    secondary, sensitivity
        Run the secondary outcomes and the sensitivity analyses (a Monte Carlo study of the
        primary outcome alone leaves them out; its records then hold the primary only).
    robustness
        Fit the robustness models (FGLS random effects, tobit, hurdle, the absence mixed model);
        a Monte Carlo study of the headline's inference alone may leave them out.
    checks
        Fit the primary's specification checks: the protocol's literal pooled specification
        (LA and financial-year fixed effects, ``protocol_literal``) and the logit with the other
        period terms (``logit_ame_alt_*``), and the LA matching's extract check (the nearest LA
        of the unrestricted pool beside the nearest with child-level records). They are checks,
        not inference methods of the headline; a Monte Carlo study of the headline's inference
        alone (the timed default study) may leave them out. The secondary outcomes are
        unaffected.
    progress
        Called with the label of each stage of :data:`STAGES` as it starts.
    workers
        Processes the analysis may use (default :func:`fvdid._parallel.default_workers`: the
        usable cores, at most 2, or ``FVDID_WORKERS``). The placebo pairs, the secondary
        outcomes and the sensitivity analyses are computed in forked workers while this process
        analyses the primary outcome (:func:`fvdid._parallel.share_work`); the numbers do not
        depend on it. Fewer when the memory available would not hold that many outcome
        analyses at once (:data:`TASK_BYTES_PER_CHILD`).
    keep_imputations
        Keep every outcome's completed data sets in ``outcomes[o].prepared.imputed`` (the
        default). ``fvdid run`` needs none of them once the estimates are made and leaves them
        out: on 1M children they were most of its memory (6 outcomes × ``n_imputations`` copies
        of the analytic sample). The flow, the missingness table and ``imputation_method`` stay.
    on_primary
        Called in this process with the primary outcome's analysis as soon as it is made, before
        this process takes its share of the other work (``fvdid run`` puts the descriptive
        tables through ACRO there, while the workers go on; the numbers do not depend on it).
    """
    cfg = config or RunConfig()
    step = progress or (lambda label: None)

    def kept(a: OutcomeAnalysis) -> OutcomeAnalysis:
        if keep_imputations or not a.prepared.imputed:
            return a
        return dataclasses.replace(a, prepared=dataclasses.replace(a.prepared, imputed=()))

    ex, notes = extract, []
    outcomes = _analysed_outcomes(ex, cfg)[: None if secondary else 1]
    step(STAGES[1])
    lam = run_la_matching(ex.la_quarter, ex.las, outcomes=outcomes, config=cfg, figures=figures,
                          extract_check=checks)
    pairs = {o: lam.pairs[lam.pairs["outcome"] == o] for o in outcomes}
    notes += not_matched(lam)
    step(STAGES[2])

    def analyse_primary() -> OutcomeAnalysis:
        first = analyse_outcome(
            cfg.primary_outcome, ex.children, ex.las, pairs[cfg.primary_outcome], cfg,
            bootstrap=True, make_figure=figures, literal=checks, robustness=robustness,
            logit_alt_check=checks)
        if first.estimate is None:
            raise FvdidInputError(f"the primary outcome {cfg.primary_outcome} cannot be estimated "
                                  "on this extract: " + "; ".join(first.notes))
        step(STAGES[3])
        if on_primary is not None:
            on_primary(first)
        return kept(first)

    def placebo_task() -> tuple[PlaceboPairs | None, list[str]]:
        said: list[str] = []
        pp = attempt(said, "randomization inference and Conley–Taber over placebo pairs",
                     lambda: placebo_pairs(ex, lam, None, cfg))
        return pp, said

    def secondary_task(o: str) -> Callable[[], OutcomeAnalysis]:
        return lambda: kept(analyse_outcome(o, ex.children, ex.las, pairs[o], cfg, bootstrap=True,
                                            absence_terms=ex.absence_terms, robustness=robustness))

    def sensitivity_task() -> tuple[SensitivityResult | None, list[str]]:
        said: list[str] = []
        res = attempt(said, "sensitivity analyses", lambda: run_sensitivity(
            ex.children, ex.la_quarter, ex.las, outcome=cfg.primary_outcome,
            pairs=pairs[cfg.primary_outcome], time_fe=cfg.time_fe,
            covariates=(*cfg.child_covariates, *cfg.la_covariates),
            categorical=cfg.categorical_covariates, max_missing_share=cfg.max_missing_share,
            seed=cfg.seed, alpha=cfg.alpha, figures=figures, child_effects=ex.child_effects,
            shocks=ex.shocks))
        return res, said

    # The placebo pairs, the secondary outcomes and the sensitivity analyses need nothing of the
    # primary's: forked workers compute them meanwhile, the longest first (whichever process is
    # free takes the next). Measured on the default (2 processes, 2026-12-04, ``python -m
    # bench.run_timeline``): the primary 7.4 s (then ACRO 1.8 s in ``fvdid run``), the placebo
    # pairs 7.1 s, the sensitivity analyses 3.1 s, days on plans 6.9 s and absence 3.9 s (their
    # robustness models: tobit and hurdle, the mixed model), the CPP outcome 3.3 s, kinship and
    # reunification 0.3 s each; the two processes ended 0.8 s apart. The secondary outcomes
    # with robustness models go first. Their notes are merged below in the order of the
    # appendix.
    tasks: dict[tuple[str, ...], Callable[[], Any]] = {}
    if cfg.ri_pool_max > 0:
        tasks[("placebo",)] = placebo_task
    if sensitivity:
        tasks[("sensitivity",)] = sensitivity_task
    heavy = ROBUSTNESS_OUTCOMES if robustness else ()
    tasks.update({("outcome", o): secondary_task(o)
                  for o in sorted(outcomes[1:], key=lambda o: o not in heavy)})
    n_workers = memory_capped(default_workers() if workers is None else int(workers),
                              TASK_BYTES_PER_CHILD * len(ex.children))
    first, done_list = share_work(analyse_primary, list(tasks.values()), workers=n_workers)
    done = dict(zip(tasks, done_list))
    placebo, said = done.get(("placebo",), (None, []))
    if placebo is not None:
        placebo = with_headline(placebo, first.estimate)
    sens, sens_notes = done.get(("sensitivity",), (None, []))
    analyses = {cfg.primary_outcome: first, **{o: done[("outcome", o)] for o in outcomes[1:]}}
    primary = first.estimate
    notes += said
    sec = {o: a.estimate for o, a in analyses.items()
                 if o != cfg.primary_outcome and a.estimate is not None}
    family = [o for o in cfg.secondary_outcomes if o != cfg.primary_outcome] if secondary else []
    why = {o: "absent from the extract (children or la_quarter)" for o in family if o not in analyses}
    why.update({o: "; ".join(a.notes) or "not estimated" for o, a in analyses.items() if a.estimate is None})
    notes += [f"secondary outcome {o} not estimated: {r}" for o, r in why.items()]
    hb = hochberg_family(sec, family, why)
    step(STAGES[4])
    notes += sens_notes
    pa = analyses[cfg.primary_outcome].prepared.analytic
    truth, truth_all = _truths(ex, analyses)
    treated = tuple(ex.las.loc[ex.las["treated"].astype(bool), "la_code"])
    return Analysis(
        cfg, ex.source, ex.input_hash, treated, lam, analyses, primary, sec, hb, sens,
        mdes=mdes_table(pa, float(primary.baseline_rate), cfg),
        cba=cost_benefit(pa, primary.estimate, primary.p_value, cfg), truth=truth,
        truth_all_fv=truth_all, notes=tuple(notes), placebo_pairs=placebo)


def _truths(ex: Extract, analyses: Mapping[str, OutcomeAnalysis]) -> tuple[dict[str, float], dict[str, float]]:
    """The simulator's truths: the headline's estimand (matched FV children) and all FV children."""
    if ex.child_effects is None:
        return {}, {}
    matched = {o: true_effect(ex.child_effects, a.estimand.index, o, a.estimand)
               for o, a in analyses.items()}
    every = {}
    for o, a in analyses.items():
        d = a.prepared.analytic
        every[o] = true_effect(ex.child_effects, d.loc[d["fv"] == 1, "child_id"], o)
    return matched, every


def run(
    config: RunConfig | None = None,
    *,
    data: Path | None = None,
    mapping: Path | None = None,
    out_dir: Path = Path("fvdid-output"),
    progress: Callable[[str], None] | None = None,
    montecarlo: Path | None = None,
) -> RunResult:
    """Run the analysis end to end and write the appendix into ``out_dir``.

    Parameters
    ----------
    config
        Options (defaults: the protocol's numbers).
    data
        An extract folder (see :mod:`fvdid.io`); None simulates the embedded default.
    mapping
        Column-mapping file for a real extract.
    out_dir
        Where ``appendix.html``, ``appendix.md``, ``results.json``, tables and figures go.
    progress
        Called with each label of :data:`STAGES` as the stage starts (the CLI draws a bar).
    montecarlo
        The folder of a Monte Carlo study (``fvdid montecarlo --out DIR``): its size table goes
        into the appendix and decides which inference methods are marked recommended.
    """
    cfg = config or RunConfig()
    tune_malloc()  # freed arrays kept for reuse (fvdid._memory): 13 s of kernel time less
    if montecarlo is None and data is None:
        montecarlo = default_study(cfg)
    size = None if montecarlo is None else load_size_table(montecarlo, cfg.alpha)
    step = progress or (lambda label: None)
    step(STAGES[0])
    # The parity report replays the golden files: it needs nothing of the analysis.
    bg = Background(parity_summary) if cfg.parity_in_appendix else None
    acro: dict[str, Any] = {}

    def check_outputs(primary: OutcomeAnalysis) -> None:
        # the descriptive tables through ACRO while the workers analyse the other outcomes
        acro["summary"] = _acro(primary.prepared.analytic, cfg, Path(out_dir))

    try:
        ex = simulated_extract(cfg)[0] if data is None else load_extract(Path(data), mapping)
        an = analyse(ex, cfg, figures=True, progress=step, keep_imputations=False,
                     on_primary=check_outputs)
    except BaseException:
        if bg is not None:
            bg.cancel()
        raise
    if montecarlo is not None:
        an = with_study_mdes(an, montecarlo)
    step(STAGES[5])
    parity = None if bg is None else bg.result()
    step(STAGES[6])
    prov = provenance(cfg, ex.source, ex.input_hash, mapping=mapping)
    inf = inference_table(an, size)
    sections = _sections(an, parity, prov, inf, size)
    results = {"provenance": prov, **an.results()}
    results["primary"]["inference"] = inf.records()
    results["primary"]["inference_recommendation"] = inf.sentence
    results["primary"]["inference_warnings"] = list(inf.warnings)
    if acro.get("summary") is not None:  # acro (the sdc extra) installed
        results["acro"] = acro["summary"]
        sections.insert(-1, _acro_section(acro["summary"]))
    paths = write_appendix(sections, Path(out_dir), results=results)
    pa = an.outcomes[cfg.primary_outcome]
    return RunResult(cfg, ex.source, ex.input_hash, pa.flow, an.primary, dict(an.secondary),
                     an.hochberg, paths, dict(an.truth), tuple(sections), an)


def with_study_mdes(an: Analysis, study: Path) -> Analysis:
    """``an`` with the study's simulation MDES (its effect grid) as a row of the MDES table.

    Unchanged when the study has no effect grid or the headline's pair-level test never reaches
    80 % power on it (:func:`fvdid.stages.inference.study_mdes`).
    """
    cfg = an.config
    sim_mdes = study_mdes(study, cfg.primary_outcome)
    if sim_mdes is None:
        return an
    return dataclasses.replace(an, mdes=mdes_table(
        an.outcomes[cfg.primary_outcome].prepared.analytic, float(an.primary.baseline_rate), cfg,
        simulation_mdes=abs(sim_mdes)))  # a size, as the analytic rows


#: The committed Monte Carlo study of the embedded default design analysed by the current
#: estimators (validation/ in the repository; ``montecarlo-100k`` is the previous code's).
DEFAULT_STUDY = Path(__file__).resolve().parents[1] / "validation" / "montecarlo-100k-imp"


def default_study(cfg: RunConfig, folder: Path = DEFAULT_STUDY) -> Path | None:
    """The committed study whose design is the one ``cfg`` simulates, if it is there.

    ``fvdid run`` on the embedded default (no ``--data``) uses it for the "which inference holds
    its size" table, since it is a study of exactly that design (the simulator's defaults with
    ``cfg.n_children`` children); for any other design or a real extract pass
    ``--montecarlo DIR`` explicitly. Returns None when the folder or its summary is absent or its
    design differs.
    """
    import json

    manifest, summary = folder / "study.json", folder / "summary.parquet"
    if not (manifest.exists() and summary.exists()):
        return None
    design = json.loads(manifest.read_text()).get("design", {})
    return folder if design == {"n_children": int(cfg.n_children)} else None


def _sections(an: Analysis, parity: pd.DataFrame | None, prov: dict[str, Any], inf: InferenceTable,
              size: pd.DataFrame | None) -> list[Section]:
    """Each stage's appendix section, in the protocol's order."""
    cfg = an.config
    po = cfg.primary_outcome
    pa = an.outcomes[po]
    out = [
        data_section(an.source, an.input_hash, an.treated, an.outcomes, po, cfg),
        la_matching_section(an.la_matching, cfg),
        cem_section(an.outcomes, po, cfg),
        descriptives_section(pa.prepared.analytic, cfg),
        primary_section(an.primary, pa.protocol_literal, an.truth.get(po), cfg,
                        truth_all_fv=an.truth_all_fv.get(po), inference=inf.table,
                        recommendation=" ".join((inf.sentence, *inf.warnings))),
        None if cfg.ri_pool_max == 0 and an.placebo_pairs is None else placebo_pairs_section(
            an.placebo_pairs, " ".join(n for n in an.notes if n.startswith(
                "randomization inference and Conley–Taber over placebo pairs not done"))),
        None if size is None else Section(
            "Which inference holds its size on this design",
            ("The Monte Carlo study's null rejection rate of every estimator × method, against the "
             "band of a correctly sized 5 % test over its replications.",),
            (AppendixTable("mc_size", "Which inference holds its size on this design", size),)),
        secondary_section(an.secondary, an.hochberg, an.outcomes, cfg),
        None if an.sensitivity is None else sensitivity_section(an.sensitivity),
        None if parity is None else parity_section(parity),
        power_section(an.mdes, float(an.primary.baseline_rate), cfg),
        cost_benefit_section(an.cba),
        provenance_section(prov, an.notes),
    ]
    return [s for s in out if s is not None]


def _acro(analytic: pd.DataFrame, cfg: RunConfig, out_dir: Path) -> dict[str, Any] | None:
    """The primary outcome's descriptive tables through ACRO (SACRO's output checker); None when
    acro is absent."""
    return acro_check(
        analytic.assign(group=group_labels),
        out_dir / "acro", index="financial_year", columns="group",
        means=["age_at_referral", cfg.primary_outcome, "days_cpp_cin_18m", "unauth_absence_rate"])


def _acro_section(acro: dict[str, Any]) -> Section:
    return Section(
        "Output checking (ACRO)",
        ("The descriptive tables were also produced through ACRO (SACRO's output-checking "
         "library, suppression on); its outputs, checks and session summary are in acro/ for "
         "the output checkers.",),
        (AppendixTable("acro", "ACRO outputs, their status and ACRO's reason", pd.DataFrame(
            [(k, v, acro.get("reasons", {}).get(k, "")) for k, v in acro["outputs"].items()],
            columns=["output", "status", "reason"])),))
