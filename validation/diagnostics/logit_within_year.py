"""Within-year time terms for the logit: pair × quarter-of-year dummies, or a within-pair trend.

A follow-up of ``logit_golive_year.py`` on the same replications (2-201 of the default study's
design scenario, ``replication_seed(0, "design", r)``; the analysis as in the study, the logit
refitted on the first imputation). Variants of the headline logit's time terms: pair ×
financial-year dummies (``fy``, the default); those plus pair × quarter-of-year dummies (``fypq``,
three per pair: each pair's average within-year profile, estimated from every year of both of
its LAs; ``LOGIT_PERIOD = "pair_fy_season"``); those plus a linear trend in quarters within each
pair that is zero in the COVID financial year 2020/21 (``fytrx``: the plain trend of
``logit_time_terms.py`` failed on replication 65, where the COVID year's within-year profile set
the slope). Suffixes as in ``logit_golive_year.py``: ``|y`` observed outcome with the
second-order correction, ``|ync`` without it, ``|p`` the noise-free probabilities.

    PYTHONPATH=. python validation/diagnostics/logit_within_year.py OUT.csv 2 3 4 ...
    PYTHONPATH=. python validation/diagnostics/logit_within_year.py --summary FILE.csv ...

``logit_within_year.csv`` holds replications 2-201 (code at commit 5868792, OpenBLAS on one
thread). Its summary (error against the matched truth, MCSE in brackets, SD; median; RMSE)::

    fy|y    +0.00125 (0.00069) SD 0.0098  median +0.0025  RMSE 0.0099   fy|p    +0.00076 (0.00057) SD 0.0081
    fypq|y  +0.00005 (0.00092) SD 0.0130  median +0.0014  RMSE 0.0129   fypq|p  -0.00033 (0.00057) SD 0.0080
    fytrx|y +0.00014 (0.00078) SD 0.0111  median +0.0012  RMSE 0.0110   fytrx|p -0.00052 (0.00061) SD 0.0086
    linear  -0.00005 (0.00053) SD 0.0076  median -0.0005  RMSE 0.0075
    paired: fypq|y - fy|y -0.00120 (0.00066); fytrx|y - fy|y -0.00111 (0.00057)

The within-year terms remove the year dummies' mean error (on the noise-free probabilities the
median error falls from +0.0009 to 0.0000 / -0.0006, its MAD from 0.0046 to 0.0028 / 0.0033) at
the cost of a 13-33 % larger SD on the observed outcomes, hence a larger RMSE; the linear
interaction-weighted estimate beats all of them on bias and RMSE alike.
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
        # within-pair linear trend in quarters, zero in the COVID financial year (2020/21)
        t = pd.PeriodIndex(dl["referral_quarter"], freq="Q")
        tq = (t.year * 4 + t.quarter).to_numpy(float)
        covid = dl["financial_year"].astype(str).str.startswith("2020").to_numpy()
        pid = dl["pair_id"].to_numpy()
        trx = {f"_trx_{p}": np.where((pid == p) & ~covid, tq - tq.mean(), 0.0) for p in np.unique(pid)}
        qv = np.asarray(qn)
        pqd = {f"_pq_{p}_{q}": ((pid == p) & (qv == q)).astype(float) for p in np.unique(pid) for q in (2, 3, 4)}
        dl = dl.assign(**pqd, **trx)
        ce = ex.child_effects.set_index("child_id")[Y]
        e = fv_estimand(d0)
        r = {"rep": rep, "truth": float(np.average(ce.reindex(e.index), weights=e.to_numpy())),
             "model": p.headline_model, "head": p.estimate, "lin": p.linear_estimate,
             "logit_study": p.logit_ame}
        pc = (_P0["p0"].reindex(dl["child_id"]).to_numpy()
              + np.where(dl["fv"] == 1, ce.reindex(dl["child_id"]).to_numpy(), 0.0))
        variants = {"fy": ["C(pair_fy)"], "fypq": ["C(pair_fy)", *pqd],
                    "fytrx": ["C(pair_fy)", *trx]}
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
