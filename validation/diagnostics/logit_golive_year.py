"""The logit's finite-sample and misspecification errors, and finer time terms in the go-live year.

For each replication ``r`` of the default study's design scenario (``replication_seed(0,
"design", r)``: the same simulated extract as the study's), the analysis runs as in the study;
then the headline's logit (:func:`fvdid.stages.logit_ame.logit_imputation_ame`) is refitted on
the first imputation with four sets of time terms: pair × financial-year dummies (``fy``, the
default); those with the go-live financial year of each pair split at go-live (its earliest FV
referral) into a before and an after period (``fysp``); ``fysp`` plus common quarter-of-year
dummies (``fysps``); ``fy`` plus common quarter-of-year dummies (``fys``). Each is fitted to the
observed outcome with the second-order correction (``|y``, the study's estimate for ``fy``)
and without it (``|ync``), and to the simulator's noise-free probabilities (``|p``: each child's
counterfactual probability plus, for FV children, the true effect; no correction, as there is
no sampling noise), whose error is the model's misspecification alone. ``|y`` minus ``|p`` is
then the finite-sample error left after the correction.

    PYTHONPATH=. python validation/diagnostics/logit_golive_year.py OUT.csv 2 3 4 ...
    PYTHONPATH=. python validation/diagnostics/logit_golive_year.py --summary FILE.csv ...

``logit_golive_year.csv`` holds replications 2-201, run with OpenBLAS on one thread as the
study's workers (code at commit 5868792). ``fy|y`` equals the study's logit AME (``logit_study``)
to 1e-16 on 187 replications and differs on 13 (the refit keeps the covariates estimable in the
pooled model, the study those of the cell model: the likely source, not checked; ``logit_study``'s
mean error on the 200 is
+0.00111 (0.00066)); the variants are compared with ``fy|y``, paired. Its
summary (error against the matched truth, MCSE in brackets, SD across replications), quoted in
``fvdid.stages.estimate.LOGIT_PERIOD``::

    fy|y   +0.00125 (0.00069) SD 0.0098    fy|ync   -0.00048 (0.00076)   fy|p   +0.00076 (0.00057) SD 0.0081
    fysp|y +0.00422 (0.00235) SD 0.0333    fysp|ync -0.00470 (0.00112)   fysp|p -0.00052 (0.00035) SD 0.0050
    fysps|y +0.00372 (0.00236)             fysps|ync -0.00521 (0.00119)  fysps|p -0.00085 (0.00048)
    fys|y  -0.00033 (0.00079) SD 0.0112    fys|ync  -0.00231 (0.00081)   fys|p  -0.00069 (0.00064) SD 0.0091
    linear -0.00005 (0.00053) SD 0.0076;   paired: fy|p - fy|y -0.00049 (0.00049), fys|y - fy|y -0.0016 (0.0005)
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

import fvdid.errors as ferr
import fvdid.simulation.children as chm

Y = "looked_after_18m"
_P0: dict[str, pd.Series] = {}
_orig_effects = chm.child_effects_frame


def _capture_p0(child_id, fv, po, eff_abs):  # type: ignore[no-untyped-def]
    _P0["p0"] = pd.Series(po.p0[0], index=child_id)  # component 0: looked after
    return _orig_effects(child_id, fv, po, eff_abs)


def run(out: str, reps: list[int]) -> None:
    """Fit the four logits on each replication; write one row per replication to ``out``."""
    chm.child_effects_frame = _capture_p0
    from fvdid import pipeline
    from fvdid.config import RunConfig
    from fvdid.estimators.ols import ols
    from fvdid.montecarlo.design import Design, EffectScenario
    from fvdid.montecarlo.engine import replication_seed
    from fvdid.simulation import simulate
    from fvdid.stages import estimate as est
    from fvdid.stages import outcome as om
    from fvdid.stages.estimate import STACKED_FE, _complete_sets, _logit_rhs
    from fvdid.stages.headline import fv_estimand
    from fvdid.stages.logit_ame import logit_imputation_ame

    captured = {}
    orig = om.estimate_outcome

    def spy(prep, **kw):  # type: ignore[no-untyped-def]
        if tuple(kw.get("fixed_effects", ())) == STACKED_FE:
            captured["prep"] = prep
        return orig(prep, **kw)

    om.estimate_outcome = spy
    real_check = ferr.check_binary
    design = Design.from_mapping({"n_children": 100000})
    rows = []
    for rep in reps:
        seed = replication_seed(0, "design", rep)
        sim = simulate(seed=seed, n_children=100000,
                       config=EffectScenario("design", "design").config(design))
        cfg = RunConfig.from_mapping({
            "seed": seed, "n_children": 100000, "progress": False, "parity_in_appendix": False,
            "ri_pool_max": 0, "boot_B": 0, "n_imputations": 2,
            "extras": {"la_placebo": False, "la_figures": False}})
        ex, _ = pipeline.simulated_extract(cfg, sim=sim)
        p = pipeline.analyse(ex, cfg, secondary=False, sensitivity=False, robustness=False).primary
        prep = captured["prep"]
        d0 = _complete_sets(prep)[0]
        cats = [c for c in cfg.categorical_covariates if c in prep.covariates]
        f0 = ols(est.regression_formula(Y, prep.covariates, cats, treatment="fv",
                                        fixed_effects=STACKED_FE), d0, weights="weight", vcov="iid")
        dl, rhs, fe = _logit_rhs(d0, f0, prep.covariates, cats, "fv", STACKED_FE, period="pair_fy_trend")
        covs = rhs[1:-len(fe)]
        qn = pd.PeriodIndex(dl["referral_quarter"], freq="Q").quarter
        # the go-live financial year of each pair, split at go-live (its earliest FV referral)
        date = pd.to_datetime(dl["referral_date"])
        fvd = date[dl["fv"] == 1].groupby(dl.loc[dl["fv"] == 1, "pair_id"]).min()
        cut = dl["pair_id"].map(fvd)
        gofy = dl["pair_id"].map(dl.loc[date.index[date.eq(cut)], ["pair_id", "pair_fy"]]
                                 .drop_duplicates("pair_id").set_index("pair_id")["pair_fy"])
        post = (dl["pair_fy"] == gofy) & (date >= cut)
        dl = dl.assign(pair_fyg=np.where(dl["pair_fy"] == gofy, dl["pair_time"].astype(str),
                                         dl["pair_fy"].astype(str)),
                       pair_fysp=np.where(post, dl["pair_fy"].astype(str) + ":post",
                                          dl["pair_fy"].astype(str)),
                       qoy=qn.astype(str))
        ce = ex.child_effects.set_index("child_id")[Y]
        e = fv_estimand(d0)
        r = {"rep": rep, "truth": float(np.average(ce.reindex(e.index), weights=e.to_numpy())),
             "model": p.headline_model, "head": p.estimate, "lin": p.linear_estimate,
             "logit_study": p.logit_ame}
        pc = (_P0["p0"].reindex(dl["child_id"]).to_numpy()
              + np.where(dl["fv"] == 1, ce.reindex(dl["child_id"]).to_numpy(), 0.0))
        variants = {"fy": ["C(pair_fy)"], "fysp": ["C(pair_fysp)"],
                    "fysps": ["C(pair_fysp)", "C(qoy)"], "fys": ["C(pair_fy)", "C(qoy)"]}
        for name, per in variants.items():
            terms = [*covs, *per, "C(pair_tla)"]
            for yk in ("y", "ync", "p"):
                d = dl if yk != "p" else dl.assign(**{Y: pc})
                if yk == "p":  # fractional outcome: the logit's quasi-likelihood
                    ferr.check_binary = lambda data, column, what="data": data[column].to_numpy(float)
                try:
                    lg = logit_imputation_ame(d, Y, terms, n_clusters=p.n_clusters,
                                              fixed_effects=[*per, "C(pair_tla)"],
                                              bias_correction=(yk == "y"))
                    r[f"{name}|{yk}"] = lg.ame
                    if yk == "y":
                        r[f"{name}|unid"] = lg.n_fv_unidentified
                except Exception as exc:  # a failed variant is recorded, not fatal
                    r[f"{name}|{yk}"] = np.nan
                    r[f"{name}|{yk}|err"] = str(exc)[:80]
                finally:
                    ferr.check_binary = real_check
        rows.append(r)
        print(r, flush=True)
        pd.DataFrame(rows).to_csv(out, index=False)


def summary(files: list[str]) -> None:
    """Error against the matched truth (mean, MCSE, SD) of every variant, and paired differences."""
    d = pd.concat([pd.read_csv(f) for f in files]).drop_duplicates("rep")
    print(f"{len(d)} replications ({(d['model'] == 'logit').sum()} where the rule selected the logit)")
    for c in [c for c in d.columns if c.endswith(("|y", "|ync", "|p"))] + ["lin"]:
        x = (d[c] - d["truth"]).dropna()
        print(f"{c:8s} error {x.mean():+.5f} (MCSE {x.std() / np.sqrt(len(x)):.5f}) "
              f"SD {x.std():.4f} n={len(x)}")
    for a in [c for c in d.columns if c.endswith(("|y", "|ync", "|p")) and c != "fy|y"]:
        x = (d[a] - d["fy|y"]).dropna()
        print(f"{a} - fy|y {x.mean():+.5f} (MCSE {x.std() / np.sqrt(len(x)):.5f})")


if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        summary(sys.argv[2:])
    else:
        run(sys.argv[1], [int(a) for a in sys.argv[2:]])
