"""The shared harness of the logit diagnostics: replications of the default study, the logit refitted.

For each replication ``r`` of the default study's design scenario (``replication_seed(0,
"design", r)``: the same simulated extract as the study's), the analysis runs as in the study;
then the headline's logit (:func:`fvdid.stages.logit_ame.logit_imputation_ame`) is refitted on
the first imputation with each variant of its time terms and each kind of outcome:

* ``y``: the observed outcome, with the second-order correction (the study's estimate);
* ``ync``: the observed outcome without it;
* ``yf``: the observed outcome, Firth's penalised likelihood plus the curvature correction
  (``bias_correction="firth"``);
* ``p``: the simulator's noise-free probabilities (each child's counterfactual probability plus,
  for FV children, the true effect; no correction, as there is no sampling noise), whose error
  is the model's misspecification alone.

A variant that fails on a replication is recorded (``name|kind|err``), not fatal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

import fvdid.errors as ferr
import fvdid.simulation.children as chm

Y = "looked_after_18m"
Variants = Callable[[pd.DataFrame, list[str]], tuple[pd.DataFrame, dict[str, list[str]]]]
"""``(dl, fe) -> (dl with extra columns, {name: time terms})``; ``fe`` are ``_logit_rhs``'s
fixed-effect terms for ``"pair_fy_trend"`` (pair × FY, the within-pair trends, treatment LA)."""

BIAS_CORRECTION: dict[str, bool | str] = {"y": True, "yf": "firth"}
"""The logit's bias correction by kind of fit (``ync`` and ``p``: none)."""

_P0: dict[str, pd.Series] = {}
_orig_effects = chm.child_effects_frame


def _capture_p0(child_id, fv, po, eff_abs):  # type: ignore[no-untyped-def]
    _P0["p0"] = pd.Series(po.p0[0], index=child_id)  # component 0: looked after
    return _orig_effects(child_id, fv, po, eff_abs)


def _fractional(data: pd.DataFrame, column: str, what: str = "data") -> np.ndarray:
    """The noise-free outcome is a probability: the logit's quasi-likelihood takes it as it is."""
    return data[column].to_numpy(float)


@contextlib.contextmanager
def fractional_outcome() -> Iterator[None]:
    """Within the block the logit takes the noise-free probabilities as its outcome."""
    real = ferr.check_binary
    ferr.check_binary = _fractional
    try:
        yield
    finally:
        ferr.check_binary = real


def record(rows: list[dict[str, Any]], row: dict[str, Any], out: str) -> None:
    """Append ``row``, print it and rewrite ``out`` (a run stopped early keeps its rows)."""
    rows.append(row)
    print(row, flush=True)
    pd.DataFrame(rows).to_csv(out, index=False)


def three_fits(d: pd.DataFrame, terms: Sequence[str], fixed_effects: Sequence[str],
               noise_free: np.ndarray, n_clusters: int, prefix: str = "") -> dict[str, float]:
    """The headline logit's AME on ``d`` with (``y``) and without (``ync``) the second-order
    correction, and without it on the noise-free probabilities (``p``); keys ``prefix + kind``."""
    from fvdid.stages.logit_ame import logit_imputation_ame

    def ame(data: pd.DataFrame, corr: bool) -> float:
        return logit_imputation_ame(data, Y, list(terms), n_clusters=n_clusters,
                                    fixed_effects=list(fixed_effects), bias_correction=corr).ame

    out = {f"{prefix}y": ame(d, True), f"{prefix}ync": ame(d, False)}
    with fractional_outcome():
        out[f"{prefix}p"] = ame(d.assign(**{Y: noise_free}), False)
    return out


