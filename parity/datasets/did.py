"""Fixture datasets of the "did" family (Callaway & Sant'Anna ATT(g,t) and aggregations).

Deterministic generators (``numpy.random.default_rng`` with fixed seeds); values are rounded to 6
decimals so the CSV text parses to the same doubles in R and pandas. Written to
``fixtures/data/did/<name>.csv`` by ``python -m parity.datasets build did``. The mpdta panel used
by most cases is read from the shared R-package data and never copied here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["DATASETS"]

YEARS = np.arange(2001, 2007)  # six periods


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _cohort_from_x(rng: np.random.Generator, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """Cohorts 0 (never), 2003, 2004, 2005 with probabilities depending on covariates."""
    s = 0.6 * x1 - 0.5 * x2
    p_treat = _expit(-0.2 + s)
    treated = rng.uniform(size=x1.size) < p_treat
    which = rng.choice(np.array([2003, 2004, 2005]), size=x1.size, p=[0.35, 0.35, 0.30])
    return np.where(treated, which, 0)


def _outcome(
    rng: np.random.Generator,
    year: np.ndarray,
    cohort: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    unit_effect: np.ndarray,
) -> np.ndarray:
    """Covariate-specific trends (parallel trends hold conditionally) and dynamic effects."""
    tpos = (year - YEARS[0]).astype(float)
    trend = 0.15 * tpos + 0.10 * tpos * x1 - 0.08 * tpos * x2
    e = np.where(cohort > 0, year - cohort, -1)
    effect = np.where(e >= 0, 0.5 + 0.25 * e, 0.0)
    return 1.0 + 0.4 * x1 + 0.3 * x2 + unit_effect + trend + effect + rng.normal(size=year.size)


def rc_covariates() -> pd.DataFrame:
    """Repeated cross-sections: 6 years × 450 fresh observations, covariates x1 (continuous) and
    x2 (binary), positive sampling weights ``w``; cohorts 0/2003/2004/2005 chosen on x."""
    rng = np.random.default_rng(20240521)
    per = 450
    year = np.repeat(YEARS, per)
    n = year.size
    x1 = rng.normal(size=n)
    x2 = (rng.uniform(size=n) < 0.4).astype(int)
    cohort = _cohort_from_x(rng, x1, x2)
    y = _outcome(rng, year, cohort, x1, x2, np.zeros(n))
    w = rng.uniform(0.5, 2.5, n)
    return pd.DataFrame(
        {
            "year": year,
            "cohort": cohort,
            "y": np.round(y, 6),
            "x1": np.round(x1, 6),
            "x2": x2,
            "w": np.round(w, 6),
        }
    )


def _panel(seed: int, n_units: int, *, never: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n_units)
    x2 = (rng.uniform(size=n_units) < 0.4).astype(int)
    cohort = _cohort_from_x(rng, x1, x2)
    if not never:
        cohort = np.where(cohort == 0, 2006, cohort)
    state = rng.integers(1, 21, n_units)
    w = rng.uniform(0.5, 2.5, n_units)
    alpha = rng.normal(scale=0.8, size=n_units)
    uid = np.arange(1, n_units + 1)
    T = YEARS.size
    year = np.tile(YEARS, n_units)
    rep = np.repeat(np.arange(n_units), T)
    y = _outcome(rng, year, cohort[rep], x1[rep], x2[rep], alpha[rep])
    # a time-varying covariate: did uses its value in the earlier period of each 2x2 comparison
    z = 0.5 * x1[rep] + 0.2 * (year - YEARS[0]) + rng.normal(scale=0.5, size=year.size)
    y = y + 0.2 * z
    return pd.DataFrame(
        {
            "id": uid[rep],
            "year": year,
            "cohort": cohort[rep],
            "y": np.round(y, 6),
            "x1": np.round(x1[rep], 6),
            "x2": x2[rep],
            "z": np.round(z, 6),
            "state": state[rep],
            "w": np.round(w[rep], 6),
        }
    )


def panel_weights() -> pd.DataFrame:
    """Balanced panel, 600 units × 6 years; unit weights ``w``, 20 ``state`` clusters, a
    time-varying covariate ``z``; 8 units first treated in 2001 (dropped by did) and 12 units
    with cohort 2009 (after the last period: never treated)."""
    d = _panel(20240522, 600)
    ids = d["id"].unique()
    rng = np.random.default_rng(7)
    first = rng.choice(ids, 8, replace=False)
    rest = np.setdiff1d(ids, first)
    beyond = rng.choice(rest, 12, replace=False)
    d.loc[d["id"].isin(first), "cohort"] = 2001
    d.loc[d["id"].isin(beyond), "cohort"] = 2009
    return d


def panel_unbalanced() -> pd.DataFrame:
    """Unbalanced panel: 500 units × 6 years with 9% of the unit-years removed at random."""
    d = _panel(20240523, 500)
    rng = np.random.default_rng(11)
    keep = rng.uniform(size=len(d)) >= 0.09
    return d[keep].reset_index(drop=True)


def panel_no_never() -> pd.DataFrame:
    """Balanced panel, 500 units × 6 years, every unit eventually treated (cohort 2006 last)."""
    return _panel(20240524, 500, never=False)


DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "rc_covariates": rc_covariates,
    "panel_weights": panel_weights,
    "panel_unbalanced": panel_unbalanced,
    "panel_no_never": panel_no_never,
}
