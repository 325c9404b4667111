"""Performance of each estimator and inference method over a study's replications.

For ``R`` replications with estimates ``θ̂_i``, truths ``θ_i`` (the replication's own estimand)
and errors ``e_i = θ̂_i − θ_i`` (Morris, White & Crowther 2019, *Stat Med* 38:2074, Table 6):

===================  ==========================  ============================================
statistic            estimate                    Monte Carlo SE
===================  ==========================  ============================================
bias                 ``mean(e)``                 ``sd(e) / √R``
rmse                 ``√MSE``, ``MSE = mean(e²)``  ``MCSE(MSE) / (2 √MSE)`` (delta method), with
                                                 ``MCSE(MSE) = √(Σ (e_i² − MSE)² / (R (R−1)))``
coverage             share with ``low ≤ θ ≤ high``  ``√(p (1 − p) / R)``
rejection_rate       share with ``p < alpha``    ``√(p (1 − p) / R)``
===================  ==========================  ============================================

plus ``mean_se`` (mean of the reported SEs), ``empirical_sd`` (``sd(θ̂)``) and ``se_ratio =
mean_se / empirical_sd`` (1: the SEs are right on average). ``n_reps`` counts the replications
of the group; ``R`` of each statistic counts those where it is defined (finite estimate and
truth for bias and RMSE; also a finite interval for coverage; a finite p-value for the rejection
rate): the ones left out are counted in ``n_missing_estimate``, ``n_missing_ci`` and
``n_missing_p``, and replications that failed altogether in ``n_failed``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fvdid.errors import FvdidInputError

__all__ = ["GROUP", "summarise"]

GROUP = ["effect", "outcome", "estimator", "method"]


def _sd(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")


def _prop(hit: np.ndarray) -> tuple[float, float, int]:
    n = len(hit)
    if n == 0:
        return float("nan"), float("nan"), 0
    p = float(np.mean(hit))
    return p, float(np.sqrt(p * (1 - p) / n)), n


def _stats(g: pd.DataFrame, alpha: float) -> dict[str, float]:
    est = g["estimate"].to_numpy(float)
    truth = g["truth"].to_numpy(float)
    fin = np.isfinite(est)
    ok = fin & np.isfinite(truth)
    e = est[ok] - truth[ok]
    r = len(e)
    bias = float(np.mean(e)) if r else float("nan")
    mse = float(np.mean(e**2)) if r else float("nan")
    rmse = float(np.sqrt(mse)) if r else float("nan")
    mse_mcse = float(np.sqrt(np.sum((e**2 - mse) ** 2) / (r * (r - 1)))) if r > 1 else float("nan")
    rmse_mcse = mse_mcse / (2 * rmse) if r > 1 and rmse > 0 else float("nan")
    lo, hi = g["conf_low"].to_numpy(float), g["conf_high"].to_numpy(float)
    ci_ok = ok & np.isfinite(lo) & np.isfinite(hi)
    cov, cov_se, n_cov = _prop((lo[ci_ok] <= truth[ci_ok]) & (truth[ci_ok] <= hi[ci_ok]))
    pv = g["p_value"].to_numpy(float)
    p_ok = np.isfinite(pv)
    rej, rej_se, n_rej = _prop(pv[p_ok] < alpha)
    se = g["std_error"].to_numpy(float)
    se = se[fin & np.isfinite(se)]
    emp = _sd(est[fin])
    mean_se = float(np.mean(se)) if len(se) else float("nan")
    return {
        "n_reps": len(g),
        "bias": bias, "bias_mcse": _sd(e) / np.sqrt(r) if r > 1 else float("nan"),
        "rmse": rmse, "rmse_mcse": rmse_mcse,
        "coverage": cov, "coverage_mcse": cov_se,
        "rejection_rate": rej, "rejection_rate_mcse": rej_se,
        "mean_estimate": float(np.mean(est[fin])) if fin.any() else float("nan"),
        "mean_truth": float(np.mean(truth[ok])) if r else float("nan"),
        "mean_se": mean_se, "empirical_sd": emp,
        "se_ratio": mean_se / emp if np.isfinite(emp) and emp > 0 else float("nan"),
        "n_missing_estimate": int(len(g) - r), "n_missing_ci": int(len(g) - n_cov),
        "n_missing_p": int(len(g) - n_rej),
    }


def summarise(rows: pd.DataFrame, alpha: float = 0.05,
              failures: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per effect × outcome × estimator × method (see the module docstring).

    Parameters
    ----------
    rows
        Replication rows (:func:`fvdid.montecarlo.engine.load_replications`).
    alpha
        Level of the tests whose rejection rate is reported.
    failures
        Failed replications (``effect``, ``replication``): counted per effect in ``n_failed``.
    """
    if not 0 < alpha < 1:
        raise FvdidInputError(f"alpha must be in (0, 1), got {alpha!r}")
    need = [*GROUP, "replication", "effect_value", "estimate", "std_error", "conf_low",
            "conf_high", "p_value", "truth"]
    missing = [c for c in need if c not in rows.columns]
    if missing:
        raise FvdidInputError(f"replication rows lack column(s) {missing}; expected {need}")
    dup = rows.duplicated([*GROUP, "replication"], keep=False)
    if dup.any():
        raise FvdidInputError(
            "replication rows repeat effect × outcome × estimator × method × replication: "
            f"{rows.loc[dup, [*GROUP, 'replication']].head().to_dict('records')}"
        )
    out = []
    for key, g in rows.groupby(GROUP, sort=False):
        out.append({**dict(zip(GROUP, key)), "effect_value": float(g["effect_value"].iloc[0]),
                    **_stats(g, alpha)})
    cols = [*GROUP, "effect_value", "n_reps", "bias", "bias_mcse", "rmse", "rmse_mcse",
            "coverage", "coverage_mcse", "rejection_rate", "rejection_rate_mcse",
            "mean_estimate", "mean_truth", "mean_se", "empirical_sd", "se_ratio",
            "n_missing_estimate", "n_missing_ci", "n_missing_p"]
    res = pd.DataFrame(out, columns=cols)
    nf = (failures.groupby("effect").size() if failures is not None and len(failures)
          else pd.Series(dtype=int))
    res["n_failed"] = res["effect"].map(nf).fillna(0).astype(int)
    res["alpha"] = float(alpha)
    return res.sort_values(GROUP, kind="mergesort").reset_index(drop=True)