def study_analysis(rep: int, extras: dict[str, Any] | None = None) -> tuple[Any, Any, Any, Any]:
    """Replication ``rep`` of the study's design scenario analysed as in the study.

    ``extras``: further stage options (``RunConfig.extras``, e.g. ``la_n_comparators``) on top
    of the study's.

    Returns ``(extract, run options, primary estimate, the stacked Prepared of the primary)``.
    """
    from fvdid import pipeline
    from fvdid.config import RunConfig
    from fvdid.montecarlo.design import Design, EffectScenario
    from fvdid.montecarlo.engine import replication_seed
    from fvdid.simulation import simulate
    from fvdid.stages import outcome as om
    from fvdid.stages.estimate import STACKED_FE

    captured: dict[str, Any] = {}
    orig = om.estimate_outcome

    def spy(prep, **kw):  # type: ignore[no-untyped-def]
        if tuple(kw.get("fixed_effects", ())) == STACKED_FE:
            captured["prep"] = prep
        return orig(prep, **kw)

    om.estimate_outcome = spy
    try:
        design = Design.from_mapping({"n_children": 100000})
        seed = replication_seed(0, "design", rep)
        sim = simulate(seed=seed, n_children=100000,
                       config=EffectScenario("design", "design").config(design))
        cfg = RunConfig.from_mapping({
            "seed": seed, "n_children": 100000, "progress": False, "parity_in_appendix": False,
            "ri_pool_max": 0, "boot_B": 0, "n_imputations": 2,
            "extras": {"la_placebo": False, "la_figures": False, **(extras or {})}})
        ex, _ = pipeline.simulated_extract(cfg, sim=sim)
        p = pipeline.analyse(ex, cfg, secondary=False, sensitivity=False, robustness=False).primary
    finally:
        om.estimate_outcome = orig
    return ex, cfg, p, captured["prep"]


Inputs = tuple[Any, dict[str, Any], pd.DataFrame, list[str], dict[str, list[str]], np.ndarray]


def logit_inputs(rep: int, variants: Variants, extras: dict[str, Any] | None = None) -> Inputs:
    """Replication ``rep`` analysed as in the study (``extras`` as :func:`study_analysis`'s), and
    its logit's inputs.

    Returns ``(primary estimate, the row's leading fields (rep, truth, model, estimates), the
    logit's data (first imputation, with ``variants``' columns), its covariate terms, the
    variants' time terms, the noise-free outcome)``.
    """
    from fvdid.estimators.ols import ols
    from fvdid.stages import estimate as est
    from fvdid.stages.estimate import STACKED_FE, _complete_sets, _logit_rhs
    from fvdid.stages.headline import fv_estimand

    chm.child_effects_frame = _capture_p0
    ex, cfg, p, prep = study_analysis(rep, extras)
    d0 = _complete_sets(prep)[0]
    cats = [c for c in cfg.categorical_covariates if c in prep.covariates]
    f0 = ols(est.regression_formula(Y, prep.covariates, cats, treatment="fv",
                                    fixed_effects=STACKED_FE), d0, weights="weight", vcov="iid")
    dl, rhs, fe = _logit_rhs(d0, f0, prep.covariates, cats, "fv", STACKED_FE, period="pair_fy_trend")
    covs = rhs[1:-len(fe)]
    dl, terms_of = variants(dl, fe)
    ce = ex.child_effects.set_index("child_id")[Y]
    e = fv_estimand(d0)
    r: dict[str, Any] = {"rep": rep, "truth": float(np.average(ce.reindex(e.index), weights=e.to_numpy())),
                         "model": p.headline_model, "head": p.estimate, "lin": p.linear_estimate,
                         "logit_study": p.logit_ame}
    pc = (_P0["p0"].reindex(dl["child_id"]).to_numpy()
          + np.where(dl["fv"] == 1, ce.reindex(dl["child_id"]).to_numpy(), 0.0))
    return p, r, dl, covs, terms_of, pc


