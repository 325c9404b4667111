"""Fixture datasets of the "cem" family (coarsened exact matching, L1 imbalance).

Deterministic generators (``numpy.random.default_rng`` with fixed seeds). Values are integers,
strings or decimals rounded to at most 4 places, so the CSV text parses to the same doubles in R
and pandas. Written to ``fixtures/data/cem/<name>.csv`` by ``python -m parity.datasets build cem``.
The LaLonde data sets that ``cem`` ships are used from ``../shared/data/r-packages`` directly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["DATASETS"]

_ETHNICITY = np.array(["White", "Mixed", "Asian", "Black", "Other"], dtype=object)


def children() -> pd.DataFrame:
    """2,400 children referred in a treatment LA (treated = 1) or its comparator, coded as the
    protocol codes them: gender 0-3 plus 4 = missing, integer age at referral 0-17, major ethnic
    group (string, 3% missing), disability, FSM, UASC, prior CPP (5% missing). The treated LA is
    older and more often FSM-eligible, so some strata hold one group only."""
    rng = np.random.default_rng(20240701)
    n = 2400
    treated = (rng.random(n) < 0.45).astype(int)
    gender = rng.choice([0, 1, 2, 3, 4], n, p=[0.02, 0.48, 0.46, 0.01, 0.03])
    age = np.clip(np.round(rng.gamma(2.2 + 0.6 * treated, 3.0)), 0, 17).astype(int)
    eth = rng.choice(_ETHNICITY, n, p=[0.72, 0.07, 0.1, 0.07, 0.04]).astype(object)
    eth[rng.random(n) < 0.03] = None
    disabled = (rng.random(n) < 0.06).astype(int)
    fsm = (rng.random(n) < 0.25 + 0.1 * treated).astype(int)
    uasc = (rng.random(n) < 0.01 + 0.02 * (age >= 13)).astype(int)
    prior = (rng.random(n) < 0.12).astype(float)
    prior[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1) * 7 % 10007,  # labels unrelated to the row order
            "treated": treated,
            "gender": gender,
            "age_at_referral": age,
            "ethnicity_major": eth,
            "disabled": disabled,
            "fsm": fsm,
            "uasc": uasc,
            "prior_cpp": prior,
        }
    )


def mixed() -> pd.DataFrame:
    """1,500 units with continuous, skewed, zero-inflated and discrete covariates for the automatic
    coarsening rules, a 3-level string column, and missing values in two columns (``x5`` for
    Sturges' rule, which counts them, and ``x6`` for an integer number of cutpoints)."""
    rng = np.random.default_rng(20240702)
    n = 1500
    treated = (rng.random(n) < 0.3).astype(int)
    x1 = np.round(rng.normal(0.4 * treated, 1.0, n), 4)
    x2 = np.round(np.where(rng.random(n) < 0.35, 0.0, rng.lognormal(8 + 0.3 * treated, 1.0, n)), 2)
    x3 = rng.poisson(3 + treated, n)
    x4 = np.round(rng.uniform(-50, 150, n), 3)
    x5 = np.round(rng.normal(10, 3, n), 2)
    x5[rng.random(n) < 0.04] = np.nan
    x6 = np.round(rng.beta(2, 5, n) * 100, 1)
    x6[rng.random(n) < 0.03] = np.nan
    cat = rng.choice(np.array(["a", "b", "c"], dtype=object), n, p=[0.5, 0.3, 0.2])
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "treated": treated,
            "x1": x1,
            "x2": x2,
            "x3": x3,
            "x4": x4,
            "x5": x5,
            "x6": x6,
            "cat": cat,
        }
    )


DATASETS: dict[str, Callable[[], pd.DataFrame]] = {"children": children, "mixed": mixed}