def run(out: str, reps: Sequence[int], variants: Variants, kinds: Sequence[str] = ("y", "ync", "p")) -> None:
    """Refit the logit's ``variants`` on each replication; one row per replication to ``out``."""
    from fvdid.stages.logit_ame import logit_imputation_ame

    real_check = ferr.check_binary
    rows = []
    for rep in reps:
        p, r, dl, covs, terms_of, pc = logit_inputs(rep, variants)
        for name, per in terms_of.items():
            terms = [*covs, *per, "C(pair_tla)"]
            for yk in kinds:
                d = dl if yk != "p" else dl.assign(**{Y: pc})
                if yk == "p":
                    ferr.check_binary = _fractional
                try:
                    lg = logit_imputation_ame(d, Y, terms, n_clusters=p.n_clusters,
                                              fixed_effects=[*per, "C(pair_tla)"],
                                              bias_correction=BIAS_CORRECTION.get(yk, False))
                    r[f"{name}|{yk}"] = lg.ame
                    if yk in ("y", "yf"):
                        r[f"{name}|unid{yk[1:]}"] = lg.n_fv_unidentified
                except Exception as exc:  # a failed variant is recorded, not fatal
                    r[f"{name}|{yk}"] = np.nan
                    r[f"{name}|{yk}|err"] = str(exc)[:80]
                finally:
                    ferr.check_binary = real_check
        rows.append(r)
        print(r, flush=True)
        pd.DataFrame(rows).to_csv(out, index=False)


def summary(files: Sequence[str], reference: str = "fy|y") -> None:
    """Error against the matched truth (mean, MCSE, SD) of every variant, and paired differences."""
    d = read_rows(files)
    print_table(error_table(d, [c for c in d.columns if c.endswith(("|y", "|ync", "|yf", "|p"))],
                            reference))


def read_rows(files: Sequence[str]) -> pd.DataFrame:
    """The replication rows of ``files`` (one per replication) with a line saying how many."""
    d = pd.concat([pd.read_csv(f) for f in files]).drop_duplicates("rep")
    print(f"{len(d)} replications ({(d['model'] == 'logit').sum()} where the rule selected the logit)")
    return d


def _errors(x: pd.Series, label: str, rmse: bool = False) -> dict[str, Any]:
    """Mean, MCSE, SD and count of the errors ``x`` (and their RMSE with ``rmse``)."""
    x = x.dropna()
    out = {"estimate": label, "error": x.mean(), "mcse": x.std() / np.sqrt(len(x)), "sd": x.std(),
           "n": len(x)}
    if rmse:
        out["rmse"] = float(np.sqrt((x**2).mean()))
    return out


def error_table(d: pd.DataFrame, cols: Sequence[str], reference: str = "fy|y",
                extra: Callable[[str], dict[str, Any]] | None = None) -> pd.DataFrame:
    """Error against the matched truth (mean, MCSE, SD, n) of ``cols`` and ``lin``, then each
    column's paired difference from ``reference``; ``extra(c)`` adds fields to ``c``'s row."""
    res = [{**_errors(d[c] - d["truth"], c), **(extra(c) if extra else {})} for c in [*cols, "lin"]]
    res += [_errors(d[c] - d[reference], f"{c} - {reference}") for c in cols if c != reference]
    return pd.DataFrame(res)


def print_table(t: pd.DataFrame) -> None:
    print(t.to_string(index=False, float_format=lambda v: f"{v:+.5f}"))


def cli(argv: Sequence[str], run_reps: Callable[[str, list[int]], None],
        summarise: Callable[[Sequence[str]], None]) -> None:
    """``OUT.csv rep rep ...`` runs the replications; ``--summary FILE.csv ...`` summarises."""
    if argv[0] == "--summary":
        summarise(argv[1:])
    else:
        run_reps(argv[0], [int(a) for a in argv[1:]])


def main(argv: Sequence[str], variants: Variants, kinds: Sequence[str] = ("y", "ync", "p")) -> None:
    """``OUT.csv rep rep ...`` runs the replications; ``--summary FILE.csv ...`` summarises."""
    cli(argv, lambda out, reps: run(out, reps, variants, kinds), summary)
